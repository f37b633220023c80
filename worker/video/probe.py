"""Probe a video before any heavy work and refuse what cannot be analysed.

Every refusal carries a stable code and a sentence a clinician understands. The probe
demuxes packets (no decoding) to measure the real duration, frame count and frame-rate
regularity, and decodes only the first frame to prove the codec works and to read the
display rotation that phones store in the track matrix.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import numpy as np

from earlycp.errors import EarlyCPError, ErrorCode
from worker.video.limits import CLINICAL_LIMITS, VideoLimits, truncation_slack_s

log = logging.getLogger(__name__)

#: Codecs clinics record with and that the test suite covers (FFmpeg decoder names).
SUPPORTED_CODECS = frozenset({"h264", "hevc", "mjpeg", "mpeg4"})
#: FFmpeg demuxers that open still images or raw streams: not recordings.
_NOT_VIDEO_FORMATS = ("image2", "_pipe", "gif", "apng", "tty", "lavfi")
#: Leading bytes of containers we accept; a file that starts like one but will not open
#: is a damaged recording, not "some other kind of file".
_CONTAINER_MAGIC: tuple[tuple[int, bytes], ...] = (
    (4, b"ftyp"),  # MP4 / MOV
    (4, b"moov"),
    (4, b"mdat"),
    (4, b"wide"),
    (4, b"free"),
    (0, b"\x1a\x45\xdf\xa3"),  # Matroska / WebM (EBML)
    (0, b"RIFF"),  # AVI
)


@dataclass(frozen=True)
class VideoInfo:
    """What the rest of the pipeline needs to know about a recording.

    ``width``/``height`` are the upright display size, after applying ``rotation``
    (degrees counter-clockwise, as stored in the display matrix; frames from
    ``worker.video.decode`` are already rotated).
    """

    path: str
    size_bytes: int
    container: str
    codec: str
    width: int
    height: int
    coded_width: int
    coded_height: int
    rotation: int
    fps: float
    duration_s: float
    declared_duration_s: float | None
    frame_count: int
    variable_frame_rate: bool
    start_time_s: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _looks_like_container(path: Path) -> bool:
    with open(path, "rb") as fh:
        head = fh.read(16)
    return any(head[offset : offset + len(magic)] == magic for offset, magic in _CONTAINER_MAGIC)


def _open(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path), metadata_errors="ignore")
    except (av.error.FFmpegError, UnicodeDecodeError, ValueError) as exc:
        if _looks_like_container(path):
            raise EarlyCPError(ErrorCode.CORRUPT_VIDEO, detail=f"container cannot be opened: {exc}") from exc
        raise EarlyCPError(ErrorCode.NOT_A_VIDEO, detail=str(exc)) from exc


def _declared_duration(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> float | None:
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


def _scan_packets(
    container: av.container.InputContainer, stream: av.video.stream.VideoStream
) -> tuple[np.ndarray, float]:
    """Presentation times (seconds, sorted) of every video packet, and the last one's duration."""
    pts: list[int] = []
    last_duration = 0
    try:
        for packet in container.demux(stream):
            if packet.size == 0 or packet.pts is None:
                continue
            pts.append(packet.pts)
            last_duration = packet.duration or last_duration
    except av.error.FFmpegError as exc:
        raise EarlyCPError(ErrorCode.CORRUPT_VIDEO, detail=f"reading stopped: {exc}") from exc
    tb = Fraction(stream.time_base) if stream.time_base else Fraction(1, 1000)
    times = np.sort(np.asarray(pts, dtype=np.float64)) * float(tb)
    return times, float(last_duration * tb)


def _first_frame(path: Path, stream_index: int) -> av.VideoFrame:
    with av.open(str(path), metadata_errors="ignore") as container:
        stream = container.streams.video[stream_index]
        try:
            for frame in container.decode(stream):
                return frame
        except av.error.FFmpegError as exc:
            raise EarlyCPError(
                ErrorCode.CORRUPT_VIDEO, detail=f"first frame cannot be decoded: {exc}"
            ) from exc
    raise EarlyCPError(ErrorCode.CORRUPT_VIDEO, detail="no frame could be decoded")


