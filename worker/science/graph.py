"""Skeleton graphs for the GCN ensemble (method.md step 3, "graph convolution" choice).

Two families of normalised adjacency tensors are built from a layout's bone tree
(``Layout.bones``, a tree rooted at the mid pelvis):

- ``spatial_configuration(layout)`` — the ST-GCN spatial-configuration partitioning
  (Yan et al. 2018): for every joint ``i`` its 1-hop neighbourhood (itself included) is split
  into three subsets by the hop distance of each neighbour to a *centre joint*: root (the
  neighbour is as far from the centre as ``i`` — in a tree only ``i`` itself), centripetal
  (closer to the centre) and centrifugal (further away). The centre is the layout's **upper
  chest** (MPII "thorax"): it is the body's barycentre in hop terms for both layouts and the
  joint ST-GCN itself uses (the neck/spine of its skeletons).
- ``disentangled_khop(layout, k)`` — MS-G3D style disentangled multi-scale aggregation (Liu et
  al. 2020): ``A_0 = I`` and, for ``1 ≤ d ≤ k``, ``A_d[i, j] = 1`` exactly when the shortest
  path between ``i`` and ``j`` has ``d`` bones.

Conventions shared with the model factory (train/):

- Arrays are float32 with shape ``(K, J, J)``; ``A[k, i, j]`` is the weight with which joint
  ``i`` *receives* from joint ``j``: ``out[..., i] = Σ_j A[k, i, j] · x[..., j]``, e.g.
  ``torch.einsum("nctj,kij->nkcti", x, A)``. (ST-GCN's reference code stores the transpose.)
- Spatial configuration: each row is divided by the joint's degree *including* its self-loop
  (``D⁻¹A`` with the un-partitioned neighbourhood), then split into the three partitions; the
  three partitions of a row therefore sum to 1 — the "average of the neighbourhood" of ST-GCN.
- Disentangled k-hop: each scale is symmetric-normalised, ``D^-1/2 A_d D^-1/2`` with ``D`` the
  row sums of that scale. A joint with no neighbour at exactly ``d`` hops has a zero row (its
  ``0^-1/2`` is taken as 0). Departure from the MS-G3D reference code: it adds a self-loop to
  every scale; here only scale 0 is the identity, as the EarlyCP brief specifies, so the scales
  are truly disjoint. ``with_self_loops=True`` gives the MS-G3D variant.
"""

from __future__ import annotations

import numpy as np

from worker.science.layouts import Layout

#: Partition order of ``spatial_configuration``.
SPATIAL_PARTITIONS = ("root", "centripetal", "centrifugal")


def centre_joint(layout: Layout) -> int:
    """The joint distances are measured from in the spatial-configuration partitioning."""
    return layout.upper_chest


def adjacency(layout: Layout) -> np.ndarray:
    """Binary symmetric bone adjacency (J, J), no self-loops."""
    size = layout.num_joints
    adj = np.zeros((size, size), dtype=np.float64)
    for parent, child in layout.bones:
        adj[parent, child] = adj[child, parent] = 1.0
    return adj


def hop_distances(layout: Layout) -> np.ndarray:
    """Shortest-path lengths in bones between all joint pairs (J, J); ``inf`` if unconnected."""
    adj = adjacency(layout) > 0
    size = layout.num_joints
    dist = np.full((size, size), np.inf)
    np.fill_diagonal(dist, 0.0)
    reach = np.eye(size, dtype=bool)
    for hops in range(1, size):
        reach_next = reach | (reach.astype(np.int64) @ adj.astype(np.int64) > 0)
        newly = reach_next & ~reach
        if not newly.any():
            break
        dist[newly] = hops
        reach = reach_next
    return dist


def spatial_configuration(layout: Layout) -> np.ndarray:
    """ST-GCN spatial-configuration partitions (3, J, J): root, centripetal, centrifugal."""
    size = layout.num_joints
    dist = hop_distances(layout)
    centre = centre_joint(layout)
    neighbourhood = (dist <= 1).astype(np.float64)  # 1-hop neighbours and the joint itself
    normalised = neighbourhood / neighbourhood.sum(axis=1, keepdims=True)
    to_centre = dist[:, centre]
    out = np.zeros((3, size, size), dtype=np.float64)
    for i in range(size):
        for j in np.flatnonzero(neighbourhood[i]):
            if to_centre[j] == to_centre[i]:
                part = 0
            elif to_centre[j] < to_centre[i]:
                part = 1
            else:
                part = 2
            out[part, i, j] = normalised[i, j]
    return out.astype(np.float32)


def _symmetric_normalise(adj: np.ndarray) -> np.ndarray:
    degree = adj.sum(axis=1)
    inv_sqrt = np.zeros_like(degree)
    nonzero = degree > 0
    inv_sqrt[nonzero] = degree[nonzero] ** -0.5
    return inv_sqrt[:, None] * adj * inv_sqrt[None, :]


def disentangled_khop(layout: Layout, k: int, *, with_self_loops: bool = False) -> np.ndarray:
    """Disentangled multi-scale adjacency (k + 1, J, J): scale d links joints exactly d hops apart."""
    if k < 0:
        raise ValueError("k must be ≥ 0")
    dist = hop_distances(layout)
    eye = np.eye(layout.num_joints)
    scales = []
    for d in range(k + 1):
        scale = (dist == d).astype(np.float64)
        if with_self_loops and d > 0:
            scale = scale + eye
        scales.append(_symmetric_normalise(scale))
    return np.stack(scales).astype(np.float32)
