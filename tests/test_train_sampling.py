"""Epoch window sampling and augmentation (train/sampling.py, train/augment.py)."""

from __future__ import annotations

from collections import Counter

import numpy as np

from train.augment import AugmentConfig, augment_positions, augmented_features
from train.sampling import epoch_windows
from worker.science.layouts import MPII16
from worker.science.preprocessing import PreparedSequence, features_from_positions


def _seq(frames: int) -> PreparedSequence:
    pos = np.random.default_rng(0).normal(size=(frames, 16, 2))
    return PreparedSequence(pos, np.arange(frames) / 30, MPII16, (0.0, 0.0), 100.0, 0.0)


def test_twelve_windows_per_typical_and_five_times_per_cp() -> None:
    seqs = {"a": _seq(400), "b": _seq(151), "c": _seq(900)}
    labels = {"a": 0, "b": 1, "c": 0}
    items = epoch_windows(list(seqs), labels, seqs, np.random.default_rng(0))
    count = Counter(i for i, _, _ in items)
    assert count == {"a": 12, "b": 60, "c": 12}
    assert all(lab == labels[i] for i, _, lab in items)  # the infant's outcome labels each window
    assert all(0 <= s <= seqs[i].num_frames - 150 for i, s, _ in items)
    starts_c = {s for i, s, _ in items if i == "c"}
    assert len(starts_c) > 6  # random positions, not a fixed grid


def test_augmentation_ranges_and_features_from_augmented_positions() -> None:
    rng = np.random.default_rng(3)
    w = np.random.default_rng(1).normal(size=(150, 16, 2))
    for _ in range(50):
        a = augment_positions(w, rng)
        # a similarity transform: distance ratios give the scale, which must lie in 0.7–1.3
        s = np.linalg.norm(a[0, 1] - a[0, 0]) / np.linalg.norm(w[0, 1] - w[0, 0])
        assert 0.7 - 1e-9 <= s <= 1.3 + 1e-9
    f = augmented_features(w, MPII16, np.random.default_rng(7))
    p = augment_positions(w, np.random.default_rng(7), AugmentConfig())
    assert np.allclose(f, features_from_positions(p, MPII16), atol=1e-6)  # v and b from augmented p
    assert np.allclose(f[2:4, :-1], np.diff(f[0:2], axis=1), atol=1e-5)
    assert np.array_equal(augmented_features(w, MPII16, rng, None), features_from_positions(w, MPII16))
    assert not np.allclose(f, features_from_positions(w, MPII16))
