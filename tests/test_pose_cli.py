"""``earlycp skeleton`` and ``earlycp overlay`` end to end, including refusals."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.media_factory import load_photo_crop, moving_photo, write_video
from worker.skeleton.artefact import Skeleton
from worker.video.probe import probe

W, H = 720, 576


def earlycp(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "earlycp.cli.main", *map(str, args)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.fixture(scope="module")
def person_video(tmp_path_factory: pytest.TempPathFactory, test_media: Path) -> Path:
    ann = json.loads((test_media / "mpii" / "test_mpii.json").read_text())[4]
    sprite = load_photo_crop(test_media / "mpii" / ann["image"], ann["center"], 1.25 * ann["scale"] * 200)
    fn = moving_photo(sprite, W, H, lambda t: (W / 2 + 30 * np.sin(2 * np.pi * 0.4 * t), H / 2, 540.0))
    return write_video(tmp_path_factory.mktemp("cli") / "baby.mp4", fn, n_frames=156)


def test_skeleton_then_overlay(person_video: Path, tmp_path: Path) -> None:
    npz, csv, mp4 = tmp_path / "s.npz", tmp_path / "s.csv", tmp_path / "overlay.mp4"
    result = earlycp("skeleton", person_video, "--out", npz, "--csv", csv, "--batch", "4")
    assert result.returncode == 0, result.stderr
    assert "quality:" in result.stdout and "efficientpose-rt" in result.stdout
    assert "pose" in result.stderr  # the tqdm bar
    a, b = Skeleton.load(npz), Skeleton.load(csv)
    assert a.equals(b) and a.num_frames == 156 and a.frame_size == (W, H)

    result = earlycp("overlay", person_video, npz, "--out", mp4)
    assert result.returncode == 0, result.stderr
    info = probe(mp4)
    assert (info.codec, info.width, info.height, info.frame_count) == ("h264", W, H, 156)


@pytest.mark.parametrize(
    ("content", "code"), [(b"", "EMPTY_FILE"), (b"hello, not a video" * 50, "NOT_A_VIDEO")]
)
def test_bad_input_gives_one_error_line_and_no_file(tmp_path: Path, content: bytes, code: str) -> None:
    bad = tmp_path / "clip.mp4"
    bad.write_bytes(content)
    out = tmp_path / "s.npz"
    result = earlycp("skeleton", bad, "--out", out, "--csv", tmp_path / "s.csv")
    assert result.returncode != 0
    lines = [line for line in result.stderr.splitlines() if line.strip() and "%" not in line]
    assert len(lines) == 1 and lines[0].startswith(f"error[{code}]: "), result.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]


def test_too_short_clip_is_refused(test_media: Path, tmp_path: Path) -> None:
    out = tmp_path / "s.npz"
    result = earlycp("skeleton", test_media / "videos" / "asl_book.mkv", "--out", out)
    assert result.returncode != 0 and "error[VIDEO_TOO_SHORT]" in result.stderr
    assert not out.exists()


def test_overlay_refuses_a_skeleton_of_another_video(person_video: Path, tmp_path: Path) -> None:
    other = Skeleton(
        keypoints=np.zeros((10, 16, 3), np.float32),
        timestamps=np.arange(10) / 30,
        layout="mpii16",
        keypoint_names=tuple(f"k{i}" for i in range(16)),
        frame_size=(1280, 720),
        pose_model={"name": "x", "version": "1", "sha256": "0" * 64},
    )
    other.save_npz(tmp_path / "other.npz")
    out = tmp_path / "o.mp4"
    result = earlycp("overlay", person_video, tmp_path / "other.npz", "--out", out)
    assert result.returncode != 0 and "error[INVALID_INPUT]" in result.stderr
    assert not out.exists() and not list(tmp_path.glob(".o.mp4*"))


def test_wrong_output_suffix_is_refused_before_any_work(person_video: Path, tmp_path: Path) -> None:
    result = earlycp("skeleton", person_video, "--out", tmp_path / "s.json")
    assert result.returncode != 0 and "error[INVALID_INPUT]" in result.stderr
    assert list(tmp_path.iterdir()) == []
