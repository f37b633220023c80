"""Quality control of a skeleton: is there a person, how confident, how steady.

A pose model always returns *some* keypoints, even on an empty mattress, so "a skeleton came
out" proves nothing. The rules below decide whether a person is present in each frame and
summarise tracking quality; they are stored in the artefact and printed on the console so a
clinician sees a weak recording before trusting its risk.

Calibration (docs/motion-capture.md has the full table): over all six EfficientPose models the
frame score — the mean confidence of the best-scoring half of the keypoints — was ≥ 0.38 on
every real person (MPII crops, the sample videos) and ≤ 0.28 on every no-person image (black,
grey, white, noise, blurred noise, generated mattresses with and without a blob, background
patches of the MPII photographs). The plain mean over all keypoints separates worse (0.21 vs
0.18) because half-visible people lose their lower-body keypoints. The threshold 0.33 sits
in the middle of the gap. Skeletal plausibility (limb symmetry, thorax between the shoulders)
was measured too but did not separate: noise often yields a plausible-looking stick figure.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from earlycp.errors import EarlyCPError, ErrorCode
from worker.science.layouts import Layout

QC_VERSION = 1
#: A frame shows a person when the mean confidence of its best half of keypoints reaches this.
PERSON_FRAME_SCORE = 0.33
#: Below this share of person frames the recording is refused (NO_PERSON).
MIN_PERSON_SHARE = 0.25
#: Below this share of person frames the skeleton is kept but flagged.
WARN_PERSON_SHARE = 0.9
#: Mean keypoint confidence under which tracking counts as weak. Adult models score 0.5–0.7
#: on adults and 0.24–0.39 on infants (method.md): infants will usually get this warning.
WARN_MEAN_CONFIDENCE = 0.40
#: A keypoint whose mean confidence is below this is listed as poorly tracked.
WARN_KEYPOINT_CONFIDENCE = 0.20
#: Median keypoint acceleration (torso lengths per frame², 30 Hz) above which tracking is jittery.
WARN_JITTER = 0.05


def frame_scores(keypoints: np.ndarray) -> np.ndarray:
    """Per-frame person score (T,): mean confidence of the best ⌈J/2⌉ keypoints."""
    conf = keypoints[..., 2]
    half = (conf.shape[1] + 1) // 2
    return np.sort(conf, axis=1)[:, -half:].mean(axis=1) if conf.size else np.zeros(conf.shape[0])


def person_frames(keypoints: np.ndarray, threshold: float = PERSON_FRAME_SCORE) -> np.ndarray:
    """Boolean (T,): frames in which a person is found."""
    return frame_scores(keypoints) >= threshold


def torso_length(keypoints: np.ndarray, layout: Layout, present: np.ndarray | None = None) -> float:
    """Median upper-chest → mid-pelvis distance in pixels over frames with a person."""
    xy = keypoints[..., :2]
    lengths = np.linalg.norm(xy[:, layout.upper_chest] - xy[:, layout.mid_pelvis], axis=-1)
    if present is not None and present.any():
        lengths = lengths[present]
    return float(np.median(lengths)) if lengths.size else 0.0


def jitter(keypoints: np.ndarray, layout: Layout, present: np.ndarray | None = None) -> float:
    """Median keypoint acceleration |p[t+1] − 2p[t] + p[t−1]| in torso lengths, at 30 Hz.

    The second difference cancels smooth movement (a limb moving at constant speed scores 0)
    and keeps frame-to-frame tracking noise, which flips direction every frame: it measures
    how much of the trajectory is noise, whatever the infant is doing.
    """
    if keypoints.shape[0] < 3:
        return 0.0
    torso = torso_length(keypoints, layout, present)
    if torso <= 0:
        return float("inf")
    xy = keypoints[..., :2].astype(np.float64)
    accel = np.linalg.norm(xy[2:] - 2 * xy[1:-1] + xy[:-2], axis=-1)  # (T-2, J)
    if present is not None:
        all3 = present[2:] & present[1:-1] & present[:-2]
        accel = accel[all3] if all3.any() else accel
    return float(np.median(accel) / torso)


def median_step(keypoints: np.ndarray, layout: Layout, present: np.ndarray | None = None) -> float:
    """Median frame-to-frame keypoint displacement in torso lengths (movement plus noise)."""
    if keypoints.shape[0] < 2:
        return 0.0
    torso = torso_length(keypoints, layout, present)
    if torso <= 0:
        return float("inf")
    steps = np.linalg.norm(np.diff(keypoints[..., :2].astype(np.float64), axis=0), axis=-1)
    if present is not None:
        both = present[1:] & present[:-1]
        steps = steps[both] if both.any() else steps
    return float(np.median(steps) / torso)


def compute_qc(
    keypoints: np.ndarray, layout: Layout, *, threshold: float = PERSON_FRAME_SCORE
) -> dict[str, Any]:
    """The QC summary stored in the artefact (plain JSON types only)."""
    t = keypoints.shape[0]
    scores = frame_scores(keypoints)
    present = scores >= threshold
    share = float(present.mean()) if t else 0.0
    conf = keypoints[..., 2]
    rows = conf[present] if present.any() else conf
    per_kp = rows.mean(axis=0) if rows.size else np.zeros(keypoints.shape[1])
    mean_conf = float(per_kp.mean()) if per_kp.size else 0.0
    jit = jitter(keypoints, layout, present)
    step = median_step(keypoints, layout, present)
    torso = torso_length(keypoints, layout, present)
    warnings: list[str] = []
    if share < WARN_PERSON_SHARE:
        warnings.append(
            f"the infant was found in only {share:.0%} of the frames (expected ≥ {WARN_PERSON_SHARE:.0%})"
        )
    if mean_conf < WARN_MEAN_CONFIDENCE:
        warnings.append(
            f"low tracking confidence (mean {mean_conf:.2f} < {WARN_MEAN_CONFIDENCE:.2f}); adult pose "
            "models track infants poorly: check the overlay before trusting the result"
        )
    weak = [n for n, c in zip(layout.keypoints, per_kp.tolist(), strict=True) if c < WARN_KEYPOINT_CONFIDENCE]
    if weak:
        warnings.append(f"poorly tracked keypoints: {', '.join(weak)}")
    if np.isfinite(jit) and jit > WARN_JITTER:
        warnings.append(f"jittery tracking ({jit:.3f} torso lengths per frame > {WARN_JITTER})")
    return {
        "qc_version": QC_VERSION,
        "frames": int(t),
        "person_threshold": threshold,
        "person_frames": int(present.sum()),
        "person_share": round(share, 4),
        "mean_confidence": round(mean_conf, 4),
        "keypoint_confidence": {n: round(float(c), 4) for n, c in zip(layout.keypoints, per_kp, strict=True)},
        "median_frame_score": round(float(np.median(scores)), 4) if t else 0.0,
        "torso_length_px": round(torso, 2),
        "jitter": round(jit, 5) if np.isfinite(jit) else None,
        "median_step": round(step, 5) if np.isfinite(step) else None,
        "warnings": warnings,
        "status": "warning" if warnings else "ok",
    }


def require_person(qc: dict[str, Any]) -> None:
    """Refuse a recording in which no person was found (NO_PERSON), rather than analyse noise."""
    if qc["frames"] == 0 or qc["person_share"] < MIN_PERSON_SHARE:
        raise EarlyCPError(
            ErrorCode.NO_PERSON,
            detail=f"a person was found in {qc['person_share']:.0%} of the frames "
            f"(median frame score {qc['median_frame_score']:.2f}, threshold {qc['person_threshold']:.2f})",
        )


def format_qc(qc: dict[str, Any]) -> str:
    """Human-readable QC block for the console."""
    lines = [
        f"quality: {qc['status'].upper()}  person found in {qc['person_share']:.0%} of {qc['frames']} frames, "
        f"mean confidence {qc['mean_confidence']:.2f}, jitter "
        + (f"{qc['jitter']:.4f}" if qc.get("jitter") is not None else "n/a")
        + " torso lengths/frame"
    ]
    kp = qc.get("keypoint_confidence", {})
    if kp:
        lines.append("keypoint confidence: " + ", ".join(f"{n} {c:.2f}" for n, c in kp.items()))
    lines += [f"WARNING: {w}" for w in qc.get("warnings", [])]
    return "\n".join(lines)
