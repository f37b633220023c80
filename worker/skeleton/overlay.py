"""Draw a skeleton on its video: the quickest way for a clinician to judge tracking quality.

Bones come from the layout; each keypoint is a dot coloured by its confidence (red below the
"keypoint found" level, through yellow, to green for confident keypoints), so a limb the model
lost is visible at a glance. Video frames are matched to the 30 Hz skeleton by timestamp.
The output is H.264 (libx264, yuv420p) written atomically.
"""

from __future__ import annotations

from collections.abc import Callable
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from earlycp.errors import EarlyCPError, ErrorCode
from worker.science.layouts import get_layout
from worker.skeleton.artefact import Skeleton, atomic_path
from worker.video.decode import iter_frames
from worker.video.limits import CLINICAL_LIMITS, VideoLimits
from worker.video.probe import probe

#: Confidence at which a keypoint turns fully green (adult-model peaks on adults: 0.5–0.7).
_GREEN_AT = 0.6
#: Below this a keypoint is drawn hollow and its bones are not drawn.
_FOUND_AT = 0.1


def confidence_colour(conf: float) -> tuple[int, int, int]:
    """RGB from red (0) through yellow to green (≥ 0.6)."""
    c = float(np.clip(conf / _GREEN_AT, 0.0, 1.0))
    if c < 0.5:
        return (255, round(510 * c), 0)
    return (round(255 * (2 - 2 * c)), 255, 0)


def draw_skeleton(image: np.ndarray, keypoints: np.ndarray, bones: tuple[tuple[int, int], ...]) -> np.ndarray:
    """Draw (J, 3) keypoints and their bones in place on an RGB image; returns it."""
    h, w = image.shape[:2]
    thick = max(2, round(min(h, w) / 240))
    radius = thick + 2
    for a, b in bones:
        if keypoints[a, 2] < _FOUND_AT or keypoints[b, 2] < _FOUND_AT:
            continue
        pa = (round(float(keypoints[a, 0])), round(float(keypoints[a, 1])))
        pb = (round(float(keypoints[b, 0])), round(float(keypoints[b, 1])))
        cv2.line(image, pa, pb, (240, 240, 240), thick + 2, cv2.LINE_AA)
        cv2.line(image, pa, pb, (40, 120, 255), thick, cv2.LINE_AA)
    for x, y, conf in keypoints.tolist():
        centre = (round(x), round(y))
        fill = -1 if conf >= _FOUND_AT else max(1, thick // 2)
        cv2.circle(image, centre, radius, confidence_colour(conf), fill, cv2.LINE_AA)
        cv2.circle(image, centre, radius + 1, (0, 0, 0), 1, cv2.LINE_AA)
    return image


def render_overlay(
    video_path: str | Path,
    skeleton: Skeleton,
    out_path: str | Path,
    *,
    limits: VideoLimits = CLINICAL_LIMITS,
    progress: Callable[[float], None] | None = None,
    crf: int = 20,
) -> Path:
    """Write ``out_path`` (MP4, H.264): the video with the skeleton drawn on every frame."""
    video_path, out_path = Path(video_path), Path(out_path)
    info = probe(video_path, limits)
    if (info.width, info.height) != tuple(skeleton.frame_size):
        raise EarlyCPError(
            ErrorCode.INVALID_INPUT,
            detail=f"the skeleton was made from a {skeleton.frame_size[0]}×{skeleton.frame_size[1]} "
            f"video, this video is {info.width}×{info.height}",
        )
    if skeleton.num_frames == 0:
        raise EarlyCPError(ErrorCode.INVALID_SKELETON, detail="the skeleton holds no frames")
    bones = get_layout(skeleton.layout).bones
    t0 = float(skeleton.timestamps[0])
    out_w, out_h = info.width + info.width % 2, info.height + info.height % 2  # yuv420p: even sizes
    time_base = Fraction(1, 90000)
    with atomic_path(out_path, suffix=".mp4") as tmp, av.open(str(tmp), "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=Fraction(info.fps).limit_denominator(1001))
        stream.width, stream.height = out_w, out_h
        stream.pix_fmt = "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        stream.codec_context.time_base = time_base
        for n, frame in enumerate(iter_frames(video_path, info)):
            idx = int(np.clip(round((frame.timestamp - t0) * skeleton.fps), 0, skeleton.num_frames - 1))
            image = frame.image
            if (out_w, out_h) != (info.width, info.height):
                image = cv2.copyMakeBorder(
                    image, 0, out_h - info.height, 0, out_w - info.width, cv2.BORDER_CONSTANT
                )
            else:
                image = image.copy()
            draw_skeleton(image, skeleton.keypoints[idx], bones)
            vf = av.VideoFrame.from_ndarray(image, format="rgb24")
            vf.pts = round(frame.timestamp / time_base)
            vf.time_base = time_base
            for packet in stream.encode(vf):
                container.mux(packet)
            if progress is not None and n % 10 == 0:
                progress(min(1.0, (n + 1) / max(1, info.frame_count)))
        for packet in stream.encode():
            container.mux(packet)
    if progress is not None:
        progress(1.0)
    return out_path
