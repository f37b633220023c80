"""Parameter and FLOP counts of search-space architectures (for the NAS logs and manifests).

FLOPs are measured, not modelled: ``torch.utils.flop_counter.FlopCounterMode`` on one
``(1, 6, frames, J)`` window in eval mode. It counts convolutions, linear layers and the graph
einsums (as matmuls) at 2 FLOPs per multiply-accumulate; element-wise work (BN, activations,
gates, residual sums, pooling) is not counted — it is a few percent of the total here.
"""

from __future__ import annotations

from typing import Any

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode

from worker.science.layouts import Layout, get_layout


def _model(model_or_config: Any, layout: Layout | str | int | None) -> nn.Module:
    if isinstance(model_or_config, nn.Module):
        return model_or_config
    from train.nn.model import build_model

    if layout is None or isinstance(layout, int):
        raise ValueError("a layout (name or Layout) is needed to build a model from a config")
    return build_model(model_or_config, layout)


def _joints(layout: Layout | str | int) -> int:
    if isinstance(layout, int):
        return layout
    if isinstance(layout, str):
        layout = get_layout(layout)
    return layout.num_joints


def count_params(model_or_config: Any, layout: Layout | str | None = None) -> int:
    """Trainable parameters (BN running statistics and fixed adjacencies excluded)."""
    model = _model(model_or_config, layout)
    return sum(p.numel() for p in model.parameters() if p.requires_grad)


def count_flops(model_or_config: Any, layout: Layout | str | int, frames: int = 150) -> int:
    """FLOPs (2 × MACs) of one window of ``frames`` time steps."""
    model = _model(model_or_config, layout)
    joints = getattr(model, "joints", None) or _joints(layout)
    was_training = model.training
    model.eval()
    try:
        counter = FlopCounterMode(display=False)
        with torch.no_grad(), counter:
            model(torch.zeros(1, 6, frames, joints))
        return int(counter.get_total_flops())
    finally:
        model.train(was_training)
