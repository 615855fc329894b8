"""The search behind `find_fixed_points`: descent that merges copies of a point as they meet,
Levenberg-Marquardt once close, descent again for slow points, and starts aimed at saddles.

All tensors are `[E, K, ...]` (E members, K states); a state's `leader` is the state it was
merged into (itself for a state that was not).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch
from torch import Tensor

from neurodyn.analysis._dedup import merge_copies
from neurodyn.analysis._descent import (
    FinderProgress,
    JacobianFn,
    LastFactors,
    ProgressFn,
    SpeedGradFn,
    StepFn,
    _descend_dense,
    _rows,
    descend,
    gather,
    levenberg_marquardt,
    padded,
    scatter,
    speed,
    speed_where,
)
from neurodyn.analysis._stability import eigenvalues_of

if TYPE_CHECKING:
    from neurodyn.analysis.fixed_points import FixedPointOptions


@dataclass(frozen=True)
class Solver:
    """The step function and its companions, each taking `[E, K, ...]`.

    `step`, `jacobian` and `speed_grad` work in the initial states' dtype (descent);
    `fine_step`, `fine_jacobian` and `fine_speed_grad` in `fine_dtype` (Levenberg-Marquardt,
    the slow-point polish and the linearisation).
    """

    step: StepFn
    jacobian: JacobianFn
    speed_grad: SpeedGradFn | None
    fine_step: StepFn
    fine_jacobian: JacobianFn
    fine_speed_grad: SpeedGradFn | None
    fine_dtype: torch.dtype
    options: FixedPointOptions
    callback: ProgressFn | None = None


@dataclass(frozen=True)
class Searched:
    """Where a batch of starts ended.

    states : [E, K, N] in the fine dtype (a merged state: where it stopped)
    q : [E, K]
    iters : [E, K]    gradient iterations
    leader : [E, K]   the state each was merged into, followed to the end of its chain
    """

    states: Tensor
    q: Tensor
    iters: Tensor
    leader: Tensor


def search(
    solver: Solver,
    h0: Tensor,
    u: Tensor,
    group: Tensor,
    *,
    stage: str = "",
    direct: bool = False,
    known: KnownPoints | None = None,
) -> Searched:
    """Find where each of the starts `h0 [E, K, N]` (inputs `u [E, K, I]`, conditions
    `group [E, K]`) ends.

    With `options.newton`: descent (merging copies) until q is below `newton_below`, then
    Levenberg-Marquardt on the states that lead (not on their copies) to the precision of the
    fine dtype, merging again, and descent once more for those it could not take below
    `tol_q` (slow points); `direct`: Levenberg-Marquardt from the starts, descent only for
    those it does not take near a point. Without `options.newton`: descent alone, to `tol_q`
    (the slow-point mode). `known`: the points of earlier searches, which this one's states
    join as soon as they are in their basin (and to which it adds its own).
    """
    options, callback = solver.options, solver.callback
    rows = torch.arange(h0.shape[1], device=h0.device).expand(h0.shape[0], -1)
    if not options.newton:
        h, iters, leader = descend(
            solver.step,
            h0,
            u,
            options,
            stop_below=options.tol_q,
            speed_grad=solver.speed_grad,
            callback=callback,
            stage=stage + "descent",
            group=group,
        )
        h, u_fine = h.to(solver.fine_dtype), u.to(solver.fine_dtype)
    else:
        known = KnownPoints(solver, h0.shape[0]) if known is None else known
        h, iters, leader = _descend_and_absorb(
            solver, h0, u, group, known, stage=stage, direct=direct
        )
        h, u_fine = h.to(solver.fine_dtype), u.to(solver.fine_dtype)
        # to the precision of the dtype: q ~ 1e-25 in float64, what tol_q * 1e-9 asks
        h, _ = levenberg_marquardt(
            solver.fine_step,
            h,
            u_fine,
            options,
            solver.fine_jacobian,
            stop_below=options.tol_q * 1e-9,
            select=(leader == rows)
            & (speed_where(solver.fine_step, h, u_fine, leader == rows) >= options.tol_q),
        )
        with torch.no_grad():
            # of the states that lead (the others follow them: inf)
            q = speed_where(solver.fine_step, h, u_fine, leader == rows)
        if options.merge:
            eligible = (leader == rows) & torch.isfinite(q) & (q < options.slow_q)
            merged_into = merge_copies(h, q, eligible, group, options.tol_unique)
            leader = torch.where(merged_into != rows, merged_into, leader)
        h, more, leader = descend(
            solver.fine_step,
            h,
            u_fine,
            options,
            stop_below=options.tol_q,
            speed_grad=solver.fine_speed_grad,
            callback=callback,
            stage=stage + "polish",
            group=group,
            leader=leader,
        )
        iters = iters + more
    with torch.no_grad():
        q = speed(solver.fine_step, h, u_fine)
    # detached: a user's step function may close over parameters that require grad
    return Searched(states=h.detach(), q=q.detach(), iters=iters, leader=follow(leader))


class KnownPoints:
    """Points located to `tol_q` during a finder's searches, kept across them (the initial
    starts' search and the midpoint starts' search), with what joining a state to one needs:
    the LU factors of `A = dF/dh - I` at each, the chord method's fixed matrix.

    Each point is held by a state of the current search (its `holder`), which the states that
    join it follow as their leader; a point found by an earlier search has no holder until the
    first state of this search joins it, which then takes its place.
    """

    def __init__(self, solver: Solver, n_members: int) -> None:
        self.solver = solver
        self.holder: list[list[int]] = [[] for _ in range(n_members)]
        self.states: list[list[Tensor]] = [[] for _ in range(n_members)]
        self.inputs: list[list[Tensor]] = [[] for _ in range(n_members)]
        self.group: list[list[int]] = [[] for _ in range(n_members)]
        self.factors: list[list[tuple[Tensor, Tensor] | None]] = [[] for _ in range(n_members)]

    def new_search(self) -> None:
        """A new batch of starts begins: the points are no longer held by any of its states."""
        self.holder = [[-1] * len(held) for held in self.holder]

    def add(
        self,
        h: Tensor,
        u: Tensor,
        group: Tensor,
        select: Tensor,
        factors: LastFactors | None = None,
    ) -> Tensor:
        """Register the selected states of `h [E, K, N]` (located to `tol_q`) as points, or
        find each among those known: returns the state holding each one's point `[E, K]`
        (itself when new, or when its point had no holder in this search).

        `factors`: the LU factors Levenberg-Marquardt last computed for each state, within
        one step of the point it located; a new point takes them as its chord matrix instead
        of a new Jacobian and LU (a third of a search's factorisations)."""
        tol = self.solver.options.tol_unique
        holder = torch.arange(h.shape[1], device=h.device).expand(h.shape[0], -1).clone()
        new = torch.zeros_like(select)
        for e in range(h.shape[0]):
            rows = torch.nonzero(select[e]).flatten()
            if not len(rows):
                continue
            x, groups = h[e, rows], group[e, rows].tolist()
            # the distances to the points known and among the states, from the differences
            known = torch.stack(self.states[e]) if self.states[e] else x[:0]
            to_known = (x[:, None] - known[None]).norm(dim=-1).cpu().numpy()
            to_each = (x[:, None] - x[None]).norm(dim=-1).cpu().numpy()
            added: list[int] = []  # states of this call that became points, in order
            for i, k in enumerate(rows.tolist()):
                same = [p for p in range(len(known)) if self.group[e][p] == groups[i]]
                near = [p for p in same if to_known[i, p] < tol]
                earlier = [j for j in added if groups[j] == groups[i] and to_each[i, j] < tol]
                if near:
                    p = near[0]
                    if self.holder[e][p] < 0:
                        self.holder[e][p] = k
                    holder[e, k] = self.holder[e][p]
                elif earlier:
                    holder[e, k] = int(rows[earlier[0]])
                else:
                    new[e, k] = True
                    added.append(i)
                    self.holder[e].append(k)
                    self.states[e].append(h[e, k])
                    self.inputs[e].append(u[e, k])
                    self.group[e].append(groups[i])
        # the chord method's matrices: Levenberg-Marquardt's last, or else one Jacobian call
        # for the new points (of all members) without them
        points = [(e, k) for e, k in torch.nonzero(new).tolist()]
        last = factors.of(points) if factors is not None else [None] * len(points)
        given = dict(zip(points, last, strict=True))
        missing = [key for key, value in given.items() if value is None]
        if missing:
            wanted = torch.zeros_like(new)
            wanted[tuple(torch.tensor(missing, device=h.device).T)] = True
            index, valid = padded(wanted)
            jac = self.solver.fine_jacobian(gather(h, index), gather(u, index)).detach()
            eye = torch.eye(h.shape[-1], dtype=jac.dtype, device=jac.device)
            lu, pivots, info = torch.linalg.lu_factor_ex(jac - eye)
            for e in range(h.shape[0]):
                for j in torch.nonzero(valid[e]).flatten().tolist():
                    # a singular A (a line attractor's point) takes no state in
                    regular = int(info[e, j]) == 0
                    given[e, int(index[e, j])] = (lu[e, j], pivots[e, j]) if regular else None
        for e, k in given:  # in the order the points were registered (member, then state)
            self.factors[e].append(given[e, k])
        return holder

    def join(self, h: Tensor, u: Tensor, group: Tensor, candidates: Tensor) -> Tensor:
        """For each candidate state of `h [E, K, N]`, the index of the known point whose
        chord-Newton basin it is in (-1: none), among its member's points.

        The test: two chord steps `h1 = h - A_p^-1 r(h)`, `h2 = h1 - A_p^-1 r(h1)` with the
        Jacobian of the nearest known point p (same member, condition and input) each at
        least halve the distance to p: the chord iteration contracts towards p. Another fixed
        point s is a fixed point of the chord map too, so near s the steps stay near s and the
        test fails: a state joins p only where the chord (and Newton's) iteration takes it to p.
        """
        point_of = torch.full(candidates.shape, -1, dtype=torch.long, device=h.device)
        if not bool(candidates.any()) or not any(self.states):
            return point_of
        index, valid = padded(candidates)
        fine_dtype = self.solver.fine_dtype
        x, u_fine = gather(h, index).to(fine_dtype), gather(u, index).to(fine_dtype)
        nearest = torch.zeros(index.shape, dtype=torch.long, device=h.device)
        going = torch.zeros_like(valid)  # the candidates still passing the test
        target = torch.zeros_like(x)  # the nearest point of each
        for e in range(h.shape[0]):
            if not self.states[e] or not bool(valid[e].any()):
                continue
            points, inputs = torch.stack(self.states[e]), torch.stack(self.inputs[e])  # [P, ...]
            groups = torch.tensor(self.group[e], device=h.device)
            regular = torch.tensor([f is not None for f in self.factors[e]], device=h.device)
            same_group = group[e, index[e, valid[e]]][:, None] == groups
            distance = torch.cdist(x[e, valid[e]], points)  # a preselection only
            choice = torch.where(same_group, distance, math.inf).argmin(1)
            nearest[e, valid[e]] = choice
            target[e, valid[e]] = points[choice]
            same_input = (u_fine[e, valid[e]] == inputs[choice]).all(-1)
            going[e, valid[e]] = same_group.any(1) & same_input & regular[choice]
        if not bool(going.any()):
            return point_of
        before = (x - target).norm(dim=-1)
        for _ in range(2):
            # each member's candidates still going in order of their point, so that those of
            # one point are a slice: one solve per point, the rest for all of them at once
            key = torch.where(going, nearest, nearest.max() + 1)
            order = torch.argsort(key, dim=1, stable=True)
            order = order[:, : max(int(going.sum(1).max()), 1)]
            index, going, nearest, before = (
                torch.gather(a, 1, order) for a in (index, going, nearest, before)
            )
            x, u_fine, target = (gather(a, order) for a in (x, u_fine, target))
            with torch.no_grad():
                residual = self.solver.fine_step(x, u_fine) - x
            step = torch.zeros_like(x)
            for e in range(h.shape[0]):
                start = 0
                for p, count in enumerate(torch.bincount(nearest[e, going[e]]).tolist()):
                    if count:
                        factors = self.factors[e][p]
                        assert factors is not None  # a singular point's candidates stopped
                        # rows r^T A^-T: A^-1 r for each state, without transposing
                        step[e, start : start + count] = torch.linalg.lu_solve(
                            *factors, residual[e, start : start + count], left=False, adjoint=True
                        )
                        start += count
            x = x - step
            after = (x - target).norm(dim=-1)
            going &= after <= 0.5 * before
            before = after
            if not bool(going.any()):
                return point_of
        rows = torch.arange(h.shape[0], device=h.device)[:, None].expand_as(index)
        point_of[rows[going], index[going]] = nearest[going]
        return point_of

    def take(
        self, point_of: Tensor, h: Tensor, fine: Tensor, leader: Tensor
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """The states that joined a point (`point_of [E, K]` >= 0) follow its holder; the
        first to join a point of an earlier search becomes its holder, placed on the point.

        Returns (h, fine, leader, placed [E, K]: the states placed on a point)."""
        placed = torch.zeros_like(point_of, dtype=torch.bool)
        if not bool((point_of >= 0).any()):
            return h, fine, leader, placed
        leader, h, fine = leader.clone(), h.clone(), fine.clone()
        for e in range(h.shape[0]):
            rows = torch.nonzero(point_of[e] >= 0).flatten()
            if not len(rows):
                continue
            points = point_of[e, rows]
            for p in torch.unique(points).tolist():
                if self.holder[e][p] < 0:
                    first = int(rows[points == p][0])
                    self.holder[e][p] = first
                    placed[e, first] = True
                    fine[e, first] = self.states[e][p]
                    h[e, first] = self.states[e][p].to(h.dtype)
            holders = torch.tensor(self.holder[e], dtype=torch.long, device=h.device)
            leader[e, rows] = holders[points]
        return h, fine, leader, placed


def _descend_and_absorb(
    solver: Solver,
    h0: Tensor,
    u: Tensor,
    group: Tensor,
    known: KnownPoints,
    *,
    stage: str,
    direct: bool = False,
) -> tuple[Tensor, Tensor, Tensor]:
    """Descent in which states stop as soon as they are in Newton's basin of a point already
    located (by this search or an earlier one: `known`), and states that reach `newton_below`
    are merged and their leaders taken to `tol_q` by Levenberg-Marquardt (becoming known
    points).

    Returns (states [E, K, N] in the fine dtype, gradient iterations [E, K], leader [E, K]).
    """
    options, callback = solver.options, solver.callback
    n_members, n_init, _ = h0.shape
    stop_below = max(options.tol_q, options.newton_below)
    rows = torch.arange(n_init, device=h0.device).expand(n_members, -1)
    leader = rows.clone()
    iters = torch.zeros(h0.shape[:-1], dtype=torch.long, device=h0.device)
    h, fine = h0.clone(), h0.to(solver.fine_dtype)
    u_fine = u.to(solver.fine_dtype)
    refined = torch.zeros(h0.shape[:-1], dtype=torch.bool, device=h0.device)
    known.new_search()
    with torch.no_grad():
        q = speed(solver.step, h, u)
    active = q >= stop_below
    done_iters = 0
    # states sent to Levenberg-Marquardt before reaching newton_below (the last few, or all
    # with `direct`), and those sent once: those that come back descend to the end
    tail = active.clone() if direct else torch.zeros_like(active)
    tried = tail.clone()
    active &= ~tail
    while True:
        # States at newton_below: those in Newton's basin of a known point join it; of the
        # others, a few far apart are refined by Levenberg-Marquardt and become known points,
        # which may absorb the rest, until none is left. Copies of one point arrive up to a
        # few tenths apart, so one state per 300 tol_unique is refined first; the radius
        # halves each round, so that many distinct points close together (a ring of slow
        # points) take a few rounds, not one per point.
        arrived = ~active & ~refined & (leader == rows) & torch.isfinite(q)
        arrived &= (q < max(options.slow_q, stop_below)) | tail
        radius = 300 * options.tol_unique
        while bool(arrived.any()):
            if options.merge:
                point_of = known.join(h, u, group, arrived)
                h, fine, leader, placed = known.take(point_of, h, fine, leader)
                refined |= placed
                arrived &= point_of < 0
                merged_into = merge_copies(h, q, arrived, group, options.tol_unique)
                leader = torch.where(merged_into != rows, merged_into, leader)
                arrived &= leader == rows
            pick = _spread(h, q, arrived, radius) if options.merge else arrived
            radius /= 2
            fine = torch.where(pick[..., None], h.to(solver.fine_dtype), fine)
            fine, factors = levenberg_marquardt(
                solver.fine_step,
                fine,
                u_fine,
                options,
                solver.fine_jacobian,
                stop_below=options.tol_q * 1e-9,
                select=pick,
                keep=True,
            )
            refined |= pick
            arrived &= ~pick
            with torch.no_grad():
                q_fine = speed_where(solver.fine_step, fine, u_fine, pick)
            leader = torch.where(
                pick,
                known.add(fine, u_fine, group, pick & (q_fine < options.tol_q), factors),
                leader,
            )
            # a tail state Levenberg-Marquardt did not take near a point descends again
            back = pick & tail & (q_fine >= max(options.slow_q, stop_below))
            if bool(back.any()):
                h = torch.where(back[..., None], fine.to(h.dtype), h)
                q = torch.where(back, q_fine.to(q.dtype), q)
                refined &= ~back
                active |= back
        tail &= ~active
        if done_iters >= options.max_iters or not bool(active.any()):
            break
        index, valid = padded(active)
        n = min(options.check_every, options.max_iters - done_iters)
        best, q_best, still, ran = _descend_dense(
            solver.step,
            gather(h, index),
            gather(u, index),
            valid,
            n,
            options,
            stop_below,
            solver.speed_grad,
        )
        h = scatter(h, index, valid, best)
        q = scatter(q, index, valid, q_best)
        iters = scatter(iters, index, valid, iters[_rows(index), index] + ran)
        active = scatter(torch.zeros_like(active), index, valid, still)
        done_iters += n
        if options.merge:
            point_of = known.join(h, u, group, active)
            h, fine, leader, placed = known.take(point_of, h, fine, leader)
            refined |= placed
            active &= point_of < 0
        # The last few states cost a whole iteration's overhead each for little arithmetic:
        # Levenberg-Marquardt takes them (once each) in a few iterations instead of hundreds.
        if int(active.sum()) <= options.newton_tail:
            tail = active & ~tried
            tried |= tail
            active &= ~tail
        if callback is not None:
            total = active.numel()
            callback(
                FinderProgress(stage + "descent", done_iters, total - int(active.sum()), total)
            )
    return torch.where(refined[..., None], fine, h.to(solver.fine_dtype)), iters, leader


def _spread(h: Tensor, q: Tensor, candidates: Tensor, radius: float) -> Tensor:
    """Candidates `[E, K]` picked lowest q first, each farther than `radius` from those picked
    before (of its member): one state per neighbourhood, to be refined first."""
    pick = torch.zeros_like(candidates)
    for e in range(h.shape[0]):
        rows = torch.nonzero(candidates[e]).flatten()
        if not len(rows):
            continue
        rows = rows[torch.argsort(q[e, rows], stable=True)]
        # one pick per pass: on the host, where an operation costs a microsecond, not ten
        x = h[e, rows].cpu().numpy()
        left = np.ones(len(rows), dtype=bool)
        chosen = []
        while left.any():
            first = int(np.argmax(left))
            chosen.append(first)
            left &= np.linalg.norm(x - x[first], axis=-1) > radius
        pick[e, rows[torch.tensor(chosen, device=h.device)]] = True
    return pick


def follow(leader: Tensor) -> Tensor:
    """Each state's leader followed to the end of its chain (a leader may itself have been
    merged later): `[E, K]`."""
    root = leader.clone()
    for _ in range(leader.shape[1]):
        nxt = torch.gather(root, 1, root)
        if bool((nxt == root).all()):
            break
        root = nxt
    return root


def midpoint_starts(
    states: np.ndarray,
    inputs: np.ndarray,
    member: np.ndarray,
    condition: np.ndarray,
    stable: np.ndarray,
    n_members: int,
    max_pairs: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Starts half-way between pairs of stable points of the same member and condition.

    Two attractors are separated by a basin boundary, and on that boundary sit the saddles
    whose stable manifold it is; the midpoint of two neighbouring attractors is near the
    saddle between them (exactly, for a symmetric pair), where descent on q finds it. The
    `max_pairs` closest pairs of each member and condition are taken.

    Parameters
    ----------
    states : [M, N], inputs : [M, I], member : [M], condition : [M], stable : [M] of bool
        The points found so far.

    Returns
    -------
    (starts [E, L, N], inputs [E, L, I], condition [E, L], valid [E, L] of bool)
    """
    chosen: list[list[tuple[np.ndarray, np.ndarray, int]]] = [[] for _ in range(n_members)]
    for e in range(n_members):
        for c in np.unique(condition[member == e]):
            idx = np.flatnonzero(stable & (member == e) & (condition == c))
            if len(idx) < 2:
                continue
            i, j = np.triu_indices(len(idx), k=1)
            a, b = idx[i], idx[j]
            distance = np.linalg.norm(states[a] - states[b], axis=1)
            for k in np.argsort(distance, kind="stable")[:max_pairs]:
                mid = 0.5 * (states[a[k]] + states[b[k]])
                chosen[e].append((mid, inputs[a[k]], int(c)))
    length = max(len(c) for c in chosen)
    n_units, n_inputs = states.shape[1], inputs.shape[1]
    starts = np.zeros((n_members, length, n_units))
    start_inputs = np.zeros((n_members, length, n_inputs))
    cond = np.zeros((n_members, length), np.int64)
    valid = np.zeros((n_members, length), bool)
    for e, items in enumerate(chosen):
        for k, (mid, inp, c) in enumerate(items):
            starts[e, k], start_inputs[e, k], cond[e, k], valid[e, k] = mid, inp, c, True
        # padding repeats a real start of another member's kind: harmless, never kept
        if items and len(items) < length:
            starts[e, len(items) :] = items[0][0]
            start_inputs[e, len(items) :] = items[0][1]
            cond[e, len(items) :] = items[0][2]
    return starts, start_inputs, cond, valid


def linearise(
    jacobian_fn: JacobianFn,
    h: Tensor,
    u: Tensor,
    chosen: list[tuple[int, int]],
    *,
    dt: float | None,
    options: FixedPointOptions,
) -> tuple[np.ndarray, np.ndarray]:
    """Jacobians `[M, N, N]` (NumPy, float64) and their eigenvalues `[M, N]` (complex, not
    sorted) at the states `chosen` (member, index) of `h [E, K, N]`, one Jacobian call for
    all members. Eigenvalues only: stability needs no eigenvectors, which cost as much again
    (`FixedPoints.eigenvectors` computes them from the Jacobians when first asked for); in
    float32 from `options.float32_eigenvalues_from` units up (`eigenvalues_of`)."""
    n_members, n_init, n_units = h.shape
    if not chosen:
        return np.zeros((0, n_units, n_units)), np.zeros((0, n_units), complex)
    members = torch.tensor([e for e, _ in chosen], dtype=torch.long, device=h.device)
    index = torch.tensor([k for _, k in chosen], dtype=torch.long, device=h.device)
    select = torch.zeros(n_members, n_init, dtype=torch.bool, device=h.device)
    select[members, index] = True
    pad_index, _ = padded(select)
    jac_padded = jacobian_fn(gather(h, pad_index), gather(u, pad_index))  # [E, L, N, N]
    # where each chosen state sits in the padded batch: its rank among its member's selected
    rank = torch.cumsum(select.long(), 1) - 1
    jac = jac_padded[members, rank[members, index]].detach().cpu().double()
    eigenvalues = eigenvalues_of(jac, dt, options.marginal_tol, options.float32_eigenvalues_from)
    return jac.numpy(), eigenvalues
