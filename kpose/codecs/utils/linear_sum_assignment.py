"""Minimum-cost assignment (Hungarian method) in numpy, for AssociativeEmbedding's grouping.

scipy is not a kpose dependency; MMPose groups with the `munkres` package. This is the
shortest-augmenting-path Hungarian method with dual potentials (Kuhn 1955, Munkres 1957;
the O(n^2 m) form of Jonker & Volgenant), warm-started by a row reduction as `munkres`
3.x does, scanning columns in index order and taking the first minimum, so ties between
equally cheap assignments are broken the same way.
"""

from typing import List, Tuple

import numpy as np


def linear_sum_assignment(cost: np.ndarray) -> List[Tuple[int, int]]:
    """Assigns every row of `cost` to a distinct column at minimum total cost.

    Args:
        cost: `(n, m)` finite costs with `n <= m` (pad columns for more rows).

    Returns:
        `(row, column)` pairs sorted by row, one per row.

    Raises:
        ValueError: when `cost` is not 2-D, has more rows than columns or holds a
            non-finite value.
    """
    cost = np.asarray(cost, np.float64)
    if cost.ndim != 2:
        raise ValueError(f"cost must be a 2-D matrix, received shape {cost.shape}")
    n, m = cost.shape
    if n > m:
        raise ValueError(f"cost needs at least as many columns as rows, received shape "
                         f"{cost.shape}")
    if not np.all(np.isfinite(cost)):
        raise ValueError("cost must be finite, received a matrix with NaN or infinity")
    if n == 0:
        return []
    u = np.zeros(n)                # row potentials
    v = np.zeros(m + 1)            # column potentials; column m is the virtual start
    owner = np.full(m + 1, -1)     # owner[j]: row matched to column j
    way = np.zeros(m + 1, np.int64)
    matched = np.zeros(n, bool)
    # Warm start: reduce each row by its minimum and match it greedily to the first free
    # column where that minimum sits.
    for i in range(n):
        u[i] = cost[i].min()
        for j in np.flatnonzero(cost[i] == u[i]):
            if owner[j] == -1:
                owner[j] = i
                matched[i] = True
                break
    for i in range(n):
        if matched[i]:
            continue
        owner[m] = i
        j0 = m
        min_slack = np.full(m + 1, np.inf)
        used = np.zeros(m + 1, bool)
        while True:
            used[j0] = True
            i0 = owner[j0]
            slack = cost[i0] - u[i0] - v[:m]
            better = (~used[:m]) & (slack < min_slack[:m])
            min_slack[:m] = np.where(better, slack, min_slack[:m])
            way[:m] = np.where(better, j0, way[:m])
            candidates = np.where(used[:m], np.inf, min_slack[:m])
            j1 = int(np.argmin(candidates))  # first minimum, as a left-to-right scan
            delta = candidates[j1]
            rows = owner[used]
            u[rows] += delta
            v[used] -= delta
            free = ~used & np.isfinite(min_slack)
            min_slack[free] -= delta
            j0 = j1
            if owner[j0] == -1:
                break
        while j0 != m:  # flip the augmenting path
            j1 = way[j0]
            owner[j0] = owner[j1]
            j0 = j1
    return sorted((int(owner[j]), j) for j in range(m) if owner[j] >= 0)
