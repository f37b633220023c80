"""Building blocks of the Ensemble-NAS-GCN search space (torch; training and export only)."""

from train.nn.model import EnsembleNasGcn, build_model

__all__ = ["EnsembleNasGcn", "build_model"]
