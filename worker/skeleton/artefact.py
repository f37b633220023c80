"""The skeleton artefact: what motion capture hands to pre-processing, storage and the report.

A skeleton is the only thing that leaves the pose stage, so it must carry everything needed to
trust and reproduce it: the 30 Hz keypoint trajectories, the keypoint layout, the frame size
the pixel coordinates refer to, which pose model (name, version, sha256) produced it, the
source video's metadata and the quality-control summary. Two formats hold the same content:

- ``.npz`` (numpy, no pickles): the canonical store; metadata dictionaries are JSON strings.
- ``.csv``: one row per frame for spreadsheets and other tools; metadata sits in leading
  ``# key: json`` comment lines so the file loads back into the very same ``Skeleton``.

Writes are atomic (temporary file in the target directory, then ``os.replace``), so a crash or
a full disk never leaves a half-written skeleton where a later step would trust it.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

import numpy as np

from earlycp.errors import EarlyCPError, ErrorCode

FORMAT = "earlycp-skeleton"
FORMAT_VERSION = 1
#: Metadata keys stored as JSON (npz: 0-d strings; csv: ``# key: json`` lines), in file order.
_JSON_FIELDS = ("layout", "fps", "frame_size", "keypoint_names", "pose_model", "source", "qc")
_CHANNELS = ("x", "y", "confidence")


@dataclass
class Skeleton:
    """Keypoint trajectories on a uniform time grid, in display (upright) pixel coordinates.

    ``keypoints[t, j] = (x, y, confidence)``; x grows to the right and y downwards from the
    top-left corner of the upright frame of size ``frame_size = (width, height)``.
    """

    keypoints: np.ndarray
    timestamps: np.ndarray
    layout: str
    keypoint_names: tuple[str, ...]
    frame_size: tuple[int, int]
    pose_model: dict[str, Any]
    source: dict[str, Any] = field(default_factory=dict)
    qc: dict[str, Any] = field(default_factory=dict)
    fps: float = 30.0

    def __post_init__(self) -> None:
        self.keypoints = np.ascontiguousarray(self.keypoints, dtype=np.float32)
        self.timestamps = np.ascontiguousarray(self.timestamps, dtype=np.float64)
        self.keypoint_names = tuple(str(n) for n in self.keypoint_names)
        self.frame_size = (int(self.frame_size[0]), int(self.frame_size[1]))
        self.fps = float(self.fps)
        self.validate()

    # --- invariants -----------------------------------------------------------------------

    def validate(self) -> None:
        """Refuse inconsistent content with INVALID_SKELETON (shapes, names, time axis)."""

        def bad(why: str) -> EarlyCPError:
            return EarlyCPError(ErrorCode.INVALID_SKELETON, detail=why)

        kp, ts = self.keypoints, self.timestamps
        if kp.ndim != 3 or kp.shape[2] != 3:
            raise bad(f"keypoints must be (T, J, 3), got {kp.shape}")
        if ts.shape != (kp.shape[0],):
            raise bad(f"timestamps must be ({kp.shape[0]},), got {ts.shape}")
        if len(self.keypoint_names) != kp.shape[1]:
            raise bad(f"{len(self.keypoint_names)} keypoint names for {kp.shape[1]} keypoints")
        if ts.size > 1 and not np.all(np.diff(ts) > 0):
            raise bad("timestamps are not strictly increasing")
        if not np.all(np.isfinite(ts)):
            raise bad("timestamps contain non-finite values")
        if not self.fps > 0:
            raise bad(f"fps must be positive, got {self.fps}")
        if min(self.frame_size) <= 0:
            raise bad(f"frame_size must be positive, got {self.frame_size}")
        if not self.layout:
            raise bad("layout is missing")

    # --- conveniences ---------------------------------------------------------------------

    @property
    def num_frames(self) -> int:
        return int(self.keypoints.shape[0])

    @property
    def num_joints(self) -> int:
        return int(self.keypoints.shape[1])

    @property
    def duration_s(self) -> float:
        """Covered time span, counting the last sample as lasting one sampling period."""
        return self.num_frames / self.fps if self.num_frames else 0.0

    @property
    def xy(self) -> np.ndarray:
        return self.keypoints[..., :2]

    @property
    def confidence(self) -> np.ndarray:
        return self.keypoints[..., 2]

    def _meta(self) -> dict[str, Any]:
        return {
            "layout": self.layout,
            "fps": self.fps,
            "frame_size": list(self.frame_size),
            "keypoint_names": list(self.keypoint_names),
            "pose_model": self.pose_model,
            "source": self.source,
            "qc": self.qc,
        }

    # --- npz ------------------------------------------------------------------------------

    def save_npz(self, path: str | Path) -> Path:
        """Write the canonical ``.npz`` atomically; returns the path."""
        meta = self._meta()
        arrays: dict[str, np.ndarray] = {
            "format": np.array(FORMAT),
            "format_version": np.array(FORMAT_VERSION, dtype=np.int64),
            "keypoints": self.keypoints,
            "timestamps": self.timestamps,
            "fps": np.array(self.fps, dtype=np.float64),
            "layout": np.array(self.layout),
            "keypoint_names": np.array(self.keypoint_names, dtype=np.str_),
            "frame_size": np.array(self.frame_size, dtype=np.int64),
        }
        for key in ("pose_model", "source", "qc"):
            arrays[key] = np.array(_dumps(meta[key]))
        return _atomic_write(Path(path), lambda fh: np.savez_compressed(fh, **arrays), binary=True)

    @classmethod
    def _from_npz(cls, path: Path) -> Skeleton:
        try:
            with np.load(path, allow_pickle=False) as data:
                if str(data["format"]) != FORMAT:
                    raise ValueError(f"format tag is '{data['format']}'")
                version = int(data["format_version"])
                if version > FORMAT_VERSION:
                    raise ValueError(
                        f"format version {version} is newer than this EarlyCP ({FORMAT_VERSION})"
                    )
                return cls(
                    keypoints=data["keypoints"],
                    timestamps=data["timestamps"],
                    layout=str(data["layout"]),
                    keypoint_names=tuple(str(n) for n in data["keypoint_names"]),
                    frame_size=tuple(int(v) for v in data["frame_size"]),  # type: ignore[arg-type]
                    pose_model=json.loads(str(data["pose_model"])),
                    source=json.loads(str(data["source"])),
                    qc=json.loads(str(data["qc"])),
                    fps=float(data["fps"]),
                )
        except EarlyCPError:
            raise
        except (KeyError, ValueError, OSError, EOFError, json.JSONDecodeError) as exc:
            raise EarlyCPError(ErrorCode.INVALID_SKELETON, detail=f"{path.name}: {exc}") from exc

    # --- csv ------------------------------------------------------------------------------

    def csv_header(self) -> list[str]:
        return ["time"] + [f"{name}_{ch}" for name in self.keypoint_names for ch in _CHANNELS]

    def save_csv(self, path: str | Path) -> Path:
        """Write one row per frame (time, then x, y, confidence per keypoint) atomically."""
        meta = self._meta()

        def write(fh: IO[str]) -> None:
            fh.write(f"# {FORMAT} {FORMAT_VERSION}\n")
            for key in _JSON_FIELDS:
                fh.write(f"# {key}: {_dumps(meta[key])}\n")
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(self.csv_header())
            flat = self.keypoints.reshape(self.num_frames, -1)
            # repr() of a Python float is the shortest string that reads back bit-identical;
            # float32 values go through float64 exactly, so the round trip is lossless.
            for t, row in zip(self.timestamps.tolist(), flat.astype(np.float64).tolist(), strict=True):
                writer.writerow([repr(t), *map(repr, row)])

        return _atomic_write(Path(path), write, binary=False)

    @classmethod
    def _from_csv(cls, path: Path) -> Skeleton:
        try:
            text = path.read_text(encoding="utf-8")
            lines = text.splitlines()
            meta: dict[str, Any] = {}
            start = 0
            if not lines or not lines[0].startswith(f"# {FORMAT} "):
                raise ValueError("missing the '# earlycp-skeleton' first line")
            version = int(lines[0].split()[-1])
            if version > FORMAT_VERSION:
                raise ValueError(f"format version {version} is newer than this EarlyCP ({FORMAT_VERSION})")
            for start, line in enumerate(lines[1:], start=1):  # noqa: B007 - start used below
                if not line.startswith("#"):
                    break
                key, _, value = line[1:].strip().partition(":")
                meta[key.strip()] = json.loads(value)
            missing = [k for k in _JSON_FIELDS if k not in meta]
            if missing:
                raise ValueError(f"missing metadata lines: {', '.join(missing)}")
            reader = csv.reader(io.StringIO("\n".join(lines[start:])))
            header = next(reader)
            names = [str(n) for n in meta["keypoint_names"]]
            expected = ["time"] + [f"{n}_{ch}" for n in names for ch in _CHANNELS]
            if header != expected:
                raise ValueError("column header does not match the keypoint names")
            rows = [r for r in reader if r]
            table = np.array(rows, dtype=np.float64).reshape(len(rows), len(expected))
            return cls(
                keypoints=table[:, 1:].reshape(len(rows), len(names), 3).astype(np.float32),
                timestamps=table[:, 0],
                layout=str(meta["layout"]),
                keypoint_names=tuple(names),
                frame_size=tuple(meta["frame_size"]),  # type: ignore[arg-type]
                pose_model=meta["pose_model"],
                source=meta["source"],
                qc=meta["qc"],
                fps=float(meta["fps"]),
            )
        except EarlyCPError:
            raise
        except (ValueError, OSError, StopIteration, UnicodeDecodeError, csv.Error) as exc:
            raise EarlyCPError(ErrorCode.INVALID_SKELETON, detail=f"{path.name}: {exc}") from exc

    # --- loading --------------------------------------------------------------------------

    @classmethod
    def load(cls, path: str | Path) -> Skeleton:
        """Load a ``.npz`` or ``.csv`` skeleton; anything else is INVALID_SKELETON."""
        path = Path(path)
        if not path.is_file():
            raise EarlyCPError(ErrorCode.FILE_NOT_FOUND, detail=str(path))
        suffix = path.suffix.lower()
        if suffix == ".npz":
            return cls._from_npz(path)
        if suffix == ".csv":
            return cls._from_csv(path)
        raise EarlyCPError(ErrorCode.INVALID_SKELETON, detail=f"{path.name}: expected a .npz or .csv file")

    def save(self, path: str | Path) -> Path:
        """Save by extension (``.npz`` or ``.csv``)."""
        path = Path(path)
        if path.suffix.lower() == ".csv":
            return self.save_csv(path)
        return self.save_npz(path)

    def equals(self, other: Skeleton) -> bool:
        """Exact equality of every array and metadata field (what the round-trip tests check)."""
        return (
            np.array_equal(self.keypoints, other.keypoints, equal_nan=True)
            and np.array_equal(self.timestamps, other.timestamps)
            and self._meta() == other._meta()
        )


def _dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=_json_default)


def _json_default(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, Mapping):
        return dict(value)
    raise TypeError(f"{type(value).__name__} is not JSON serialisable")


@contextlib.contextmanager
def atomic_path(path: Path, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, else it vanishes.

    For writers that want a file name (encoders) rather than an open file handle.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=suffix or path.suffix, dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _atomic_write(path: Path, write: Callable[[IO[Any]], None], *, binary: bool) -> Path:
    with atomic_path(path) as tmp:
        mode = "wb" if binary else "w"
        with open(tmp, mode, **({} if binary else {"encoding": "utf-8", "newline": ""})) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
    return path
