"""Synthetic infant movement cohort: seeded 2D skeletons that stand in for real GMA recordings.

Real recordings with CP outcomes are clinical data the open project cannot ship, yet the training
factory, its tests and the demo ensemble need sequences whose classes differ in the way the
General Movement Assessment says they do. Each infant is a supine 2D stick figure seen from above
at 30 Hz in the pixel coordinates of a virtual 1280×720 frame, with a confidence channel like a
pose estimator's:

- **Kinematics.** The trunk (pelvis → chest) and the head are rigid segments; each arm (shoulder →
  elbow → wrist) and leg (hip → knee → ankle) is a kinematic chain of two joint angles. Angles are
  a resting posture plus stochastic oscillators: band-limited Gaussian noise (white noise filtered
  to a frequency band in the Fourier domain, unit variance) times an amplitude envelope.
- **Gross movements** (0.1–0.8 Hz, large amplitude) in every infant. Each limb mixes a signal
  shared by all limbs with its own; the shared share is 0.3 for typical infants and 0.85 for
  CP-like ones (*cramped-synchronised*: limbs move together, left/right correlation is high).
  Typical envelopes vary slowly (variable movements); CP-like ones are nearly constant.
- **Fidgety movements** (typical only): small-amplitude (≈ 3–6° per joint, ≈ 1–2 % of the
  trunk for the trunk/neck), moderate-speed oscillators at 1.5–4 Hz with a fluctuating envelope
  (variable acceleration), independent in every joint and direction, neck, trunk and limbs.
  CP-like infants lack them (method.md: absent FMs predict CP).
- **Unilateral CP**: one side's gross amplitude is reduced to 35 %.
- **Pose-estimator noise**: Gaussian jitter (≈ 0.6 px), brief left/right swaps of a symmetric
  pair (a few frames), and dropouts where confidence falls below 0.2 and the position wanders.

Everything is drawn from ``numpy.random.default_rng(seed)`` so a cohort is reproducible from its
seed. Statistics the classes differ in are exercised in tests/test_synthetic_generator.py.
"""

from __future__ import annotations

import csv
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from worker.science.layouts import Layout, get_layout
from worker.skeleton.artefact import Skeleton

FPS = 30.0
FRAME_SIZE = (1280, 720)
#: Trunk (pelvis → chest) length in pixels; the body is scaled from it.
TRUNK_PX = 110.0
GROSS_BAND_HZ = (0.1, 0.8)
FIDGETY_BAND_HZ = (1.5, 4.0)
TYPICAL_SHARED = 0.3
CP_SHARED = 0.85
UNILATERAL_FACTOR = 0.35
SUBTYPES = ("none", "unilateral", "bilateral")
GENERATOR_VERSION = "1"


@dataclass(frozen=True)
class InfantSpec:
    """The outcome and recording a synthetic infant is drawn with."""

    infant_id: str
    cp: int
    subtype: str  # none | unilateral | bilateral
    gmfcs: str  # "" for no CP, else I–V
    centre: str
    age_weeks: int
    duration_s: float
    affected_side: str = ""  # right | left for unilateral


def band_noise(rng: np.random.Generator, n: int, band: tuple[float, float], fps: float = FPS) -> np.ndarray:
    """Unit-variance Gaussian noise restricted to ``band`` Hz: a stochastic oscillator."""
    spec = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1.0 / fps)
    spec[(freqs < band[0]) | (freqs > band[1])] = 0.0
    x = np.fft.irfft(spec, n)
    return x / (x.std() + 1e-12)


def _envelope(rng: np.random.Generator, n: int, variability: float) -> np.ndarray:
    """Slowly varying positive amplitude envelope, mean ≈ 1; ``variability`` 0 → constant."""
    slow = band_noise(rng, n, (0.02, 0.25))
    return np.exp(variability * slow - 0.5 * variability**2)


class _Motion:
    """Angle / offset time series for one infant (radians or trunk-length units)."""

    def __init__(self, rng: np.random.Generator, spec: InfantSpec, n: int) -> None:
        self.rng, self.spec, self.n = rng, spec, n
        cp = spec.cp == 1
        self.shared_w = CP_SHARED if cp else TYPICAL_SHARED
        self.shared = band_noise(rng, n, GROSS_BAND_HZ)
        self.env_var = 0.15 if cp else 0.7
        self.fidgety = not cp

    def gross(self, amp: float, side: str = "") -> np.ndarray:
        own = band_noise(self.rng, self.n, GROSS_BAND_HZ)
        w = self.shared_w
        sig = np.sqrt(w) * self.shared + np.sqrt(1.0 - w) * own
        a = amp * _envelope(self.rng, self.n, self.env_var)
        if self.spec.subtype == "unilateral" and side == self.spec.affected_side:
            a = a * UNILATERAL_FACTOR
        return a * sig

    def fidget(self, amp: float) -> np.ndarray:
        if not self.fidgety:
            return np.zeros(self.n)
        env = _envelope(self.rng, self.n, 0.6) * band_noise(self.rng, self.n, (0.05, 0.4)).clip(-0.3, None)
        env = np.abs(env) + 0.3
        return amp * env * band_noise(self.rng, self.n, FIDGETY_BAND_HZ)

    def angle(self, gross_amp: float, fidget_amp: float, side: str = "") -> np.ndarray:
        return self.gross(gross_amp, side) + self.fidget(fidget_amp)


