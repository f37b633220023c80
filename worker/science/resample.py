"""Resampling of keypoint trajectories onto a uniform time grid (method.md step 2.1).

Clinic videos run at 24–60 fps and phones record with variable frame rate, so every
skeleton is put on an exact 30 Hz grid *by timestamp* (never by frame count) before any
filtering or windowing. Linear interpolation keeps sub-pixel positions; the confidence
channel is interpolated the same way so a dropped keypoint stays visibly weak.
"""

from __future__ import annotations

import numpy as np

TARGET_RATE_HZ = 30.0


def uniform_grid(start: float, end: float, rate: float = TARGET_RATE_HZ) -> np.ndarray:
    """Times start, start + 1/rate, … up to and including ``end`` (within a micro-second)."""
    if end < start:
        raise ValueError("end before start")
    count = int(np.floor((end - start) * rate + 1e-6)) + 1
    return start + np.arange(count, dtype=np.float64) / rate


def resample_uniform(
    timestamps: np.ndarray, values: np.ndarray, rate: float = TARGET_RATE_HZ
) -> tuple[np.ndarray, np.ndarray]:
    """Linearly interpolate ``values`` (T, ...) sampled at ``timestamps`` (T,) onto a uniform grid.

    The grid starts at the first timestamp and never extrapolates past the last one.
    Duplicate or unsorted timestamps (seen in broken VFR files) are sorted and de-duplicated.
    """
    ts = np.asarray(timestamps, dtype=np.float64)
    vals = np.asarray(values)
    if ts.ndim != 1 or vals.shape[0] != ts.shape[0]:
        raise ValueError("timestamps must be (T,) and values (T, ...)")
    if ts.size == 0:
        return ts.copy(), vals.copy()
    order = np.argsort(ts, kind="stable")
    ts, vals = ts[order], vals[order]
    keep = np.concatenate([[True], np.diff(ts) > 1e-9])
    ts, vals = ts[keep], vals[keep]
    grid = uniform_grid(float(ts[0]), float(ts[-1]), rate)
    if ts.size == 1:
        return grid, np.repeat(vals[:1], grid.size, axis=0)
    # Interpolate every trailing column at once: locate each grid time once, then blend.
    idx = np.clip(np.searchsorted(ts, grid, side="right") - 1, 0, ts.size - 2)
    t0, t1 = ts[idx], ts[idx + 1]
    w = ((grid - t0) / (t1 - t0)).reshape((-1,) + (1,) * (vals.ndim - 1))
    flat = vals.astype(np.float64, copy=False)
    out = flat[idx] * (1.0 - w) + flat[idx + 1] * w
    return grid, out.astype(vals.dtype if np.issubdtype(vals.dtype, np.floating) else np.float64)
