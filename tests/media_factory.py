"""Generators for real, decodable test videos (written with PyAV/FFmpeg).

Every test video is produced here so codecs, containers, rotation and frame rates are
exercised for real rather than mocked.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

#: FFmpeg encoder for each decoder name the probe accepts.
ENCODERS = {"h264": "libx264", "hevc": "libx265", "mjpeg": "mjpeg", "mpeg4": "mpeg4"}

FrameFn = Callable[[int, float], np.ndarray]


def write_video(
    path: Path,
    frame_fn: FrameFn,
    *,
    n_frames: int,
    fps: float = 30.0,
    codec: str = "h264",
    rotation: int = 0,
    timestamps: np.ndarray | None = None,
    crf: int = 23,
) -> Path:
    """Encode ``frame_fn(i, t) -> H×W×3 uint8 RGB`` for i in range(n_frames).

    ``rotation`` stores a display matrix (degrees counter-clockwise) like a phone does; the
    frames given are the *stored* (coded) frames. ``timestamps`` (seconds) make a
    variable-frame-rate file.
    """
    encoder = ENCODERS.get(codec, codec)
    first = frame_fn(0, 0.0)
    height, width = first.shape[:2]
    time_base = Fraction(1, 90000)
    with av.open(str(path), "w") as container:
        stream = container.add_stream(encoder, rate=Fraction(fps).limit_denominator(1001))
        stream.width, stream.height = width, height
        stream.pix_fmt = "yuvj420p" if encoder == "mjpeg" else "yuv420p"
        if encoder == "libx264":
            stream.options = {"crf": str(crf), "preset": "ultrafast"}
        elif encoder == "libx265":
            stream.options = {"crf": str(crf), "preset": "ultrafast", "x265-params": "log-level=error"}
        elif encoder in ("mpeg4", "mjpeg"):
            stream.options = {"qscale": "3"}
        if timestamps is not None:
            stream.codec_context.time_base = time_base
        if rotation:
            stream.set_display_rotation(rotation)
        for i in range(n_frames):
            t = float(timestamps[i]) if timestamps is not None else i / fps
            image = first if i == 0 else frame_fn(i, t)
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image), format="rgb24")
            if timestamps is not None:
                frame.pts = round(t / time_base)
                frame.time_base = time_base
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    return path


def moving_square(width: int, height: int, size: int = 64) -> FrameFn:
    """A bright square drifting right over a textured background: cheap, deterministic motion."""
    rng = np.random.default_rng(0)
    background = (rng.integers(40, 90, size=(height, width, 1)) * np.ones((1, 1, 3))).astype(np.uint8)

    def fn(i: int, t: float) -> np.ndarray:
        img = background.copy()
        x = int(20 + 60 * t) % max(1, width - size)
        img[height // 2 - size // 2 : height // 2 + size // 2, x : x + size] = (230, 200, 60)
        return img

    return fn


def mattress_background(width: int, height: int, seed: int = 0) -> np.ndarray:
    """A pastel quilted mattress with a seam and soft shading: an empty GMA scene."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    period = 18.0
    weave = np.sin(xx / period * 2 * np.pi) * np.sin(yy / period * 2 * np.pi) * 22.0
    noise = rng.normal(0.0, 6.0, size=(height, width)).astype(np.float32)
    base = np.array([225.0, 215.0, 200.0], np.float32)
    img = base[None, None, :] + (weave + noise)[..., None]
    img[:, width // 2 - 3 : width // 2 + 3] *= 0.6  # a seam
    img *= np.linspace(0.8, 1.0, width, dtype=np.float32)[None, :, None]  # window light
    return np.clip(img, 0, 255).astype(np.uint8)


def load_photo_crop(image_path: Path, center: tuple[float, float], side: float) -> np.ndarray:
    """A square RGB crop (zero-padded where it leaves the photo) of a real photograph."""
    import cv2

    img = cv2.cvtColor(cv2.imread(str(image_path)), cv2.COLOR_BGR2RGB)
    side_i = round(side)
    x0, y0 = round(center[0] - side / 2), round(center[1] - side / 2)
    out = np.zeros((side_i, side_i, 3), np.uint8)
    h, w = img.shape[:2]
    sx0, sy0 = max(0, x0), max(0, y0)
    sx1, sy1 = min(w, x0 + side_i), min(h, y0 + side_i)
    out[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = img[sy0:sy1, sx0:sx1]
    return out


#: (t) -> (centre_x, centre_y, side) of the photograph in the upright frame, in pixels.
PlacementFn = Callable[[float], tuple[float, float, float]]


def photo_affine(sprite: np.ndarray, placement: tuple[float, float, float]) -> np.ndarray:
    """2×3 affine mapping sprite pixels to frame pixels for a (cx, cy, side) placement."""
    cx, cy, side = placement
    s = side / sprite.shape[1]
    # pixel-centre convention: sprite centre (W/2, H/2) lands on (cx, cy)
    return np.array(
        [[s, 0.0, cx - s * sprite.shape[1] / 2.0], [0.0, s, cy - s * sprite.shape[0] / 2.0]], np.float64
    )


def moving_photo(
    sprite: np.ndarray, width: int, height: int, placement: PlacementFn, background: np.ndarray | None = None
) -> FrameFn:
    """A real photograph moved over a mattress by a known, sub-pixel smooth transform."""
    import cv2

    bg = mattress_background(width, height) if background is None else background
    mask = np.ones(sprite.shape[:2], np.float32)

    def fn(i: int, t: float) -> np.ndarray:
        m = photo_affine(sprite, placement(t))
        warped = cv2.warpAffine(sprite, m, (width, height), flags=cv2.INTER_LINEAR)
        alpha = cv2.warpAffine(mask, m, (width, height), flags=cv2.INTER_LINEAR)[..., None]
        return (warped * alpha + bg * (1.0 - alpha)).astype(np.uint8)

    return fn


def empty_scene(width: int, height: int, seed: int = 0) -> FrameFn:
    """An empty mattress with camera noise: must give NO_PERSON, never a skeleton of noise."""
    bg = mattress_background(width, height, seed)
    rng = np.random.default_rng(seed + 1)

    def fn(i: int, t: float) -> np.ndarray:
        return np.clip(bg.astype(np.int16) + rng.integers(-3, 4, size=bg.shape), 0, 255).astype(np.uint8)

    return fn
