"""Decode a probed video into upright RGB frames with presentation timestamps.

Timestamps come from the stream (never frame counts), so variable-frame-rate phone videos
resample correctly later. Frames above ``max_fps`` are dropped *before* colour conversion
and rotation, which is where most of the per-frame cost is.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from earlycp.errors import EarlyCPError, ErrorCode
from worker.video.limits import truncation_slack_s
from worker.video.probe import VideoInfo, probe

#: Counter-clockwise display rotation → the OpenCV operation that makes the frame upright.
_ROTATE = {90: cv2.ROTATE_90_COUNTERCLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_CLOCKWISE}


@dataclass(frozen=True)
class DecodedFrame:
    index: int
    #: Seconds since the first frame of the video track.
    timestamp: float
    #: H×W×3 uint8 RGB in upright display orientation.
    image: np.ndarray


def upright(image: np.ndarray, rotation: int) -> np.ndarray:
    """Apply a display rotation (degrees counter-clockwise) to a decoded image."""
    op = _ROTATE.get(rotation % 360)
    return image if op is None else cv2.rotate(image, op)


def iter_frames(
    path: str | Path, info: VideoInfo | None = None, *, max_fps: float | None = None
) -> Iterator[DecodedFrame]:
    """Yield upright RGB frames; raise CORRUPT_VIDEO if the stream ends early or breaks.

    With ``max_fps`` (e.g. 30), a 60 fps video yields every other frame: a frame is kept when
    it starts a new 1/max_fps slot, so timestamps stay true and resampling stays exact.
    """
    path = Path(path)
    info = info or probe(path)
    last_slot = -1
    last_t = -math.inf
    index = 0
    with av.open(str(path), metadata_errors="ignore") as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"  # frame + slice threading inside FFmpeg (releases the GIL)
        time_base = float(stream.time_base) if stream.time_base else None
        first_pts: float | None = None
        try:
            for frame in container.decode(stream):
                if frame.pts is not None and time_base is not None:
                    t_abs = frame.pts * time_base
                else:
                    t_abs = float(frame.time or 0.0)
                if first_pts is None:
                    first_pts = t_abs
                t = t_abs - first_pts
                if t <= last_t:  # duplicated or out-of-order presentation time
                    continue
                last_t = t
                if max_fps is not None and info.fps > max_fps * 1.02:
                    slot = math.floor(t * max_fps + 1e-3)
                    if slot <= last_slot:
                        continue
                    last_slot = slot
                image = upright(frame.to_ndarray(format="rgb24"), info.rotation)
                yield DecodedFrame(index=index, timestamp=t, image=image)
                index += 1
        except av.error.FFmpegError as exc:
            raise EarlyCPError(
                ErrorCode.CORRUPT_VIDEO, detail=f"decoding stopped at {last_t:.1f} s: {exc}"
            ) from exc
    expected = info.duration_s - 1.0 / max(info.fps, 1.0)
    if index == 0 or last_t < expected - truncation_slack_s(info.duration_s):
        raise EarlyCPError(
            ErrorCode.CORRUPT_VIDEO,
            detail=f"decoding stopped at {max(last_t, 0):.1f} s of {info.duration_s:.1f} s",
        )


def sample_frames(path: str | Path, info: VideoInfo, count: int) -> list[DecodedFrame]:
    """``count`` upright frames evenly spaced over the video, found by seeking.

    Each seek lands on the keyframe before the target and decodes forward to it, so this costs
    ``count`` keyframe intervals of decoding (a second or two of video each for phone and
    camera recordings), not the whole file. Timestamps are seconds from the stream's start.
    """
    out: list[DecodedFrame] = []
    with av.open(str(path), metadata_errors="ignore") as container:
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        time_base = float(stream.time_base)
        start = stream.start_time or 0
        for k in range(count):
            target = (k + 0.5) * info.duration_s / count
            container.seek(start + int(target / time_base), stream=stream, backward=True)
            chosen = None
            for frame in container.decode(stream):
                if frame.pts is None:
                    continue
                chosen = frame
                if (frame.pts - start) * time_base + 1e-6 >= target:
                    break
            if chosen is not None:
                t = (chosen.pts - start) * time_base
                image = upright(chosen.to_ndarray(format="rgb24"), info.rotation)
                out.append(DecodedFrame(index=k, timestamp=t, image=image))
    return out
