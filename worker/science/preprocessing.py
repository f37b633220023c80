"""Skeleton pre-processing and GCN input features (method.md step 2): one implementation.

The worker (inference) and the training package (``train/``) both call these functions, so a
model is always fed exactly the features it was trained on. The steps, in order:

0. **Low-confidence keypoints** (an addition to method.md): a sample whose confidence is below
   ``MIN_KEYPOINT_CONFIDENCE`` (or whose coordinates are not finite) is treated as missing and
   refilled by linear interpolation in time between the nearest confident samples of the same
   keypoint (the nearest confident sample before the first / after the last one). A keypoint
   that is never confident copies its parent's trajectory (zero bone, no movement of its own)
   rather than feeding the GCN pose-model noise. Mid pelvis and upper chest must be confident
   at least once, else ``TRUNK_NOT_TRACKED``. The imputed share is reported for QC.
1. Resample to 30 Hz by timestamp (``worker.science.resample``).
2. 5-point median filter per coordinate along time (edges: nearest-value padding).
3. Centre on the median mid-pelvis over the video; divide by 2 × the median upper-chest →
   mid-pelvis distance over the video (a trunk of < ``MIN_TRUNK_PX`` pixels → TRUNK_NOT_TRACKED).
4. Windows of 150 frames (5 s); at inference they start every 75 frames (hop 2.5 s) and a
   tail shorter than a hop after the last full window is not analysed. Fewer than 150 frames →
   SKELETON_TOO_SHORT. Training cuts windows at any start with ``window_features``.
5. Per window, rotate about the origin (the video's median mid pelvis) so that the mid-pelvis →
   upper-chest segment of the first time step points straight up in image coordinates
   (chest above pelvis: direction (0, −1), since image y grows downwards). If that segment is
   degenerate (< ``MIN_SEGMENT`` normalised units), the first non-degenerate time step of the
   window is used; if there is none, the window is not rotated.
6. Features: p (positions), v[t] = p[t+1] − p[t] with v[149] = 0 (the last step has no
   successor inside the window, and a window must not peek past its own end), and
   b[j] = p[j] − p[parent(j)] (``Layout.parents``; the root's bone is 0). Output float32
   (6, 150, J), channels [p_x, p_y, v_x, v_y, b_x, b_y]; a batch is (W, 6, 150, J).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from scipy.ndimage import median_filter

from earlycp.errors import EarlyCPError, ErrorCode
from worker.science.layouts import Layout, get_layout
from worker.science.resample import TARGET_RATE_HZ, resample_uniform

PREPROCESSING_VERSION = "1"
WINDOW_FRAMES = 150
HOP_FRAMES = 75
MEDIAN_FILTER_POINTS = 5
#: Keypoint samples below this heatmap confidence are treated as missing. EfficientPose's
#: reference "keypoint found" level is 0.3, but adult models score infants at 0.24–0.39 on
#: average, so 0.3 would discard much of a usable infant recording; 0.2 is also the level at
#: which the skeleton QC calls a keypoint poorly tracked (worker.skeleton.qc).
MIN_KEYPOINT_CONFIDENCE = 0.2
#: A median trunk shorter than this (pixels) cannot define the body scale.
MIN_TRUNK_PX = 1.0
#: First-step trunk segments shorter than this (normalised units; the median trunk is 0.5)
#: give no direction to rotate to.
MIN_SEGMENT = 1e-3
#: QC warns when more than this share of keypoint samples was imputed.
WARN_IMPUTED_SHARE = 0.2
CHANNELS = ("p_x", "p_y", "v_x", "v_y", "b_x", "b_y")


@dataclass(frozen=True)
class PreparedSequence:
    """A whole recording after steps 0–3: normalised 30 Hz positions ready to be windowed."""

    positions: np.ndarray  # (T, J, 2) float64, centred and scaled, 30 Hz
    timestamps: np.ndarray  # (T,) seconds of the 30 Hz grid
    layout: Layout
    centre_px: tuple[float, float]
    trunk_length_px: float
    imputed_share: float
    imputed_share_per_keypoint: dict[str, float] = field(default_factory=dict)
    never_confident: tuple[str, ...] = ()
    min_confidence: float = MIN_KEYPOINT_CONFIDENCE

    @property
    def num_frames(self) -> int:
        return int(self.positions.shape[0])

    def qc(self) -> dict[str, Any]:
        """What pre-processing adds to the report's QC block (plain JSON types)."""
        starts = window_starts(self.num_frames) if self.num_frames >= WINDOW_FRAMES else np.zeros(0)
        covered = int(starts[-1]) + WINDOW_FRAMES if starts.size else 0
        warnings = []
        if self.imputed_share > WARN_IMPUTED_SHARE:
            warnings.append(
                f"{self.imputed_share:.0%} of keypoint positions had low confidence "
                f"(< {self.min_confidence}) and were interpolated"
            )
        if self.never_confident:
            warnings.append(
                "keypoints never tracked confidently (replaced by their parent keypoint): "
                + ", ".join(self.never_confident)
            )
        return {
            "preprocessing_version": PREPROCESSING_VERSION,
            "min_keypoint_confidence": self.min_confidence,
            "imputed_share": round(self.imputed_share, 4),
            "imputed_share_per_keypoint": {
                k: round(v, 4) for k, v in self.imputed_share_per_keypoint.items()
            },
            "never_confident_keypoints": list(self.never_confident),
            "frames_30hz": self.num_frames,
            "windows": int(starts.size),
            "unanalysed_tail_s": round((self.num_frames - covered) / TARGET_RATE_HZ, 3) if covered else None,
            "trunk_length_px": round(self.trunk_length_px, 3),
            "centre_px": [round(c, 3) for c in self.centre_px],
            "warnings": warnings,
        }


