"""Squeeze-and-excitation and the three attention modules (channel, frame, joint).

SE rescales channels from their (time, joint) average through a bottleneck MLP whose width is
``channels // ratio`` ("relative", at least 1) or ``ratio`` itself ("absolute").

The attention modules are our own, in the spirit of EfficientGCN's ST-JointAtt/part attention:
- channel: CBAM-style — average- *and* max-pooled channel descriptors through one shared MLP
  (unlike SE, max pooling lets a channel that fires briefly or at one joint be emphasised);
- frame: average- and max-pooled over channels and joints → 1-D convolution over time → a
  sigmoid weight per frame;
- joint: average over time → 1×1 bottleneck over channels → a sigmoid weight per joint.
All are multiplicative gates ``x · σ(·)`` applied to a module's output.
"""

from __future__ import annotations

import torch
from torch import nn

from train.nn.layers import activation


def se_width(channels: int, ratio: int, ratio_type: str) -> int:
    if ratio_type == "relative":
        return max(1, channels // ratio)
    if ratio_type == "absolute":
        return ratio
    raise ValueError(f"unknown SE ratio type {ratio_type!r}")


class SqueezeExcitation(nn.Module):
    def __init__(self, channels: int, ratio: int, ratio_type: str, act: str) -> None:
        super().__init__()
        hidden = se_width(channels, ratio, ratio_type)
        self.fc = nn.Sequential(
            nn.Conv2d(channels, hidden, 1), activation(act), nn.Conv2d(hidden, channels, 1), nn.Sigmoid()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.fc(x.mean(dim=(2, 3), keepdim=True))


class ChannelAttention(nn.Module):
    def __init__(self, channels: int, act: str, reduction: int = 4) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.mlp = nn.Sequential(
            nn.Conv2d(channels, hidden, 1), activation(act), nn.Conv2d(hidden, channels, 1)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        avg = x.mean(dim=(2, 3), keepdim=True)
        mx = x.amax(dim=(2, 3), keepdim=True)
        return x * torch.sigmoid(self.mlp(avg) + self.mlp(mx))


class FrameAttention(nn.Module):
    def __init__(self, kernel_size: int = 9) -> None:
        super().__init__()
        self.conv = nn.Conv1d(2, 1, kernel_size, padding=kernel_size // 2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        desc = torch.cat([x.mean(dim=(1, 3)).unsqueeze(1), x.amax(dim=(1, 3)).unsqueeze(1)], dim=1)  # (N,2,T)
        w = torch.sigmoid(self.conv(desc))  # (N,1,T)
        return x * w.unsqueeze(-1)


class JointAttention(nn.Module):
    def __init__(self, channels: int, act: str, reduction: int = 4) -> None:
        super().__init__()
        hidden = max(1, channels // reduction)
        self.net = nn.Sequential(nn.Conv2d(channels, hidden, 1), activation(act), nn.Conv2d(hidden, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        w = torch.sigmoid(self.net(x.mean(dim=2, keepdim=True)))  # (N,1,1,J)
        return x * w


def attention(kind: str, channels: int, act: str) -> nn.Module:
    if kind == "none":
        return nn.Identity()
    if kind == "channel":
        return ChannelAttention(channels, act)
    if kind == "frame":
        return FrameAttention()
    if kind == "joint":
        return JointAttention(channels, act)
    raise ValueError(f"unknown attention {kind!r}")
