"""Export the cross-validated instances as the serving ensemble (ONNX + model card).

Contract (docs/HELPERS.md): input ``features`` float32 [B, 6, 150, J]; outputs ``confidences``
[B, N] (each instance's softmax probability of CP) and ``cam`` [B, N, J]. Two packagings are
possible — one merged graph holding all N instances, or N per-instance files run as N sessions —
and ``benchmark`` measures both through the worker's own runtime (``from_files(...).predict``)
on 119 windows (a 5-minute video); the card records the figures and which one shipped (the
merged graph unless N sessions are faster). The manifest is the model card.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

from train.cv import load_instances
from worker.science.preprocessing import HOP_FRAMES, WINDOW_FRAMES

SCHEMA_VERSION = 1
LABEL = "trained on synthetic movements — software demonstration, not for clinical use"
OPSET = 17
BENCH_WINDOWS = 119


class EnsembleModule(nn.Module):
    """All instances in one module: (B, 6, 150, J) → confidences (B, N), cam (B, N, J)."""

    def __init__(self, instances: Sequence[nn.Module]) -> None:
        super().__init__()
        self.instances = nn.ModuleList(instances)

    def forward(self, features: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        confs, cams = [], []
        for m in self.instances:
            logits, cam = m(features)
            confs.append(torch.softmax(logits, dim=1)[:, 1])
            cams.append(cam)
        return torch.stack(confs, dim=1), torch.stack(cams, dim=1)


def export_onnx(module: nn.Module, path: Path, joints: int) -> Path:
    """Write ``module`` as ONNX with a dynamic batch axis (weights inside the file)."""
    module.eval()
    x = torch.zeros(2, 6, WINDOW_FRAMES, joints)
    torch.onnx.export(
        module,
        (x,),
        str(path),
        input_names=["features"],
        output_names=["confidences", "cam"],
        dynamic_axes={"features": {0: "batch"}, "confidences": {0: "batch"}, "cam": {0: "batch"}},
        opset_version=OPSET,
        dynamo=False,
    )
    return path


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def benchmark(
    paths_merged: list[Path], paths_split: list[Path], layout: str, *, repeats: int = 3
) -> dict[str, Any]:
    """Windows/s of the merged graph vs N sessions on 119 windows (best of ``repeats``)."""
    from worker.ensemble.runtime import from_files

    j = _joints(layout)
    x = np.random.default_rng(0).normal(0, 0.3, size=(BENCH_WINDOWS, 6, WINDOW_FRAMES, j)).astype(np.float32)
    out: dict[str, Any] = {"windows": BENCH_WINDOWS}
    for label, paths in (("merged", paths_merged), ("n_sessions", paths_split)):
        rt = from_files(paths, layout)
        rt.predict(x[:8])  # warm-up
        best = min(_timed(rt.predict, x) for _ in range(repeats))
        out[label] = {
            "files": len(paths),
            "seconds": round(best, 4),
            "windows_per_s": round(BENCH_WINDOWS / best, 1),
        }
        out[f"_{label}_conf"] = rt.predict(x)[0]
    diff = float(np.abs(out.pop("_merged_conf") - out.pop("_n_sessions_conf")).max())
    out["max_abs_difference"] = diff
    out["faster"] = "merged" if out["merged"]["seconds"] <= out["n_sessions"]["seconds"] else "n_sessions"
    out["threads"] = "onnxruntime default (EARLYCP settings)"
    return out


def _timed(fn: Any, x: np.ndarray) -> float:
    t0 = time.perf_counter()
    fn(x)
    return time.perf_counter() - t0


def parity(models: Sequence[nn.Module], onnx_paths: list[Path], layout: str, n: int = 16) -> float:
    """Max |ONNX − PyTorch| confidence over ``n`` random windows (all instances)."""
    from worker.ensemble.runtime import from_files

    j = _joints(layout)
    x = np.random.default_rng(1).normal(0, 0.3, size=(n, 6, WINDOW_FRAMES, j)).astype(np.float32)
    with torch.no_grad():
        ref = EnsembleModule(models).eval()(torch.from_numpy(x))[0].numpy()
    got = from_files(onnx_paths, layout).predict(x)[0]
    return float(np.abs(ref - got).max())


def _joints(layout: str) -> int:
    from worker.science.layouts import get_layout

    return get_layout(layout).num_joints


def export_ensemble(
    cv_dir: str | Path,
    out_dir: str | Path,
    *,
    name: str,
    version: str = "1.0.0",
    title: str | None = None,
    search_dir: str | Path | None = None,
    training_data: dict[str, Any] | None = None,
    departures: list[str] | None = None,
    bench: bool = True,
    bench_repeats: int = 3,
) -> dict[str, Any]:
    """Write ``ensemble.onnx`` (or per-instance files, if faster) + ``manifest.json`` into ``out_dir``."""
    cv_dir, out = Path(cv_dir), Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    info, models = load_instances(cv_dir)
    layout = info["layout"]
    j = _joints(layout)
    merged = export_onnx(EnsembleModule(models), out / "ensemble.onnx", j)
    work = cv_dir / "onnx_instances"
    work.mkdir(exist_ok=True)
    split_paths = [
        export_onnx(EnsembleModule([m]), work / f"instance{k:02d}.onnx", j) for k, m in enumerate(models)
    ]
    bench_res = benchmark([merged], split_paths, layout, repeats=bench_repeats) if bench else None
    shipped = "merged"
    files: dict[str, Any]
    if bench_res and bench_res["faster"] == "n_sessions":
        shipped = "n_sessions"
        merged.unlink()
        insts = []
        for p in split_paths:
            dst = out / p.name
            dst.write_bytes(p.read_bytes())
            insts.append({"file": dst.name, "sha256": sha256(dst), "bytes": dst.stat().st_size})
        files = {"instances": insts}
        onnx_paths = [out / i["file"] for i in insts]
    else:
        files = {"file": merged.name, "sha256": sha256(merged), "bytes": merged.stat().st_size}
        onnx_paths = [merged]
    max_diff = parity(models, onnx_paths, layout)
    arch_meta = []
    for a, arch in enumerate(info["architectures"]):
        m = models[[i["arch"] for i in info["instances"]].index(a)]
        arch_meta.append({**arch, **_complexity(arch["config"], m, layout)})
    metrics = info.get("metrics", {})
    search_summary = None
    if search_dir and (Path(search_dir) / "summary.json").exists():
        s = json.loads((Path(search_dir) / "summary.json").read_text())
        search_summary = {
            k: s[k]
            for k in (
                "trials",
                "phase1_trials",
                "phase2_trials",
                "abandoned",
                "auc_bins",
                "best_auc",
                "final_temperature",
                "population_topped_up",
                "settings",
            )
        }
    manifest = {
        "kind": "ensemble",
        "schema_version": SCHEMA_VERSION,
        "name": name,
        "version": version,
        "title": title or f"{name} (Ensemble-NAS-GCN, {layout})",
        **files,
        "packaging": shipped,
        "layout": layout,
        "n_instances": len(models),
        "window": WINDOW_FRAMES,
        "hop": HOP_FRAMES,
        "fps": 30,
        "inputs": {"features": ["B", 6, WINDOW_FRAMES, j]},
        "outputs": {"confidences": ["B", len(models)], "cam": ["B", len(models), j]},
        "label": LABEL,
        "intended_use": "Demonstration and testing of the EarlyCP software (pipeline, report, dashboard). "
        "Not a medical device; its outputs say nothing about a real infant.",
        "clinical_validation": {
            "status": "none",
            "statement": "Trained and evaluated on synthetic skeletons only; never validated on infants.",
        },
        "architectures": arch_meta,
        "instances": None,
        "training_data": training_data or {},
        "training": {"config": info["train_config"], "departures_from_method": departures or []},
        "search": search_summary,
        "validation_metrics": {
            "per_fold_auc": metrics.get("per_fold_auc"),
            "mean_fold_auc": metrics.get("mean_fold_auc"),
            "instance_val_auc": metrics.get("instance_val_auc"),
            "external_test_auc": metrics.get("external_test_auc"),
            "external_test_n": metrics.get("external_test_n"),
            "external_test_cp": metrics.get("external_test_cp"),
            "auc_level": "per infant (median over windows of the median over instances)",
        },
        "thresholds": {"default": 0.25, "operating_points": [0.15, 0.20, 0.25, 0.30, 0.35]},
        "export": {
            "opset": OPSET,
            "torch": torch.__version__,
            "parity_max_abs_difference": max_diff,
            "benchmark": bench_res,
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
    }
    if shipped == "merged":
        manifest.pop("instances")
    else:
        manifest["instances"] = files["instances"]
    (out / "manifest.json").write_text(json.dumps(manifest, indent=2, ensure_ascii=False) + "\n")
    return manifest


def _complexity(config: dict[str, Any], model: nn.Module, layout: str) -> dict[str, Any]:
    """Parameters and FLOPs per window, from ``train.nn``'s counters (torch count as fallback)."""
    from worker.science.layouts import get_layout

    params = int(sum(p.numel() for p in model.parameters()))
    flops = None
    try:
        from train.nn import model as tmodel

        counter = getattr(tmodel, "count_flops", None)
        if counter is not None:
            for args in ((model, get_layout(layout)), (model,), (config, get_layout(layout))):
                try:
                    flops = int(counter(*args))
                    break
                except (TypeError, AttributeError):
                    continue
    except ImportError:
        flops = None
    return {"params": params, "flops_per_window": flops}
