"""The model registry.

Every model (pose estimator or GCN ensemble) is described by a ``manifest.json`` that names
its weight file, sha256, licence, keypoint layout and I/O spec. Manifests shipped with
EarlyCP live in ``models/<kind>/<name>/``; a site can plug in its own model (for example an
infant-fine-tuned 19-keypoint pose model) by placing ``<name>/manifest.json`` in
``EARLYCP_MODEL_DIR``. Weight files are looked up beside the manifest first (the committed
demo ensemble) and then in ``EARLYCP_MODEL_DIR`` (large third-party weights that must not be
committed).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from earlycp.config import get_settings
from earlycp.errors import EarlyCPError, ErrorCode

ModelKind = Literal["pose", "ensemble"]
BUILTIN_DIR = Path(__file__).resolve().parent
_HASH_CHUNK = 1 << 20


@dataclass(frozen=True)
class ModelEntry:
    """A registered model: its manifest plus where the manifest was found."""

    kind: ModelKind
    name: str
    manifest: dict[str, Any]
    manifest_path: Path
    extra_dirs: tuple[Path, ...] = field(default=())

    @property
    def file_name(self) -> str:
        return str(self.manifest["file"])

    @property
    def sha256(self) -> str:
        return str(self.manifest["sha256"])

    @property
    def version(self) -> str:
        return str(self.manifest.get("version", "unversioned"))

    @property
    def layout(self) -> str:
        return str(self.manifest["layout"])

    def candidate_paths(self) -> list[Path]:
        return [self.manifest_path.parent / self.file_name, *(d / self.file_name for d in self.extra_dirs)]

    def locate(self) -> Path:
        """The weight file, or MODEL_NOT_FOUND naming the file and where to get it."""
        for path in self.candidate_paths():
            if path.is_file():
                return path
        where = ", ".join(str(p) for p in self.candidate_paths())
        source = self.manifest.get("source", "see the model's manifest")
        raise EarlyCPError(
            ErrorCode.MODEL_NOT_FOUND,
            detail=f"{self.kind} model '{self.name}' needs {self.file_name}; looked in {where}. "
            f"Where to get it: {source}",
        )

    def verified_path(self) -> Path:
        """The weight file after its sha256 matched the manifest (cached per path and mtime)."""
        path = self.locate()
        stat = path.stat()
        actual = _sha256_cached(str(path), stat.st_size, stat.st_mtime_ns)
        if actual != self.sha256:
            raise EarlyCPError(
                ErrorCode.MODEL_CHECKSUM_MISMATCH,
                detail=f"{path} has sha256 {actual}, manifest of '{self.name}' expects {self.sha256}",
            )
        return path

    def summary(self) -> dict[str, Any]:
        """Name, version and checksum: what every artefact records about the model it came from."""
        return {"name": self.name, "version": self.version, "sha256": self.sha256, "file": self.file_name}


@lru_cache(maxsize=64)
def _sha256_cached(path: str, size: int, mtime_ns: int) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(_HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _scan(root: Path, kind: ModelKind, extra_dirs: tuple[Path, ...]) -> dict[str, ModelEntry]:
    found: dict[str, ModelEntry] = {}
    if not root.is_dir():
        return found
    for manifest_path in sorted(root.glob("*/manifest.json")):
        manifest = json.loads(manifest_path.read_text())
        if manifest.get("kind") != kind:
            continue
        found[manifest["name"]] = ModelEntry(kind, manifest["name"], manifest, manifest_path, extra_dirs)
    return found


def list_models(kind: ModelKind, model_dir: Path | None = None) -> dict[str, ModelEntry]:
    """All registered models of a kind: built-in manifests, then site manifests (which win)."""
    model_dir = model_dir or get_settings().model_dir
    sub = "pose" if kind == "pose" else "ensembles"
    models = _scan(BUILTIN_DIR / sub, kind, (model_dir,))
    models.update(_scan(model_dir, kind, (model_dir,)))
    return models


def get_model(kind: ModelKind, name: str, model_dir: Path | None = None) -> ModelEntry:
    """One registered model by name, or UNKNOWN_MODEL listing the names that exist."""
    models = list_models(kind, model_dir)
    if name not in models:
        raise EarlyCPError(
            ErrorCode.UNKNOWN_MODEL,
            detail=f"no {kind} model named '{name}'; registered: {', '.join(sorted(models)) or 'none'}",
        )
    return models[name]