def _trunk_error(detail: str) -> EarlyCPError:
    return EarlyCPError(ErrorCode.TRUNK_NOT_TRACKED, detail=detail)


def _tree_order(layout: Layout) -> list[int]:
    """Joints sorted so every parent comes before its children (root first)."""

    def depth(j: int) -> int:
        d = 0
        while layout.parents[j] != j:
            j = layout.parents[j]
            d += 1
        return d

    return sorted(range(layout.num_joints), key=depth)


def impute_low_confidence(
    timestamps: np.ndarray,
    keypoints: np.ndarray,
    layout: Layout,
    min_confidence: float = MIN_KEYPOINT_CONFIDENCE,
) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """Fill missing samples in time; returns (xy (T, J, 2) float64, missing (T, J), never-confident names)."""
    ts = np.asarray(timestamps, dtype=np.float64)
    kp = np.asarray(keypoints, dtype=np.float64)
    xy = kp[..., :2].copy()
    missing = ~(kp[..., 2] >= min_confidence) | ~np.isfinite(xy).all(axis=-1)
    for name, joint in (("mid pelvis", layout.mid_pelvis), ("upper chest", layout.upper_chest)):
        if missing[:, joint].all():
            raise _trunk_error(
                f"the {name} ({layout.keypoints[joint]}) never reached confidence {min_confidence}"
            )
    never: list[str] = []
    for joint in _tree_order(layout):
        gap = missing[:, joint]
        if not gap.any():
            continue
        if gap.all():
            xy[:, joint] = xy[:, layout.parents[joint]]
            never.append(layout.keypoints[joint])
            continue
        good = ~gap
        for c in range(2):
            xy[gap, joint, c] = np.interp(ts[gap], ts[good], xy[good, joint, c])
    never_sorted = tuple(n for n in layout.keypoints if n in never)
    return xy, missing, never_sorted


def prepare_sequence(
    keypoints: np.ndarray,
    timestamps: np.ndarray,
    layout: Layout,
    *,
    min_confidence: float = MIN_KEYPOINT_CONFIDENCE,
) -> PreparedSequence:
    """Steps 0–3 on raw (T, J, 3) keypoints (x, y, confidence in pixels) at ``timestamps``."""
    kp = np.asarray(keypoints)
    if kp.ndim != 3 or kp.shape[1] != layout.num_joints or kp.shape[2] != 3:
        raise EarlyCPError(
            ErrorCode.INVALID_SKELETON,
            detail=f"keypoints must be (T, {layout.num_joints}, 3) for layout {layout.name}, got {kp.shape}",
        )
    if kp.shape[0] == 0:
        raise EarlyCPError(ErrorCode.SKELETON_TOO_SHORT, detail="the skeleton has no frames")
    ts = np.asarray(timestamps, dtype=np.float64)
    if ts.shape != (kp.shape[0],) or not np.isfinite(ts).all() or (np.diff(ts) <= 0).any():
        raise EarlyCPError(
            ErrorCode.INVALID_SKELETON, detail="timestamps must be finite, strictly increasing, one per frame"
        )
    xy, missing, never = impute_low_confidence(ts, kp, layout, min_confidence)
    grid, xy30 = resample_uniform(ts, xy, TARGET_RATE_HZ)
    if grid.size < WINDOW_FRAMES:
        raise EarlyCPError(
            ErrorCode.SKELETON_TOO_SHORT,
            detail=f"{grid.size} frames at 30 Hz ({grid.size / TARGET_RATE_HZ:.2f} s); "
            f"one window needs {WINDOW_FRAMES}",
        )
    smooth = median_filter(xy30, size=(MEDIAN_FILTER_POINTS, 1, 1), mode="nearest")
    centre = np.median(smooth[:, layout.mid_pelvis], axis=0)
    trunk = float(
        np.median(np.linalg.norm(smooth[:, layout.upper_chest] - smooth[:, layout.mid_pelvis], axis=-1))
    )
    if not np.isfinite(trunk) or trunk < MIN_TRUNK_PX:
        raise _trunk_error(f"median upper chest → mid pelvis distance is {trunk:.3g} px (< {MIN_TRUNK_PX})")
    positions = (smooth - centre) / (2.0 * trunk)
    per_kp = missing.mean(axis=0)
    return PreparedSequence(
        positions=positions,
        timestamps=grid,
        layout=layout,
        centre_px=(float(centre[0]), float(centre[1])),
        trunk_length_px=trunk,
        imputed_share=float(missing.mean()),
        imputed_share_per_keypoint={n: float(v) for n, v in zip(layout.keypoints, per_kp, strict=True)},
        never_confident=never,
        min_confidence=float(min_confidence),
    )