def _unit(theta: np.ndarray) -> np.ndarray:
    return np.stack([np.sin(theta), -np.cos(theta)], axis=-1)  # angle 0 = up (towards the head)


def _body(rng: np.random.Generator, spec: InfantSpec, n: int) -> dict[str, np.ndarray]:
    """Named (T, 2) body points in trunk units, pelvis near the origin, head up (−y)."""
    m = _Motion(rng, spec, n)
    fid = np.deg2rad(4.5)
    # Trunk: small gross sway plus fidgety wobble.
    pelvis = np.stack(
        [0.03 * m.gross(1.0) + 0.012 * m.fidget(1.0), 0.03 * m.gross(1.0) + 0.012 * m.fidget(1.0)], -1
    )
    trunk_ang = np.deg2rad(rng.uniform(-8, 8)) + np.deg2rad(5) * m.gross(1.0) + fid * 0.5 * m.fidget(1.0)
    up = _unit(trunk_ang)
    right_dir = np.stack([-up[:, 1], up[:, 0]], -1) * -1.0  # infant's right appears on image left
    chest = pelvis + up * 1.0
    neck_ang = trunk_ang + np.deg2rad(10) * m.gross(1.0) + fid * m.fidget(1.0)
    neck = chest + _unit(neck_ang) * 0.28
    head_top = neck + _unit(neck_ang + np.deg2rad(6) * m.gross(1.0)) * 0.42
    pts: dict[str, np.ndarray] = {
        "pelvis": pelvis,
        "chest": chest,
        "neck": neck,
        "head_top": head_top,
    }
    head_dir = head_top - neck
    head_dir /= np.linalg.norm(head_dir, axis=-1, keepdims=True)
    head_side = np.stack([-head_dir[:, 1], head_dir[:, 0]], -1) * -1.0
    head_mid = neck + head_dir * 0.21
    pts["nose"] = head_mid + head_dir * 0.04
    pts["right_ear"] = head_mid + head_side * 0.16
    pts["left_ear"] = head_mid - head_side * 0.16
    for side, sgn in (("right", 1.0), ("left", -1.0)):
        # Arms: shoulder on the chest, upper arm and forearm angles relative to the trunk.
        shoulder = chest + right_dir * sgn * 0.36 - up * 0.04
        sh_ang = (
            trunk_ang + sgn * np.deg2rad(rng.uniform(-120, -70)) + sgn * m.angle(np.deg2rad(28), fid, side)
        )
        el_ang = sh_ang + sgn * np.deg2rad(rng.uniform(-70, -20)) + sgn * m.angle(np.deg2rad(30), fid, side)
        elbow = shoulder + _unit(sh_ang) * 0.42
        wrist = elbow + _unit(el_ang) * 0.38
        hip = pelvis + right_dir * sgn * 0.2
        hip_ang = (
            trunk_ang
            + np.pi
            + sgn * np.deg2rad(rng.uniform(5, 30))
            + sgn * m.angle(np.deg2rad(22), fid, side)
        )
        kn_ang = hip_ang + sgn * np.deg2rad(rng.uniform(-30, 10)) + sgn * m.angle(np.deg2rad(28), fid, side)
        knee = hip + _unit(hip_ang) * 0.5
        ankle = knee + _unit(kn_ang) * 0.45
        pts.update(
            {f"{side}_shoulder": shoulder, f"{side}_elbow": elbow, f"{side}_wrist": wrist},
        )
        pts.update({f"{side}_hip": hip, f"{side}_knee": knee, f"{side}_ankle": ankle})
    return pts


_NAME_MAP = {
    "mpii16": {"thorax": "chest", "pelvis": "pelvis", "upper_neck": "neck"},
    "inmotion19": {
        "upper_chest": "chest",
        "mid_pelvis": "pelvis",
        "upper_neck": "neck",
        "right_pelvis": "right_hip",
        "left_pelvis": "left_hip",
    },
}


