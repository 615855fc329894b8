"""De-duplication of the fixed-point finder's final states: copies of one point become one.

Many initial states end at the same point; the finder keeps one representative per point (its
lowest-q copy) and assigns every copy to it.
"""

from __future__ import annotations

import itertools

import numpy as np
import torch
from torch import Tensor


def distances_to(points: np.ndarray, point: np.ndarray) -> np.ndarray:
    """Euclidean distances `[K]` from `point [N]` to each of `points [K, N]`, in float64.

    Computed from the differences themselves, not as `||a||^2 + ||b||^2 - 2 a.b` (the form
    `torch.cdist` uses for many points): for two points a tiny distance apart on a large
    state, that form subtracts nearly equal numbers and keeps only rounding error (on a
    1e2-scale state in float32, errors of order 1e-1, far above any identity tolerance).
    """
    difference = np.asarray(points, np.float64) - np.asarray(point, np.float64)
    return np.sqrt(np.einsum("kn,kn->k", difference, difference))


def unique_points(
    states: Tensor, q: Tensor, keep: Tensor, condition: Tensor, tol_unique: float
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Group the kept states of each member and condition into points `tol_unique` apart.

    Greedy, lowest q first: the most precise copy of a point represents it, and every kept
    state within `tol_unique` of it (and not yet taken) is a copy. Distances are in float64,
    where identity is decided, whatever the states' dtype.

    Parameters
    ----------
    states : Tensor [E, K, N]
    q : Tensor [E, K]
        Speed of each state.
    keep : Tensor [E, K] of bool
        States that may be points (finite, slow enough, not outliers).
    condition : Tensor [K] or [E, K]
        Input condition of each state; states of different conditions are never merged.
    tol_unique : float
        States closer than this (Euclidean) are one point.

    Returns
    -------
    assignment : np.ndarray [E, K]
        Index of the point each state was assigned to (-1: not kept).
    chosen : list of (member, state index)
        The representative state of each point, in point order.
    """
    n_members, n_init = q.shape
    states_64 = states.detach().cpu().double().numpy()
    q_cpu, keep_cpu = q.detach().cpu().numpy(), keep.detach().cpu().numpy()
    cond = np.broadcast_to(condition.detach().cpu().numpy(), (n_members, n_init))
    assignment = np.full((n_members, n_init), -1)
    chosen: list[tuple[int, int]] = []
    for e in range(n_members):
        for c in np.unique(cond[e]):
            rows = np.flatnonzero(keep_cpu[e] & (cond[e] == c))
            order = rows[np.argsort(q_cpu[e, rows], kind="stable")]
            group = states_64[e, order]
            taken = np.zeros(len(order), bool)
            for i in range(len(order)):
                if taken[i]:
                    continue
                near = ~taken & (distances_to(group, group[i]) < tol_unique)
                taken |= near
                assignment[e, order[near]] = len(chosen)
                chosen.append((e, int(order[i])))
    return assignment, chosen


def merge_copies(states: Tensor, q: Tensor, eligible: Tensor, group: Tensor, tol: float) -> Tensor:
    """Merge eligible states of one member and group that are within `tol` of each other.

    Used during the search, so that copies of one point are optimised once: greedy, lowest q
    first (the most advanced copy leads), as `unique_points` decides at the end. Distances are
    taken in float64; the matrix form `|a|^2 + |b|^2 - 2ab` only proposes candidate pairs
    (within 2 tol) and each candidate's distance is then computed from the difference itself.

    Parameters
    ----------
    states : Tensor [E, L, N]
    q : Tensor [E, L]
    eligible : Tensor [E, L] of bool
        States that may be merged (close enough to a point that being near each other means
        heading to the same point).
    group : Tensor [E, L]
        Input condition of each state; states of different groups never merge.
    tol : float

    Returns
    -------
    Tensor [E, L] of long
        Index (along L) of the state each state merges into: itself for a leader or a state
        not eligible.
    """
    n_members, length = q.shape
    leader = torch.arange(length, device=q.device).expand(n_members, -1).clone()
    for e in range(n_members):
        rows = torch.nonzero(eligible[e]).flatten()
        if len(rows) < 2:
            continue
        x = states[e, rows].detach().double()
        i, j = _candidate_pairs(x, 2 * tol)
        i, j = (a[group[e, rows][i] == group[e, rows][j]] for a in (i, j))
        if not len(i):
            continue
        close = (x[i] - x[j]).norm(dim=-1) < tol
        if not bool(close.any()):
            continue
        neighbours: dict[int, list[int]] = {}
        for a, b in zip(i[close].tolist(), j[close].tolist(), strict=True):
            neighbours.setdefault(a, []).append(b)
            neighbours.setdefault(b, []).append(a)
        q_rows = q[e, rows].detach().cpu().numpy()
        lead = np.arange(len(rows))
        taken = np.zeros(len(rows), bool)
        for a in sorted(neighbours, key=lambda k: (q_rows[k], k)):
            if taken[a]:
                continue
            taken[a] = True
            for b in neighbours[a]:
                if not taken[b]:
                    taken[b] = True
                    lead[b] = a
        leader[e, rows] = rows[torch.as_tensor(lead, device=rows.device)]
    return leader


def _candidate_pairs(x: Tensor, radius: float) -> tuple[Tensor, Tensor]:
    """Pairs `(i, j)`, `i < j`, of the rows of `x [L, N]` within `radius` of each other.

    Few rows: the matrix form of `torch.cdist`, then the distance from the differences. Many
    (the thousands of states that reach Levenberg-Marquardt's threshold together, from
    16,384 starts; the L x L matrix alone took seconds): two rows within `radius` of each
    other have projections on any unit vector within `radius` too, so on a grid of cells
    `radius` wide over a few projections they sit in the same or neighbouring cells; only
    those pairs are formed, thinned by more projections before their distance is computed.
    The directions are fixed random ones (a coordinate axis would not do: the saturated units
    of a tanh network pile the states up at +-1).
    """
    if len(x) <= 512:
        near = torch.triu(torch.cdist(x, x) < radius, diagonal=1)
        i, j = torch.nonzero(near, as_tuple=True)
    else:
        generator = torch.Generator().manual_seed(0)
        directions = torch.randn(x.shape[-1], 16, generator=generator, dtype=x.dtype)
        projection = x @ torch.nn.functional.normalize(directions, dim=0).to(x.device)
        cells = torch.floor(projection / radius).long()
        cells -= cells.min(0).values
        # each cell one integer over the first few projections (as many as fit in 62 bits);
        # a neighbour's index never wraps into another cell's (two spare values per axis)
        widths = (cells.max(0).values + 3).tolist()
        strides, size = [], 1
        for width in widths[:3]:
            if size * width >= 2**62:
                break
            strides.append(size)
            size *= width
        key = cells[:, : len(strides)] @ torch.tensor(strides, device=x.device)
        sorted_key, order = torch.sort(key)
        rows = torch.arange(len(x), device=x.device)
        firsts, seconds = [], []
        for steps in itertools.product((-1, 0, 1), repeat=len(strides)):
            shift = sum(step * stride for step, stride in zip(steps, strides, strict=True))
            low = torch.searchsorted(sorted_key, key + shift)
            count = torch.searchsorted(sorted_key, key + shift, right=True) - low
            if not bool(count.any()):
                continue
            first = torch.repeat_interleave(rows, count)
            start = torch.repeat_interleave(torch.cumsum(count, 0) - count, count)
            position = torch.arange(len(first), device=x.device) - start
            second = order[torch.repeat_interleave(low, count) + position]
            near = (first < second) & (
                (projection[first] - projection[second]).abs() <= radius
            ).all(-1)
            firsts.append(first[near])
            seconds.append(second[near])
        empty = rows[:0]
        i, j = torch.cat([empty, *firsts]), torch.cat([empty, *seconds])
    # the distance from the differences (in chunks: pairs may be many)
    close = [
        (x[a] - x[b]).norm(dim=-1) < radius
        for a, b in zip(i.split(1 << 16), j.split(1 << 16), strict=True)
    ]
    if close:
        keep = torch.cat(close)
        i, j = i[keep], j[keep]
    return i, j
