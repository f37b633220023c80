"""Keypoint layouts as the dashboard draws them: names, bones and a template infant posture.

The spatial explanation (method.md step 4) paints each keypoint's class activation on a
skeleton figure. The bones come from ``worker.science.layouts`` (one definition of the graph for
model and drawing); the positions are a fixed supine-infant template, because the figure
explains which body parts drove the risk, not where this infant's limbs happened to be.
Viewed from above like the video: the infant's right side is on the viewer's left.
"""

from __future__ import annotations

from typing import Any

from worker.science.layouts import LAYOUTS, Layout

#: Template position (x, y; y up, trunk length 1.6) per keypoint name of every known layout.
TEMPLATE_POSITIONS: dict[str, tuple[float, float]] = {
    "head_top": (0.0, 3.0),
    "nose": (0.0, 2.5),
    "right_ear": (-0.42, 2.4),
    "left_ear": (0.42, 2.4),
    "upper_neck": (0.0, 2.0),
    "thorax": (0.0, 1.6),
    "upper_chest": (0.0, 1.6),
    "right_shoulder": (-0.75, 1.6),
    "left_shoulder": (0.75, 1.6),
    "right_elbow": (-1.35, 0.95),
    "left_elbow": (1.35, 0.95),
    "right_wrist": (-1.55, 0.15),
    "left_wrist": (1.55, 0.15),
    "pelvis": (0.0, 0.0),
    "mid_pelvis": (0.0, 0.0),
    "right_hip": (-0.45, 0.0),
    "right_pelvis": (-0.45, 0.0),
    "left_hip": (0.45, 0.0),
    "left_pelvis": (0.45, 0.0),
    "right_knee": (-0.8, -1.05),
    "left_knee": (0.8, -1.05),
    "right_ankle": (-0.6, -2.1),
    "left_ankle": (0.6, -2.1),
}


def keypoint_label(name: str) -> str:
    """'right_wrist' → 'Right wrist': what a clinician reads in hover text and tables."""
    return name.replace("_", " ").capitalize()


def layout_figure(layout: Layout) -> dict[str, Any]:
    """The JSON the skeleton figure is drawn from; a name without a template position fails loudly."""
    missing = [k for k in layout.keypoints if k not in TEMPLATE_POSITIONS]
    if missing:
        raise KeyError(f"layout {layout.name} has keypoints without a figure position: {missing}")
    return {
        "name": layout.name,
        "keypoints": list(layout.keypoints),
        "labels": [keypoint_label(k) for k in layout.keypoints],
        "bones": [list(b) for b in layout.bones],
        "positions": [list(TEMPLATE_POSITIONS[k]) for k in layout.keypoints],
    }


def all_layout_figures() -> dict[str, dict[str, Any]]:
    return {name: layout_figure(layout) for name, layout in LAYOUTS.items()}
