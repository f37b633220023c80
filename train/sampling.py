"""Random training windows per epoch (method.md): 12 per non-CP sequence, 5× as many per CP one.

Oversampling CP sequences balances the classes (published CP prevalence ≈ 15 %); every window
carries its infant's outcome as its (noisy) label, since nobody annotates which 5 s show CP.
"""

from __future__ import annotations

import numpy as np

from worker.science.preprocessing import WINDOW_FRAMES, PreparedSequence

WINDOWS_PER_SEQUENCE = 12
CP_FACTOR = 5


def epoch_windows(
    ids: list[str],
    labels: dict[str, int],
    sequences: dict[str, PreparedSequence],
    rng: np.random.Generator,
    *,
    per_sequence: int = WINDOWS_PER_SEQUENCE,
    cp_factor: int = CP_FACTOR,
) -> list[tuple[str, int, int]]:
    """Shuffled (infant id, window start, label) triples for one epoch."""
    out: list[tuple[str, int, int]] = []
    for i in ids:
        n = per_sequence * (cp_factor if labels[i] else 1)
        last = sequences[i].num_frames - WINDOW_FRAMES
        for s in rng.integers(0, last + 1, size=n):
            out.append((i, int(s), int(labels[i])))
    order = rng.permutation(len(out))
    return [out[k] for k in order]
