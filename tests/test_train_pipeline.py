"""A short K-Best Search, 7-fold cross-validation and ONNX export on a tiny synthetic cohort.

Budgets are tiny (1–2 epochs, the cheapest alternatives) so this checks the machinery — files,
resume, instance count, the ONNX contract and ONNX/PyTorch parity — not accuracy.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from train.cv import load_instances, run_cv
from train.export import EnsembleModule, export_ensemble, sha256
from train.kbest import SearchConfig, published_space, run_search
from train.synthetic import write_cohort
from train.trainer import TrainConfig
from worker.ensemble.runtime import from_files


def compact_space() -> dict[str, list]:
    """First (cheapest) alternative of every choice, two alternatives for the last choice."""
    space = published_space()
    out = {c: alts[:1] for c, alts in space.items()}
    last = list(space)[-1]
    out[last] = space[last][:2]
    return out


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("factory")
    csv_path = write_cohort(root / "cohort", 21, seed=11, cp_share=0.35, duration_s=8)
    train_cfg = TrainConfig(epochs=1, lr=0.01, windows_per_sequence=1, cp_factor=2)
    search_cfg = SearchConfig(
        k=2, epochs=2, keep_threshold=0.0, max_trials=3, seed=3, stop_first=0.0, stop_step=0.0
    )
    summary = run_search(csv_path, root / "search", search_cfg, train_cfg, space=compact_space())
    run_cv(csv_path, root / "search", root / "cv", train_cfg, n_select=1)
    manifest = export_ensemble(
        root / "cv", root / "ens", name="tiny-test", search_dir=root / "search", bench_repeats=1
    )
    return {"root": root, "csv": csv_path, "summary": summary, "manifest": manifest}


def test_search_records(built) -> None:
    root, summary = built["root"], built["summary"]
    trials = [json.loads(ln) for ln in (root / "search" / "trials.jsonl").read_text().splitlines()]
    assert summary["done"] and summary["trials"] == len(trials) == 3
    assert sum(b["trials"] for b in summary["auc_bins"]) + summary["abandoned"] == 3
    state = json.loads((root / "search" / "search_state.json").read_text())
    assert len(state["population"]) == 2 and "rng" in state
    assert set(json.loads((root / "search" / "search.json").read_text())["split"]) == {"test", "folds"}


def test_cv_instances_and_metrics(built) -> None:
    info = json.loads((built["root"] / "cv" / "cv.json").read_text())
    assert len(info["instances"]) == 7 and sorted(i["fold"] for i in info["instances"]) == list(range(7))
    m = info["metrics"]
    assert len(m["per_fold_auc"]) == 7 and 0.0 <= m["external_test_auc"] <= 1.0
    assert m["external_test_n"] == 5  # round(0.25 · 21)


def test_export_contract_and_parity(built) -> None:
    man, root = built["manifest"], built["root"]
    assert man["kind"] == "ensemble" and man["n_instances"] == 7 and man["window"] == 150 and man["hop"] == 75
    assert "not for clinical use" in man["label"] and man["clinical_validation"]["status"] == "none"
    files = (
        [root / "ens" / man["file"]]
        if "file" in man
        else [root / "ens" / i["file"] for i in man["instances"]]
    )
    for f in files:
        assert f.stat().st_size < 25 * 2**20
    if "file" in man:
        assert man["sha256"] == sha256(files[0])
    bench = man["export"]["benchmark"]
    assert (
        bench["windows"] == 119
        and bench["merged"]["windows_per_s"] > 0
        and bench["n_sessions"]["windows_per_s"] > 0
    )
    x = np.random.default_rng(0).normal(0, 0.3, size=(5, 6, 150, 16)).astype(np.float32)
    conf, cam = from_files(files, "mpii16").predict(x)
    _, models = load_instances(root / "cv")
    with torch.no_grad():
        ref_conf, ref_cam = EnsembleModule(models).eval()(torch.from_numpy(x))
    assert conf.shape == (5, 7) and cam.shape == (5, 7, 16)
    assert np.abs(conf - ref_conf.numpy()).max() <= 1e-4
    assert np.abs(cam - ref_cam.numpy()).max() <= 1e-3 * max(1.0, float(np.abs(ref_cam.numpy()).max()))
    assert man["export"]["parity_max_abs_difference"] <= 1e-4
