"""The whole analysis: video or skeleton → pre-processing → ensemble → report.

One function, ``analyze``, used by the CLI, the worker task and the benchmarks, so every entry
point computes the risk the same way. The layout of the skeleton (or, for a video, of the pose
model) must be the ensemble's: the GCN's graph is built for one keypoint set, and feeding it
another would give a number without meaning (LAYOUT_MISMATCH, checked before any pose work).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from earlycp import __version__
from earlycp.config import get_settings
from earlycp.errors import EarlyCPError, ErrorCode
from models.registry import get_model
from worker.ensemble.runtime import EnsembleRuntime, load_ensemble
from worker.report import ModelRef, Recording, Report, build_report
from worker.science.aggregation import aggregate
from worker.science.preprocessing import WINDOW_FRAMES, inference_features, prepare_skeleton
from worker.science.resample import TARGET_RATE_HZ

SKELETON_SUFFIXES = (".npz", ".csv")
Progress = Callable[[str, float], None]

_cache: dict[tuple[str, str], EnsembleRuntime] = {}
_cache_lock = threading.Lock()


@dataclass
class AnalysisResult:
    report: Report
    skeleton: Any  # worker.skeleton.artefact.Skeleton


def get_ensemble(name: str | None = None) -> EnsembleRuntime:
    """The registered ensemble, loaded once per process (keyed by name and manifest sha256)."""
    name = name or get_settings().ensemble
    entry = get_model("ensemble", name)
    key = (name, str(entry.manifest.get("sha256") or entry.manifest.get("instances")))
    with _cache_lock:
        if key not in _cache:
            _cache[key] = load_ensemble(name)
        return _cache[key]


def _layout_error(what: str, layout: str, ensemble: EnsembleRuntime) -> EarlyCPError:
    return EarlyCPError(
        ErrorCode.LAYOUT_MISMATCH,
        detail=f"{what} uses layout '{layout}' but ensemble '{ensemble.name}' expects '{ensemble.layout.name}'",
    )


def _pose_ref(pose: dict[str, Any]) -> ModelRef | None:
    if not pose or "name" not in pose:
        return None
    return ModelRef(
        name=str(pose["name"]),
        version=str(pose.get("version", "unversioned")),
        sha256=str(pose.get("sha256", "")),
        file=pose.get("file"),
    )


def analyze(
    path: str | Path,
    *,
    threshold: float | None = None,
    ensemble: str | EnsembleRuntime | None = None,
    pose_model: str | None = None,
    progress: Progress | None = None,
) -> AnalysisResult:
    """Analyse one recording (a video, or a skeleton .npz/.csv) and build its report."""
    path = Path(path)
    report_progress: Progress = progress or (lambda stage, fraction: None)
    threshold = get_settings().threshold if threshold is None else float(threshold)
    if not 0.0 <= threshold <= 1.0:
        raise EarlyCPError(ErrorCode.INVALID_INPUT, detail=f"threshold {threshold} outside 0–1")
    if not path.is_file():
        raise EarlyCPError(ErrorCode.FILE_NOT_FOUND, detail=str(path))
    runtime = ensemble if isinstance(ensemble, EnsembleRuntime) else get_ensemble(ensemble)

    from worker.skeleton.artefact import Skeleton

    if path.suffix.lower() in SKELETON_SUFFIXES:
        kind = "skeleton"
        skeleton = Skeleton.load(path)
        if skeleton.layout != runtime.layout.name:
            raise _layout_error("the skeleton", skeleton.layout, runtime)
    else:
        kind = "video"
        from worker.pose.pipeline import estimate_skeleton
        from worker.video.probe import probe

        pose_entry = get_model("pose", pose_model or get_settings().pose_model)
        if pose_entry.layout != runtime.layout.name:
            raise _layout_error(f"pose model '{pose_entry.name}'", pose_entry.layout, runtime)
        report_progress("probing", 0.0)
        info = probe(path)
        report_progress("probing", 1.0)
        report_progress("pose", 0.0)  # sampling and the person search belong to pose, not probing
        skeleton = estimate_skeleton(
            path, pose_model=pose_entry.name, info=info, progress=lambda f: report_progress("pose", f)
        )

    sequence = prepare_skeleton(skeleton)
    features, starts = inference_features(sequence)
    report_progress("predicting", 0.0)
    confidences, cam = runtime.predict(features, progress=lambda f: report_progress("predicting", f))
    agg = aggregate(confidences, threshold, cam)
    qc = {"skeleton": dict(skeleton.qc), "preprocessing": sequence.qc()}
    report = build_report(
        agg,
        confidences,
        window_starts_s=sequence.timestamps[starts],
        window_length_s=WINDOW_FRAMES / TARGET_RATE_HZ,
        keypoints=runtime.layout.keypoints,
        recording=Recording(
            file=path.name,
            kind=kind,
            layout=sequence.layout.name,
            keypoints=list(sequence.layout.keypoints),
            frames_30hz=sequence.num_frames,
            duration_s=round(sequence.num_frames / TARGET_RATE_HZ, 3),
        ),
        qc=qc,
        pose_model=_pose_ref(skeleton.pose_model),
        ensemble=ModelRef(**runtime.summary()),
        ensemble_manifest=runtime.manifest,
        software_version=__version__,
    )
    return AnalysisResult(report=report, skeleton=skeleton)
