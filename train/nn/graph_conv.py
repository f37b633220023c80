"""Spatial graph convolutions over the skeleton: ST-GCN partitions or disentangled k-hop scales.

Adjacency ``A`` (K, J, J) comes from ``worker.science.graph``; ``A[k, i, j]`` is the weight with
which joint ``i`` receives from joint ``j``. Each partition/scale ``k`` has its own channel mixing
``W_k``: ``out = Σ_k W_k · (x aggregated with (A_k ⊙ M_k))`` where ``M`` is a learnable edge
importance mask (ST-GCN), initialised to ones, so the graph can re-weight existing edges but not
create new ones.
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch import nn


class GraphConv(nn.Module):
    """Full graph convolution: channel mixing per partition, then aggregation over neighbours."""

    def __init__(self, cin: int, cout: int, adjacency: np.ndarray) -> None:
        super().__init__()
        a = torch.as_tensor(np.asarray(adjacency, dtype=np.float32))
        self.register_buffer("A", a)
        self.importance = nn.Parameter(torch.ones_like(a))
        self.k = a.shape[0]
        self.cout = cout
        self.mix = nn.Conv2d(cin, cout * self.k, kernel_size=1, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.mix(x).unflatten(1, (self.k, self.cout))  # batch stays symbolic in ONNX
        return torch.einsum("nkctj,kij->ncti", y, self.A * self.importance)


class DepthwiseGraphConv(nn.Module):
    """Per-channel graph aggregation (no channel mixing): MBConv's "depthwise" spatial step."""

    def __init__(self, channels: int, adjacency: np.ndarray) -> None:
        super().__init__()
        a = torch.as_tensor(np.asarray(adjacency, dtype=np.float32))
        self.register_buffer("A", a)
        self.importance = nn.Parameter(torch.ones_like(a))
        k = a.shape[0]
        # He-normal fan-out of a depthwise filter: fan_out = K partitions per channel.
        self.weight = nn.Parameter(torch.randn(k, channels) * math.sqrt(2.0 / k))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        agg = torch.einsum("nctj,kij->nkcti", x, self.A * self.importance)
        return torch.einsum("nkcti,kc->ncti", agg, self.weight)
