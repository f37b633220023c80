"""Window augmentation (method.md): scale 0.7–1.3, rotation ±45°, translation ±0.3.

Applied to a window's normalised, upright positions *before* features are computed, so velocity
and bone features are those of the augmented skeleton (v and b from the augmented p) — the same
``features_from_positions`` the worker uses at inference (train/serve parity).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from worker.science.layouts import Layout
from worker.science.preprocessing import features_from_positions


@dataclass(frozen=True)
class AugmentConfig:
    scale: tuple[float, float] = (0.7, 1.3)
    rotation_deg: float = 45.0
    translation: float = 0.3


def augment_positions(
    window: np.ndarray, rng: np.random.Generator, cfg: AugmentConfig = AugmentConfig()
) -> np.ndarray:
    """One random similarity transform of a (T, J, 2) window (one draw for the whole window)."""
    s = rng.uniform(*cfg.scale)
    a = np.deg2rad(rng.uniform(-cfg.rotation_deg, cfg.rotation_deg))
    t = rng.uniform(-cfg.translation, cfg.translation, size=2)
    c, si = np.cos(a), np.sin(a)
    m = s * np.array([[c, -si], [si, c]])
    return window @ m.T + t


def augmented_features(
    window: np.ndarray, layout: Layout, rng: np.random.Generator, cfg: AugmentConfig | None = AugmentConfig()
) -> np.ndarray:
    """Float32 (6, T, J) features of the augmented window (``cfg=None``: no augmentation)."""
    p = window if cfg is None else augment_positions(window, rng, cfg)
    return features_from_positions(p, layout)
