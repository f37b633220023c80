"""From N instance confidences per window to a risk, a certainty colour and explanations.

method.md step 4, in one place ("how is the risk computed"):

- window risk = median of the N instance confidences of that window;
- video risk = median of the window risks; classified CP when risk > threshold (strict);
- each instance's own video-level prediction = its median over the windows;
- certainty share s = share of instances whose prediction exceeds the threshold (per window:
  the instance's window confidence; video: the instance's median over windows);
- colour: green s < 25 %, yellow 25 % ≤ s ≤ 50 %, orange 50 % < s ≤ 75 %, red s > 75 %.
  Shares are compared as integer counts (4·count vs N) so the boundaries are exact;
- box plot per window over the N instance values: quartiles by linear interpolation between
  order statistics (numpy's default, Hyndman–Fan type 7), Tukey whiskers at the most extreme
  values within 1.5 × IQR of the quartiles, plus min and max;
- CAM per keypoint and window = median over the N instances (the median, like the risk, so a
  single outlying instance cannot paint a body part red); overall CAM = per-keypoint median over
  windows (method.md).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

Colour = Literal["green", "yellow", "orange", "red"]
COLOUR_MEANING: dict[str, str] = {
    "green": "certain no CP",
    "yellow": "uncertain no CP",
    "orange": "uncertain CP",
    "red": "certain CP",
}
DEFAULT_THRESHOLD = 0.25
PUBLISHED_THRESHOLDS = (0.15, 0.20, 0.25, 0.30, 0.35)


def colour_from_counts(count: int, n: int) -> Colour:
    """Certainty colour for ``count`` of ``n`` instances above threshold, with exact boundaries."""
    if n <= 0 or not 0 <= count <= n:
        raise ValueError(f"invalid count {count} of {n}")
    quarters = 4 * count  # s = count / n; compare 4·count with n, 2n, 3n to avoid rounding
    if quarters < n:
        return "green"
    if quarters <= 2 * n:
        return "yellow"
    if quarters <= 3 * n:
        return "orange"
    return "red"


def colour_for_share(share: float) -> Colour:
    """Certainty colour for a share s in [0, 1] (prefer ``colour_from_counts`` when counts exist)."""
    if not 0.0 <= share <= 1.0:
        raise ValueError(f"share {share} outside [0, 1]")
    if share < 0.25:
        return "green"
    if share <= 0.5:
        return "yellow"
    if share <= 0.75:
        return "orange"
    return "red"


@dataclass(frozen=True)
class BoxStats:
    median: float
    q1: float
    q3: float
    whisker_low: float
    whisker_high: float
    min: float
    max: float


def box_stats(values: np.ndarray) -> BoxStats:
    """Tukey box-plot statistics of a 1-D sample (quartiles: numpy linear / type 7)."""
    v = np.sort(np.asarray(values, dtype=np.float64).ravel())
    if v.size == 0:
        raise ValueError("no values")
    q1, med, q3 = np.quantile(v, [0.25, 0.5, 0.75])
    iqr = q3 - q1
    inside = v[(v >= q1 - 1.5 * iqr) & (v <= q3 + 1.5 * iqr)]
    return BoxStats(
        median=float(med),
        q1=float(q1),
        q3=float(q3),
        whisker_low=float(inside.min()),
        whisker_high=float(inside.max()),
        min=float(v[0]),
        max=float(v[-1]),
    )


@dataclass(frozen=True)
class Aggregate:
    """Everything step 4 derives from (W, N) confidences and (W, N, J) CAMs at one threshold."""

    threshold: float
    window_risk: np.ndarray  # (W,)
    risk: float
    classified_cp: bool
    instance_predictions: np.ndarray  # (N,) each instance's median over windows
    window_count_above: np.ndarray  # (W,) int
    window_colours: tuple[Colour, ...]
    count_above: int
    colour: Colour
    boxes: tuple[BoxStats, ...]
    window_cam: np.ndarray | None  # (W, J)
    cam: np.ndarray | None  # (J,)

    @property
    def n_instances(self) -> int:
        return int(self.instance_predictions.size)

    @property
    def share_above(self) -> float:
        return self.count_above / self.n_instances

    @property
    def window_share_above(self) -> np.ndarray:
        return self.window_count_above / self.n_instances


def classify(risk: float, threshold: float) -> bool:
    """CP when the risk strictly exceeds the decision threshold."""
    return bool(risk > threshold)


def aggregate(confidences: np.ndarray, threshold: float, cam: np.ndarray | None = None) -> Aggregate:
    """Aggregate (W, N) instance confidences (and optional (W, N, J) CAMs) at ``threshold``."""
    conf = np.asarray(confidences, dtype=np.float64)
    if conf.ndim != 2 or conf.shape[0] == 0 or conf.shape[1] == 0:
        raise ValueError(f"confidences must be (W, N) with W, N ≥ 1, got {conf.shape}")
    if not 0.0 <= threshold <= 1.0:
        raise ValueError(f"threshold {threshold} outside [0, 1]")
    n = conf.shape[1]
    window_risk = np.median(conf, axis=1)
    risk = float(np.median(window_risk))
    per_instance = np.median(conf, axis=0)
    window_counts = (conf > threshold).sum(axis=1).astype(np.int64)
    count = int((per_instance > threshold).sum())
    window_cam = overall = None
    if cam is not None:
        cam_arr = np.asarray(cam, dtype=np.float64)
        if cam_arr.ndim != 3 or cam_arr.shape[:2] != conf.shape:
            raise ValueError(f"cam must be (W, N, J) matching confidences {conf.shape}, got {cam_arr.shape}")
        window_cam = np.median(cam_arr, axis=1)
        overall = np.median(window_cam, axis=0)
    return Aggregate(
        threshold=float(threshold),
        window_risk=window_risk,
        risk=risk,
        classified_cp=classify(risk, threshold),
        instance_predictions=per_instance,
        window_count_above=window_counts,
        window_colours=tuple(colour_from_counts(int(c), n) for c in window_counts),
        count_above=count,
        colour=colour_from_counts(count, n),
        boxes=tuple(box_stats(row) for row in conf),
        window_cam=window_cam,
        cam=overall,
    )
