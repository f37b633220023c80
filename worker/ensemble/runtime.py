"""Run a GCN ensemble on windows of features: one call, batched, every instance at once.

The ONNX contract (docs/HELPERS.md): input ``features`` float32 [B, 6, 150, J]; outputs
``confidences`` float32 [B, N] (each instance's softmax probability of CP) and ``cam`` float32
[B, N, J] (each instance's class activation per keypoint). Two manifest layouts are served:

- one file holding all N instances (``"file"`` + ``"sha256"``): the fast path, one session;
- one file per instance (``"instances": [{"file", "sha256"}, ...]``), each file following the
  same contract with N = 1 (``confidences`` [B, 1] or [B], ``cam`` [B, 1, J] or [B, J]); the
  outputs are concatenated along N in manifest order.

Every weight file's sha256 is checked against the manifest before a session is created, and the
outputs are checked (shape, finite, confidences within [0, 1]) before anything is aggregated:
a model that returns garbage stops the analysis with ENSEMBLE_OUTPUT_INVALID instead of
producing a plausible-looking risk.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from earlycp.errors import EarlyCPError, ErrorCode
from models.registry import ModelEntry, get_model
from worker.onnx_session import active_provider, create_session
from worker.science.layouts import Layout, get_layout
from worker.science.preprocessing import WINDOW_FRAMES

log = logging.getLogger(__name__)

INPUT_NAME = "features"
OUTPUTS = ("confidences", "cam")
#: Windows per ONNX call. A 5-minute recording has 119 windows; 32 keeps the CPU busy with
#: large matrix products while bounding memory on a small GPU.
DEFAULT_BATCH = 32
#: Confidences may exceed [0, 1] by float rounding of the softmax; more is a broken model.
_PROB_TOLERANCE = 1e-5


@dataclass
class EnsembleRuntime:
    """Loaded sessions of one ensemble plus what the report records about it."""

    name: str
    layout: Layout
    n_instances: int
    sessions: list[Any]
    manifest: dict[str, Any] = field(default_factory=dict)
    files: tuple[Path, ...] = ()

    @property
    def provider(self) -> str:
        return active_provider(self.sessions[0])

    def summary(self) -> dict[str, Any]:
        """Name, version, sha256 (of the file, or of each instance file) for the report."""
        m = self.manifest
        info: dict[str, Any] = {"name": self.name, "version": str(m.get("version", "unversioned"))}
        if m.get("instances"):
            info["sha256"] = [str(i["sha256"]) for i in m["instances"]]
            info["file"] = [str(i["file"]) for i in m["instances"]]
        else:
            info["sha256"] = str(m.get("sha256", ""))
            info["file"] = str(m.get("file", ""))
        return info

    def predict(
        self,
        features: np.ndarray,
        *,
        batch_size: int = DEFAULT_BATCH,
        progress: Callable[[float], None] | None = None,
    ) -> tuple[np.ndarray, np.ndarray]:
        """(W, 6, 150, J) features → confidences (W, N) float32 and cam (W, N, J) float32."""
        x = np.ascontiguousarray(features, dtype=np.float32)
        j = self.layout.num_joints
        if x.ndim != 4 or x.shape[1:] != (6, WINDOW_FRAMES, j):
            raise ValueError(f"features must be (W, 6, {WINDOW_FRAMES}, {j}), got {x.shape}")
        w = x.shape[0]
        confidences = np.empty((w, self.n_instances), dtype=np.float32)
        cams = np.empty((w, self.n_instances, j), dtype=np.float32)
        for lo in range(0, w, batch_size):
            hi = min(w, lo + batch_size)
            conf, cam = self._run_batch(x[lo:hi])
            confidences[lo:hi], cams[lo:hi] = conf, cam
            if progress is not None:
                progress(hi / w)
        return confidences, cams

    def _run_batch(self, batch: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        confs, cams = [], []
        for session in self.sessions:
            conf, cam = session.run(list(OUTPUTS), {INPUT_NAME: batch})
            b = batch.shape[0]
            conf = np.asarray(conf, dtype=np.float32).reshape(b, -1)
            cam = np.asarray(cam, dtype=np.float32).reshape(b, conf.shape[1], -1)
            confs.append(conf)
            cams.append(cam)
        conf = np.concatenate(confs, axis=1)
        cam = np.concatenate(cams, axis=1)
        self._check(conf, cam, batch.shape[0])
        return np.clip(conf, 0.0, 1.0), cam

    def _check(self, conf: np.ndarray, cam: np.ndarray, b: int) -> None:
        expected = (b, self.n_instances, self.layout.num_joints)
        problem = None
        if conf.shape != expected[:2] or cam.shape != expected:
            problem = f"outputs {conf.shape} and {cam.shape}, expected {expected[:2]} and {expected}"
        elif not (np.isfinite(conf).all() and np.isfinite(cam).all()):
            problem = "non-finite confidences or CAM values"
        elif conf.min() < -_PROB_TOLERANCE or conf.max() > 1.0 + _PROB_TOLERANCE:
            problem = f"confidences outside [0, 1] (min {conf.min():.4g}, max {conf.max():.4g})"
        if problem:
            raise EarlyCPError(ErrorCode.ENSEMBLE_OUTPUT_INVALID, detail=f"ensemble '{self.name}': {problem}")


def _check_io(session: Any, path: Path, joints: int) -> None:
    inputs = {i.name: i for i in session.get_inputs()}
    outputs = {o.name for o in session.get_outputs()}
    if INPUT_NAME not in inputs or not set(OUTPUTS) <= outputs:
        raise EarlyCPError(
            ErrorCode.MODEL_CHECKSUM_MISMATCH,
            detail=f"{path.name} has inputs {sorted(inputs)} and outputs {sorted(outputs)}; "
            f"expected '{INPUT_NAME}' → {', '.join(OUTPUTS)}",
        )
    shape = inputs[INPUT_NAME].shape
    if len(shape) == 4 and isinstance(shape[3], int) and shape[3] != joints:
        raise EarlyCPError(
            ErrorCode.LAYOUT_MISMATCH, detail=f"{path.name} expects {shape[3]} keypoints, layout has {joints}"
        )


def from_files(
    paths: Sequence[Path],
    layout: Layout | str,
    *,
    name: str = "local",
    n_instances: int | None = None,
    manifest: dict[str, Any] | None = None,
    provider: str | None = None,
    threads: int | None = None,
) -> EnsembleRuntime:
    """Sessions for already verified ONNX files (all instances in one, or one file each)."""
    layout = get_layout(layout) if isinstance(layout, str) else layout
    paths = [Path(p) for p in paths]
    sessions = []
    for path in paths:
        session = create_session(path, provider, threads)
        _check_io(session, path, layout.num_joints)
        sessions.append(session)
    runtime = EnsembleRuntime(
        name=name,
        layout=layout,
        n_instances=n_instances or 0,
        sessions=sessions,
        manifest=manifest or {},
        files=tuple(paths),
    )
    if not n_instances:  # learn N from one probe window when no manifest says it
        probe = np.zeros((1, 6, WINDOW_FRAMES, layout.num_joints), dtype=np.float32)
        runtime.n_instances = sum(
            int(np.asarray(s.run([OUTPUTS[0]], {INPUT_NAME: probe})[0]).reshape(1, -1).shape[1])
            for s in sessions
        )
    return runtime


def instance_entries(entry: ModelEntry) -> list[ModelEntry]:
    """One registry entry per weight file (the single file, or each listed instance)."""
    m = entry.manifest
    if not m.get("instances"):  # one merged file (an "instances": null key counts as absent)
        return [entry]
    return [
        ModelEntry(
            entry.kind,
            f"{entry.name}#{k}",
            {**m, "file": inst["file"], "sha256": inst["sha256"]},
            entry.manifest_path,
            entry.extra_dirs,
        )
        for k, inst in enumerate(m["instances"])
    ]


def load_ensemble(
    name: str | None = None, *, provider: str | None = None, threads: int | None = None
) -> EnsembleRuntime:
    """The registered ensemble ``name`` (default: settings), every file sha256-verified."""
    from earlycp.config import get_settings

    name = name or get_settings().ensemble
    entry = get_model("ensemble", name)
    paths = [e.verified_path() for e in instance_entries(entry)]
    manifest = entry.manifest
    n = int(manifest.get("n_instances") or (len(manifest.get("instances") or ())))
    window = int(manifest.get("window", WINDOW_FRAMES))
    if window != WINDOW_FRAMES:
        raise EarlyCPError(
            ErrorCode.INVALID_INPUT,
            detail=f"ensemble '{name}' expects {window}-frame windows, not {WINDOW_FRAMES}",
        )
    runtime = from_files(
        paths,
        entry.layout,
        name=name,
        n_instances=n or None,
        manifest=manifest,
        provider=provider,
        threads=threads,
    )
    log.info(
        "ensemble %s: %d instances in %d file(s) on %s",
        name,
        runtime.n_instances,
        len(paths),
        runtime.provider,
    )
    return runtime