def probe(path: str | Path, limits: VideoLimits = CLINICAL_LIMITS) -> VideoInfo:
    """Describe ``path`` or raise EarlyCPError with the first reason it cannot be analysed."""
    path = Path(path)
    if not path.is_file():
        raise EarlyCPError(ErrorCode.FILE_NOT_FOUND, detail=str(path))
    size = path.stat().st_size
    if size == 0:
        raise EarlyCPError(ErrorCode.EMPTY_FILE)

    with _open(path) as container:
        fmt = container.format.name
        if not container.streams.video or any(tag in fmt for tag in _NOT_VIDEO_FORMATS):
            raise EarlyCPError(ErrorCode.NOT_A_VIDEO, detail=f"format '{fmt}' has no video track")
        stream = container.streams.video[0]
        codec = stream.codec_context.name if stream.codec_context else "unknown"
        if codec not in SUPPORTED_CODECS:
            raise EarlyCPError(
                ErrorCode.UNSUPPORTED_CODEC,
                detail=f"codec '{codec}'; supported: {', '.join(sorted(SUPPORTED_CODECS))}",
            )
        declared = _declared_duration(container, stream)
        times, last_duration = _scan_packets(container, stream)
        stream_index = stream.index - min(s.index for s in container.streams.video)
        coded_w, coded_h = stream.codec_context.width, stream.codec_context.height

    if times.size == 0:
        raise EarlyCPError(ErrorCode.CORRUPT_VIDEO, detail="the video track holds no frames")
    first = _first_frame(path, stream_index)
    rotation = round((first.rotation or 0) / 90.0) * 90 % 360
    coded_w, coded_h = coded_w or first.width, coded_h or first.height

    intervals = np.diff(times)
    typical = float(np.median(intervals)) if intervals.size else (last_duration or 1 / 30)
    duration = float(times[-1] - times[0] + (last_duration or typical))
    fps = (times.size / duration) if duration > 0 else 0.0
    vfr = bool(
        intervals.size > 2 and typical > 0 and np.percentile(np.abs(intervals - typical), 95) > 0.1 * typical
    )

    if declared is not None and declared - duration > truncation_slack_s(declared):
        raise EarlyCPError(
            ErrorCode.CORRUPT_VIDEO,
            detail=f"frames end at {duration:.1f} s but the file declares {declared:.1f} s",
        )

    width, height = (coded_h, coded_w) if rotation in (90, 270) else (coded_w, coded_h)
    info = VideoInfo(
        path=str(path),
        size_bytes=size,
        container=fmt,
        codec=codec,
        width=width,
        height=height,
        coded_width=coded_w,
        coded_height=coded_h,
        rotation=rotation,
        fps=round(fps, 4),
        duration_s=round(duration, 4),
        declared_duration_s=round(declared, 4) if declared is not None else None,
        frame_count=int(times.size),
        variable_frame_rate=vfr,
        start_time_s=float(times[0]),
    )
    check_limits(info, limits)
    return info


def check_limits(info: VideoInfo, limits: VideoLimits) -> None:
    """Refuse recordings outside the clinical envelope, shortest-first so a short clip says so."""
    if info.duration_s < limits.min_duration_s:
        raise EarlyCPError(ErrorCode.VIDEO_TOO_SHORT, detail=f"{info.duration_s:.1f} s")
    if info.duration_s > limits.max_duration_s:
        raise EarlyCPError(ErrorCode.VIDEO_TOO_LONG, detail=f"{info.duration_s / 60:.1f} minutes")
    if not limits.min_fps <= info.fps <= limits.max_fps:
        raise EarlyCPError(ErrorCode.FRAME_RATE_OUT_OF_RANGE, detail=f"{info.fps:.2f} frames per second")
    short, long = sorted((info.width, info.height))
    if not (
        limits.min_short_side <= short <= limits.max_short_side
        and limits.min_long_side <= long <= limits.max_long_side
    ):
        raise EarlyCPError(ErrorCode.RESOLUTION_OUT_OF_RANGE, detail=f"{info.width}×{info.height}")
