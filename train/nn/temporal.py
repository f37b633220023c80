"""Multi-scale temporal convolution: parallel dilated branches over time, summed.

Scale ``s`` (1-based) is a ``kernel_size × 1`` convolution with dilation ``s``, so 1, 2 and 3
scales see 1×, 2× and 3× the temporal receptive field with the same parameter cost per branch.
Branch outputs are **summed** (not concatenated): the width stays the configured one whatever the
number of scales, so width and scales are independent choices.
"""

from __future__ import annotations

from torch import nn


class MultiScaleTemporalConv(nn.Module):
    def __init__(
        self, cin: int, cout: int, *, kernel_size: int, scales: int, stride: int = 1, depthwise: bool = False
    ) -> None:
        super().__init__()
        if depthwise and cin != cout:
            raise ValueError("a depthwise temporal convolution keeps the channel count")
        self.branches = nn.ModuleList(
            nn.Conv2d(
                cin,
                cout,
                kernel_size=(kernel_size, 1),
                stride=(stride, 1),
                padding=((kernel_size - 1) * d // 2, 0),
                dilation=(d, 1),
                groups=cin if depthwise else 1,
                bias=False,
            )
            for d in range(1, scales + 1)
        )

    def forward(self, x):
        out = self.branches[0](x)
        for branch in self.branches[1:]:
            out = out + branch(x)
        return out
