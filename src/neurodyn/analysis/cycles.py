"""Limit cycles of a recurrent network (or any step function), and Poincaré sections.

A periodic orbit crosses a hyperplane (a Poincaré section) at a point x that the return map
P (follow the trajectory from x until it next crosses the section in the same direction)
sends back to itself: `P(x) = x`. `find_limit_cycles` solves this by shooting, Newton's
method with Levenberg-Marquardt damping on the return map, from many starts at once; the
return map's Jacobian comes from tangent vectors carried along the trajectory (the product of
the step's Jacobians, projected onto the section along the flow at the crossing).

Steps are discrete, so the crossing is located by linear interpolation between the two steps
around it; the period is a fractional number of steps (times `dt` for a discretised flow),
accurate to O(dt^2) for a flow. With few steps per period (a trained network's 20, say) the
interpolated crossings of one cycle move with the phase of the steps by up to the chord's
deviation from the orbit, and so does the period, by about that deviation over the step's
length.

Floquet multipliers. The monodromy matrix (the derivative of the state one period later with
respect to the state now, from the tangent vectors interpolated to the fractional period) has
the trivial eigenvalue 1 along the orbit; the other N - 1 are the non-trivial multipliers, the
eigenvalues of the return map's Jacobian whatever the section. The orbit is stable when all lie inside the unit circle, unstable when all
lie outside, a saddle cycle when some lie on either side, marginal when one lies within
`marginal_tol` of the circle (a torus, or a continuum of cycles).

The section is the user's (`Section`) or, per start, the hyperplane through the mean of the
start's own trajectory with normal its first principal axis (it cuts every simple loop
around that mean, once in each direction; crossings are counted in the normal's direction).

References: Strogatz (2015), Nonlinear Dynamics and Chaos, ch. 8; Parker & Chua (1989),
Practical Numerical Algorithms for Chaotic Systems, ch. 5 (shooting for periodic orbits).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from neurodyn.analysis._descent import StepFn
from neurodyn.analysis._result import SavableResult
from neurodyn.analysis._tangent import TangentFn, batch_of_states, tangent_map, with_ensemble_axis
from neurodyn.analysis.fixed_points import StepFunctions, frozen_copy
from neurodyn.analysis.lyapunov import _ctrnn_tangent
from neurodyn.errors import ArgumentError, ConfigError, ShapeError
from neurodyn.models import CTRNN, Network

CYCLE_STABILITY = ("stable", "saddle", "unstable", "marginal")
# what became of each start (LimitCycles.status)
OUTCOMES = ("cycle", "fixed point", "no crossing", "not converged")


@dataclass(frozen=True)
class Section(SavableResult):
    """The hyperplane `normal . h = offset`, crossed in the direction of `normal`.

    Attributes
    ----------
    normal : [N]   unit normal
    offset : float
    """

    normal: np.ndarray
    offset: float

    def __post_init__(self) -> None:
        normal = np.asarray(self.normal, float)
        norm = float(np.linalg.norm(normal))
        if normal.ndim != 1 or not np.isfinite(norm) or norm == 0:
            raise ArgumentError("a section's normal must be a non-zero vector [N]")
        # a unit normal, so that `normal . h - offset` is a distance
        object.__setattr__(self, "normal", normal / norm)
        object.__setattr__(self, "offset", float(self.offset) / norm)

    @classmethod
    def through(cls, point: np.ndarray, normal: np.ndarray) -> Section:
        """The hyperplane through `point [N]` with this `normal [N]`."""
        normal = np.asarray(normal, float)
        return cls(normal, float(normal @ np.asarray(point, float)))

    @classmethod
    def from_pca(cls, states: np.ndarray | Tensor) -> Section:
        """The hyperplane through the mean of `states [..., N]` with normal their first
        principal axis: it cuts a loop around the mean once in each direction."""
        flat = np.asarray(states, float).reshape(-1, np.shape(states)[-1])
        mean = flat.mean(0)
        axis = np.linalg.svd(flat - mean, full_matrices=False)[2][0]
        return cls.through(mean, axis)


@dataclass(frozen=True)
class PoincareSection(SavableResult):
    """Where trajectories cross a section (upwards), and the return map between crossings.

    C crossings in all trials.

    Attributes
    ----------
    points : [C, N]        the crossings (linear interpolation between the steps around each)
    trial : [C]            the trial (batch index) of each
    step : [C]             when, in (fractional) steps from the trajectory's start
    coordinates : [C, 2]   the points on the two principal axes of the crossings within the
                           section (what the figures draw)
    next_crossing : [C]    index of the trial's next crossing (-1: the trial's last): the
                           return map sends `coordinates[i]` to `coordinates[next_crossing[i]]`
    normal : [N]
    offset : float
    """

    points: np.ndarray
    trial: np.ndarray
    step: np.ndarray
    coordinates: np.ndarray
    next_crossing: np.ndarray
    normal: np.ndarray
    offset: float

    def __len__(self) -> int:
        return len(self.points)

    def return_times(self) -> np.ndarray:
        """Steps between successive crossings of each trial: `[R]` (R pairs)."""
        has_next = self.next_crossing >= 0
        return self.step[self.next_crossing[has_next]] - self.step[has_next]


def poincare_section(
    states: Tensor | np.ndarray, section: Section | None = None
) -> PoincareSection:
    """The crossings of trajectories through a section, and their return map.

    Parameters
    ----------
    states : [T, N] or [T, B, N]
        Trajectories, time-major.
    section : Section, optional
        Default `Section.from_pca(states)`.

    Returns
    -------
    PoincareSection

    Raises `ArgumentError` when no trajectory crosses the section.

    Example
    -------
    >>> t = np.arange(200) * 0.1
    >>> circle = np.stack([np.cos(t), np.sin(t)], -1)      # period 2 pi / 0.1 = 62.8 steps
    >>> crossings = poincare_section(circle, Section([0.0, 1.0], 0.0))
    >>> np.round(crossings.return_times(), 2).tolist()
    [62.83, 62.83]
    """
    x = np.asarray(states.detach().cpu() if isinstance(states, Tensor) else states, float)
    if x.ndim == 2:
        x = x[:, None]
    if x.ndim != 3 or x.shape[0] < 2:
        raise ShapeError(f"states must be [T, N] or [T, B, N] with T >= 2, got {x.shape}")
    section = Section.from_pca(x) if section is None else section
    if section.normal.shape != (x.shape[-1],):
        raise ShapeError(
            f"the section's normal has {len(section.normal)} entries, the states {x.shape[-1]}"
        )
    side = x @ section.normal - section.offset  # [T, B]
    before, after = side[:-1], side[1:]
    steps, trials = np.nonzero((before < 0) & (after >= 0))
    if not len(steps):
        raise ArgumentError(
            f"no trajectory crosses the section (normal . h - offset ranges over "
            f"[{side.min():.3g}, {side.max():.3g}]): move it into that range, or use "
            "Section.from_pca(states)"
        )
    order = np.lexsort((steps, trials))
    steps, trials = steps[order], trials[order]
    fraction = before[steps, trials] / (before[steps, trials] - after[steps, trials])
    points = x[steps, trials] + fraction[:, None] * (x[steps + 1, trials] - x[steps, trials])
    same_trial_next = np.append(trials[1:] == trials[:-1], False)
    next_crossing = np.where(same_trial_next, np.arange(len(steps)) + 1, -1)
    return PoincareSection(
        points=points,
        trial=trials,
        step=steps + fraction,
        coordinates=_in_plane_coordinates(points, section.normal),
        next_crossing=next_crossing,
        normal=section.normal,
        offset=section.offset,
    )


def _in_plane_coordinates(points: np.ndarray, normal: np.ndarray) -> np.ndarray:
    """`points [C, N]` on the first two principal axes of their spread within the plane."""
    centred = points - points.mean(0)
    centred = centred - np.outer(centred @ normal, normal)
    axes = np.linalg.svd(centred, full_matrices=False)[2][:2]
    coords = centred @ axes.T
    return np.pad(coords, ((0, 0), (0, 2 - coords.shape[1])))


@dataclass(frozen=True)
class CycleOptions:
    """Settings of the limit-cycle search.

    Attributes
    ----------
    n_transient : steps run from each start before looking (to reach an attractor)
    window : steps of each start's trajectory after the transient that choose its section
        (and its first point on it) and tell whether it settled on a fixed point (its spread
        over the window's second half below `min_amplitude`, or shrunk to a tenth of the
        first half's)
    max_period : steps a return may take at most
    min_amplitude : a trajectory whose states stay within this distance of their mean over
        the window has settled on a fixed point
    newton_iters : Levenberg-Marquardt iterations at most
    tol : a cycle is found when |P(x) - x| is below this
    damping : initial Levenberg-Marquardt damping (divided by 10 after a step that lowered
        |P(x) - x|, multiplied by 10 after one that did not)
    tol_unique : two cycles are one when a point of one lies within this (plus the longest
        step along the other) of the other's orbit, with periods within 1%
    marginal_tol : a multiplier whose modulus is within this of 1 is marginal
    """

    n_transient: int = 500
    window: int = 500
    max_period: int = 1000
    min_amplitude: float = 1e-6
    newton_iters: int = 30
    tol: float = 1e-9
    damping: float = 1e-3
    tol_unique: float = 1e-4
    marginal_tol: float = 1e-3

    def __post_init__(self) -> None:
        if self.window < 3 or self.max_period < 2 or self.n_transient < 0:
            raise ConfigError("need window >= 3, max_period >= 2 and n_transient >= 0")
        if self.tol <= 0 or self.tol_unique <= 0 or self.min_amplitude < 0:
            raise ConfigError("tol and tol_unique must be positive, min_amplitude non-negative")


@dataclass(frozen=True)
class LimitCycles(SavableResult):
    """Periodic orbits found from K starts (of E members), each once.

    C cycles over all members; K starts per member, flattened over members (E * K).

    Attributes
    ----------
    points : [C, N]            the cycle's crossing of its section (P(x) = x)
    period_steps : [C]         period in (fractional) steps of the step function
    period : [C]               period_steps * dt (equal to period_steps for a map)
    multipliers : [C, N - 1]   the non-trivial Floquet multipliers (of the return map's
                               Jacobian), largest modulus first
    stability : [C]            'stable', 'saddle', 'unstable' or 'marginal'
    member : [C]               ensemble member
    inputs : [C, I]            the constant input
    residual : [C]             |P(x) - x| at the point
    orbits : [C, L, N]         one period of states from the point, padded with NaN after
                               `orbit_length` steps (`orbit(i)` gives it trimmed)
    orbit_length : [C]
    section_normal : [C, N]    the section each cycle was found on
    section_offset : [C]
    status : [E * K]           what each start came to: 'cycle', 'fixed point',
                               'no crossing' or 'not converged'
    assignment : [E * K]       index of the cycle each start found (-1: none)
    initial_member : [E * K]
    dt : float                 NaN for a map
    reason : str               why no cycle was found ('' when some were)
    options : dict             the CycleOptions used
    """

    points: np.ndarray
    period_steps: np.ndarray
    period: np.ndarray
    multipliers: np.ndarray
    stability: np.ndarray
    member: np.ndarray
    inputs: np.ndarray
    residual: np.ndarray
    orbits: np.ndarray
    orbit_length: np.ndarray
    section_normal: np.ndarray
    section_offset: np.ndarray
    status: np.ndarray
    assignment: np.ndarray
    initial_member: np.ndarray
    dt: float
    reason: str = ""
    options: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.points)

    @property
    def continuous_time(self) -> bool:
        return not np.isnan(self.dt)

    def orbit(self, index: int) -> np.ndarray:
        """The states of one period of cycle `index`: `[orbit_length, N]`."""
        return self.orbits[index, : self.orbit_length[index]]

    def floquet_multipliers(self, index: int) -> np.ndarray:
        """All Floquet multipliers of cycle `index`: the trivial 1 along a flow first, then
        the non-trivial ones (`[N]` for a flow, `[N - 1]` for a map)."""
        rest = self.multipliers[index]
        return np.concatenate([[1.0 + 0j], rest]) if self.continuous_time else rest

    def outcomes(self) -> dict[str, int]:
        """How many starts came to each outcome."""
        return {o: int(np.sum(self.status == o)) for o in OUTCOMES}

    def _summary(self) -> list[tuple[str, str]]:
        if not len(self):
            return [("cycles", f"none ({self.reason})"), *super()._summary()]
        periods = ", ".join(f"{p:.4g}" for p in self.period[:4])
        return [("cycles", f"{len(self)} (periods {periods})"), *super()._summary()]


# -- the search --------------------------------------------------------------------------------


@dataclass
class _Return:
    """Where states on their sections next cross them: `[E, K, ...]`."""

    points: Tensor  # [E, K, N]
    steps: Tensor  # [E, K] fractional steps (NaN: no crossing)
    crossed: Tensor  # [E, K] bool
    jacobian: Tensor | None  # [E, K, N, N] d(points)/d(start)
    monodromy: Tensor | None  # [E, K, N, N] d(state after one period)/d(start)
    orbit: list[Tensor]  # states from the start, [E, K, N] each


def _first_returns(
    tangent: TangentFn,
    step_fn: StepFn,
    x: Tensor,
    u: Tensor,
    normal: Tensor,
    offset: Tensor,
    *,
    max_steps: int,
    with_tangents: bool,
    keep_orbit: bool = False,
) -> _Return:
    """Follow every start `x [E, K, N]` until it crosses its section upwards again (not at the
    first step, which leaves the section), all starts as one batch."""
    n_members, n_starts, n_units = x.shape
    h = x
    v = (
        torch.eye(n_units, dtype=x.dtype, device=x.device).expand(n_members, n_starts, -1, -1)
        if with_tangents
        else None
    )
    side_before = (h * normal).sum(-1) - offset
    done = torch.zeros(n_members, n_starts, dtype=torch.bool, device=x.device)
    points, steps = x.clone(), torch.full_like(side_before, float("nan"))
    jacobian = torch.zeros_like(v) if v is not None else None
    monodromy = torch.zeros_like(v) if v is not None else None
    orbit = [h] if keep_orbit else []
    for t in range(1, max_steps + 1):
        if v is not None:
            h_next, v_next = tangent(h, u, v)
        else:
            h_next, v_next = step_fn(h, u), None
        side = (h_next * normal).sum(-1) - offset
        cross = ~done & (side_before < 0) & (side >= 0) & (t >= 2)
        if bool(cross.any()):
            fraction = side_before / (side_before - side)
            delta = h_next - h
            points = torch.where(cross[..., None], h + fraction[..., None] * delta, points)
            steps = torch.where(cross, t - 1 + fraction, steps)
            if v is not None and v_next is not None and jacobian is not None:
                assert monodromy is not None
                # d(crossing) = (I - delta normal^T / normal.delta) ((1 - s) dh_{t-1} + s dh_t):
                # the tangent at the crossing, projected onto the section along the step
                along = (1 - fraction)[..., None, None] * v + fraction[..., None, None] * v_next
                flow = delta / (delta * normal).sum(-1, keepdim=True)
                projected = along - flow[..., :, None] * (normal[..., None, :] @ along)
                jacobian = torch.where(cross[..., None, None], projected, jacobian)
                monodromy = torch.where(cross[..., None, None], along, monodromy)
            done = done | cross
        h, v, side_before = h_next, v_next, side
        if keep_orbit:
            orbit.append(h)
        if bool(done.all()) or not bool(torch.isfinite(h).all()):
            break
    return _Return(points, steps, done, jacobian, monodromy, orbit)


def _section_basis(normal: Tensor) -> Tensor:
    """An orthonormal basis `[E, K, N, N - 1]` of each section's plane (normal^perp)."""
    vh = torch.linalg.svd(normal[..., None, :], full_matrices=True)[2]  # [E, K, N, N]
    return vh[..., 1:, :].transpose(-1, -2)


def find_limit_cycles(
    step_fn: StepFn,
    initial_states: Tensor,
    inputs: Tensor,
    *,
    dt: float | None = None,
    section: Section | None = None,
    options: CycleOptions | None = None,
    step_functions: StepFunctions | None = None,
    callback: Callable[[str], None] | None = None,
) -> LimitCycles:
    """Periodic orbits of `step_fn` from many starts at once, by shooting on a return map.

    Parameters
    ----------
    step_fn : F(h, u) -> h_next
        Maps each row of h on its own; for an ensemble takes `h [E, K, N]`, `u [E, K, I]`.
        Use float64 states: the Newton steps need the precision.
    initial_states : Tensor [K, N], or [E, K, N] for an ensemble
    inputs : Tensor [I], [K, I] or [E, K, I]
        The constant input of each start.
    dt : float, optional
        Time step of a discretised flow: periods in units of time, and a trivial multiplier
        1 in `floquet_multipliers`.
    section : Section, optional
        One section for every start (default: each start's own, from the principal axis of
        its trajectory). Raises `ArgumentError` when no trajectory crosses it.
    options : CycleOptions
    step_functions : StepFunctions, optional
        Its `jacobian` (closed form) replaces automatic differentiation.
    callback : str -> None, optional
        Told what the search is doing (to show progress).

    Returns
    -------
    LimitCycles
        Empty, with `reason` saying why, when every start settles on a fixed point, never
        crosses its section, or does not converge to a periodic orbit.

    Example
    -------
    The Hopf normal form at mu = 1, omega = 2 pi: a stable circle of radius 1, period 1,
    non-trivial multiplier exp(-2 mu T):

    >>> def hopf(h, u, dt=0.01):
    ...     def f(h):
    ...         x, y = h[..., :1], h[..., 1:]
    ...         r2 = x**2 + y**2
    ...         return torch.cat([x - 2 * np.pi * y - x * r2, 2 * np.pi * x + y - y * r2], -1)
    ...     k1 = f(h); k2 = f(h + dt / 2 * k1); k3 = f(h + dt / 2 * k2); k4 = f(h + dt * k3)
    ...     return h + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4)
    >>> starts = torch.tensor([[0.1, 0.0], [2.0, 1.0]], dtype=torch.float64)
    >>> cycles = find_limit_cycles(hopf, starts, torch.zeros(1, dtype=torch.float64), dt=0.01)
    >>> len(cycles), round(float(cycles.period[0]), 4), cycles.stability.tolist()
    (1, 1.0, ['stable'])
    >>> round(float(np.linalg.norm(cycles.points[0])), 4), round(float(abs(cycles.multipliers[0, 0])), 4)
    (1.0, 0.1353)

    Reference: Parker & Chua (1989), Practical Numerical Algorithms for Chaotic Systems, ch. 5.
    """
    options = options or CycleOptions()
    h, u, ensemble = batch_of_states(initial_states, inputs)
    functions = step_functions or StepFunctions()
    fn = with_ensemble_axis(step_fn, ensemble)
    jac = None if functions.jacobian is None else with_ensemble_axis(functions.jacobian, ensemble)
    return _find_cycles(tangent_map(fn, jac), fn, h, u, dt, section, options, callback)


def _find_cycles(
    tangent: TangentFn,
    step_fn: StepFn,
    h0: Tensor,
    u: Tensor,
    dt: float | None,
    section: Section | None,
    options: CycleOptions,
    callback: Callable[[str], None] | None,
) -> LimitCycles:
    say = callback or (lambda text: None)
    n_members, n_starts, n_units = h0.shape
    if n_units < 2:
        raise ArgumentError("a limit cycle needs a state of at least 2 dimensions")
    say("settling onto the attractors")
    with torch.no_grad():
        h = h0
        for _ in range(options.n_transient):
            h = step_fn(h, u)
        window = [h]
        for _ in range(options.window - 1):
            window.append(step_fn(window[-1], u))
        states = torch.stack(window)  # [W, E, K, N]
    centred = states - states.mean(0)
    # settled on a fixed point: still, or closing in on one (its spread over the window's
    # second half a tenth of the first half's or less; a cycle's stays the same)
    half = options.window // 2
    early = (states[:half] - states[:half].mean(0)).norm(dim=-1).amax(0)
    late = (states[half:] - states[half:].mean(0)).norm(dim=-1).amax(0)
    settled = (late <= options.min_amplitude) | (late <= 0.1 * early)  # [E, K]
    if section is None:
        vh = torch.linalg.svd(centred.permute(1, 2, 0, 3), full_matrices=False)[2]
        normal = vh[..., 0, :]  # [E, K, N]
        offset = (normal * states.mean(0)).sum(-1)
    else:
        if section.normal.shape != (n_units,):
            raise ShapeError(
                f"the section's normal has {len(section.normal)} entries, the states {n_units}"
            )
        normal = torch.as_tensor(section.normal, dtype=h.dtype, device=h.device).expand_as(h)
        offset = torch.full(h.shape[:2], section.offset, dtype=h.dtype, device=h.device)
    side = (states * normal).sum(-1) - offset  # [W, E, K]
    upward = (side[:-1] < 0) & (side[1:] >= 0)
    crosses = upward.any(0) & ~settled
    if section is not None and not bool(upward.any()):
        raise ArgumentError(
            f"no trajectory crosses the section within {options.window} steps after the "
            f"transient (normal . h - offset ranges over [{float(side.min()):.3g}, "
            f"{float(side.max()):.3g}]): move it into that range, or leave section=None"
        )
    first = upward.to(torch.int8).argmax(0)  # [E, K]
    before = side.gather(0, first[None])[0]
    after = side.gather(0, (first + 1)[None])[0]
    fraction = (before / (before - after)).nan_to_num(0.0)
    index = first[None, ..., None].expand(1, -1, -1, n_units)
    low, high = states.gather(0, index)[0], states.gather(0, index + 1)[0]
    x = low + fraction[..., None] * (high - low)

    say("shooting")
    basis = _section_basis(normal)  # [E, K, N, N-1]
    eye = torch.eye(n_units - 1, dtype=h.dtype, device=h.device)
    with torch.no_grad():
        ret = _first_returns(
            tangent, step_fn, x, u, normal, offset, max_steps=options.max_period, with_tangents=True
        )
    residual = _residual(ret, x)
    damping = torch.full_like(residual, options.damping)
    for iteration in range(options.newton_iters):
        todo = crosses & ret.crossed & ~(residual < options.tol)
        if not bool(todo.any()):
            break
        assert ret.jacobian is not None
        mismatch = (basis.transpose(-1, -2) @ (ret.points - x)[..., None])[..., 0]
        a = basis.transpose(-1, -2) @ ret.jacobian @ basis - eye
        lhs = a.transpose(-1, -2) @ a + damping[..., None, None] * eye
        rhs = -(a.transpose(-1, -2) @ mismatch[..., None])
        step = torch.linalg.solve(lhs, rhs)[..., 0]
        trial = x + (basis @ step[..., None])[..., 0]
        with torch.no_grad():
            tried = _first_returns(
                tangent,
                step_fn,
                trial,
                u,
                normal,
                offset,
                max_steps=options.max_period,
                with_tangents=True,
            )
        trial_residual = _residual(tried, trial)
        accept = todo & tried.crossed & (trial_residual < residual)
        x = torch.where(accept[..., None], trial, x)
        ret = _Return(
            torch.where(accept[..., None], tried.points, ret.points),
            torch.where(accept, tried.steps, ret.steps),
            torch.where(accept, tried.crossed, ret.crossed),
            _where(accept, tried.jacobian, ret.jacobian),
            _where(accept, tried.monodromy, ret.monodromy),
            [],
        )
        residual = torch.where(accept, trial_residual, residual)
        damping = torch.where(accept, damping / 10, torch.where(todo, damping * 10, damping))
        say(f"shooting: iteration {iteration + 1}, {int(todo.sum())} starts still moving")
    converged = crosses & ret.crossed & (residual < options.tol)
    status = np.full((n_members, n_starts), "not converged", dtype=object)
    status[(~crosses).cpu().numpy()] = "no crossing"
    status[settled.cpu().numpy()] = "fixed point"
    status[converged.cpu().numpy()] = "cycle"

    say("one period of each cycle")
    with torch.no_grad():
        final = _first_returns(
            tangent,
            step_fn,
            x,
            u,
            normal,
            offset,
            max_steps=options.max_period,
            with_tangents=False,
            keep_orbit=True,
        )
    assert ret.monodromy is not None
    return _collect(
        x, u, ret, final, ret.monodromy, residual, normal, offset, status, h0, dt, options
    )


def _where(accept: Tensor, new: Tensor | None, old: Tensor | None) -> Tensor | None:
    if new is None or old is None:
        return None
    return torch.where(accept[..., None, None], new, old)


def _residual(ret: _Return, x: Tensor) -> Tensor:
    """|P(x) - x| (infinite where the trajectory did not return)."""
    distance = (ret.points - x).norm(dim=-1)
    return torch.where(ret.crossed & torch.isfinite(distance), distance, torch.inf)


def _collect(
    x: Tensor,
    u: Tensor,
    ret: _Return,
    final: _Return,
    monodromy: Tensor,
    residual: Tensor,
    normal: Tensor,
    offset: Tensor,
    status: np.ndarray,
    h0: Tensor,
    dt: float | None,
    options: CycleOptions,
) -> LimitCycles:
    """One entry per distinct cycle (per member), in order of residual, with its orbit and
    multipliers."""
    n_members, n_starts, n_units = x.shape
    steps = ret.steps.cpu().double().numpy()
    orbit_states = torch.stack(final.orbit, 2).cpu().double().numpy()  # [E, K, L, N]
    residuals = residual.cpu().double().numpy()
    assignment = np.full((n_members, n_starts), -1)
    kept: list[tuple[int, int]] = []
    lengths: list[int] = []
    for e in range(n_members):
        found = [k for k in np.argsort(residuals[e]) if status[e, k] == "cycle"]
        mine: list[int] = []  # indices into kept of this member's cycles
        for k in found:
            length = min(int(np.floor(steps[e, k])) + 1, orbit_states.shape[2])
            point = x[e, k].cpu().double().numpy()
            same = None
            for c in mine:
                ke, kk = kept[c]
                other = orbit_states[ke, kk, : lengths[c]]
                reach = np.linalg.norm(np.diff(other, axis=0), axis=1).max(initial=0.0)
                close = np.linalg.norm(other - point, axis=1).min() <= reach + options.tol_unique
                if close and abs(steps[e, k] - steps[ke, kk]) <= 0.01 * steps[ke, kk]:
                    same = c
                    break
            if same is None:
                same = len(kept)
                kept.append((e, k))
                lengths.append(length)
                mine.append(same)
            assignment[e, k] = same
    members = np.array([e for e, _ in kept], dtype=int)
    starts = np.array([k for _, k in kept], dtype=int)
    longest = max(lengths, default=0)
    orbits = np.full((len(kept), longest, n_units), np.nan)
    for c, ((e, k), length) in enumerate(zip(kept, lengths, strict=True)):
        orbits[c, :length] = orbit_states[e, k, :length]
    if kept:
        multipliers = _nontrivial(
            np.linalg.eigvals(monodromy.cpu().double().numpy()[members, starts])
        )
    else:
        multipliers = np.zeros((0, n_units - 1), complex)
    period_steps = steps[members, starts] if kept else np.zeros(0)
    reason = "" if kept else _why_none(status)
    return LimitCycles(
        points=x.cpu().double().numpy()[members, starts].reshape(-1, n_units),
        period_steps=period_steps,
        period=period_steps * (1.0 if dt is None else float(dt)),
        multipliers=multipliers,
        stability=_classify(multipliers, options.marginal_tol),
        member=members,
        inputs=u.cpu().double().numpy()[members, starts].reshape(len(kept), u.shape[-1]),
        residual=residuals[members, starts] if kept else np.zeros(0),
        orbits=orbits,
        orbit_length=np.array(lengths, dtype=int),
        section_normal=normal.cpu().double().numpy()[members, starts].reshape(-1, n_units),
        section_offset=offset.cpu().double().numpy()[members, starts] if kept else np.zeros(0),
        status=status.reshape(-1).astype(str),
        assignment=assignment.reshape(-1),
        initial_member=np.repeat(np.arange(n_members), n_starts),
        dt=float("nan") if dt is None else float(dt),
        reason=reason,
        options=dict(options.__dict__),
    )


def _why_none(status: np.ndarray) -> str:
    counts = {o: int(np.sum(status == o)) for o in OUTCOMES if np.any(status == o)}
    total = status.size
    if counts.get("fixed point") == total:
        return f"all {total} starts settled on fixed points"
    if counts.get("no crossing") == total:
        return f"no start's trajectory crossed its section (all {total})"
    return (
        "no start converged to a periodic orbit ("
        + ", ".join(f"{v} {k}" for k, v in counts.items())
        + ")"
    )


def _nontrivial(eigenvalues: np.ndarray) -> np.ndarray:
    """The monodromy's eigenvalues `[C, N]` without the trivial one (the closest to 1, along
    the orbit), largest modulus first: `[C, N - 1]`."""
    trivial = np.abs(eigenvalues - 1).argmin(1)
    keep = np.arange(eigenvalues.shape[1])[None] != trivial[:, None]
    rest = eigenvalues[keep].reshape(len(eigenvalues), -1)
    return np.take_along_axis(rest, np.argsort(-np.abs(rest), 1, kind="stable"), 1)


def _classify(multipliers: np.ndarray, tol: float) -> np.ndarray:
    size = np.abs(multipliers)
    out = np.full(len(multipliers), "stable", dtype=object)
    grows = (size > 1 + tol).any(1)
    shrinks_all = (size < 1 - tol).all(1)
    marginal = (np.abs(size - 1) <= tol).any(1)
    out[marginal] = "marginal"
    out[grows] = "unstable"
    out[grows & (size < 1 - tol).any(1)] = "saddle"
    out[shrinks_all] = "stable"
    return out.astype(str)


def model_limit_cycles(
    model: Network,
    initial_states: Tensor,
    inputs: Tensor,
    *,
    section: Section | None = None,
    options: CycleOptions | None = None,
    callback: Callable[[str], None] | None = None,
) -> LimitCycles:
    """`find_limit_cycles` for a neurodyn network, every member at once, noise-free, in
    float64. Periods are in steps times `dt_ms` (ms) for a CTRNN, in steps for a GRU or LSTM.

    Parameters
    ----------
    model : Network with E members
    initial_states : Tensor [K, N] (shared by all members) or [E, K, N]
    inputs : Tensor [I], [K, I] or [E, K, I]

    Returns
    -------
    LimitCycles
    """
    net = frozen_copy(model, torch.float64)
    states = initial_states.to(torch.float64)
    if states.dim() == 2:
        states = states[None].expand(model.ensemble_size, -1, -1)
    h, u, _ = batch_of_states(states, inputs.to(torch.float64))
    tangent = _ctrnn_tangent(net) if isinstance(net, CTRNN) else tangent_map(net.step)
    return _find_cycles(
        tangent,
        net.step,
        h,
        u,
        model.spec.dt_ms if model.continuous_time else None,
        section,
        options or CycleOptions(),
        callback,
    )
