"""Validation AUC is per infant (median over its windows), not per window (train/trainer.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from train.trainer import infant_auc, infant_scores, window_probabilities


class ReadsFeature(nn.Module):
    """CP logit = the window's first feature value; a stand-in with known outputs."""

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        v = x[:, 0, 0, 0]
        return torch.stack([torch.zeros_like(v), v], dim=1), x[:, 0].mean(dim=1)


def _windows(values: list[float]) -> np.ndarray:
    x = np.zeros((len(values), 6, 150, 16), dtype=np.float32)
    x[:, 0, 0, 0] = values
    return x


def test_infant_auc_uses_median_over_windows() -> None:
    # Infant "cp" has one very low window but a high median; per-window AUC would be < 1.
    val = {
        "cp": _windows([-5.0, 2.0, 2.0]),
        "typ1": _windows([0.0, 0.0, 1.0]),
        "typ2": _windows([-1.0, 3.0, -1.0]),
    }
    labels = {"cp": 1, "typ1": 0, "typ2": 0}
    assert infant_auc(ReadsFeature(), val, labels) == pytest.approx(1.0)
    labels_flipped = {"cp": 0, "typ1": 0, "typ2": 1}  # typ2 has a high window, low median
    assert infant_auc(ReadsFeature(), val, labels_flipped) == pytest.approx(0.0)


def test_equal_auc_checkpoints_are_told_apart_by_log_loss() -> None:
    """Both rank the infants perfectly; only the separated one says 'low risk' to the typical."""
    labels = {"cp": 1, "typ": 0}
    bunched = {"cp": _windows([1.6]), "typ": _windows([1.4])}  # p ≈ 0.83 and 0.80
    separated = {"cp": _windows([3.0]), "typ": _windows([-3.0])}  # p ≈ 0.95 and 0.05
    auc_b, loss_b = infant_scores(ReadsFeature(), bunched, labels)
    auc_s, loss_s = infant_scores(ReadsFeature(), separated, labels)
    assert auc_b == auc_s == pytest.approx(1.0)
    p_cp, p_typ = 1 / (1 + np.exp(-3.0)), 1 / (1 + np.exp(3.0))
    assert loss_s == pytest.approx(-(np.log(p_cp) + np.log(1 - p_typ)) / 2, rel=1e-5)
    assert loss_s < loss_b


def test_window_probabilities_are_softmax_of_cp() -> None:
    p = window_probabilities(ReadsFeature(), _windows([0.0, np.log(3.0)]), batch=1)
    assert np.allclose(p, [0.5, 0.75], atol=1e-6)
