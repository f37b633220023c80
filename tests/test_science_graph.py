"""Skeleton graphs: hand-computed small trees and invariants of the two real layouts."""

from __future__ import annotations

import numpy as np
import pytest

from worker.science.graph import (
    adjacency,
    disentangled_khop,
    hop_distances,
    spatial_configuration,
)
from worker.science.layouts import INMOTION19, MPII16, Layout

#   2 (head)   3 (arm)
#        \     /
#        1 (chest)  <- centre
#          |
#        0 (pelvis, root)
TINY = Layout(
    name="tiny4",
    keypoints=("pelvis", "chest", "head", "arm"),
    parents=(0, 0, 1, 1),
    mid_pelvis=0,
    upper_chest=1,
    head_top=2,
    upper_neck=1,
    symmetric_pairs=(),
)

# A chain 0-1-2-3-4 with the chest in the middle.
CHAIN = Layout(
    name="chain5",
    keypoints=("a", "b", "c", "d", "e"),
    parents=(1, 2, 2, 2, 3),
    mid_pelvis=2,
    upper_chest=2,
    head_top=0,
    upper_neck=1,
    symmetric_pairs=(),
)


def test_hop_distances_tiny() -> None:
    expected = np.array([[0, 1, 2, 2], [1, 0, 1, 1], [2, 1, 0, 2], [2, 1, 2, 0]], dtype=float)
    np.testing.assert_array_equal(hop_distances(TINY), expected)


def test_spatial_configuration_tiny_by_hand() -> None:
    a = spatial_configuration(TINY)
    assert a.shape == (3, 4, 4) and a.dtype == np.float32
    root = np.diag([1 / 2, 1 / 4, 1 / 2, 1 / 2])
    centripetal = np.zeros((4, 4))
    centripetal[0, 1] = centripetal[2, 1] = centripetal[3, 1] = 1 / 2  # everyone receives from the chest
    centrifugal = np.zeros((4, 4))
    centrifugal[1, [0, 2, 3]] = 1 / 4  # the chest receives from its three outer neighbours
    np.testing.assert_allclose(a[0], root, atol=1e-7)
    np.testing.assert_allclose(a[1], centripetal, atol=1e-7)
    np.testing.assert_allclose(a[2], centrifugal, atol=1e-7)


def test_khop_tiny_by_hand() -> None:
    a = disentangled_khop(TINY, 2)
    assert a.shape == (3, 4, 4) and a.dtype == np.float32
    np.testing.assert_allclose(a[0], np.eye(4), atol=1e-7)
    one = np.zeros((4, 4))
    for i, j in ((0, 1), (1, 2), (1, 3)):  # degrees: chest 3, the others 1
        one[i, j] = one[j, i] = 1 / np.sqrt(3)
    np.testing.assert_allclose(a[1], one, atol=1e-7)
    two = np.zeros((4, 4))
    for i, j in ((0, 2), (0, 3), (2, 3)):  # pelvis, head and arm are pairwise 2 hops apart
        two[i, j] = two[j, i] = 1 / 2
    np.testing.assert_allclose(a[2], two, atol=1e-7)  # the chest has no 2-hop neighbour: zero row


def test_khop_beyond_diameter_is_zero_not_nan() -> None:
    a = disentangled_khop(TINY, 4)
    assert a.shape == (5, 4, 4)
    assert np.isfinite(a).all()
    assert not a[3].any() and not a[4].any()


def test_khop_chain_scales_partition_the_pairs() -> None:
    a = disentangled_khop(CHAIN, 4)
    support = (a > 0).astype(int)
    # every pair of the 5-chain is exactly d hops apart for one d in 0..4
    np.testing.assert_array_equal(support.sum(axis=0), np.ones((5, 5), dtype=int))
    assert support[4, 0, 4] == 1 and support[4, 4, 0] == 1
    np.testing.assert_allclose(a[4, 0, 4], 1.0)  # both ends have a single 4-hop neighbour


def test_khop_with_self_loops_variant() -> None:
    a = disentangled_khop(TINY, 2, with_self_loops=True)
    # scale 1 with self loops: chest degree 4, others 2
    assert a[1, 1, 1] == pytest.approx(1 / 4)
    assert a[1, 0, 1] == pytest.approx(1 / np.sqrt(2 * 4))
    assert a[2, 1, 1] == pytest.approx(1.0)  # the chest's only 2-hop "neighbour" is itself


@pytest.mark.parametrize("layout", [MPII16, INMOTION19], ids=lambda layout: layout.name)
def test_real_layouts(layout: Layout) -> None:
    size = layout.num_joints
    adj = adjacency(layout)
    assert adj.sum() == 2 * (size - 1)  # a tree
    assert np.isfinite(hop_distances(layout)).all()  # connected
    a = spatial_configuration(layout)
    assert a.shape == (3, size, size) and a.dtype == np.float32
    np.testing.assert_allclose(a.sum(axis=(0, 2)), np.ones(size), atol=1e-6)
    np.testing.assert_array_equal(a[0] > 0, np.eye(size, dtype=bool))  # root = self in a tree
    # the centre (upper chest) has no neighbour closer to itself
    assert not a[1, layout.upper_chest].any()
    # centripetal and centrifugal mirror each other's support
    np.testing.assert_array_equal(a[1] > 0, (a[2] > 0).T)
    for k in (2, 4):
        h = disentangled_khop(layout, k)
        assert h.shape == (k + 1, size, size) and h.dtype == np.float32
        np.testing.assert_allclose(h, h.transpose(0, 2, 1), atol=1e-7)
        np.testing.assert_array_equal(h[1] > 0, adj > 0)
    # MPII: thorax (5) is 2 hops from head top (0) and the right elbow (3), 4 from the ankles
    if layout is MPII16:
        h4 = disentangled_khop(layout, 4)
        assert h4[2, 5, 0] > 0 and h4[2, 5, 3] > 0 and h4[4, 5, 12] > 0 and h4[4, 5, 15] > 0
