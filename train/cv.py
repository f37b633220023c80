"""Cross-validation: every selected architecture trained once per fold → the ensemble's instances.

method.md: the development set (75 %) is split into 7 folds; each selected architecture is
trained on 6 folds and validated (early-stopping checkpoint) on the seventh, for every fold, so
A architectures give N = 7·A instances. The external test set (25 %) is touched only here, at
the end, to report the ensemble's AUC the way the worker computes risk: window risk = median of
the N instance confidences, infant risk = median of its window risks (hop 75).

Instances are saved one file per (architecture, fold) as they finish, so an interrupted run
resumes where it stopped.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from earlycp.errors import EarlyCPError, ErrorCode
from train.cohort import Split, load_cohort, prepare, stratified_split
from train.kbest import arch_from_dict, load_selected
from train.trainer import TrainConfig, build, train_instance, validation_features, window_probabilities
from worker.science.evaluation import roc_auc
from worker.science.layouts import Layout, get_layout
from worker.science.preprocessing import PreparedSequence

CV_FILE = "cv.json"


@dataclass
class Instance:
    arch: int
    fold: int
    val_auc: float
    best_epoch: int
    file: str


def load_instances(cv_dir: str | Path) -> tuple[dict[str, Any], list[torch.nn.Module]]:
    """cv.json and the instance models (eval mode) in manifest order (arch-major, fold-minor)."""
    cv_dir = Path(cv_dir)
    info = json.loads((cv_dir / CV_FILE).read_text())
    layout = get_layout(info["layout"])
    models = []
    for inst in info["instances"]:
        m = build(arch_from_dict(info["architectures"][inst["arch"]]["config"]), layout)
        m.load_state_dict(torch.load(cv_dir / inst["file"], weights_only=True))
        models.append(m.eval())
    return info, models


def ensemble_infant_risk(models: list[torch.nn.Module], feats: dict[str, np.ndarray]) -> dict[str, float]:
    """Infant risk as the worker computes it: median over windows of the median over instances."""
    out = {}
    for i, x in feats.items():
        conf = np.stack([window_probabilities(m, x) for m in models], axis=1)  # (W, N)
        out[i] = float(np.median(np.median(conf, axis=1)))
    return out


def run_cv(
    cohort_csv: str | Path,
    search_dir: str | Path,
    out_dir: str | Path,
    cfg: TrainConfig,
    *,
    n_select: int | None = None,
    on_instance: Callable[[Instance], None] | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
) -> dict[str, Any]:
    """Train the instances, then score the external test set; writes ``cv.json``."""
    out = Path(out_dir)
    (out / "instances").mkdir(parents=True, exist_ok=True)
    search = json.loads((Path(search_dir) / "search.json").read_text())
    infants = load_cohort(cohort_csv)
    split = (
        Split(**search["split"])
        if "split" in search
        else stratified_split(infants, seed=search["split_seed"])
    )
    layout: Layout = get_layout(search["layout"])
    labels = {i.infant_id: i.cp for i in infants}
    selected = load_selected(search_dir, n_select)
    if not selected:
        raise EarlyCPError(
            ErrorCode.INVALID_INPUT, detail=f"the search in {search_dir} selected no architecture"
        )
    seqs: dict[str, PreparedSequence] = prepare(infants)
    instances: list[Instance] = []
    for a, member in enumerate(selected):
        for k in range(len(split.folds)):
            rel = f"instances/arch{a}_fold{k}.pt"
            meta_path = out / f"instances/arch{a}_fold{k}.json"
            if meta_path.exists() and (out / rel).exists():
                inst = Instance(**json.loads(meta_path.read_text()))
            else:
                train_ids, val_ids = split.fold(k)
                seed = int(np.random.SeedSequence([cfg.seed, a, k]).generate_state(1)[0])
                run_cfg = TrainConfig(**{**cfg.as_dict(), "seed": seed})
                res = train_instance(
                    arch_from_dict(member["config"]),
                    layout,
                    seqs,
                    labels,
                    train_ids,
                    val_ids,
                    run_cfg,
                    on_epoch=on_epoch,
                )
                torch.save(res.state_dict, out / rel)
                inst = Instance(arch=a, fold=k, val_auc=res.best_auc, best_epoch=res.best_epoch, file=rel)
                meta_path.write_text(json.dumps(inst.__dict__))
            instances.append(inst)
            if on_instance:
                on_instance(inst)
    info: dict[str, Any] = {
        "layout": layout.name,
        "cohort": str(Path(cohort_csv).resolve()),
        "split": split.as_dict(),
        "train_config": cfg.as_dict(),
        "architectures": [{"config": m["config"], "search_auc": m["auc"]} for m in selected],
        "instances": [i.__dict__ for i in instances],
    }
    (out / CV_FILE).write_text(json.dumps(info, indent=1))
    _, models = load_instances(out)
    per_fold = []
    for k in range(len(split.folds)):
        fold_models = [m for m, i in zip(models, instances, strict=True) if i.fold == k]
        val = validation_features(split.folds[k], seqs)
        risk = ensemble_infant_risk(fold_models, val)
        per_fold.append(float(roc_auc([labels[i] for i in risk], list(risk.values()))))
    test_feats = validation_features(split.test, seqs)
    test_risk = ensemble_infant_risk(models, test_feats)
    info["metrics"] = {
        "per_fold_auc": per_fold,
        "mean_fold_auc": float(np.nanmean(per_fold)),
        "instance_val_auc": [i.val_auc for i in instances],
        "external_test_auc": float(roc_auc([labels[i] for i in test_risk], list(test_risk.values()))),
        "external_test_n": len(split.test),
        "external_test_cp": int(sum(labels[i] for i in split.test)),
        "external_test_risk": test_risk,
    }
    (out / CV_FILE).write_text(json.dumps(info, indent=1))
    return info
