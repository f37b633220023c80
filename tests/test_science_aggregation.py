"""Risk, certainty colours, box plots and CAM aggregation on hand-made instance values."""

from __future__ import annotations

import numpy as np
import pytest

from worker.science.aggregation import (
    aggregate,
    box_stats,
    classify,
    colour_for_share,
    colour_from_counts,
)


@pytest.mark.parametrize(
    ("count", "n", "colour"),
    [
        (0, 4, "green"),
        (1, 5, "green"),  # 20 %
        (1, 4, "yellow"),  # exactly 25 %
        (2, 4, "yellow"),  # exactly 50 %
        (3, 5, "orange"),  # 60 %
        (3, 4, "orange"),  # exactly 75 %
        (4, 5, "red"),  # 80 %
        (4, 4, "red"),
        (17, 70, "green"),  # 24.3 %
        (18, 70, "yellow"),  # 25.7 %
        (35, 70, "yellow"),  # exactly 50 %
        (36, 70, "orange"),
        (52, 70, "orange"),  # 74.3 %
        (53, 70, "red"),  # 75.7 %
        (3, 12, "yellow"),  # exactly 25 % again, with a denominator that is not a power of 2
        (9, 12, "orange"),  # exactly 75 %
        (6, 12, "yellow"),
        (7, 12, "orange"),
    ],
)
def test_colour_boundaries_are_exact(count: int, n: int, colour: str) -> None:
    assert colour_from_counts(count, n) == colour
    assert colour_for_share(count / n) == colour


def test_colour_rejects_impossible_counts() -> None:
    with pytest.raises(ValueError):
        colour_from_counts(5, 4)
    with pytest.raises(ValueError):
        colour_for_share(1.5)


def test_classification_is_strictly_above_threshold() -> None:
    assert classify(0.25, 0.25) is False
    assert classify(0.2500001, 0.25) is True


def test_window_and_video_medians_and_instance_medians() -> None:
    # 3 windows × 4 instances
    conf = np.array(
        [
            [0.10, 0.20, 0.30, 0.90],  # window median 0.25, 2 of 4 above 0.22
            [0.05, 0.06, 0.07, 0.08],  # median 0.065, 0 above
            [0.40, 0.50, 0.60, 0.70],  # median 0.55, 4 above
        ]
    )
    agg = aggregate(conf, threshold=0.22)
    np.testing.assert_allclose(agg.window_risk, [0.25, 0.065, 0.55])
    assert agg.risk == pytest.approx(0.25)
    assert agg.classified_cp is True
    np.testing.assert_allclose(agg.instance_predictions, [0.10, 0.20, 0.30, 0.70])
    assert agg.count_above == 2 and agg.share_above == 0.5 and agg.colour == "yellow"
    assert agg.window_count_above.tolist() == [2, 0, 4]
    assert agg.window_colours == ("yellow", "green", "red")
    assert aggregate(conf, threshold=0.25).classified_cp is False  # risk equal to threshold: no CP


def test_box_stats_with_tukey_whiskers() -> None:
    values = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 5.0])
    box = box_stats(values)
    # numpy linear quartiles: q1 at position 2.25 → 0.325, q3 at 6.75 → 0.775
    assert box.q1 == pytest.approx(0.325) and box.q3 == pytest.approx(0.775)
    assert box.median == pytest.approx(0.55)
    # fences 0.325 − 0.675 = −0.35 and 0.775 + 0.675 = 1.45: 5.0 is an outlier
    assert box.whisker_low == pytest.approx(0.1) and box.whisker_high == pytest.approx(0.9)
    assert box.min == pytest.approx(0.1) and box.max == pytest.approx(5.0)


def test_cam_is_median_over_instances_then_median_over_windows() -> None:
    conf = np.full((3, 3), 0.5)
    cam = np.zeros((3, 3, 2))
    cam[0] = [[1, 10], [2, 20], [100, 30]]  # window 0: medians (2, 20); instance 2 outlying on kp 0
    cam[1] = [[0, 0], [4, 4], [5, 5]]  # medians (4, 4)
    cam[2] = [[3, 1], [3, 2], [3, 3]]  # medians (3, 2)
    agg = aggregate(conf, 0.25, cam)
    np.testing.assert_allclose(agg.window_cam, [[2, 20], [4, 4], [3, 2]])
    np.testing.assert_allclose(agg.cam, [3, 4])


def test_aggregate_refuses_bad_shapes() -> None:
    with pytest.raises(ValueError):
        aggregate(np.zeros((0, 4)), 0.25)
    with pytest.raises(ValueError):
        aggregate(np.zeros((2, 4)), 0.25, cam=np.zeros((2, 3, 5)))
