"""Spatial and temporal blocks, modules (spatial block → temporal block) and stages with residuals.

Block types (EfficientGCN/ResGCN style), applied to both the spatial and the temporal block:
- basic: graph conv / multi-scale temporal conv → BN → (+ block residual) → activation;
- bottleneck: 1×1 reduce to ``cout // factor`` → conv → 1×1 expand, BN after each, activation
  between, activation after the residual sum;
- mbconv: 1×1 expand to ``cin × factor`` → depthwise conv (per-channel graph aggregation, or
  depthwise dilated temporal convs as EfficientGCN's "Sep" layer) → inner SE → linear 1×1
  projection (no activation after it, as in MobileNetV2/EfficientNet). The bottleneck factor is
  MBConv's expansion ratio.

Residual types:
- none;
- block: a skip around each block (identity, or 1×1 conv + BN when width/time change);
- module: one skip around the whole module (spatial + temporal);
- dense: the module's output is added to the sum of the outputs of *all* previous modules of its
  stage (an input branch or a main-branch level), the stage input included (projected when its
  shape differs) — DenseNet-like summation, which keeps widths fixed. For the first module of a
  stage this reduces to a module residual with projection.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from train.nn.attention import SqueezeExcitation, attention
from train.nn.graph_conv import DepthwiseGraphConv, GraphConv
from train.nn.layers import activation, conv_bn
from train.nn.temporal import MultiScaleTemporalConv


@dataclass(frozen=True)
class ModuleSpec:
    """Everything one module needs, resolved from an ArchConfig by the model builder."""

    block: str
    residual: str
    scales: int
    kernel_size: int
    factor: int
    se: str
    se_ratio: int
    se_ratio_type: str
    attention: str
    act: str


def _shortcut(cin: int, cout: int, stride: int) -> nn.Module:
    if cin == cout and stride == 1:
        return nn.Identity()
    return conv_bn(cin, cout, stride=stride)


class _Block(nn.Module):
    """body → inner SE → (+ skip) → final activation (identity for MBConv)."""

    def __init__(self, body: nn.Module, se: nn.Module, skip: nn.Module | None, final_act: nn.Module) -> None:
        super().__init__()
        self.body, self.se, self.skip, self.final_act = body, se, skip, final_act

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.se(self.body(x))
        if self.skip is not None:
            out = out + self.skip(x)
        return self.final_act(out)


def _inner_se(spec: ModuleSpec, channels: int) -> nn.Module:
    if spec.se in ("inner", "both"):
        return SqueezeExcitation(channels, spec.se_ratio, spec.se_ratio_type, spec.act)
    return nn.Identity()


def spatial_block(cin: int, cout: int, adjacency: np.ndarray, spec: ModuleSpec) -> nn.Module:
    act = spec.act
    if spec.block == "basic":
        body = nn.Sequential(GraphConv(cin, cout, adjacency), nn.BatchNorm2d(cout))
        se, final = _inner_se(spec, cout), activation(act)
    elif spec.block == "bottleneck":
        mid = max(1, cout // spec.factor)
        body = nn.Sequential(
            conv_bn(cin, mid),
            activation(act),
            GraphConv(mid, mid, adjacency),
            nn.BatchNorm2d(mid),
            activation(act),
            conv_bn(mid, cout),
        )
        se, final = _inner_se(spec, cout), activation(act)
    elif spec.block == "mbconv":
        hidden = cin * spec.factor
        body = nn.Sequential(
            conv_bn(cin, hidden),
            activation(act),
            DepthwiseGraphConv(hidden, adjacency),
            nn.BatchNorm2d(hidden),
            activation(act),
            _inner_se(spec, hidden),
            conv_bn(hidden, cout),
        )
        se, final = nn.Identity(), nn.Identity()
    else:
        raise ValueError(f"unknown block type {spec.block!r}")
    skip = _shortcut(cin, cout, 1) if spec.residual == "block" else None
    return _Block(body, se, skip, final)


def temporal_block(channels: int, stride: int, spec: ModuleSpec) -> nn.Module:
    act, k, s = spec.act, spec.kernel_size, spec.scales
    if spec.block == "basic":
        body = nn.Sequential(
            MultiScaleTemporalConv(channels, channels, kernel_size=k, scales=s, stride=stride),
            nn.BatchNorm2d(channels),
        )
        se, final = _inner_se(spec, channels), activation(act)
    elif spec.block == "bottleneck":
        mid = max(1, channels // spec.factor)
        body = nn.Sequential(
            conv_bn(channels, mid),
            activation(act),
            MultiScaleTemporalConv(mid, mid, kernel_size=k, scales=s, stride=stride),
            nn.BatchNorm2d(mid),
            activation(act),
            conv_bn(mid, channels),
        )
        se, final = _inner_se(spec, channels), activation(act)
    elif spec.block == "mbconv":
        hidden = channels * spec.factor
        body = nn.Sequential(
            conv_bn(channels, hidden),
            activation(act),
            MultiScaleTemporalConv(hidden, hidden, kernel_size=k, scales=s, stride=stride, depthwise=True),
            nn.BatchNorm2d(hidden),
            activation(act),
            _inner_se(spec, hidden),
            conv_bn(hidden, channels),
        )
        se, final = nn.Identity(), nn.Identity()
    else:
        raise ValueError(f"unknown block type {spec.block!r}")
    skip = _shortcut(channels, channels, stride) if spec.residual == "block" else None
    return _Block(body, se, skip, final)


class GcnModule(nn.Module):
    """Spatial block → temporal block (+ module skip) → attention → outer SE."""

    def __init__(self, cin: int, cout: int, adjacency: np.ndarray, stride: int, spec: ModuleSpec) -> None:
        super().__init__()
        self.spatial = spatial_block(cin, cout, adjacency, spec)
        self.temporal = temporal_block(cout, stride, spec)
        self.skip = _shortcut(cin, cout, stride) if spec.residual == "module" else None
        self.attention = attention(spec.attention, cout, spec.act)
        self.outer_se = (
            SqueezeExcitation(cout, spec.se_ratio, spec.se_ratio_type, spec.act)
            if spec.se in ("outer", "both")
            else nn.Identity()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.temporal(self.spatial(x))
        if self.skip is not None:
            out = out + self.skip(x)
        return self.outer_se(self.attention(out))


class Stage(nn.Module):
    """A sequence of modules (an input branch or a main-branch level); owns dense connections."""

    def __init__(
        self, cin: int, cout: int, adjacency: np.ndarray, stride: int, specs: list[ModuleSpec]
    ) -> None:
        super().__init__()
        self.blocks = nn.ModuleList()
        self.dense = nn.ModuleList()
        for i, spec in enumerate(specs):
            self.blocks.append(
                GcnModule(cin if i == 0 else cout, cout, adjacency, stride if i == 0 else 1, spec)
            )
            if spec.residual == "dense":
                # history = [stage input, out_0, …, out_{i-1}]; only the stage input can differ.
                projs = [_shortcut(cin, cout, stride)] + [nn.Identity() for _ in range(i)]
                self.dense.append(nn.ModuleList(projs))
            else:
                self.dense.append(nn.ModuleList())

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        history = [x]
        out = x
        for block, projs in zip(self.blocks, self.dense, strict=True):
            out = block(out)
            if len(projs):
                for proj, h in zip(projs, history, strict=True):
                    out = out + proj(h)
            history.append(out)
        return out
