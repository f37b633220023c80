"""Pre-processing (method.md step 2) on hand-made skeletons whose features are known exactly."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from earlycp.errors import EarlyCPError, ErrorCode
from worker.science.layouts import INMOTION19, MPII16
from worker.science.preprocessing import (
    CHANNELS,
    MIN_KEYPOINT_CONFIDENCE,
    WINDOW_FRAMES,
    cut_window,
    features_from_positions,
    impute_low_confidence,
    inference_features,
    prepare_sequence,
    prepare_skeleton,
    rotate_upright,
    window_features,
    window_starts,
)

PELVIS, CHEST = MPII16.mid_pelvis, MPII16.upper_chest
WRIST = MPII16.index("left_wrist")


def static_pose(pelvis=(300.0, 400.0), chest=(300.0, 300.0), seed: int = 0) -> np.ndarray:
    """(J, 2) pixel pose: pelvis and chest where asked, other joints at fixed random places."""
    rng = np.random.default_rng(seed)
    pose = rng.uniform(150.0, 450.0, size=(MPII16.num_joints, 2))
    pose[PELVIS], pose[CHEST] = pelvis, chest
    return pose


def constant_skeleton(
    pose: np.ndarray, frames: int = 300, conf: float = 0.9
) -> tuple[np.ndarray, np.ndarray]:
    kp = np.empty((frames, pose.shape[0], 3), dtype=np.float32)
    kp[..., :2] = pose
    kp[..., 2] = conf
    return kp, np.arange(frames) / 30.0


def test_centring_and_scaling_on_the_median_pelvis_and_twice_the_trunk() -> None:
    pose = static_pose()
    kp, ts = constant_skeleton(pose)
    seq = prepare_sequence(kp, ts, MPII16)
    assert seq.centre_px == pytest.approx((300.0, 400.0))
    assert seq.trunk_length_px == pytest.approx(100.0)
    expected = (pose - [300.0, 400.0]) / 200.0
    np.testing.assert_allclose(seq.positions[0], expected, atol=1e-6)
    assert seq.positions[0, CHEST] == pytest.approx((0.0, -0.5))


def test_median_is_robust_to_a_minority_of_displaced_frames() -> None:
    kp, ts = constant_skeleton(static_pose(), frames=300)
    kp[:100, :, 0] += 50.0  # a third of the video the infant lies 50 px further right
    seq = prepare_sequence(kp, ts, MPII16)
    assert seq.centre_px == pytest.approx((300.0, 400.0))


def test_rotation_makes_the_first_trunk_segment_point_up() -> None:
    pose = static_pose(pelvis=(300.0, 400.0), chest=(400.0, 400.0))  # chest to the right
    pose[0] = (500.0, 400.0)  # head top beyond the chest, on the trunk's axis
    pose[WRIST] = (300.0, 500.0)  # straight "below" the pelvis in image coordinates
    kp, ts = constant_skeleton(pose)
    seq = prepare_sequence(kp, ts, MPII16)
    p = cut_window(seq, 0)
    assert p[0, CHEST] == pytest.approx((0.0, -0.5), abs=1e-9)
    assert p[0, 0] == pytest.approx((0.0, -1.0), abs=1e-9)
    assert p[0, WRIST] == pytest.approx((0.5, 0.0), abs=1e-9)  # (x, y) → (y, −x)
    assert p[0, PELVIS] == pytest.approx((0.0, 0.0), abs=1e-9)


def test_rotation_uses_the_first_time_step_only_and_is_rigid() -> None:
    rng = np.random.default_rng(3)
    window = rng.normal(size=(WINDOW_FRAMES, MPII16.num_joints, 2))
    rotated = rotate_upright(window, MPII16)
    seg = rotated[0, CHEST] - rotated[0, PELVIS]
    assert seg[0] == pytest.approx(0.0, abs=1e-12) and seg[1] < 0
    assert np.linalg.norm(seg) == pytest.approx(np.linalg.norm(window[0, CHEST] - window[0, PELVIS]))
    later = rotated[1:, CHEST] - rotated[1:, PELVIS]
    assert np.abs(later[:, 0]).max() > 0.1  # later steps are not forced upright
    d_before = np.linalg.norm(window[:, 3] - window[:, 12], axis=-1)
    d_after = np.linalg.norm(rotated[:, 3] - rotated[:, 12], axis=-1)
    np.testing.assert_allclose(d_after, d_before)

    # proper rotation (no mirroring): the signed area of a triangle is kept
    def area(p: np.ndarray) -> float:
        (ax, ay), (bx, by), (cx, cy) = p[0, 0], p[0, 4], p[0, 12]
        return (bx - ax) * (cy - ay) - (by - ay) * (cx - ax)

    assert area(rotated) == pytest.approx(area(window))


def test_degenerate_first_step_falls_back_to_the_next_usable_one() -> None:
    window = np.zeros((WINDOW_FRAMES, MPII16.num_joints, 2))
    window[1:, CHEST] = (1.0, 0.0)  # first step: chest on the pelvis
    rotated = rotate_upright(window, MPII16)
    assert rotated[1, CHEST] == pytest.approx((0.0, -1.0))


def test_feature_definitions_and_channel_order() -> None:
    rng = np.random.default_rng(1)
    p = rng.normal(size=(WINDOW_FRAMES, INMOTION19.num_joints, 2))
    f = features_from_positions(p, INMOTION19)
    assert f.shape == (6, WINDOW_FRAMES, 19) and f.dtype == np.float32
    assert CHANNELS == ("p_x", "p_y", "v_x", "v_y", "b_x", "b_y")
    np.testing.assert_allclose(f[0], p[..., 0], rtol=1e-6)
    np.testing.assert_allclose(f[1], p[..., 1], rtol=1e-6)
    np.testing.assert_allclose(f[2, :-1], p[1:, :, 0] - p[:-1, :, 0], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(f[3, :-1], p[1:, :, 1] - p[:-1, :, 1], rtol=1e-5, atol=1e-6)
    assert not f[2:4, -1].any()  # the last velocity step is zero-padded
    elbow, shoulder = INMOTION19.index("left_elbow"), INMOTION19.index("left_shoulder")
    np.testing.assert_allclose(f[4:6, :, elbow], (p[:, elbow] - p[:, shoulder]).T, rtol=1e-5, atol=1e-6)
    assert not f[4:6, :, INMOTION19.mid_pelvis].any()  # the root's bone is zero


def test_low_confidence_samples_are_interpolated_in_time() -> None:
    t = 60
    kp, ts = constant_skeleton(static_pose(), frames=t)
    kp[:, WRIST, 0] = 10.0 * np.arange(t)
    kp[10:20, WRIST, :2] = 9999.0  # garbage positions …
    kp[10:20, WRIST, 2] = 0.05  # … the model was unsure about
    kp[25, WRIST, :2] = np.nan  # a non-finite sample counts as missing too
    kp[:3, 0, 2] = 0.0  # head top missing at the very start: nearest confident value
    kp[3:, 0, 0] = 222.0
    xy, missing, never = impute_low_confidence(ts, kp, MPII16)
    np.testing.assert_allclose(xy[:, WRIST, 0], 10.0 * np.arange(t))
    assert xy[:3, 0, 0] == pytest.approx([222.0] * 3)
    assert missing.sum() == 10 + 1 + 3 and never == ()


def test_imputed_share_is_reported_and_never_confident_keypoint_copies_its_parent() -> None:
    kp, ts = constant_skeleton(static_pose(), frames=300)
    kp[:, WRIST, 2] = 0.1  # never confident
    kp[:30, 0, 2] = MIN_KEYPOINT_CONFIDENCE - 0.01  # 30 frames of head top
    seq = prepare_sequence(kp, ts, MPII16)
    elbow = MPII16.parents[WRIST]
    np.testing.assert_allclose(seq.positions[:, WRIST], seq.positions[:, elbow])
    assert seq.never_confident == ("left_wrist",)
    assert seq.imputed_share == pytest.approx((300 + 30) / (300 * 16))
    assert seq.imputed_share_per_keypoint["head_top"] == pytest.approx(0.1)
    qc = seq.qc()
    assert qc["never_confident_keypoints"] == ["left_wrist"]
    assert any("left_wrist" in w for w in qc["warnings"])


def test_spike_of_one_frame_is_removed_by_the_5_point_median() -> None:
    kp, ts = constant_skeleton(static_pose(), frames=200)
    kp[100, WRIST, 0] += 80.0
    seq = prepare_sequence(kp, ts, MPII16)
    assert np.ptp(seq.positions[:, WRIST, 0]) == pytest.approx(0.0, abs=1e-12)


def test_resamples_60_fps_to_30_hz_by_timestamp() -> None:
    frames = 600
    ts = np.arange(frames) / 60.0
    kp = np.empty((frames, 16, 3), dtype=np.float32)
    kp[..., :2] = static_pose()
    kp[..., 2] = 0.9
    kp[:, WRIST, 0] = 100.0 + 60.0 * ts  # moves 60 px per second
    seq = prepare_sequence(kp, ts, MPII16)
    assert seq.num_frames == 300
    np.testing.assert_allclose(np.diff(seq.timestamps), 1 / 30)
    step = np.diff(seq.positions[10:-10, WRIST, 0])
    np.testing.assert_allclose(step, 2.0 / 200.0, rtol=1e-4)  # 2 px per 1/30 s, scaled by 2×trunk


@pytest.mark.parametrize(
    ("breakage", "code"),
    [
        ("pelvis", ErrorCode.TRUNK_NOT_TRACKED),
        ("chest", ErrorCode.TRUNK_NOT_TRACKED),
        ("zero_trunk", ErrorCode.TRUNK_NOT_TRACKED),
        ("short", ErrorCode.SKELETON_TOO_SHORT),
    ],
)
def test_unusable_skeletons_raise_clear_codes(breakage: str, code: ErrorCode) -> None:
    kp, ts = constant_skeleton(static_pose(), frames=WINDOW_FRAMES - 1 if breakage == "short" else 300)
    if breakage == "pelvis":
        kp[:, PELVIS, 2] = 0.0
    elif breakage == "chest":
        kp[:, CHEST, 2] = 0.0
    elif breakage == "zero_trunk":
        kp[:, CHEST, :2] = kp[:, PELVIS, :2]
    with pytest.raises(EarlyCPError) as err:
        prepare_sequence(kp, ts, MPII16)
    assert err.value.code == code


def test_window_count_for_five_minutes_at_30_hz_is_119() -> None:
    starts = window_starts(9000)
    assert starts.size == 119 and starts[0] == 0 and starts[-1] == 8850
    assert window_starts(150).tolist() == [0]
    assert window_starts(224).tolist() == [0]  # the 74-frame tail is not analysed
    assert window_starts(225).tolist() == [0, 75]


def _skeleton(frames: int, layout=MPII16, seed: int = 5):
    from worker.skeleton.artefact import Skeleton

    rng = np.random.default_rng(seed)
    j = layout.num_joints
    pose = rng.uniform(200, 400, size=(j, 2))
    pose[layout.upper_chest] = pose[layout.mid_pelvis] + (5.0, -90.0)
    kp = np.empty((frames, j, 3), dtype=np.float32)
    kp[..., :2] = pose + np.cumsum(rng.normal(0, 0.8, size=(frames, j, 2)), axis=0)
    kp[..., 2] = rng.uniform(0.1, 1.0, size=(frames, j))
    return Skeleton(
        keypoints=kp,
        timestamps=np.arange(frames) / 30.0,
        layout=layout.name,
        keypoint_names=layout.keypoints,
        frame_size=(720, 576),
        pose_model={"name": "test", "version": "0", "sha256": "0" * 64},
    )


def test_train_serve_parity_same_features_from_both_paths(tmp_path: Path) -> None:
    """Serving (file → prepare_skeleton → inference_features) equals the trainer's per-window call."""
    skeleton = _skeleton(600)
    path = skeleton.save_npz(tmp_path / "s.npz")
    from worker.skeleton.artefact import Skeleton

    served, starts = inference_features(prepare_skeleton(Skeleton.load(path)))
    trainer_seq = prepare_sequence(skeleton.keypoints, skeleton.timestamps, MPII16)
    assert served.shape == (starts.size, 6, WINDOW_FRAMES, 16) and served.dtype == np.float32
    for w, start in enumerate(starts):
        assert np.array_equal(served[w], window_features(trainer_seq, int(start)))
    # the trainer may also cut at starts the server never uses
    assert window_features(trainer_seq, 13).shape == (6, WINDOW_FRAMES, 16)
    with pytest.raises(ValueError):
        window_features(trainer_seq, 600 - WINDOW_FRAMES + 1)


def test_prepare_skeleton_refuses_names_that_do_not_match_the_layout() -> None:
    skeleton = _skeleton(200)
    skeleton.keypoint_names = tuple(reversed(skeleton.keypoint_names))
    with pytest.raises(EarlyCPError) as err:
        prepare_skeleton(skeleton)
    assert err.value.code == ErrorCode.INVALID_SKELETON


def test_unordered_timestamps_are_refused() -> None:
    kp, ts = constant_skeleton(static_pose(), frames=200)
    ts[50] = ts[49]
    with pytest.raises(EarlyCPError) as err:
        prepare_sequence(kp, ts, MPII16)
    assert err.value.code == ErrorCode.INVALID_SKELETON


def test_trainer_window_path_without_augmentation_equals_serving() -> None:
    """train/trainer.py feeds augmented_features(cut_window(seq, start)); with no augmentation
    it must give the serving features bit for bit."""
    from train.augment import augmented_features

    seq = prepare_skeleton(_skeleton(450))
    served, starts = inference_features(seq)
    rng = np.random.default_rng(0)
    for w, start in enumerate(starts):
        trained = augmented_features(cut_window(seq, int(start)), MPII16, rng, None)
        assert np.array_equal(trained, served[w])
