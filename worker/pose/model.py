"""A registered pose model, ready to run: manifest-driven pre-processing, inference, decoding.

Everything model-specific comes from the manifest (input size and name, "torch" or "tf"
normalisation, keypoint names, layout), so a site's own ONNX model with a manifest plugs in
without code changes. Optional manifest keys read here: ``decoding_options`` with
``gaussian_sigma`` (patch smoothing before sub-pixel refinement) and ``subpixel`` (bool).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np

from earlycp.errors import EarlyCPError, ErrorCode
from models.registry import ModelEntry, get_model
from worker.onnx_session import active_provider, choose_providers, create_session
from worker.pose.geometry import square_view
from worker.pose.heatmaps import decode_heatmaps

#: Defaults chosen on the MPII regression set (docs/motion-capture.md): the Taylor refinement
#: after σ = 1 px patch smoothing (the reference smoothing) gains PCKh@0.1 for RT and II.
DEFAULT_SIGMA = 1.0


@dataclass(frozen=True)
class Normaliser:
    """uint8 RGB → float32 model input, as one fused multiply-add per pixel."""

    scale: np.ndarray  # (3,) float32
    shift: np.ndarray  # (3,) float32

    @classmethod
    def from_manifest(cls, spec: dict[str, Any]) -> Normaliser:
        mode = spec.get("mode")
        if mode == "torch":
            mean = np.asarray(spec.get("mean", (0.485, 0.456, 0.406)), np.float64)
            std = np.asarray(spec.get("std", (0.229, 0.224, 0.225)), np.float64)
            return cls((1.0 / (255.0 * std)).astype(np.float32), (-mean / std).astype(np.float32))
        if mode == "tf":
            return cls(np.full(3, 1.0 / 127.5, np.float32), np.full(3, -1.0, np.float32))
        if mode in ("none", "unit"):
            return cls(
                np.full(3, 1.0 if mode == "none" else 1.0 / 255.0, np.float32), np.zeros(3, np.float32)
            )
        raise EarlyCPError(ErrorCode.UNKNOWN_MODEL, detail=f"unsupported normalisation mode '{mode}'")

    def __call__(self, images: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        out = np.multiply(images, self.scale, out=out, dtype=np.float32)
        out += self.shift
        return out


def default_streams(gpu: bool) -> int:
    """Concurrent inference calls: one per CPU core (max 4) on the CPU, one on a GPU.

    On a CPU, k single-threaded calls in flight beat one call with k threads: an intra-op
    parallel operator waits for its slowest thread, and the video decoder thread that shares
    the cores keeps pre-empting one of them (EfficientPose RT on 2 cores, batch 8: 57-61
    against 55 frames/s alone, and far less stalling beside the decoder).
    """
    from earlycp.config import get_settings

    configured = get_settings().pose_streams
    if configured:
        return configured
    return 1 if gpu else max(1, min(4, os.cpu_count() or 1))


class PoseModel:
    """One ONNX pose estimator; ``infer`` may be called from ``streams`` threads at once."""

    def __init__(
        self,
        entry: ModelEntry,
        *,
        provider: str | None = None,
        threads: int | None = None,
        streams: int | None = None,
    ) -> None:
        manifest = entry.manifest
        if manifest.get("input", {}).get("layout", "NHWC") != "NHWC":
            raise EarlyCPError(
                ErrorCode.UNKNOWN_MODEL, detail=f"{entry.name}: only NHWC inputs are supported"
            )
        self.entry = entry
        self.name = entry.name
        self.layout = entry.layout
        self.keypoint_names: tuple[str, ...] = tuple(manifest["keypoints"])
        shape = manifest["input"]["shape"]
        self.input_size = int(shape[1])
        self.input_name = str(manifest["input"].get("name", "image"))
        self.output_name = str(manifest.get("output", {}).get("name", "heatmaps"))
        self.normalise = Normaliser.from_manifest(manifest["input"].get("normalisation", {"mode": "torch"}))
        options = manifest.get("decoding_options", {})
        self.sigma = float(options.get("gaussian_sigma", DEFAULT_SIGMA))
        self.subpixel = bool(options.get("subpixel", True))
        gpu = choose_providers(provider)[0] != "CPUExecutionProvider"
        self.streams = streams or default_streams(gpu)
        if threads is None and not gpu and self.streams > 1:
            threads = 1  # parallelism comes from the concurrent calls (see default_streams)
        # No busy-waiting: the decoder thread needs the cores between inference batches.
        self.session = create_session(entry.verified_path(), provider, threads, spin=False)
        self.provider = active_provider(self.session)

    @property
    def num_joints(self) -> int:
        return len(self.keypoint_names)

    def summary(self) -> dict[str, Any]:
        """What the skeleton records about the model (plus the provider that ran it)."""
        return {**self.entry.summary(), "layout": self.layout, "input_size": self.input_size}

    def views(self, images: list[np.ndarray], boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """uint8 RGB frames + square boxes (B, 3) → normalised batch (B, S, S, 3) and view maps."""
        size = self.input_size
        batch = np.empty((len(images), size, size, 3), np.uint8)
        maps = np.empty((len(images), 4))
        for i, (image, box) in enumerate(zip(images, boxes, strict=True)):
            _, maps[i] = square_view(image, tuple(box), size, out=batch[i])
        return self.normalise(batch), maps

    def infer(self, batch: np.ndarray) -> np.ndarray:
        """Raw heatmaps (B, S, S, J) for a normalised batch."""
        # InferenceSession.run is thread-safe; concurrent calls are how the CPU is used.
        (heatmaps,) = self.session.run([self.output_name], {self.input_name: batch})
        return heatmaps

    def decode(self, heatmaps: np.ndarray) -> np.ndarray:
        """Heatmaps → (B, J, 3) (u, v, confidence) in input pixels."""
        return decode_heatmaps(heatmaps, sigma=self.sigma, refine=self.subpixel)


@lru_cache(maxsize=8)
def _cached(name: str, model_dir: str, provider: str | None, threads: int | None) -> PoseModel:
    from pathlib import Path

    return PoseModel(get_model("pose", name, Path(model_dir)), provider=provider, threads=threads)


def load_pose_model(
    name: str | None = None, *, provider: str | None = None, threads: int | None = None
) -> PoseModel:
    """The named (default: settings.pose_model) model, one session per process and settings."""
    from earlycp.config import get_settings

    settings = get_settings()
    return _cached(name or settings.pose_model, str(settings.model_dir), provider, threads)
