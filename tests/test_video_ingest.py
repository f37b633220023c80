"""Video ingestion: containers, codecs, frame rates, rotation and every refusal code."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest

from earlycp.errors import EarlyCPError, ErrorCode
from tests.media_factory import moving_square, write_video
from worker.video.decode import iter_frames
from worker.video.limits import CLINICAL_LIMITS, PERMISSIVE_LIMITS
from worker.video.probe import check_limits, probe

W, H = 720, 576  # the smallest clinical resolution keeps encoding cheap


def _clip(tmp_path: Path, name: str, *, seconds: float = 5.2, fps: float = 30.0, **kw) -> Path:
    size = kw.pop("size", (W, H))
    return write_video(tmp_path / name, moving_square(*size), n_frames=round(seconds * fps), fps=fps, **kw)


def _code(path: Path, limits=CLINICAL_LIMITS) -> ErrorCode:
    with pytest.raises(EarlyCPError) as err:
        probe(path, limits)
    return err.value.code


@pytest.mark.parametrize(
    ("container", "codec"),
    [("mp4", "h264"), ("mov", "hevc"), ("mkv", "mpeg4"), ("avi", "mjpeg"), ("avi", "mpeg4"), ("mkv", "h264")],
)
def test_accepts_clinic_containers_and_codecs(tmp_path: Path, container: str, codec: str) -> None:
    path = _clip(tmp_path, f"clip.{container}", codec=codec)
    info = probe(path)
    assert info.codec == codec
    assert (info.width, info.height) == (W, H)
    assert info.frame_count == 156
    assert info.fps == pytest.approx(30.0, rel=0.01)
    assert info.duration_s == pytest.approx(5.2, abs=0.05)
    assert not info.variable_frame_rate
    frames = list(iter_frames(path, info))
    assert len(frames) == 156
    assert frames[0].image.shape == (H, W, 3) and frames[0].image.dtype == np.uint8
    assert frames[-1].timestamp == pytest.approx(155 / 30, abs=1e-3)


def test_sixty_fps_is_subsampled_by_timestamp(tmp_path: Path) -> None:
    path = _clip(tmp_path, "sixty.mp4", fps=60.0)
    info = probe(path)
    assert info.fps == pytest.approx(60.0, rel=0.01)
    all_frames = list(iter_frames(path, info))
    kept = list(iter_frames(path, info, max_fps=30.0))
    assert len(all_frames) == 312
    assert len(kept) == 156
    assert np.allclose(np.diff([f.timestamp for f in kept]), 1 / 30, atol=1e-3)


def test_variable_frame_rate_keeps_true_timestamps(tmp_path: Path) -> None:
    rng = np.random.default_rng(1)
    gaps = rng.choice([1 / 30, 1 / 24, 1 / 60], size=200)
    ts = np.concatenate([[0.0], np.cumsum(gaps)[:-1]])
    path = write_video(tmp_path / "vfr.mp4", moving_square(W, H), n_frames=200, fps=30, timestamps=ts)
    info = probe(path)
    assert info.variable_frame_rate
    got = np.array([f.timestamp for f in iter_frames(path, info)])
    assert got.size == 200
    assert np.allclose(got, ts, atol=2e-3)


@pytest.mark.parametrize("rotation", [90, -90, 180])
def test_display_rotation_is_applied(tmp_path: Path, rotation: int) -> None:
    """A phone stores landscape pixels plus a rotation; we must see the upright picture."""
    upright_img = np.zeros((720, 576, 3), np.uint8)  # portrait, as the parent held the phone
    upright_img[:100, :100] = 255  # marker in the top-left corner of the upright view
    stored = np.rot90(upright_img, k=-rotation // 90).copy()  # what the sensor wrote
    path = write_video(tmp_path / "phone.mp4", lambda i, t: stored, n_frames=160, rotation=rotation)
    info = probe(path)
    assert info.rotation == rotation % 360
    assert (info.coded_width, info.coded_height) == (stored.shape[1], stored.shape[0])
    assert (info.width, info.height) == (576, 720)
    image = next(iter_frames(path, info)).image
    assert image.shape == (720, 576, 3)
    assert image[:100, :100].mean() > 200
    assert image[-100:, -100:].mean() < 50


def test_empty_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    path.write_bytes(b"")
    assert _code(path) is ErrorCode.EMPTY_FILE


@pytest.mark.parametrize("payload", [b"name,age\nA,3\n" * 50, b"%PDF-1.4\n" + bytes(range(256)) * 20])
def test_not_a_video(tmp_path: Path, payload: bytes) -> None:
    path = tmp_path / "upload.mp4"
    path.write_bytes(payload)
    assert _code(path) is ErrorCode.NOT_A_VIDEO


def test_still_photograph_is_not_a_video(test_media: Path) -> None:
    assert _code(test_media / "mpii" / "004645041.jpg") is ErrorCode.NOT_A_VIDEO


def test_missing_file(tmp_path: Path) -> None:
    assert _code(tmp_path / "nope.mp4") is ErrorCode.FILE_NOT_FOUND


def test_unsupported_codec(tmp_path: Path) -> None:
    path = _clip(tmp_path, "clip.mkv", codec="mpeg2video")
    assert _code(path) is ErrorCode.UNSUPPORTED_CODEC


@pytest.mark.parametrize("name", ["clip.mp4", "clip.mkv", "clip.avi"])
def test_truncated_file_is_corrupt(tmp_path: Path, name: str) -> None:
    path = _clip(tmp_path, name, seconds=8.0, codec="mpeg4" if name.endswith("avi") else "h264")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert _code(path) is ErrorCode.CORRUPT_VIDEO


def test_too_short(tmp_path: Path) -> None:
    assert _code(_clip(tmp_path, "short.mp4", seconds=3.0)) is ErrorCode.VIDEO_TOO_SHORT


def test_real_sample_clips_are_refused_as_too_short(test_media: Path) -> None:
    for clip in sorted((test_media / "videos").glob("*.mkv")):
        assert _code(clip) is ErrorCode.VIDEO_TOO_SHORT
        assert probe(clip, PERMISSIVE_LIMITS).codec == "h264"


def test_resolution_out_of_range(tmp_path: Path) -> None:
    path = _clip(tmp_path, "small.mp4", size=(640, 480))
    assert _code(path) is ErrorCode.RESOLUTION_OUT_OF_RANGE


def test_frame_rate_out_of_range(tmp_path: Path) -> None:
    path = _clip(tmp_path, "slow.mp4", fps=15.0, seconds=6.0)
    assert _code(path) is ErrorCode.FRAME_RATE_OUT_OF_RANGE


def test_too_long_and_huge_resolutions_are_refused(tmp_path: Path) -> None:
    info = probe(_clip(tmp_path, "ok.mp4"))
    with pytest.raises(EarlyCPError) as err:
        check_limits(dataclasses.replace(info, duration_s=601.0), CLINICAL_LIMITS)
    assert err.value.code is ErrorCode.VIDEO_TOO_LONG
    with pytest.raises(EarlyCPError) as err:
        check_limits(dataclasses.replace(info, width=4096, height=2160), CLINICAL_LIMITS)
    assert err.value.code is ErrorCode.RESOLUTION_OUT_OF_RANGE
    check_limits(dataclasses.replace(info, width=3840, height=2160), CLINICAL_LIMITS)
    check_limits(dataclasses.replace(info, width=1080, height=1920, fps=59.94), CLINICAL_LIMITS)


def test_error_messages_are_for_clinicians(tmp_path: Path) -> None:
    path = _clip(tmp_path, "short.mp4", seconds=2.0)
    with pytest.raises(EarlyCPError) as err:
        probe(path)
    line = err.value.cli_line()
    assert line.startswith("error[VIDEO_TOO_SHORT]: ")
    assert "5 seconds" in line


@pytest.mark.parametrize(("ext", "codec"), [("mp4", "h264"), ("avi", "mjpeg"), ("mkv", "hevc")])
def test_seeked_samples_are_the_frames_at_their_times(tmp_path: Path, ext: str, codec: str) -> None:
    """The person search's samples: evenly spaced, and really the frame shown at that time."""
    from worker.video.decode import sample_frames

    def shade(i: int, t: float) -> np.ndarray:
        return np.full((480, 640, 3), (i * 3) % 256, np.uint8)

    path = write_video(tmp_path / f"shades.{ext}", shade, n_frames=300, fps=30, codec=codec)
    info = probe(path, PERMISSIVE_LIMITS)
    frames = sample_frames(path, info, 6)
    assert len(frames) == 6
    for k, frame in enumerate(frames):
        target = (k + 0.5) * info.duration_s / 6
        assert target - 1e-6 <= frame.timestamp < target + 2 / 30
        index = round(frame.timestamp * 30)
        assert abs(int(frame.image[240, 320, 0]) - (index * 3) % 256) <= 6  # lossy codecs
