"""PCKh, the pose-precision metric of method.md: share of keypoints within τ head lengths.

Head length is the head-top → upper-neck distance of the annotation. Used by the regression
tests against the MPII photographs and by anyone evaluating a site's own pose model.
"""

from __future__ import annotations

import numpy as np

from worker.science.layouts import Layout

TAUS = (1.0, 0.5, 0.3, 0.2, 0.1)


def normalised_errors(pred_xy: np.ndarray, true_xy: np.ndarray, layout: Layout) -> np.ndarray:
    """(N, J) distances between prediction and annotation, in head lengths of each sample."""
    head = np.linalg.norm(true_xy[:, layout.head_top] - true_xy[:, layout.upper_neck], axis=-1)
    return np.linalg.norm(pred_xy - true_xy, axis=-1) / np.maximum(head, 1e-9)[:, None]


def pckh(
    pred_xy: np.ndarray,
    true_xy: np.ndarray,
    layout: Layout,
    taus: tuple[float, ...] = TAUS,
    visible: np.ndarray | None = None,
) -> dict[str, float]:
    """PCKh@τ in percent for each τ plus the mean normalised error (over visible keypoints)."""
    err = normalised_errors(pred_xy, true_xy, layout)
    if visible is not None:
        err = err[visible.astype(bool)]
    err = err.ravel()
    out = {f"pckh@{t:g}": float(100.0 * np.mean(err <= t)) for t in taus}
    out["mean_error"] = float(np.mean(err))
    return out
