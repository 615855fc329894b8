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
    solver: Solver, h0: Tensor, u: Tensor, group: Tensor, *, stage: str = "", direct: bool = False
) -> Searched:
    """Find where each of the starts `h0 [E, K, N]` (inputs `u [E, K, I]`, conditions
    `group [E, K]`) ends.

    With `options.newton`: descent (merging copies) until q is below `newton_below`, then
    Levenberg-Marquardt on the states that lead (not on their copies) to the precision of the
    fine dtype, merging again, and descent once more for those it could not take below
    `tol_q` (slow points); `direct`: Levenberg-Marquardt from the starts, descent only for
    those it does not take near a point. Without `options.newton`: descent alone, to `tol_q`
    (the slow-point mode).
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
        h, iters, leader = _descend_and_absorb(solver, h0, u, group, stage=stage, direct=direct)
        h, u_fine = h.to(solver.fine_dtype), u.to(solver.fine_dtype)
        # to the precision of the dtype: q ~ 1e-25 in float64, what tol_q * 1e-9 asks
        h = levenberg_marquardt(
            solver.fine_step,
            h,
            u_fine,
            options,
            solver.fine_jacobian,
            stop_below=options.tol_q * 1e-9,
            select=(leader == rows) & (speed(solver.fine_step, h, u_fine) >= options.tol_q),
        )
        with torch.no_grad():
            q = speed(solver.fine_step, h, u_fine)
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


class _KnownPoints:
    """Points located to `tol_q` during the search, with what the absorption test needs: the
    inverse of `A = dF/dh - I` at each (the chord method's fixed matrix)."""

    def __init__(self, solver: Solver, n_members: int) -> None:
        self.solver = solver
        self.owner: list[list[int]] = [[] for _ in range(n_members)]  # state holding the point
        self.states: list[list[Tensor]] = [[] for _ in range(n_members)]
        self.inputs: list[list[Tensor]] = [[] for _ in range(n_members)]
        self.group: list[list[int]] = [[] for _ in range(n_members)]
        self.inverse: list[list[Tensor]] = [[] for _ in range(n_members)]

    def add(self, h: Tensor, u: Tensor, group: Tensor, select: Tensor) -> Tensor:
        """Register the selected states of `h [E, K, N]` as points, or find each among those
        known: returns the state holding each one's point `[E, K]` (itself when new)."""
        owner_of = torch.arange(h.shape[1], device=h.device).expand(h.shape[0], -1).clone()
        new = torch.zeros_like(select)
        for e, k in torch.nonzero(select).tolist():
            for p, known in enumerate(self.states[e]):
                if self.group[e][p] == int(group[e, k]) and bool(
                    (known - h[e, k]).norm() < self.solver.options.tol_unique
                ):
                    owner_of[e, k] = self.owner[e][p]
                    break
            else:
                new[e, k] = True
                self._append(e, k, h[e, k], u[e, k], int(group[e, k]))
        if bool(new.any()):
            # the chord method's matrices, one Jacobian call for the new points of all members
            index, valid = padded(new)
            jac = self.solver.fine_jacobian(gather(h, index), gather(u, index)).detach()
            eye = torch.eye(h.shape[-1], dtype=jac.dtype, device=jac.device)
            inverse, info = torch.linalg.inv_ex(jac - eye)
            # a singular A (a line attractor's point) absorbs nothing: NaN fails every test
            inverse = torch.where((info == 0)[..., None, None], inverse, math.nan)
            for e in range(h.shape[0]):
                self.inverse[e].extend(inverse[e, valid[e]].unbind(0))
        return owner_of

    def _append(self, member: int, owner: int, state: Tensor, inputs: Tensor, group: int) -> None:
        self.owner[member].append(owner)
        self.states[member].append(state)
        self.inputs[member].append(inputs)
        self.group[member].append(group)

    def absorb(self, h: Tensor, u: Tensor, group: Tensor, candidates: Tensor) -> Tensor:
        """For each candidate state of `h [E, K, N]`, the owner of the known point whose
        chord-Newton basin it is in (-1: none).

        The test: one chord step `h1 = h - A_p^-1 r(h)` with the Jacobian of the nearest known
        point p (same member, condition and input) lands at least ten times closer to p than
        h is. Another fixed point s is a fixed point of the chord map too, so near s the step
        stays near s and the test fails: a state is only absorbed where Newton's iteration
        would take it to p.
        """
        owner_of = torch.full(candidates.shape, -1, dtype=torch.long, device=h.device)
        if not bool(candidates.any()) or not any(self.states):
            return owner_of
        # the residuals of every member's candidates in one call of the step function
        index, valid = padded(candidates)
        fine_dtype = self.solver.fine_dtype
        x_all, u_all = gather(h, index).to(fine_dtype), gather(u, index).to(fine_dtype)
        with torch.no_grad():
            residual_all = self.solver.fine_step(x_all, u_all) - x_all
        for e in range(h.shape[0]):
            if not self.states[e] or not bool(valid[e].any()):
                continue
            rows = index[e, valid[e]]
            x, x_u, residual = x_all[e, valid[e]], u_all[e, valid[e]], residual_all[e, valid[e]]
            points = torch.stack(self.states[e])  # [P, N]
            distance = torch.cdist(x, points)  # [R, P], a preselection only
            same_group = group[e, rows][:, None] == torch.tensor(self.group[e], device=h.device)
            nearest = torch.where(same_group, distance, math.inf).argmin(1)
            for p in torch.unique(nearest).tolist():
                mine = nearest == p
                same_input = (x_u[mine] == self.inputs[e][p]).all(-1)
                step = residual[mine] @ self.inverse[e][p].T
                before = (x[mine] - points[p]).norm(dim=-1)
                after = (x[mine] - step - points[p]).norm(dim=-1)
                inside = same_input & same_group[mine, p] & (after <= 0.1 * before)
                owner_of[e, rows[mine][inside]] = self.owner[e][p]
        return owner_of


def _descend_and_absorb(
    solver: Solver, h0: Tensor, u: Tensor, group: Tensor, *, stage: str, direct: bool = False
) -> tuple[Tensor, Tensor, Tensor]:
    """Descent in which states stop as soon as they are in Newton's basin of a point already
    located, and states that reach `newton_below` are merged and their leaders taken to
    `tol_q` by Levenberg-Marquardt (becoming known points).

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
    known = _KnownPoints(solver, n_members)
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
        # which may absorb the rest, until none is left.
        arrived = ~active & ~refined & (leader == rows) & torch.isfinite(q)
        arrived &= (q < max(options.slow_q, stop_below)) | tail
        while bool(arrived.any()):
            if options.merge:
                owner_of = known.absorb(h, u, group, arrived)
                leader = torch.where(owner_of >= 0, owner_of, leader)
                arrived &= owner_of < 0
                merged_into = merge_copies(h, q, arrived, group, options.tol_unique)
                leader = torch.where(merged_into != rows, merged_into, leader)
                arrived &= leader == rows
            pick = _spread(h, q, arrived, 100 * options.tol_unique) if options.merge else arrived
            fine = torch.where(pick[..., None], h.to(solver.fine_dtype), fine)
            fine = levenberg_marquardt(
                solver.fine_step,
                fine,
                u_fine,
                options,
                solver.fine_jacobian,
                stop_below=options.tol_q * 1e-9,
                select=pick,
            )
            refined |= pick
            arrived &= ~pick
            with torch.no_grad():
                q_fine = speed(solver.fine_step, fine, u_fine)
            leader = torch.where(
                pick, known.add(fine, u_fine, group, pick & (q_fine < options.tol_q)), leader
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
            owner_of = known.absorb(h, u, group, active)
            absorbed = owner_of >= 0
            leader = torch.where(absorbed, owner_of, leader)
            active &= ~absorbed
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
        rows = rows[torch.argsort(q[e, rows], stable=True)]
        x = h[e, rows]
        left = torch.ones(len(rows), dtype=torch.bool, device=h.device)
        while bool(left.any()):
            first = int(torch.nonzero(left)[0])
            pick[e, rows[first]] = True
            left &= (x - x[first]).norm(dim=-1) > radius
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
