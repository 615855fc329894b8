"""The optimisers of the fixed-point finder: per-state gradient descent on the speed
`q(h) = 0.5 ||F(h, u) - h||^2` with adaptive rates, and Levenberg-Marquardt on `F(h, u) = h`.

All states are optimised as one batch; `[E, K, ...]` throughout (E members, K states).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import torch
from torch import Tensor

from neurodyn.analysis._dedup import merge_copies
from neurodyn.models.recurrence import DESCENT_SETTINGS

if TYPE_CHECKING:
    from neurodyn.analysis.fixed_points import FixedPointOptions

StepFn = Callable[[Tensor, Tensor], Tensor]
JacobianFn = Callable[[Tensor, Tensor], Tensor]
# given constant inputs u, a function h -> (q, dq/dh), e.g. `CTRNN.speed_and_gradient`
SpeedGradFn = Callable[[Tensor], Callable[[Tensor], tuple[Tensor, Tensor]]]


# -- the step function and its Jacobian -----------------------------------------------------


def speed(step_fn: StepFn, h: Tensor, u: Tensor) -> Tensor:
    """q = 0.5 |F(h, u) - h|^2 per state `[...]`.

    Parameters
    ----------
    step_fn : callable
        The step `F(h, u)`.
    h : Tensor [..., N]
        States.
    u : Tensor [..., I]
        Inputs, broadcast against `h`.

    Returns
    -------
    Tensor [...]
        The kinetic energy q of each state.
    """
    return 0.5 * (step_fn(h, u) - h).pow(2).sum(-1)


def speed_where(step_fn: StepFn, h: Tensor, u: Tensor, select: Tensor) -> Tensor:
    """q of the selected states of `h [E, K, N]` (`select [E, K]`), inf for the others: the
    step function runs on the selected states only (often few of many)."""
    q = torch.full(h.shape[:-1], math.inf, dtype=h.dtype, device=h.device)
    if not bool(select.any()):
        return q
    index, valid = padded(select)
    return scatter(q, index, valid, speed(step_fn, gather(h, index), gather(u, index)))


def jacobians(step_fn: StepFn, states: Tensor, inputs: Tensor, *, chunk_size: int = 256) -> Tensor:
    """Jacobians `dF/dh` at every state, in one batched computation.

    Parameters
    ----------
    step_fn : F(h, u) -> h_next, mapping each row of h on its own
    states : Tensor [..., K, N]
    inputs : Tensor [..., K, I]
    chunk_size : rows of the Jacobian computed at once (bounds memory: chunk x K x N)

    Returns
    -------
    Tensor [..., K, N, N] with `J[..., k, i, j] = dF_i / dh_j` at state k
    """
    n_units = states.shape[-1]
    states = states.detach()
    _, vjp = torch.func.vjp(lambda h: step_fn(h, inputs), states)  # type: ignore[misc]
    basis = torch.eye(n_units, dtype=states.dtype, device=states.device)
    # Row i of every Jacobian at once: the vector-Jacobian product with e_i on every state.
    cotangents = basis[:, *([None] * (states.dim() - 1)), :].expand(n_units, *states.shape)
    (rows,) = torch.func.vmap(vjp, chunk_size=chunk_size)(cotangents)  # [N(i), ..., K, N(j)]
    # detached: a user's step function may close over parameters that require grad
    return rows.movedim(0, -2).detach()


# -- the optimisation ------------------------------------------------------------------------


def padded(select: Tensor) -> tuple[Tensor, Tensor]:
    """Indices `[E, L]` of the selected states of each member, padded to a common length L.

    Step functions take every member at once (`[E, K, N]`); to work on a subset of states we
    gather each member's subset into `[E, L, N]`, padding with the member's first selected
    state, and `valid [E, L]` says which entries are real.
    """
    if select.shape[0] == 1 and select.shape[1]:
        # one network (the common case): its selected states in order, none padded
        rows = torch.nonzero(select[0])
        if len(rows):
            index = rows.T
            return index, torch.ones_like(index, dtype=torch.bool)
    counts = select.sum(1)
    length = max(int(counts.max()), 1) if select.numel() else 1
    order = torch.argsort((~select).to(torch.int8), dim=1, stable=True)[:, :length]
    valid = torch.arange(length, device=select.device)[None] < counts[:, None]
    return torch.where(valid, order, order[:, :1]), valid


@functools.lru_cache(maxsize=16)
def member_rows(n_members: int, device: torch.device) -> Tensor:
    """`[E, 1]`: 0 .. E-1, to index `[E, K]` tensors by `[E, L]` indices (read only: cached,
    since the finder indexes this way a few hundred times per search)."""
    return torch.arange(n_members, device=device)[:, None]


def gather(x: Tensor, index: Tensor) -> Tensor:
    """`x [E, K, ...]` at `index [E, L]` -> `[E, L, ...]`."""
    return x[member_rows(x.shape[0], x.device), index]


def scatter(x: Tensor, index: Tensor, valid: Tensor, values: Tensor) -> Tensor:
    """`x` with the valid entries of `values [E, L, ...]` written at `index [E, L]`."""
    rows = member_rows(x.shape[0], x.device).expand_as(index)
    x = x.clone()
    x[rows[valid], index[valid]] = values[valid]
    return x


@dataclass(frozen=True)
class FinderProgress:
    """Where a fixed-point search stands, passed to `find_fixed_points`'s `callback`.

    stage : "descent" (gradient descent, in the initial states' dtype), "polish" (descent
        again after Levenberg-Marquardt, in float64), the same two prefixed "saddle starts: "
        for the search from midpoints, or "found" (distinct points counted)
    iteration : gradient iterations run so far in this stage
    converged : states (of all members) that have stopped
    total : states in all
    points : distinct points found (only at stage "found")
    """

    stage: str
    iteration: int
    converged: int
    total: int
    points: int | None = None


ProgressFn = Callable[[FinderProgress], None]


def descend(
    step_fn: StepFn,
    h: Tensor,
    u: Tensor,
    options: FixedPointOptions,
    *,
    stop_below: float,
    speed_grad: SpeedGradFn | None = None,
    callback: ProgressFn | None = None,
    stage: str = "descent",
    group: Tensor | None = None,
    leader: Tensor | None = None,
) -> tuple[Tensor, Tensor, Tensor]:
    """Per-state Adam with adaptive rates, clipping and rejected steps, merging copies.

    Each state keeps its best point so far. A proposed step that raises its q is rejected and
    the state's rate shrinks; an accepted one grows it. q therefore decreases monotonically
    for every state, which keeps each state in the basin it started in (a fixed learning rate
    can throw a state across to another point, or to a saddle). Every `check_every`
    iterations the states still running are gathered into a smaller batch, so the work
    shrinks as states finish; and, with `options.merge`, states whose q is below
    `options.merge_below` and that lie within `options.tol_unique` of another such state (of
    the same group) with a lower q stop there, merged into it: one copy of a point is
    optimised, not hundreds.

    Parameters
    ----------
    h : Tensor [E, K, N]
    u : Tensor [E, K, I]
    group : Tensor [E, K], optional
        Condition of each state (states of different groups never merge); one group if None.
    leader : Tensor [E, K] of long, optional
        The state each state was merged into before (itself if none); merged states stay put.

    Returns
    -------
    (states [E, K, N], gradient iterations each state ran [E, K],
     leader [E, K]: the state each one was merged into, itself if none)
    """
    iters = torch.zeros(h.shape[:-1], dtype=torch.long, device=h.device)
    rows = torch.arange(h.shape[1], device=h.device).expand(h.shape[0], -1)
    leader = rows.clone() if leader is None else leader.clone()
    group = torch.zeros_like(rows) if group is None else group
    with torch.no_grad():
        q = speed_where(step_fn, h, u, leader == rows)  # states merged before stay put
    active = (q >= stop_below) & (leader == rows)
    done_iters = 0
    while done_iters < options.max_iters and bool(active.any()):
        index, valid = padded(active)
        n = min(options.check_every, options.max_iters - done_iters)
        best, q_best, still, ran = _descend_dense(
            step_fn, gather(h, index), gather(u, index), valid, n, options, stop_below, speed_grad
        )
        h = scatter(h, index, valid, best)
        q = scatter(q, index, valid, q_best)
        iters = scatter(iters, index, valid, iters[_rows(index), index] + ran)
        active = scatter(torch.zeros_like(active), index, valid, still)
        done_iters += n
        if options.merge:
            eligible = (leader == rows) & torch.isfinite(q) & (q < options.merge_below)
            merged_into = merge_copies(h, q, eligible, group, options.tol_unique)
            leader = torch.where(merged_into != rows, merged_into, leader)
            active &= leader == rows
        if callback is not None:
            total = active.numel()
            callback(FinderProgress(stage, done_iters, total - int(active.sum()), total))
    return h, iters, leader


def _rows(index: Tensor) -> Tensor:
    return member_rows(index.shape[0], index.device)


def _descend_dense(
    step_fn: StepFn,
    h: Tensor,
    u: Tensor,
    active: Tensor,
    n_iters: int,
    options: FixedPointOptions,
    stop_below: float,
    speed_grad: SpeedGradFn | None = None,
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """`n_iters` iterations on a gathered batch. Adam's moments restart with each batch: a
    short restart every `check_every` iterations costs little and needs no bookkeeping.
    `speed_grad(u)`, when given, gives q and its gradient in closed form (no autograd graph,
    the constant input's drive computed once per batch)."""
    beta1, beta2, eps = 0.9, 0.999, 1e-8

    def by_autograd(x: Tensor) -> tuple[Tensor, Tensor]:
        x = x.detach().requires_grad_(True)
        q = speed(step_fn, x, u)
        (grad,) = torch.autograd.grad(q.sum(), x)
        return q, grad

    speed_and_raw_grad = by_autograd if speed_grad is None else speed_grad(u)
    # a leaky network's closed-form speed runs these same iterations in C++ on the CPU
    # (`CTRNN.speed_and_gradient`'s `LeakySpeed.descend`; None elsewhere)
    fused = getattr(speed_and_raw_grad, "descend", None)
    if fused is not None:
        settings = {k: getattr(options, k) for k in DESCENT_SETTINGS}
        done = fused(h.detach(), active, n_iters, dict(settings, stop_below=stop_below))
        if done is not None:
            return done

    def speed_and_grad(x: Tensor) -> tuple[Tensor, Tensor]:
        q, grad = speed_and_raw_grad(x)
        norm = grad.norm(dim=-1, keepdim=True).clamp_(min=options.max_grad_norm)
        return q.detach(), grad.detach() * torch.div(options.max_grad_norm, norm)

    best, (q_best, g_best) = h.detach(), speed_and_grad(h)
    lr = torch.full(q_best.shape, options.lr, dtype=h.dtype, device=h.device)
    m, v = torch.zeros_like(h), torch.zeros_like(h)
    t = torch.zeros_like(q_best)
    ran = torch.zeros(q_best.shape, dtype=torch.long, device=h.device)
    # Few operations per iteration: at a few hundred states their count sets much of the time
    # (the C++ loop above does the same arithmetic in three passes). A state's moments, step
    # count and rate matter only while it is active (it never restarts within the batch), so
    # they are updated without regard to it.
    for _ in range(n_iters):
        with torch.no_grad():
            # Adam moments advance with each accepted gradient (t counts accepted steps); the
            # moments before the step are not needed again (a rejected step zeroes them)
            m.lerp_(g_best, 1 - beta1)
            v.lerp_(g_best.square(), 1 - beta2)
            t += 1
            # the rate over the first moment's bias correction, per state, folded into the
            # denominator: best - rate m / (sqrt(v_hat) + eps)
            rate = lr / (1 - beta1**t)
            v_hat = v / (1 - beta2**t)[..., None]
            denominator = v_hat.sqrt_().add_(eps).div_(rate[..., None])
            proposal = torch.addcdiv(best, m, denominator, value=-1)
        q_new, g_new = speed_and_grad(proposal)
        with torch.no_grad():
            accept = active & (q_new <= q_best)
            small_gain = (q_best - q_new) < options.tol_dq
            best = torch.where(accept[..., None], proposal, best)
            q_best = torch.where(accept, q_new, q_best)
            g_best = torch.where(accept[..., None], g_new, g_best)
            # A rejected step restarts the state's moments: the next proposal is then along
            # the normalised gradient, a descent direction for a small enough rate (stale
            # momentum need not be one, and shrinking the rate would not help).
            kept = accept.to(h.dtype)
            m.mul_(kept[..., None])
            v.mul_(kept[..., None])
            t.mul_(kept)
            # the factors in lr's dtype (as Python floats, torch.where makes them float32:
            # 1.2 would be 1.2000000477 in a float64 search)
            up, down = lr.new_tensor(options.lr_increase), lr.new_tensor(options.lr_decrease)
            lr = lr * torch.where(accept, up, down)
            ran += active
            stuck = (accept & small_gain) | (lr < options.min_lr)
            active = active & ~((q_best < stop_below) | stuck)
    return best, q_best, active, ran


@dataclass
class LastFactors:
    """The LU factors of `A = dF/dh - I` that Levenberg-Marquardt computed last for each
    state it finished (at the start of its last iteration: within one step of where it
    ended), kept so that the finder need not factor `A` again at the points it located.

    by_state : {(member, state): (lu [N, N], pivots [N])}, states whose `A` was regular
    """

    by_state: dict[tuple[int, int], tuple[Tensor, Tensor]]

    def keep(self, index: Tensor, finished: Tensor, lu: Tensor, pivots: Tensor) -> None:
        """The states `index [E, P]` where `finished` stopped after this iteration with the
        factors `lu [E, P, N, N]`, `pivots [E, P, N]` (copied: only theirs stay in memory)."""
        if not bool(finished.any()):
            return
        where = torch.nonzero(finished).tolist()
        for (e, j), lu_j, pivots_j in zip(where, lu[finished], pivots[finished], strict=True):
            self.by_state[e, int(index[e, j])] = (lu_j, pivots_j)

    def of(self, states: list[tuple[int, int]]) -> list[tuple[Tensor, Tensor] | None]:
        """The factors of each (member, state), or None where there are none."""
        return [self.by_state.get(key) for key in states]


def levenberg_marquardt(
    step_fn: StepFn,
    h: Tensor,
    u: Tensor,
    options: FixedPointOptions,
    jacobian_fn: JacobianFn,
    *,
    stop_below: float,
    select: Tensor | None = None,
    keep: bool = False,
) -> tuple[Tensor, LastFactors]:
    """Levenberg-Marquardt on the residual `r(h) = F(h, u) - h = 0`, every state at once.

    With `A = dF/dh - I` (the closed-form Jacobian where the step function has one), each
    iteration proposes `delta = -(A^T A + mu I)^-1 A^T r` with `mu = lam |r|`: far from a
    point a short step along the gradient of q, near one a Newton step, whose convergence is
    quadratic even where `A` is singular (Yamashita & Fukushima 2001; Fan & Yuan 2005); a
    Newton step is followed by a chord step with the same LU factors where that lowers q
    further (Shamanskii's method: cubic convergence per Jacobian, so fewer of them). A step
    that lowers q is taken and `lam` shrinks by the agreement of the actual and predicted
    decrease; one that does not is refused and `lam` grows. Each state stops when its q is
    below `stop_below`, or, below `tol_q`, after three iterations that did not halve q (it has reached the
    precision of its dtype), or after `options.newton_iters` iterations (a slow point, where
    `r = 0` has no solution nearby). Only the states still running are computed.

    Parameters
    ----------
    h : Tensor [E, K, N]
    u : Tensor [E, K, I]
    select : Tensor [E, K] of bool, optional
        The states to refine (the others are returned as they are); if None, those with q
        under `options.slow_q`.
    keep : bool
        Keep the LU factors each state finished with (else the returned `LastFactors` is
        empty).

    Returns
    -------
    Tensor [E, K, N], and the LU factors each state finished with (`LastFactors`)

    Reference: Levenberg (1944), Marquardt (1963); the choice of mu: Fan & Yuan (2005),
    Computing 74.
    """
    with torch.no_grad():
        q = speed(step_fn, h, u) if select is None else speed_where(step_fn, h, u, select)
    active = torch.isfinite(q) & (q >= stop_below)
    active &= (q < options.slow_q) if select is None else select
    lam = torch.full_like(q, 1e-2)
    stalls = torch.zeros(q.shape, dtype=torch.long, device=h.device)
    eye = torch.eye(h.shape[-1], dtype=h.dtype, device=h.device)
    factors = LastFactors({})
    for _ in range(options.newton_iters):
        if not bool(active.any()):
            break
        index, valid = padded(active)
        hs, us, qs = gather(h, index), gather(u, index), gather(q, index)
        lams, stall = gather(lam, index), gather(stalls, index)
        jac = jacobian_fn(hs, us)
        with torch.no_grad():
            a = jac - eye
            residual = step_fn(hs, us) - hs
            # The undamped (Newton) step first, by LU: a third of the normal equations' cost,
            # and the step LM converges to near a regular point. Where it does not lower q
            # (far from a point, or A near singular) the damped step is solved for instead.
            lu, pivots, info = torch.linalg.lu_factor_ex(a)
            newton = torch.linalg.lu_solve(lu, pivots, -residual[..., None])[..., 0]
            at_newton = hs + newton
            r_newton = step_fn(at_newton, us) - at_newton
            q_newton = 0.5 * r_newton.pow(2).sum(-1)
            good = (info == 0) & torch.isfinite(q_newton) & (q_newton < qs)
            # and a chord step from there with the same factors (Shamanskii's method): near a
            # point it squares the step's error again for a solve, not a new Jacobian and LU,
            # and is kept only where it lowers q further
            chord = torch.linalg.lu_solve(lu, pivots, -r_newton[..., None])[..., 0]
            q_chord = speed(step_fn, at_newton + chord, us)
            better = good & torch.isfinite(q_chord) & (q_chord < q_newton)
            newton = torch.where(better[..., None], newton + chord, newton)
            q_newton = torch.where(better, q_chord, q_newton)
            delta = torch.where(good[..., None], newton, 0.0)
            trial = hs + delta
            q_trial = q_newton
            # a Newton step's model is exact for the linearisation: it counts as well predicted
            ratio = torch.ones_like(qs)
            damped = ~good
            if bool(damped.any()):
                # the damped steps' model and their q, for those states only (a matrix product
                # per state was a tenth of an iteration)
                a_damped, r_damped = a[damped], residual[damped]
                step = _damped_step(a_damped, r_damped, lams[damped], eye)
                delta[damped] = step
                trial[damped] = hs[damped] + step
                q_trial = torch.where(good, q_newton, speed(step_fn, trial, us))
                model = r_damped + (a_damped @ step[..., None])[..., 0]
                predicted = qs[damped] - 0.5 * model.pow(2).sum(-1)
                tiny = torch.finfo(h.dtype).tiny
                ratio[damped] = (qs[damped] - q_trial[damped]) / predicted.clamp(min=tiny)
            accept = q_trial < qs
            hs = torch.where(accept[..., None], trial, hs)
            q_new = torch.where(accept, q_trial, qs)
            # trust-region update of lam: shrink when the model predicted the decrease well
            lams = torch.where(
                accept & (ratio > 0.75),
                lams / 4,
                torch.where(accept & (ratio > 0.25), lams, lams * 4),
            ).clamp(1e-12, 1e12)
            # Once below tol_q, steps that no longer halve q mean the dtype's precision is
            # reached; above it, a refused step only means lam must grow.
            halved = q_new < 0.5 * qs
            stall = torch.where(
                halved | (q_new >= options.tol_q), torch.zeros_like(stall), stall + 1
            )
            h = scatter(h, index, valid, hs)
            q = scatter(q, index, valid, q_new)
            lam = scatter(lam, index, valid, lams)
            stalls = scatter(stalls, index, valid, stall)
            keep_going = (q_new >= stop_below) & (stall < 3)
            if keep:
                factors.keep(index, valid & ~keep_going & (info == 0), lu, pivots)
            active = scatter(torch.zeros_like(active), index, valid, keep_going)
    return h, factors


def _damped_step(a: Tensor, residual: Tensor, lam: Tensor, eye: Tensor) -> Tensor:
    """The Levenberg-Marquardt step `-(A^T A + mu I)^-1 A^T r`, `mu = lam |r|` `[..., N]`
    (zero where the normal matrix cannot be factored)."""
    mu = lam * residual.norm(dim=-1)
    normal = a.mT @ a + mu[..., None, None] * eye
    gradient = (a.mT @ residual[..., None])[..., 0]
    factor, info = torch.linalg.cholesky_ex(normal)
    delta = -torch.cholesky_solve(gradient[..., None], factor)[..., 0]
    delta = torch.where((info == 0)[..., None], delta, torch.zeros_like(delta))
    return torch.nan_to_num(delta, nan=0.0, posinf=0.0, neginf=0.0)
