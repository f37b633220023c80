"""What counts as an acceptable clinical GMA recording.

Numbers from method.md and the motion-capture issue: 24–60 fps, from 576×720 up to
2160×3840 (either orientation), 5 s (one analysis window) to 10 minutes.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VideoLimits:
    min_duration_s: float = 5.0
    max_duration_s: float = 600.0
    #: A little slack around 24 and 60 so 23.976 and 59.94 fps NTSC rates pass.
    min_fps: float = 23.5
    max_fps: float = 61.0
    min_short_side: int = 576
    min_long_side: int = 720
    max_short_side: int = 2160
    max_long_side: int = 3840


CLINICAL_LIMITS = VideoLimits()

#: For library use on arbitrary footage (tests on the short 640×480 sample clips, tools).
PERMISSIVE_LIMITS = VideoLimits(
    min_duration_s=0.0,
    max_duration_s=24 * 3600.0,
    min_fps=1.0,
    max_fps=1000.0,
    min_short_side=16,
    min_long_side=16,
    max_short_side=16384,
    max_long_side=16384,
)


def truncation_slack_s(duration_s: float) -> float:
    """How much earlier than declared a stream may end before it counts as truncated.

    Containers round their declared duration and encoders drop a trailing frame or two, so
    half a second (or 2 % of long files) is normal; a truncated upload loses far more.
    """
    return max(0.5, 0.02 * duration_s)
