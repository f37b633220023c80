"""Training one GCN architecture (method.md step 3, "Training (per architecture)").

Published recipe, all defaults of ``TrainConfig``: He-normal fan-out initialisation (done by
``train.nn.model.build_model``), SGD with Nesterov momentum 0.9, learning rate 5·10⁻⁴, batch 32,
augmentation (train/augment.py), random windows per epoch (train/sampling.py), 200 epochs.
Validation is per infant: each validation infant's inference windows (hop 75, the worker's
``inference_features``) are scored, the infant's risk is the median window CP probability and
the AUC (``worker.science.evaluation.roc_auc``) is over infants, never over windows. The weights
of the epoch with the best validation AUC are kept (early-stopping checkpoint; ties go to the
lower validation log-loss, see ``infant_scores``); an optional
``stop_rule(epoch, auc)`` lets the K-Best Search abandon a hopeless candidate.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
import torch
from torch import nn

from train.augment import AugmentConfig, augmented_features
from train.sampling import CP_FACTOR, WINDOWS_PER_SEQUENCE, epoch_windows
from worker.science.evaluation import roc_auc
from worker.science.layouts import Layout
from worker.science.preprocessing import PreparedSequence, cut_window, inference_features


@dataclass
class TrainConfig:
    """Training hyper-parameters; the defaults are the published ones."""

    epochs: int = 200
    lr: float = 5e-4
    momentum: float = 0.9
    nesterov: bool = True
    batch_size: int = 32
    windows_per_sequence: int = WINDOWS_PER_SEQUENCE
    cp_factor: int = CP_FACTOR
    augment: bool = True
    seed: int = 0
    threads: int = 2

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class TrainResult:
    best_auc: float
    best_epoch: int
    state_dict: dict[str, torch.Tensor]
    history: list[float] = field(default_factory=list)
    abandoned_at: int | None = None


def build(arch: Any, layout: Layout) -> nn.Module:
    """The search space's model builder (imported late: it belongs to train/nn)."""
    from train.nn.model import build_model

    return build_model(arch, layout)


def validation_features(ids: list[str], sequences: dict[str, PreparedSequence]) -> dict[str, np.ndarray]:
    """Inference windows (hop 75) per validation infant, computed once per training run."""
    return {i: inference_features(sequences[i])[0] for i in ids}


@torch.no_grad()
def window_probabilities(model: nn.Module, features: np.ndarray, batch: int = 128) -> np.ndarray:
    """CP softmax probability per window."""
    model.eval()
    out = []
    for s in range(0, len(features), batch):
        logits, _ = model(torch.from_numpy(features[s : s + batch]))
        out.append(torch.softmax(logits, dim=1)[:, 1].numpy())
    return np.concatenate(out)


def infant_scores(
    model: nn.Module, val: dict[str, np.ndarray], labels: dict[str, int]
) -> tuple[float, float]:
    """(AUC, log-loss) over infants, each scored by the median of its windows' CP probabilities.

    The log-loss breaks ties between checkpoints of equal AUC: on a small validation fold the
    AUC often reaches 1.0 within a few epochs, while the probabilities are still bunched
    around the training class balance; the later, better separated checkpoint has the lower
    loss (and a meaningful decision threshold).
    """
    ids = list(val)
    risk = np.array([float(np.median(window_probabilities(model, val[i]))) for i in ids])
    y = np.array([labels[i] for i in ids], dtype=np.float64)
    auc = roc_auc(y.tolist(), risk.tolist())
    p = np.clip(risk, 1e-6, 1 - 1e-6)
    loss = float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p))) if len(ids) else float("inf")
    return (0.5 if np.isnan(auc) else float(auc)), loss


def infant_auc(model: nn.Module, val: dict[str, np.ndarray], labels: dict[str, int]) -> float:
    """AUC over infants, each scored by the median of its windows' CP probabilities."""
    return infant_scores(model, val, labels)[0]


def train_instance(
    arch: Any,
    layout: Layout,
    sequences: dict[str, PreparedSequence],
    labels: dict[str, int],
    train_ids: list[str],
    val_ids: list[str],
    cfg: TrainConfig,
    *,
    stop_rule: Callable[[int, float], bool] | None = None,
    on_epoch: Callable[[int, float], None] | None = None,
) -> TrainResult:
    """Train ``arch`` on ``train_ids``; keep the weights of the best validation-AUC epoch."""
    torch.set_num_threads(cfg.threads)
    torch.manual_seed(cfg.seed)
    rng = np.random.default_rng(cfg.seed)
    model = build(arch, layout)
    opt = torch.optim.SGD(model.parameters(), lr=cfg.lr, momentum=cfg.momentum, nesterov=cfg.nesterov)
    loss_fn = nn.CrossEntropyLoss()
    val = validation_features(val_ids, sequences)
    aug = AugmentConfig() if cfg.augment else None
    best = TrainResult(best_auc=-1.0, best_epoch=0, state_dict={})
    best_loss = float("inf")
    history: list[float] = []
    for epoch in range(1, cfg.epochs + 1):
        model.train()
        items = epoch_windows(
            train_ids, labels, sequences, rng, per_sequence=cfg.windows_per_sequence, cp_factor=cfg.cp_factor
        )
        for s in range(0, len(items), cfg.batch_size):
            chunk = items[s : s + cfg.batch_size]
            x = np.stack(
                [augmented_features(cut_window(sequences[i], st), layout, rng, aug) for i, st, _ in chunk]
            )
            y = torch.tensor([lab for _, _, lab in chunk], dtype=torch.long)
            logits, _ = model(torch.from_numpy(x))
            loss = loss_fn(logits, y)
            opt.zero_grad()
            loss.backward()
            opt.step()
        auc, loss = infant_scores(model, val, labels)
        history.append(auc)
        if auc > best.best_auc or (auc == best.best_auc and loss < best_loss):
            best.best_auc, best.best_epoch, best_loss = auc, epoch, loss
            best.state_dict = copy.deepcopy(model.state_dict())
        if on_epoch:
            on_epoch(epoch, auc)
        if stop_rule and stop_rule(epoch, auc):
            best.abandoned_at = epoch
            break
    best.history = history
    return best
