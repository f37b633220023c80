# syntax=docker/dockerfile:1.7
# EarlyCP service image. CPU by default; `--build-arg RUNTIME=gpu` (or target `gpu`) installs
# onnxruntime-gpu on a CUDA runtime base instead. Model weights are never baked in: mount them
# at /models (EARLYCP_MODEL_DIR).
ARG PYTHON_VERSION=3.11
ARG CUDA_BASE=nvidia/cuda:12.4.1-cudnn-runtime-ubuntu22.04

# ---- build: wheels for the app and its dependencies --------------------------------------
FROM python:${PYTHON_VERSION}-slim AS build
ARG RUNTIME=cpu
WORKDIR /src
COPY pyproject.toml README.md ./
COPY earlycp earlycp
COPY app app
COPY worker worker
COPY models models
COPY migrations migrations
COPY frontend frontend
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[${RUNTIME}]"

# ---- cpu runtime ----------------------------------------------------------------------------
FROM python:${PYTHON_VERSION}-slim AS cpu
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 \
    EARLYCP_DATA_DIR=/data EARLYCP_MODEL_DIR=/models
RUN useradd --create-home --uid 10001 earlycp && mkdir -p /data /models && chown earlycp /data
COPY --from=build /wheels /wheels
# dependencies from wheels; EarlyCP itself runs from its source tree at /app, because
# migrations/ and frontend/ are looked up beside the packages
RUN rm -f /wheels/earlycp-*.whl && pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && printf '#!/bin/sh\nexec python -m earlycp.cli.main "$@"\n' > /usr/local/bin/earlycp \
    && chmod +x /usr/local/bin/earlycp
ENV PYTHONPATH=/app
WORKDIR /app
COPY --from=build --chown=earlycp /src /app
USER earlycp
EXPOSE 8000
VOLUME ["/data", "/models"]
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request as u; u.urlopen('http://127.0.0.1:8000/healthz')"
CMD ["earlycp", "serve", "--host", "0.0.0.0", "--port", "8000"]

# ---- gpu runtime: same wheels but onnxruntime-gpu, on a CUDA/cuDNN base ---------------------
FROM python:${PYTHON_VERSION}-slim AS build-gpu
WORKDIR /src
COPY --from=build /src /src
RUN pip wheel --no-cache-dir --wheel-dir /wheels ".[gpu]"

FROM ${CUDA_BASE} AS gpu
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DEBIAN_FRONTEND=noninteractive \
    EARLYCP_DATA_DIR=/data EARLYCP_MODEL_DIR=/models EARLYCP_EXECUTION_PROVIDER=cuda \
    PATH=/opt/venv/bin:$PATH
RUN apt-get update && apt-get install -y --no-install-recommends python3.11 python3.11-venv \
    && rm -rf /var/lib/apt/lists/* && python3.11 -m venv /opt/venv \
    && useradd --create-home --uid 10001 earlycp && mkdir -p /data /models && chown earlycp /data
COPY --from=build-gpu /wheels /wheels
RUN rm -f /wheels/earlycp-*.whl && python -m pip install --no-cache-dir /wheels/*.whl && rm -rf /wheels \
    && printf '#!/bin/sh\nexec python -m earlycp.cli.main "$@"\n' > /usr/local/bin/earlycp \
    && chmod +x /usr/local/bin/earlycp
ENV PYTHONPATH=/app
WORKDIR /app
COPY --from=build-gpu --chown=earlycp /src /app
USER earlycp
VOLUME ["/data", "/models"]
CMD ["earlycp", "worker", "--concurrency", "1"]
