"""Quality control rules on constructed skeletons (the calibration itself is in the pose tests)."""

from __future__ import annotations

import numpy as np
import pytest

from earlycp.errors import EarlyCPError, ErrorCode
from worker.science.layouts import MPII16
from worker.skeleton.qc import (
    PERSON_FRAME_SCORE,
    WARN_JITTER,
    compute_qc,
    format_qc,
    frame_scores,
    jitter,
    require_person,
)

# A standing adult in pixels, MPII16 order.
POSE = np.array(
    [[300, 100], [300, 140], [260, 150], [250, 210], [245, 260], [300, 150], [340, 150], [350, 210],
     [355, 260], [300, 260], [275, 260], [270, 340], [268, 420], [325, 260], [330, 340], [332, 420]],
    np.float64,
)  # fmt: skip


def _sequence(frames: int, conf: float, noise_px: float = 0.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    kp = np.zeros((frames, 16, 3), np.float32)
    drift = np.linspace(0, 30, frames)[:, None, None]
    kp[..., :2] = POSE[None] + drift + rng.normal(0, noise_px, size=(frames, 16, 2))
    kp[..., 2] = conf
    return kp


def test_frame_score_is_the_mean_of_the_best_half() -> None:
    kp = np.zeros((1, 16, 3), np.float32)
    kp[0, :8, 2] = 0.5  # half the keypoints found, the other half lost
    assert frame_scores(kp)[0] == pytest.approx(0.5)


def test_clear_person_passes_without_warnings() -> None:
    qc = compute_qc(_sequence(150, 0.6), MPII16)
    assert qc["person_share"] == 1.0 and qc["status"] == "ok" and qc["warnings"] == []
    assert qc["jitter"] == pytest.approx(0.0, abs=1e-6)  # constant-speed drift is not jitter
    assert qc["median_step"] > 0
    assert set(qc["keypoint_confidence"]) == set(MPII16.keypoints)
    require_person(qc)


def test_weak_infant_tracking_is_kept_with_a_warning() -> None:
    """Adult models score infants 0.24–0.39 on average: processed, but flagged."""
    kp = _sequence(150, 0.3)
    kp[:, :8, 2] = 0.42  # the better-tracked half, as on real infant frames
    qc = compute_qc(kp, MPII16)
    require_person(qc)
    assert qc["status"] == "warning"
    assert any("low tracking confidence" in w for w in qc["warnings"])
    assert "WARNING: low tracking confidence" in format_qc(qc)


def test_no_person_is_refused() -> None:
    qc = compute_qc(_sequence(150, PERSON_FRAME_SCORE * 0.6), MPII16)
    with pytest.raises(EarlyCPError) as err:
        require_person(qc)
    assert err.value.code == ErrorCode.NO_PERSON


def test_person_in_few_frames_is_refused_and_in_most_frames_flagged() -> None:
    kp = _sequence(100, 0.6)
    kp[:85, :, 2] = 0.05
    with pytest.raises(EarlyCPError, match="NO_PERSON"):
        require_person(compute_qc(kp, MPII16))
    kp = _sequence(100, 0.6)
    kp[:30, :, 2] = 0.05
    qc = compute_qc(kp, MPII16)
    require_person(qc)
    assert qc["person_share"] == pytest.approx(0.7)
    assert any("found in only 70%" in w for w in qc["warnings"])


def test_jitter_grows_with_tracking_noise() -> None:
    torso = np.linalg.norm(POSE[5] - POSE[9])
    quiet = jitter(_sequence(150, 0.6, noise_px=0.2), MPII16)
    noisy = jitter(_sequence(150, 0.6, noise_px=0.1 * torso), MPII16)
    assert quiet < 0.01 < WARN_JITTER < noisy
    qc = compute_qc(_sequence(150, 0.6, noise_px=0.1 * torso), MPII16)
    assert any("jittery" in w for w in qc["warnings"])
