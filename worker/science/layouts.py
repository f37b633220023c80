"""Skeleton keypoint layouts: names, bone tree and the keypoints normalisation relies on.

``mpii16`` is what the EfficientPose models output; ``inmotion19`` is the published infant
layout (method.md step 1). Bones form a tree rooted at the mid pelvis: ``parents[j]`` is the
parent keypoint of ``j`` and the root is its own parent, so its bone vector is zero.
"""

from __future__ import annotations

from dataclasses import dataclass

from earlycp.errors import EarlyCPError, ErrorCode


@dataclass(frozen=True)
class Layout:
    name: str
    keypoints: tuple[str, ...]
    parents: tuple[int, ...]
    mid_pelvis: int
    upper_chest: int
    head_top: int
    upper_neck: int
    #: (right, left) keypoint index pairs, for mirroring and left/right comparisons.
    symmetric_pairs: tuple[tuple[int, int], ...]

    @property
    def num_joints(self) -> int:
        return len(self.keypoints)

    @property
    def bones(self) -> tuple[tuple[int, int], ...]:
        """(parent, child) pairs: the skeleton's edges, for drawing and graph building."""
        return tuple((p, j) for j, p in enumerate(self.parents) if p != j)

    def index(self, name: str) -> int:
        return self.keypoints.index(name)


MPII16 = Layout(
    name="mpii16",
    keypoints=(
        "head_top",
        "upper_neck",
        "right_shoulder",
        "right_elbow",
        "right_wrist",
        "thorax",
        "left_shoulder",
        "left_elbow",
        "left_wrist",
        "pelvis",
        "right_hip",
        "right_knee",
        "right_ankle",
        "left_hip",
        "left_knee",
        "left_ankle",
    ),
    parents=(1, 5, 5, 2, 3, 9, 5, 6, 7, 9, 9, 10, 11, 9, 13, 14),
    mid_pelvis=9,
    upper_chest=5,
    head_top=0,
    upper_neck=1,
    symmetric_pairs=((2, 6), (3, 7), (4, 8), (10, 13), (11, 14), (12, 15)),
)

INMOTION19 = Layout(
    name="inmotion19",
    keypoints=(
        "head_top",
        "nose",
        "right_ear",
        "left_ear",
        "upper_neck",
        "right_shoulder",
        "right_elbow",
        "right_wrist",
        "upper_chest",
        "left_shoulder",
        "left_elbow",
        "left_wrist",
        "mid_pelvis",
        "right_pelvis",
        "right_knee",
        "right_ankle",
        "left_pelvis",
        "left_knee",
        "left_ankle",
    ),
    parents=(4, 4, 0, 0, 8, 8, 5, 6, 12, 8, 9, 10, 12, 12, 13, 14, 12, 16, 17),
    mid_pelvis=12,
    upper_chest=8,
    head_top=0,
    upper_neck=4,
    symmetric_pairs=((2, 3), (5, 9), (6, 10), (7, 11), (13, 16), (14, 17), (15, 18)),
)

LAYOUTS: dict[str, Layout] = {layout.name: layout for layout in (MPII16, INMOTION19)}


def get_layout(name: str) -> Layout:
    try:
        return LAYOUTS[name]
    except KeyError:
        raise EarlyCPError(
            ErrorCode.LAYOUT_MISMATCH, detail=f"unknown layout '{name}'; known: {', '.join(LAYOUTS)}"
        ) from None
