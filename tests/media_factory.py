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
