"""The synthetic cohort's classes differ in the statistics the generator promises (train/synthetic.py)."""

from __future__ import annotations

import numpy as np
import pytest

from train.synthetic import InfantSpec, band_noise, draw_specs, generate_skeleton, write_cohort
from worker.science.layouts import get_layout
from worker.science.preprocessing import prepare_skeleton
from worker.skeleton.artefact import Skeleton

LIMB_ENDS = ("right_wrist", "left_wrist", "right_ankle", "left_ankle")


def _spec(cp: int, subtype: str, side: str = "") -> InfantSpec:
    return InfantSpec("x", cp, subtype, "II" if cp else "", "c1", 12, 60.0, side)


def _positions(spec: InfantSpec, seed: int, layout: str = "mpii16") -> np.ndarray:
    return prepare_skeleton(generate_skeleton(spec, layout, seed)).positions


def _hf_share(pos: np.ndarray, joints: list[int]) -> float:
    """Share of limb-end displacement power at 1.5–4 Hz (the fidgety band)."""
    x = pos[:, joints] - pos[:, [9]]
    spec = np.abs(np.fft.rfft(x - x.mean(0), axis=0)) ** 2
    f = np.fft.rfftfreq(x.shape[0], 1 / 30)
    return float(spec[(f >= 1.5) & (f <= 4.0)].sum() / spec[f > 0.05].sum())


def _speed(pos: np.ndarray, j: int) -> np.ndarray:
    return np.linalg.norm(np.diff(pos[:, j] - pos[:, 9], axis=0), axis=-1)


def _lr_corr(pos: np.ndarray, lay) -> float:
    r, left = lay.index("right_wrist"), lay.index("left_wrist")
    a = pos[:, r, 1] - pos[:, 9, 1]
    b = pos[:, left, 1] - pos[:, 9, 1]
    return float(np.corrcoef(a, b)[0, 1])


def _variability(pos: np.ndarray, j: int) -> float:
    """Coefficient of variation of the per-2-s movement amount."""
    s = _speed(pos, j)
    chunks = s[: s.size // 60 * 60].reshape(-1, 60).sum(1)
    return float(chunks.std() / chunks.mean())


SEEDS = range(8)


@pytest.fixture(scope="module")
def groups() -> dict[str, list[np.ndarray]]:
    return {
        "typical": [_positions(_spec(0, "none"), s) for s in SEEDS],
        "bilateral": [_positions(_spec(1, "bilateral"), 100 + s) for s in SEEDS],
        "unilateral": [_positions(_spec(1, "unilateral", "left"), 200 + s) for s in SEEDS],
    }


def test_fidgety_band_power_higher_in_typical(groups) -> None:
    lay = get_layout("mpii16")
    j = [lay.index(n) for n in LIMB_ENDS]
    typ = [_hf_share(p, j) for p in groups["typical"]]
    cp = [_hf_share(p, j) for p in groups["bilateral"] + groups["unilateral"]]
    assert min(typ) > max(cp)


def test_left_right_correlation_higher_in_cp(groups) -> None:
    lay = get_layout("mpii16")
    typ = np.mean([_lr_corr(p, lay) for p in groups["typical"]])
    cp = np.mean([_lr_corr(p, lay) for p in groups["bilateral"]])
    assert cp > typ + 0.3


def test_movement_variability_higher_in_typical(groups) -> None:
    lay = get_layout("mpii16")
    j = lay.index("right_knee")
    typ = np.mean([_variability(p, j) for p in groups["typical"]])
    cp = np.mean([_variability(p, j) for p in groups["bilateral"]])
    assert typ > 1.3 * cp


def test_unilateral_asymmetry(groups) -> None:
    lay = get_layout("mpii16")

    def asym(p: np.ndarray) -> float:
        r = _speed(p, lay.index("right_elbow")).mean() + _speed(p, lay.index("right_knee")).mean()
        left = _speed(p, lay.index("left_elbow")).mean() + _speed(p, lay.index("left_knee")).mean()
        return (r - left) / (r + left)  # the left side is affected → positive

    uni = [asym(p) for p in groups["unilateral"]]
    bil = [abs(asym(p)) for p in groups["bilateral"]]
    assert min(uni) > 0.15 and np.mean(uni) > 2 * np.mean(bil)


def test_band_noise_is_band_limited() -> None:
    x = band_noise(np.random.default_rng(0), 3000, (1.5, 4.0))
    f = np.fft.rfftfreq(3000, 1 / 30)
    p = np.abs(np.fft.rfft(x)) ** 2
    assert p[(f < 1.5) | (f > 4.0)].sum() < 1e-9 * p.sum()
    assert x.std() == pytest.approx(1.0)


@pytest.mark.parametrize("layout", ["mpii16", "inmotion19"])
def test_skeleton_artefact_and_pose_noise(layout: str) -> None:
    sk = generate_skeleton(_spec(0, "none"), layout, 3)
    lay = get_layout(layout)
    assert sk.keypoints.shape == (1800, lay.num_joints, 3) and sk.fps == 30.0
    assert tuple(sk.keypoint_names) == lay.keypoints
    xy = sk.keypoints[..., :2]
    assert (
        (xy[..., 0] > 0).all()
        and (xy[..., 0] < 1280).all()
        and (xy[..., 1] > 0).all()
        and (xy[..., 1] < 720).all()
    )
    conf = sk.keypoints[..., 2]
    assert (conf < 0.2).any() and np.median(conf) > 0.5  # dropouts exist, most samples confident
    # Head above pelvis (supine infant, head at the top of the frame).
    assert np.median(xy[:, lay.head_top, 1]) < np.median(xy[:, lay.mid_pelvis, 1])
    assert generate_skeleton(_spec(0, "none"), layout, 3).equals(sk)  # seeded


def test_cohort_files(tmp_path) -> None:
    csv_path = write_cohort(tmp_path, 10, seed=4, cp_share=0.3, duration_s=10)
    from train.cohort import load_cohort

    infants = load_cohort(csv_path)
    assert len(infants) == 10 and sum(i.cp for i in infants) == 3
    sk = Skeleton.load(infants[0].skeleton)
    assert sk.layout == "mpii16" and sk.num_frames == 300
    assert [s.cp for s in draw_specs(10, seed=4, cp_share=0.3)] == [i.cp for i in infants]
