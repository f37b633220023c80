"""PCKh regression of every registered pose model on the five real MPII photographs.

Guards pre-processing (letterbox, normalisation mode) and heatmap decoding (peak, sub-pixel
refinement, mapping back to the photo): a wrong mean/std, a swapped colour order or an
off-by-half-pixel mapping moves these numbers far beyond the tolerance.
"""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from models.registry import list_models
from worker.pose.geometry import to_frame
from worker.pose.model import load_pose_model
from worker.pose.pckh import pckh
from worker.science.layouts import MPII16

MPII_ORDER = [
    "right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle", "pelvis", "thorax",
    "upper_neck", "head_top", "right_wrist", "right_elbow", "right_shoulder", "left_shoulder",
    "left_elbow", "left_wrist",
]  # fmt: skip

#: PCKh@0.5 and @0.1 (%) over the 80 keypoints, measured here (docs/motion-capture.md).
#: shared/test-media/README.md: RT / I / II ≈ 94 / 92 / 95 % @0.5 and 35 / 39 / 49 % @0.1.
EXPECTED = {
    "efficientpose-rt": (93.8, 40.0),
    "efficientpose-i": (92.5, 37.5),
    "efficientpose-ii": (95.0, 45.0),
    "efficientpose-rt-lite": (82.5, 32.5),
    "efficientpose-i-lite": (93.8, 40.0),
    "efficientpose-ii-lite": (93.8, 48.8),
}
#: Two keypoints of 80 (2.5 points) plus rounding.
TOLERANCE = 2.6


@pytest.fixture(scope="module")
def mpii(test_media: Path) -> tuple[list[np.ndarray], np.ndarray, np.ndarray]:
    """Photos, square person boxes (1.25 × scale × 200 around the centre) and the truth."""
    root = test_media / "mpii"
    perm = [MPII_ORDER.index(n) for n in MPII16.keypoints]
    images, boxes, truth = [], [], []
    for ann in json.loads((root / "test_mpii.json").read_text()):
        images.append(cv2.cvtColor(cv2.imread(str(root / ann["image"])), cv2.COLOR_BGR2RGB))
        side = 1.25 * ann["scale"] * 200
        boxes.append((ann["center"][0] - side / 2, ann["center"][1] - side / 2, side))
        truth.append(np.asarray(ann["joints"], np.float64)[perm])
    return images, np.asarray(boxes), np.asarray(truth)


def test_every_registered_pose_model_is_pinned() -> None:
    assert set(list_models("pose")) == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_pckh_stays_at_the_measured_level(name: str, mpii) -> None:
    images, boxes, truth = mpii
    model = load_pose_model(name)
    batch, views = model.views(images, boxes)
    decoded = model.decode(model.infer(batch))
    pred = to_frame(decoded[..., :2].astype(np.float64), views)
    scores = pckh(pred, truth, MPII16)
    at50, at10 = EXPECTED[name]
    assert scores["pckh@0.5"] == pytest.approx(at50, abs=TOLERANCE)
    assert scores["pckh@0.1"] == pytest.approx(at10, abs=TOLERANCE)


def test_subpixel_refinement_is_not_worse_than_argmax(mpii) -> None:
    from worker.pose.heatmaps import decode_heatmaps

    images, boxes, truth = mpii
    model = load_pose_model("efficientpose-rt")
    batch, views = model.views(images, boxes)
    heatmaps = model.infer(batch)
    errors = {}
    for refine in (False, True):
        decoded = decode_heatmaps(heatmaps, sigma=model.sigma, refine=refine)
        errors[refine] = pckh(to_frame(decoded[..., :2].astype(np.float64), views), truth, MPII16)
    assert errors[True]["pckh@0.1"] >= errors[False]["pckh@0.1"]
    assert errors[True]["mean_error"] <= errors[False]["mean_error"] + 1e-3


def test_normalisation_mode_matters(mpii) -> None:
    """The manifest's normalisation is honoured: the wrong one visibly hurts (the test can fail)."""
    from worker.pose.geometry import square_view
    from worker.pose.model import Normaliser

    images, boxes, truth = mpii
    model = load_pose_model("efficientpose-ii")  # a "torch"-mode model
    raw = np.stack(
        [square_view(im, tuple(b), model.input_size)[0] for im, b in zip(images, boxes, strict=True)]
    )
    results = {}
    for mode in ("torch", "tf"):
        batch, views = Normaliser.from_manifest({"mode": mode})(raw), model.views(images, boxes)[1]
        decoded = model.decode(model.infer(batch))
        scores = pckh(to_frame(decoded[..., :2].astype(np.float64), views), truth, MPII16)
        results[mode] = (float(decoded[..., 2].mean()), scores["pckh@0.5"])
    assert model.normalise.scale == pytest.approx(Normaliser.from_manifest({"mode": "torch"}).scale)
    assert results["torch"][0] > results["tf"][0] + 0.05
    assert results["torch"][1] >= results["tf"][1] + 5
