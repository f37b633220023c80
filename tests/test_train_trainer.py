"""Validation AUC is per infant (median over its windows), not per window (train/trainer.py)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from train.trainer import infant_auc, window_probabilities


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


def test_window_probabilities_are_softmax_of_cp() -> None:
    p = window_probabilities(ReadsFeature(), _windows([0.0, np.log(3.0)]), batch=1)
    assert np.allclose(p, [0.5, 0.75], atol=1e-6)