def _pose_noise(rng: np.random.Generator, kp: np.ndarray, layout: Layout) -> np.ndarray:
    """Jitter, brief left/right swaps and confidence dropouts, as a pose estimator makes them."""
    t, j, _ = kp.shape
    kp[..., :2] += rng.normal(0.0, 0.6, size=(t, j, 2))
    kp[..., 2] = np.clip(rng.normal(0.75, 0.08, size=(t, j)), 0.3, 0.99)
    for _ in range(rng.poisson(t / 600)):  # ≈ one swap per 20 s
        r, left = layout.symmetric_pairs[rng.integers(len(layout.symmetric_pairs))]
        s = int(rng.integers(0, t - 6))
        e = s + int(rng.integers(1, 5))
        kp[s:e, [r, left]] = kp[s:e, [left, r]]
    for _ in range(rng.poisson(t / 300)):  # ≈ one dropout per 10 s
        jj = int(rng.integers(j))
        s = int(rng.integers(0, t - 10))
        e = s + int(rng.integers(2, 10))
        kp[s:e, jj, 2] = rng.uniform(0.02, 0.15, size=e - s)
        kp[s:e, jj, :2] += rng.normal(0.0, 15.0, size=(e - s, 2))
    return kp


def generate_skeleton(spec: InfantSpec, layout_name: str, seed: int) -> Skeleton:
    """One synthetic infant as a ``Skeleton`` (pixel coordinates, 30 Hz, confidence channel)."""
    layout = get_layout(layout_name)
    rng = np.random.default_rng(seed)
    n = round(spec.duration_s * FPS)
    pts = _body(rng, spec, n)
    names = _NAME_MAP[layout.name]
    body = np.stack([pts[names.get(k, k)] for k in layout.keypoints], axis=1)  # (T, J, 2)
    scale = TRUNK_PX * rng.uniform(0.85, 1.15)
    centre = np.array(FRAME_SIZE, dtype=np.float64) / 2 + rng.uniform(-60, 60, size=2)
    kp = np.zeros((n, layout.num_joints, 3))
    kp[..., :2] = centre + body * scale
    kp = _pose_noise(rng, kp, layout)
    return Skeleton(
        keypoints=kp.astype(np.float32),
        timestamps=np.arange(n) / FPS,
        layout=layout.name,
        keypoint_names=layout.keypoints,
        frame_size=FRAME_SIZE,
        pose_model={"name": "synthetic", "version": GENERATOR_VERSION, "sha256": ""},
        source={"synthetic": True, "seed": int(seed), "generator_version": GENERATOR_VERSION},
        qc={},
        fps=FPS,
    )


def draw_specs(
    n: int, *, seed: int, cp_share: float = 0.3, duration_s: float = 60.0, centres: int = 3
) -> list[InfantSpec]:
    """Outcomes for ``n`` infants: exactly round(n·cp_share) CP, half of them unilateral."""
    rng = np.random.default_rng(seed)
    n_cp = round(n * cp_share)
    cp = np.zeros(n, dtype=int)
    cp[rng.permutation(n)[:n_cp]] = 1
    specs = []
    cp_idx = 0
    for i in range(n):
        if cp[i]:
            subtype = "unilateral" if cp_idx % 2 == 0 else "bilateral"
            cp_idx += 1
            gmfcs = ("I", "II", "III", "IV", "V")[int(rng.integers(0, 3 if subtype == "unilateral" else 5))]
            side = ("right", "left")[int(rng.integers(2))] if subtype == "unilateral" else ""
        else:
            subtype, gmfcs, side = "none", "", ""
        specs.append(
            InfantSpec(
                infant_id=f"syn{i:04d}",
                cp=int(cp[i]),
                subtype=subtype,
                gmfcs=gmfcs,
                centre=f"centre{int(rng.integers(centres)) + 1}",
                age_weeks=int(rng.integers(9, 19)),
                duration_s=float(duration_s),
                affected_side=side,
            )
        )
    return specs


def write_cohort(
    out_dir: str | Path,
    n: int,
    *,
    layout: str = "mpii16",
    seed: int = 0,
    cp_share: float = 0.3,
    duration_s: float = 60.0,
    progress: Callable[[int], None] | None = None,
) -> Path:
    """Write ``skeletons/<id>.npz`` and ``cohort.csv`` (format: train/cohort.py); returns the CSV."""
    from train.cohort import COLUMNS

    out = Path(out_dir)
    (out / "skeletons").mkdir(parents=True, exist_ok=True)
    specs = draw_specs(n, seed=seed, cp_share=cp_share, duration_s=duration_s)
    seeds = np.random.default_rng([seed, 1]).integers(0, 2**31 - 1, size=n)
    rows = []
    for spec, s in zip(specs, seeds, strict=True):
        rel = f"skeletons/{spec.infant_id}.npz"
        generate_skeleton(spec, layout, int(s)).save_npz(out / rel)
        rows.append(
            {
                "infant_id": spec.infant_id,
                "skeleton": rel,
                "cp": spec.cp,
                "subtype": spec.subtype,
                "gmfcs": spec.gmfcs,
                "centre": spec.centre,
                "age_weeks": spec.age_weeks,
            }
        )
        if progress:
            progress(1)
    csv_path = out / "cohort.csv"
    with csv_path.open("w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=list(COLUMNS))
        w.writeheader()
        w.writerows(rows)
    return csv_path
