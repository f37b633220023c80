"""The Ensemble-NAS-GCN model: three input branches → concatenation → main branch → pooling → FC.

``build_model(config, layout)`` turns one ``ArchConfig`` into an ``nn.Module`` whose forward takes
``(B, 6, T, J)`` features ([p_x, p_y, v_x, v_y, b_x, b_y], any T ≥ 1; 150 in production) and
returns ``(logits (B, 2), cam (B, J))``. The CAM is the per-keypoint contribution to the CP logit
(class 1): for both pooling types ``cam.sum(1) + fc.bias[1] == logits[:, 1]`` exactly, so the
summed CAM is the CP logit minus a constant (see docs/gcn-architectures.md).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import nn

from train.nn.blocks import ModuleSpec, Stage
from train.nn.layers import init_he_fan_out
from train.search_space import ArchConfig
from worker.science.graph import disentangled_khop, spatial_configuration
from worker.science.layouts import Layout, get_layout

N_CLASSES = 2
CP_CLASS = 1
FEATURES = ("position", "velocity", "bone")


def adjacencies(graph: str, layout: Layout) -> tuple[np.ndarray, np.ndarray]:
    """(input-branch adjacency, main-branch adjacency) for the "graph convolution" choice."""
    if graph == "spatial":
        a = spatial_configuration(layout)
        return a, a
    if graph == "disentangled2":
        a = disentangled_khop(layout, 2)
        return a, a
    if graph == "disentangled4":
        a = disentangled_khop(layout, 4)
        return a, a
    if graph == "disentangled4_2":
        return disentangled_khop(layout, 4), disentangled_khop(layout, 2)
    raise ValueError(f"unknown graph convolution {graph!r}")


def _scales(choice: int | str, index: int) -> int:
    """Temporal scales of the index-th (1-based) module of a branch; "linear" = index."""
    return index if choice == "linear" else int(choice)


def _spec(cfg: ArchConfig, *, block: str, residual: str, scales: int) -> ModuleSpec:
    return ModuleSpec(
        block=block,
        residual=residual,
        scales=scales,
        kernel_size=cfg.kernel_size,
        factor=cfg.bottleneck_factor,
        se=cfg.se,
        se_ratio=cfg.se_ratio,
        se_ratio_type=cfg.se_ratio_type,
        attention=cfg.attention,
        act=cfg.activation,
    )


class InputBranch(nn.Module):
    """Per-feature input branch: BN over (coordinate, joint) channels, then its modules."""

    def __init__(self, cfg: ArchConfig, joints: int, adjacency: np.ndarray) -> None:
        super().__init__()
        self.data_bn = nn.BatchNorm1d(2 * joints)
        specs = [
            _spec(
                cfg,
                block=cfg.initial_block if i == 1 else cfg.block,
                residual=cfg.initial_residual if i == 1 else cfg.residual,
                scales=_scales(cfg.input_scales, i),
            )
            for i in range(1, cfg.input_modules + 1)
        ]
        self.stage = Stage(2, cfg.input_width, adjacency, 1, specs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        j = x.shape[3]
        # (B, 2, T, J) → (B, 2·J, T): normalise every coordinate of every joint separately.
        y = self.data_bn(x.permute(0, 1, 3, 2).flatten(1, 2))
        y = y.unflatten(1, (2, j)).permute(0, 1, 3, 2)
        return self.stage(y)


class EnsembleNasGcn(nn.Module):
    def __init__(self, config: ArchConfig, layout: Layout) -> None:
        super().__init__()
        self.config = config
        self.layout_name = layout.name
        j = layout.num_joints
        a_in, a_main = adjacencies(config.graph, layout)
        self.branches = nn.ModuleList(InputBranch(config, j, a_in) for _ in FEATURES)
        levels = []
        cin = len(FEATURES) * config.input_width
        index = 1
        for level in range(config.main_levels):
            cout = config.main_width * (2**level)
            specs = []
            for _ in range(config.main_modules):
                specs.append(
                    _spec(
                        config,
                        block=config.block,
                        residual=config.residual,
                        scales=_scales(config.main_scales, index),
                    )
                )
                index += 1
            levels.append(Stage(cin, cout, a_main, 1 if level == 0 else 2, specs))
            cin = cout
        self.main = nn.Sequential(*levels)
        self.out_channels = cin
        self.joints = j
        self.pooling = config.pooling
        # global: FC over channels after averaging time and joints; spatial: FC over the
        # (channel, joint) map after averaging time only — a weight per channel *and* joint.
        self.fc = nn.Linear(cin if config.pooling == "global" else cin * j, N_CLASSES)
        init_he_fan_out(self)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """Final feature map (B, C, T', J)."""
        parts = [branch(x[:, 2 * i : 2 * i + 2]) for i, branch in enumerate(self.branches)]
        return self.main(torch.cat(parts, dim=1))

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        fmap = self.features(x)
        per_joint = fmap.mean(dim=2)  # (B, C, J): average over time
        w_cp = self.fc.weight[CP_CLASS]
        if self.pooling == "global":
            logits = self.fc(per_joint.mean(dim=2))
            # logit_cp - b = Σ_c w_c · mean_j f_cj = Σ_j (Σ_c w_c f_cj) / J
            cam = torch.einsum("ncj,c->nj", per_joint, w_cp) / self.joints
        else:
            logits = self.fc(per_joint.flatten(1))
            cam = (per_joint * w_cp.view(1, self.out_channels, self.joints)).sum(dim=1)
        return logits, cam


def build_model(config: ArchConfig | dict[str, Any], layout: Layout | str) -> EnsembleNasGcn:
    """The network of one architecture for one keypoint layout, He-normal (fan-out) initialised."""
    if isinstance(config, dict):
        config = ArchConfig.from_dict(config)
    if isinstance(layout, str):
        layout = get_layout(layout)
    return EnsembleNasGcn(config, layout)


def count_flops(model: nn.Module, joints: int | Layout | str, frames: int = 150) -> int:
    """FLOPs of one (1, 6, frames, J) window; see ``train.complexity.count_flops``."""
    from train.complexity import count_flops as _count

    return _count(model, joints, frames=frames)
