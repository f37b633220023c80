# Two commands on a fresh clone:  `make run` (set up + run the main job)  and  `make test`.
SHELL := /bin/bash
PYTHON ?= python3.11
VENV ?= .venv
BIN := $(VENV)/bin
SHARED_MODELS ?= ../shared/models/efficientpose
MODEL_DIR ?= models/weights

.PHONY: setup models run test lint bench clean demo-ensemble

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install -q --upgrade pip

# torch is pinned to the CPU wheel this machine carries; a bare `torch` would pull CUDA builds.
setup: $(BIN)/python models
	$(BIN)/pip install -q torch==2.13.0
	$(BIN)/pip install -q -e '.[cpu,train,dev]'

# Link the openly licensed EfficientPose weights (never committed) into the model directory.
models:
	@mkdir -p $(MODEL_DIR)
	@if [ -d "$(SHARED_MODELS)" ]; then \
	  for f in $(SHARED_MODELS)/*.onnx; do ln -sf "$$(cd "$$(dirname $$f)" && pwd)/$$(basename $$f)" $(MODEL_DIR)/; done; \
	  echo "pose weights linked from $(SHARED_MODELS) into $(MODEL_DIR)"; \
	else echo "no $(SHARED_MODELS): copy the EfficientPose .onnx files into $(MODEL_DIR) (see README)"; fi

# The main job: the embedded service (SQLite, in-process worker, local files) with the dashboard.
# A fresh admin token is printed first (last word of its line) to sign in at http://HOST:PORT/.
HOST ?= 127.0.0.1
PORT ?= 8000
run: setup
	$(BIN)/earlycp models list
	$(BIN)/earlycp tokens create --role admin --name "make run"
	$(BIN)/earlycp serve --host $(HOST) --port $(PORT)

lint:
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -q

clean:
	rm -rf $(VENV) $(MODEL_DIR) .pytest_cache .ruff_cache

# Rebuild the shipped demo ensemble from scratch on a synthetic cohort (docs/training.md; ~CPU minutes).
DEMO := build/demo
DEMO_RECIPE := models/ensembles/demo-synthetic-mpii16/recipe
demo-ensemble:
	rm -rf $(DEMO)
	$(BIN)/earlycp synth cohort --out $(DEMO)/cohort --n 100 --layout mpii16 --seed 2026 --cp-share 0.3 --duration 30
	$(BIN)/earlycp train search $(DEMO)/cohort/cohort.csv --out $(DEMO)/search $$(cat $(DEMO_RECIPE)/search.args) --space $(DEMO_RECIPE)/space.json
	$(BIN)/earlycp train cv $(DEMO)/cohort/cohort.csv --search $(DEMO)/search --out $(DEMO)/cv $$(cat $(DEMO_RECIPE)/cv.args)
	$(BIN)/earlycp train export $(DEMO)/cv --name demo-synthetic-mpii16 --out models/ensembles/demo-synthetic-mpii16 --search $(DEMO)/search --card $(DEMO_RECIPE)/card.json
