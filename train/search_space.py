"""The Ensemble-NAS-GCN search space (method.md step 3): 20 choices, > 4 billion architectures.

``ArchConfig`` is the single value the NAS (train/kbest.py) samples, mutates, stores as JSON and
hands to ``train.nn.model.build_model``. Alternatives are plain JSON scalars (ints and short
strings) so that configs round-trip through search state files unchanged.
"""

from __future__ import annotations

import hashlib
import json
import math
import random
from dataclasses import asdict, dataclass, fields
from typing import Any

#: Every choice and its alternatives, in method.md's table order. "linear" temporal scales: the
#: i-th module of a branch (1-based) has i scales (see docs/gcn-architectures.md).
SEARCH_SPACE: dict[str, tuple[Any, ...]] = {
    "input_modules": (1, 2, 3),
    "input_width": (6, 8, 10, 12),
    "initial_block": ("basic", "bottleneck", "mbconv"),
    "initial_residual": ("none", "block", "module", "dense"),
    "input_scales": (1, 2, 3, "linear"),
    "main_levels": (1, 2),
    "main_modules": (1, 2, 3),
    "main_width": (6, 8, 10, 12),
    "main_scales": (1, 2, 3, "linear"),
    "pooling": ("global", "spatial"),
    "graph": ("spatial", "disentangled2", "disentangled4", "disentangled4_2"),
    "block": ("basic", "bottleneck", "mbconv"),
    "bottleneck_factor": (2, 4),
    "residual": ("none", "block", "module", "dense"),
    "se": ("none", "inner", "outer", "both"),
    "se_ratio": (2, 4),
    "se_ratio_type": ("relative", "absolute"),
    "attention": ("none", "channel", "frame", "joint"),
    "activation": ("relu", "swish"),
    "kernel_size": (3, 5, 7, 9),
}

#: Number of distinct architectures the space describes (method.md: "more than 4 billion").
N_ARCHITECTURES: int = math.prod(len(alts) for alts in SEARCH_SPACE.values())
assert N_ARCHITECTURES > 4_000_000_000, N_ARCHITECTURES


@dataclass(frozen=True)
class ArchConfig:
    """One point of the search space; defaults give a small, fast architecture."""

    input_modules: int = 1
    input_width: int = 8
    initial_block: str = "basic"
    initial_residual: str = "module"
    input_scales: int | str = 1
    main_levels: int = 1
    main_modules: int = 1
    main_width: int = 8
    main_scales: int | str = 1
    pooling: str = "global"
    graph: str = "spatial"
    block: str = "basic"
    bottleneck_factor: int = 2
    residual: str = "module"
    se: str = "none"
    se_ratio: int = 2
    se_ratio_type: str = "relative"
    attention: str = "none"
    activation: str = "relu"
    kernel_size: int = 5

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if value not in SEARCH_SPACE[f.name]:
                raise ValueError(f"{f.name}={value!r} is not one of {SEARCH_SPACE[f.name]}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ArchConfig:
        """Strict: unknown keys are errors so that a stale search state cannot pass silently."""
        unknown = set(data) - set(SEARCH_SPACE)
        if unknown:
            raise ValueError(f"unknown architecture choices: {sorted(unknown)}")
        return cls(**data)

    @classmethod
    def from_json(cls, text: str) -> ArchConfig:
        return cls.from_dict(json.loads(text))

    @property
    def short_id(self) -> str:
        """Stable 10-hex id of the config (SHA-256 of its sorted JSON), for file and log names."""
        return hashlib.sha256(self.to_json().encode()).hexdigest()[:10]


def sample_config(rng: random.Random | None = None) -> ArchConfig:
    """A uniformly random architecture (every choice independently uniform)."""
    rng = rng or random.Random()
    return ArchConfig(**{name: rng.choice(alts) for name, alts in SEARCH_SPACE.items()})
