"""Small shared layers: activations, conv + batch-norm, and the He-normal (fan-out) init."""

from __future__ import annotations

from torch import nn


def activation(name: str) -> nn.Module:
    """ReLU or Swish (SiLU); the search space's "nonlinearity" choice."""
    if name == "relu":
        return nn.ReLU()
    if name == "swish":
        return nn.SiLU()
    raise ValueError(f"unknown activation {name!r}")


def conv_bn(cin: int, cout: int, *, stride: int = 1, groups: int = 1) -> nn.Sequential:
    """1×1 convolution + BN: channel mixing, bottleneck reduction/expansion, residual projection."""
    return nn.Sequential(
        nn.Conv2d(cin, cout, kernel_size=1, stride=(stride, 1), groups=groups, bias=False),
        nn.BatchNorm2d(cout),
    )


def init_he_fan_out(module: nn.Module) -> None:
    """He-normal (fan-out) weights, zero biases, unit BN scales (method.md: no pretraining)."""
    for m in module.modules():
        if isinstance(m, nn.Conv2d | nn.Conv1d | nn.Linear):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm1d | nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
