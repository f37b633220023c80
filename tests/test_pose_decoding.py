"""Heatmap decoding and view geometry: sub-pixel peaks and exact maps back to the frame."""

from __future__ import annotations

import numpy as np
import pytest

from worker.pose.geometry import letterbox_box, person_boxes, square_view, to_frame
from worker.pose.heatmaps import decode_heatmaps


def _gaussian_maps(centres: np.ndarray, size: int = 64, sigma: float = 2.0) -> np.ndarray:
    """(B, J, 2) continuous centres (pixel centres at i + 0.5) → (B, S, S, J) NHWC maps."""
    grid = np.arange(size) + 0.5
    dx = grid[None, None, None, :] - centres[..., 0, None, None]
    dy = grid[None, None, :, None] - centres[..., 1, None, None]
    maps = 0.8 * np.exp(-(dx**2 + dy**2) / (2 * sigma**2))  # (B, J, S, S)
    return maps.transpose(0, 2, 3, 1).astype(np.float32)


def test_subpixel_peaks_are_recovered() -> None:
    rng = np.random.default_rng(0)
    centres = rng.uniform(8, 56, size=(4, 16, 2))
    maps = _gaussian_maps(centres)
    coarse = decode_heatmaps(maps, refine=False)
    fine = decode_heatmaps(maps, refine=True)
    smoothed = decode_heatmaps(maps, refine=True, sigma=1.0)
    coarse_err = np.abs(coarse[..., :2] - centres).max()
    assert 0.2 < coarse_err <= 0.5 + 1e-6  # argmax is quantised to whole pixels
    assert np.abs(fine[..., :2] - centres).max() < 0.01  # log-Taylor is exact for a Gaussian
    assert np.abs(smoothed[..., :2] - centres).max() < 0.05
    assert np.allclose(fine[..., 2], coarse[..., 2])  # confidence is the raw peak value
    assert fine[..., 2].max() <= 0.8 + 1e-6


def test_coarse_to_fine_search_finds_the_global_peak_of_smooth_maps() -> None:
    rng = np.random.default_rng(3)
    centres = rng.uniform(0, 224, size=(8, 16, 2))
    maps = _gaussian_maps(centres, size=224, sigma=3.0)
    maps += rng.uniform(0, 0.05, maps.shape).astype(np.float32)  # background clutter
    assert np.array_equal(decode_heatmaps(maps), decode_heatmaps(maps, exact=True))


def test_coarse_to_fine_search_on_real_heatmaps(shared_dir, test_media) -> None:
    """The real model's maps: same peak, or a near-tie local peak of (almost) the same value."""
    import cv2

    from worker.pose.model import load_pose_model

    model = load_pose_model("efficientpose-rt")
    size = model.input_size
    views = []
    for photo in sorted((test_media / "mpii").glob("*.jpg")):
        image = cv2.cvtColor(cv2.imread(str(photo)), cv2.COLOR_BGR2RGB)
        views.append(square_view(image, letterbox_box(image.shape[1], image.shape[0]), size)[0])
    heatmaps = model.infer(model.normalise(np.stack(views)))
    fast, exact = decode_heatmaps(heatmaps), decode_heatmaps(heatmaps, exact=True)
    same = np.all(np.abs(fast[..., :2] - exact[..., :2]) < 1e-6, axis=-1)
    assert same.mean() >= 0.95
    assert np.all(exact[..., 2] - fast[..., 2] <= 0.002)


def test_peaks_on_the_border_do_not_move() -> None:
    centres = np.array([[[0.5, 30.5], [63.5, 63.5]]])
    fine = decode_heatmaps(_gaussian_maps(centres), refine=True)
    assert np.allclose(fine[..., :2], centres)


def test_flat_maps_stay_finite() -> None:
    flat = np.zeros((2, 32, 32, 3), np.float32)
    out = decode_heatmaps(flat, refine=True, sigma=1.0)
    assert np.isfinite(out).all()


@pytest.mark.parametrize(("w", "h"), [(1280, 720), (576, 720), (720, 720)])
def test_letterbox_maps_back_exactly(w: int, h: int) -> None:
    image = np.zeros((h, w, 3), np.uint8)
    image[h // 3 - 4 : h // 3 + 5, w // 4 - 4 : w // 4 + 5] = 255  # a bright 9×9 spot
    view, vmap = square_view(image, letterbox_box(w, h), 224)
    assert view.shape == (224, 224, 3)
    # The letterbox keeps the aspect ratio and pads equally (black) on both sides.
    rows = np.flatnonzero(view.any(axis=(1, 2)))
    cols = np.flatnonzero(view.any(axis=(0, 2)))
    assert rows.size and cols.size
    uv = np.array([[[cols.mean() + 0.5, rows.mean() + 0.5]]])
    back = to_frame(uv, vmap[None])[0, 0]
    assert back == pytest.approx([w // 4 + 0.5, h // 3 + 0.5], abs=2 * max(w, h) / 224)


def test_crop_outside_the_frame_is_black_and_maps_back() -> None:
    image = np.full((100, 200, 3), 200, np.uint8)
    view, vmap = square_view(image, (-50.0, -50.0, 100.0), 50)
    assert view[:20, :20].max() == 0 and view[30:, 30:].min() == 200
    corner = to_frame(np.array([[[25.0, 25.0]]]), vmap[None])[0, 0]
    assert corner == pytest.approx([0.0, 0.0], abs=0.5)


def test_person_boxes_are_smooth_and_cover_the_skeleton() -> None:
    t = 90
    rng = np.random.default_rng(1)
    base = rng.uniform(300, 500, size=(1, 16, 2))
    xy = base + np.linspace(0, 60, t)[:, None, None]  # steady drift
    present = np.ones(t, bool)
    present[40] = False
    xy[40] = 5.0  # a garbage frame without a person
    boxes = person_boxes(xy, present, (1280, 720), margin=1.5, smooth_frames=15)
    assert boxes.shape == (t, 3)
    inside = (xy[..., 0] >= boxes[:, None, 0]) & (xy[..., 0] <= boxes[:, None, 0] + boxes[:, None, 2])
    assert inside[present].all()
    assert np.abs(np.diff(boxes[:, 0])).max() < 5  # no jump at the garbage frame
