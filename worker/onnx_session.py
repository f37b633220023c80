"""ONNX Runtime session creation shared by the pose model and the GCN ensemble.

CUDA is used when the installed onnxruntime build offers it (``onnxruntime-gpu``), else the
CPU. Sessions must be created *after* a worker process forks: CUDA cannot survive a fork,
so callers build them lazily per process (see ``worker.tasks``).
"""

from __future__ import annotations

import logging
from pathlib import Path

from earlycp.config import get_settings

log = logging.getLogger(__name__)


def _ort():  # imported lazily so `earlycp --help` stays fast
    try:
        import onnxruntime as ort
    except ImportError as exc:  # pragma: no cover - depends on the installed extra
        raise RuntimeError("ONNX Runtime is not installed: install earlycp[cpu] or earlycp[gpu]") from exc
    return ort


def choose_providers(preference: str | None = None) -> list[str]:
    """Providers in priority order for 'auto', 'cuda' or 'cpu'."""
    preference = (preference or get_settings().execution_provider).lower()
    available = _ort().get_available_providers()
    if preference == "cpu":
        return ["CPUExecutionProvider"]
    if "CUDAExecutionProvider" in available:
        return ["CUDAExecutionProvider", "CPUExecutionProvider"]
    if preference == "cuda":
        log.warning("CUDA execution provider requested but not available; using the CPU")
    return ["CPUExecutionProvider"]


def create_session(
    path: Path, preference: str | None = None, threads: int | None = None, *, spin: bool = True
):
    """An InferenceSession with all graph optimisations; logs which provider is really active.

    ``spin=False`` stops idle intra-op threads from busy-waiting: needed when another thread
    (e.g. the pose pipeline's video decoder) must share the same few CPU cores.
    """
    ort = _ort()
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    threads = get_settings().intra_op_threads if threads is None else threads
    if threads:
        options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    if not spin:
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(path), sess_options=options, providers=choose_providers(preference))
    log.info("ONNX session %s on %s", Path(path).name, session.get_providers()[0])
    return session


def active_provider(session) -> str:
    """The provider that actually runs the graph (the first one ONNX Runtime kept)."""
    return str(session.get_providers()[0])
