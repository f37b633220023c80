"""The skeleton artefact: lossless npz/csv round trips, validation and atomic writes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from earlycp.errors import EarlyCPError, ErrorCode
from worker.science.layouts import MPII16
from worker.skeleton.artefact import Skeleton


def _skeleton(frames: int = 40, seed: int = 0) -> Skeleton:
    rng = np.random.default_rng(seed)
    kp = np.empty((frames, MPII16.num_joints, 3), np.float32)
    kp[..., :2] = rng.uniform(0, 720, size=(frames, MPII16.num_joints, 2))
    kp[..., 2] = rng.uniform(0, 1, size=(frames, MPII16.num_joints))
    kp[3, 4] = (1 / 3, 1e-7, 0.1)  # values whose decimal form is not short
    return Skeleton(
        keypoints=kp,
        timestamps=np.arange(frames) / 30.0,
        layout="mpii16",
        keypoint_names=MPII16.keypoints,
        frame_size=(720, 576),
        pose_model={"name": "efficientpose-rt", "version": "1.0.0", "sha256": "ab" * 32},
        source={"path": "clip.mp4", "fps": 29.97, "rotation": 90, "declared_duration_s": None},
        qc={"person_share": 0.97, "warnings": ["low tracking confidence"], "keypoint_confidence": {"a": 0.5}},
    )


@pytest.mark.parametrize("suffix", [".npz", ".csv"])
def test_round_trip_is_lossless(tmp_path: Path, suffix: str) -> None:
    original = _skeleton()
    path = original.save(tmp_path / f"s{suffix}")
    loaded = Skeleton.load(path)
    assert loaded.equals(original)
    assert loaded.keypoints.dtype == np.float32 and loaded.keypoints.shape == (40, 16, 3)
    assert loaded.timestamps.dtype == np.float64
    assert loaded.fps == 30.0 and loaded.frame_size == (720, 576)
    assert loaded.keypoint_names == MPII16.keypoints
    assert loaded.pose_model["sha256"] == "ab" * 32
    assert loaded.source["rotation"] == 90
    assert loaded.qc["warnings"] == ["low tracking confidence"]


def test_npz_and_csv_hold_the_same_skeleton(tmp_path: Path) -> None:
    original = _skeleton(seed=3)
    a = Skeleton.load(original.save_npz(tmp_path / "a.npz"))
    b = Skeleton.load(original.save_csv(tmp_path / "b.csv"))
    assert a.equals(b)


def test_csv_layout_is_one_row_per_frame_with_named_columns(tmp_path: Path) -> None:
    path = _skeleton(frames=5).save_csv(tmp_path / "s.csv")
    lines = path.read_text().splitlines()
    comments = [line for line in lines if line.startswith("#")]
    rows = [line for line in lines if not line.startswith("#")]
    assert lines[0].startswith("# earlycp-skeleton")
    assert any(line.startswith("# pose_model:") for line in comments)
    assert rows[0].split(",")[:4] == ["time", "head_top_x", "head_top_y", "head_top_confidence"]
    assert len(rows) == 1 + 5 and len(rows[1].split(",")) == 1 + 16 * 3


def test_npz_holds_plain_arrays(tmp_path: Path) -> None:
    path = _skeleton().save_npz(tmp_path / "s.npz")
    with np.load(path, allow_pickle=False) as data:
        assert data["keypoints"].shape == (40, 16, 3)
        assert str(data["layout"]) == "mpii16"
        assert list(data["frame_size"]) == [720, 576]
        assert float(data["fps"]) == 30.0


@pytest.mark.parametrize(
    ("name", "content"),
    [("bad.npz", b"not a zip"), ("bad.csv", b"time,x\n1,2\n"), ("s.txt", b"hello"), ("empty.npz", b"")],
)
def test_invalid_files_are_refused(tmp_path: Path, name: str, content: bytes) -> None:
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(EarlyCPError) as err:
        Skeleton.load(path)
    assert err.value.code == ErrorCode.INVALID_SKELETON


def test_truncated_csv_is_refused(tmp_path: Path) -> None:
    path = _skeleton().save_csv(tmp_path / "s.csv")
    text = path.read_text()
    path.write_text(text[: len(text) - 40])  # last row cut mid-way
    with pytest.raises(EarlyCPError) as err:
        Skeleton.load(path)
    assert err.value.code == ErrorCode.INVALID_SKELETON


def test_inconsistent_content_is_refused() -> None:
    good = _skeleton()
    with pytest.raises(EarlyCPError, match="INVALID_SKELETON"):
        Skeleton(**{**good.__dict__, "timestamps": good.timestamps[::-1].copy()})
    with pytest.raises(EarlyCPError, match="INVALID_SKELETON"):
        Skeleton(**{**good.__dict__, "keypoint_names": good.keypoint_names[:-1]})
    with pytest.raises(EarlyCPError, match="INVALID_SKELETON"):
        Skeleton(**{**good.__dict__, "keypoints": good.keypoints[..., :2].copy()})


def test_missing_file_is_file_not_found(tmp_path: Path) -> None:
    with pytest.raises(EarlyCPError) as err:
        Skeleton.load(tmp_path / "nope.npz")
    assert err.value.code == ErrorCode.FILE_NOT_FOUND


def test_failed_write_leaves_no_file(tmp_path: Path) -> None:
    """A metadata value that cannot be serialised fails the write: nothing, not half a file."""
    bad = _skeleton()
    bad.qc = {"unserialisable": object()}
    for suffix in (".npz", ".csv"):
        with pytest.raises(TypeError):
            bad.save(tmp_path / f"s{suffix}")
    assert list(tmp_path.iterdir()) == []


def test_overwrite_replaces_atomically(tmp_path: Path) -> None:
    path = tmp_path / "s.npz"
    _skeleton(seed=1).save_npz(path)
    second = _skeleton(seed=2)
    second.save_npz(path)
    assert Skeleton.load(path).equals(second)
    assert [p.name for p in tmp_path.iterdir()] == ["s.npz"]