def prepare_skeleton(skeleton: Any, *, min_confidence: float = MIN_KEYPOINT_CONFIDENCE) -> PreparedSequence:
    """Steps 0–3 on a ``worker.skeleton.artefact.Skeleton`` (checks its layout and names)."""
    layout = get_layout(skeleton.layout)
    if tuple(skeleton.keypoint_names) != layout.keypoints:
        raise EarlyCPError(
            ErrorCode.INVALID_SKELETON,
            detail=f"keypoint names {list(skeleton.keypoint_names)} do not match layout {layout.name}",
        )
    return prepare_sequence(skeleton.keypoints, skeleton.timestamps, layout, min_confidence=min_confidence)


def window_starts(num_frames: int, window: int = WINDOW_FRAMES, hop: int = HOP_FRAMES) -> np.ndarray:
    """Inference window starts 0, hop, 2·hop, … of every full window (5 min at 30 Hz → 119)."""
    if num_frames < window:
        raise EarlyCPError(
            ErrorCode.SKELETON_TOO_SHORT, detail=f"{num_frames} frames; one window needs {window}"
        )
    return np.arange(0, num_frames - window + 1, hop, dtype=np.int64)


def rotate_upright(window: np.ndarray, layout: Layout) -> np.ndarray:
    """Rotate (T, J, 2) positions about the origin so the first pelvis→chest segment points up."""
    segments = window[:, layout.upper_chest] - window[:, layout.mid_pelvis]
    lengths = np.linalg.norm(segments, axis=-1)
    usable = np.flatnonzero(lengths >= MIN_SEGMENT)
    if usable.size == 0:
        return window.copy()
    ux, uy = segments[usable[0]] / lengths[usable[0]]
    # R maps (ux, uy) onto (0, -1): chest straight above the pelvis in image coordinates.
    rotation = np.array([[-uy, ux], [-ux, -uy]])
    return window @ rotation.T


def features_from_positions(window: np.ndarray, layout: Layout) -> np.ndarray:
    """(T, J, 2) window positions → float32 (6, T, J) features [p, v, b] (step 6)."""
    p = np.asarray(window, dtype=np.float64)
    v = np.zeros_like(p)
    v[:-1] = p[1:] - p[:-1]
    b = p - p[:, list(layout.parents)]
    return np.concatenate([p, v, b], axis=-1).transpose(2, 0, 1).astype(np.float32)


def cut_window(sequence: PreparedSequence, start: int, length: int = WINDOW_FRAMES) -> np.ndarray:
    """The rotated (length, J, 2) positions of the window starting at frame ``start``."""
    if not 0 <= start <= sequence.num_frames - length:
        raise ValueError(f"window start {start} outside 0…{sequence.num_frames - length}")
    return rotate_upright(sequence.positions[start : start + length], sequence.layout)


def window_features(sequence: PreparedSequence, start: int) -> np.ndarray:
    """Float32 (6, 150, J) features of the window at any ``start`` (training samples these)."""
    return features_from_positions(cut_window(sequence, start), sequence.layout)


def inference_features(sequence: PreparedSequence) -> tuple[np.ndarray, np.ndarray]:
    """All inference windows: features float32 (W, 6, 150, J) and their start frames (W,)."""
    starts = window_starts(sequence.num_frames)
    features = np.stack([window_features(sequence, int(s)) for s in starts])
    return features, starts
