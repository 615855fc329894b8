"""Fixed and slow points of a recurrent network, with their linearisation.

The method of Sussillo & Barak (2013): minimise the speed

    q(h) = 0.5 * || F(h, u) - h ||^2

over many candidate states h at once, for a constant input u. Zeros of q are fixed points;
local minima with small q are slow points. Around each point, the Jacobian `dF/dh` gives the
local linear dynamics.

How this differs from FixedPointFinder (Golub & Sussillo 2018), whose answers it reproduces:
every candidate state is optimised as one batch on the network's device, with its own
adaptive learning rate, gradient clipping and stopping rule, and without returning to NumPy
between iterations; once a state is close, Newton steps (solving with the Jacobian) take it to
machine precision in a few iterations instead of thousands of gradient steps.

Continuous-time networks. A leaky network is simulated as the Euler map
`F(h) = h + dt * f(h)` of a flow `dh/dt = f(h)`. Its fixed points are the zeros of the flow.
Pass `dt` and the result carries both the map's eigenvalues `lambda` (of `dF/dh`) and the
flow's, `(lambda - 1) / dt` (units: 1 / the unit of dt, so per ms for our CTRNN); stability is
classified on the flow (a mode is unstable when its real part is positive). Without `dt` the
network is a discrete map, and a mode is unstable when `|lambda| > 1`.

The step function. Any torch callable `F(h, u) -> h_next` works, e.g. a user's own cell, if it
maps each row of `h` on its own (rows do not mix, as in every RNN cell). Shapes: `h [K, N]`,
`u [K, I]` for one network, or `h [E, K, N]`, `u [E, K, I]` for an ensemble of E networks (as
`CTRNN.step` takes). The result's arrays are flat over members, with a `member` index.
"""

from __future__ import annotations

import copy
import dataclasses
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, overload

import numpy as np
import torch
from torch import Tensor

from neurodyn.analysis._dedup import distances_to, unique_points
from neurodyn.analysis._descent import (
    FinderProgress,
    JacobianFn,
    ProgressFn,
    SpeedGradFn,
    StepFn,
    jacobians,
)
from neurodyn.analysis._descent import speed as speed  # re-exported: q of a step function
from neurodyn.analysis._result import SavableResult
from neurodyn.analysis._search import KnownPoints, Searched, Solver, linearise, midpoint_starts
from neurodyn.analysis._search import search as solver_search
from neurodyn.analysis._stability import STABILITY, classify, eigenvectors_in_order
from neurodyn.errors import ArgumentError, ConfigError, ShapeError
from neurodyn.models import Network


@dataclass(frozen=True)
class FixedPointOptions:
    """Tolerances and optimiser settings of the finder (FixedPointFinder's names and defaults
    where it has the same setting).

    Attributes
    ----------
    tol_q : a state has converged when its q is below this
    tol_dq : ... or when q changed by less than this in one iteration (it is stuck)
    max_iters : gradient iterations at most
    lr : initial learning rate of each state (Adam)
    min_lr : a state whose rate fell below this is stuck and stops
    lr_increase, lr_decrease : a state's rate is multiplied by these after a step that
        lowered its q (accepted) / would have raised it (rejected)
    max_grad_norm : each state's gradient is clipped to this norm
    newton : refine with Levenberg-Marquardt (damped Newton) once a state's q is below
        `newton_below`; False: gradient descent on q alone (the slow-point mode)
    newton_below : q at which a state leaves gradient descent for Levenberg-Marquardt
    newton_iters : Levenberg-Marquardt iterations at most
    newton_tail : once no more than this many states (of all members) are still descending,
        they leave descent for Levenberg-Marquardt at once, whatever their q (0: never); one
        that it cannot take near a point goes back to descent. Saddle starts go to it at once.
    tol_unique : points closer than this (Euclidean) are one point
    merge : during the search, a state whose q is below `merge_below` and that lies within
        `tol_unique` of another such state with a lower q stops, merged into it
    merge_below : q under which states may be merged
    saddle_starts : after the first search, start again half-way between each pair of stable
        points found (of one member and condition), where the saddles between attractors are
    max_saddle_starts : such starts per member and condition at most (the closest pairs)
    slow_q : points with q under this are kept as slow points (fixed points need q < tol_q)
    outlier_distance_scale : points farther from the initial states' centroid than this many
        times the initial states' mean distance to it are dropped (None: keep all)
    marginal_tol : a mode whose (dt * flow) real part, or |map eigenvalue| - 1, is within this
        of zero is marginal (line and ring attractors have such modes)
    check_every : iterations between checks whether every state has finished (a device sync)
    float32_eigenvalues_from : networks of at least this many units have their points'
        eigenvalues decomposed in float32 (about half the time), and again in float64 only
        for points with a mode near a class boundary, so the classes are float64's and the
        eigenvalues good to about 1e-5; None: float64 always
    """

    tol_q: float = 1e-12
    tol_dq: float = 1e-20
    max_iters: int = 5000
    lr: float = 0.01
    min_lr: float = 1e-10
    lr_increase: float = 1.2
    lr_decrease: float = 0.5
    max_grad_norm: float = 1.0
    newton: bool = True
    newton_below: float = 1e-3
    newton_iters: int = 20
    newton_tail: int = 32
    tol_unique: float = 1e-3
    merge: bool = True
    merge_below: float = 1e-6
    saddle_starts: bool = False
    max_saddle_starts: int = 256
    slow_q: float = 1e-4
    outlier_distance_scale: float | None = 10.0
    marginal_tol: float = 1e-3
    check_every: int = 25
    float32_eigenvalues_from: int | None = 64

    def __post_init__(self) -> None:
        if self.tol_q <= 0 or self.tol_unique <= 0 or self.max_iters < 0:
            raise ConfigError("tol_q and tol_unique must be positive, max_iters non-negative")
        if self.slow_q < self.tol_q:
            raise ConfigError(f"slow_q ({self.slow_q}) must be at least tol_q ({self.tol_q})")
        if self.max_saddle_starts < 1:
            raise ConfigError(f"max_saddle_starts must be at least 1, got {self.max_saddle_starts}")


@dataclass(frozen=True)
class StepFunctions:
    """Companions of the step function `F(h, u)` that make the finder faster or more precise.

    Each takes the same shapes as the step function (`h [K, N]`, `u [K, I]`, or with a
    leading ensemble axis E); any left out is done without.

    Attributes
    ----------
    jacobian : J(h, u) -> Tensor [..., K, N, N], optional
        dF/dh in closed form (e.g. `CTRNN.step_jacobian`); by default automatic
        differentiation (`jacobians`).
    speed_and_gradient : u -> (h -> (q [..., K], dq/dh [..., K, N])), optional
        q and its gradient in closed form for the constant inputs `u` of a batch of states
        (e.g. `CTRNN.speed_and_gradient`), used by gradient descent in the initial states'
        dtype instead of automatic differentiation.
    float64_step, float64_jacobian : optional
        The same step function (and Jacobian) in float64. Gradient descent then runs in the
        initial states' dtype (fast, e.g. float32) and Newton refinement, q and the
        linearisation in float64, so points are located to ~1e-12 even when float32 could
        not separate copies of one point from each other.
    """

    jacobian: JacobianFn | None = None
    speed_and_gradient: SpeedGradFn | None = None
    float64_step: StepFn | None = None
    float64_jacobian: JacobianFn | None = None


def _step_functions_from_keywords(
    step_functions: StepFunctions | None,
    *,
    caller: str,
    jacobian_fn: JacobianFn | None = None,
    float64_step_fn: StepFn | None = None,
    float64_jacobian_fn: JacobianFn | None = None,
    speed_grad_fn: SpeedGradFn | None = None,
) -> StepFunctions:
    """`step_functions`, or one made from the deprecated keywords (with a DeprecationWarning)."""
    old = {
        "jacobian_fn": jacobian_fn,
        "float64_step_fn": float64_step_fn,
        "float64_jacobian_fn": float64_jacobian_fn,
        "speed_grad_fn": speed_grad_fn,
    }
    given = [name for name, value in old.items() if value is not None]
    if not given:
        return step_functions or StepFunctions()
    if step_functions is not None:
        raise ConfigError(
            f"{caller}: pass step_functions= or the deprecated {', '.join(given)}, not both"
        )
    warnings.warn(
        f"{caller}({'=, '.join(given)}=) is deprecated and will be removed; pass "
        "step_functions=StepFunctions(jacobian=, speed_and_gradient=, float64_step=, "
        "float64_jacobian=) instead",
        DeprecationWarning,
        stacklevel=3,
    )
    return StepFunctions(
        jacobian=jacobian_fn,
        speed_and_gradient=speed_grad_fn,
        float64_step=float64_step_fn,
        float64_jacobian=float64_jacobian_fn,
    )


class _LazyEigenvectors:
    """The `eigenvectors` field of `FixedPoints`: given (an array), or None, and then computed
    from the result's `jacobians` when first read, in the order of its `eigenvalues`."""

    @overload
    def __get__(self, obj: None, owner: type) -> None: ...
    @overload
    def __get__(self, obj: FixedPoints, owner: type) -> np.ndarray: ...
    def __get__(self, obj: FixedPoints | None, owner: type) -> np.ndarray | None:
        if obj is None:
            return None  # the field's default: compute when read
        vectors = obj.__dict__.get("_eigenvectors")
        if vectors is None:
            if len(obj.jacobians) != len(obj.eigenvalues):
                raise ConfigError(
                    "these fixed points carry neither eigenvectors nor Jacobians: "
                    "find them again to have their eigenvectors"
                )
            vectors = eigenvectors_in_order(obj.jacobians, obj.eigenvalues)
            obj.__dict__["_eigenvectors"] = vectors
        return vectors

    def __set__(self, obj: FixedPoints, value: np.ndarray | None) -> None:
        obj.__dict__["_eigenvectors"] = value


# per-point fields besides the Jacobians and eigenvectors (whose presence varies)
_PER_POINT = (
    "states",
    "inputs",
    "member",
    "condition",
    "q",
    "is_fixed",
    "eigenvalues",
    "flow_eigenvalues",
    "stability",
    "n_unstable",
    "n_marginal",
)


@dataclass(frozen=True)
class FixedPoints(SavableResult):
    """Unique fixed and slow points with their linearisation.

    M points over all members and conditions; K initial states.

    Attributes
    ----------
    states : [M, N]            the points
    inputs : [M, I]            the constant input each was found for
    member : [M]               ensemble member (0 for a single network)
    condition : [M]            index of the input condition (see `find_fixed_points`)
    q : [M]                    speed 0.5 ||F(h, u) - h||^2
    is_fixed : [M]             q < tol_q (the others are slow points, q < slow_q)
    eigenvalues : [M, N]       of the map's Jacobian dF/dh, sorted most unstable first
    flow_eigenvalues : [M, N]  (eigenvalues - 1) / dt for a continuous-time network, else NaN
    stability : [M]            'stable', 'saddle', 'unstable' or 'marginal'
    n_unstable : [M]           number of unstable modes
    n_marginal : [M]           number of modes within marginal_tol of the boundary
    initial_states : [K, N]    where the optimisation started (the starts given, then any
                               saddle-targeting starts)
    initial_member : [K]
    initial_condition : [K]
    final_states : [K, N]      where each initial state ended (a copy merged into another
                               state during the search: where that state ended)
    final_q : [K]
    assignment : [K]           index of the point each initial state ended at (-1: none)
    n_iters : [K]              gradient iterations each state ran
    dt : float                 NaN for a discrete-time map
    options : dict             the FixedPointOptions used
    start_kind : [K]           'initial' (a start given) or 'midpoint' (half-way between two
                               stable points); empty in results saved before it existed
    jacobians : [M, N, N]      the map's Jacobian dF/dh at each point (float64); empty in
                               results saved before it existed
    eigenvectors : [M, N, N]   columns, in the order of `eigenvalues`. Computed from
                               `jacobians` when first read (the search needs only eigenvalues,
                               and the vectors cost as much again); a saved result stores them
                               only if they were read before saving
    """

    states: np.ndarray
    inputs: np.ndarray
    member: np.ndarray
    condition: np.ndarray
    q: np.ndarray
    is_fixed: np.ndarray
    eigenvalues: np.ndarray
    flow_eigenvalues: np.ndarray
    stability: np.ndarray
    n_unstable: np.ndarray
    n_marginal: np.ndarray
    initial_states: np.ndarray
    initial_member: np.ndarray
    initial_condition: np.ndarray
    final_states: np.ndarray
    final_q: np.ndarray
    assignment: np.ndarray
    n_iters: np.ndarray
    dt: float
    options: dict[str, Any] = field(default_factory=dict)
    start_kind: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype="<U8"))
    jacobians: np.ndarray = field(default_factory=lambda: np.zeros((0, 0, 0)))
    eigenvectors: _LazyEigenvectors = _LazyEigenvectors()

    def _field_value(self, name: str) -> Any:
        # saving does not compute the eigenvectors: None loads back as "compute when read"
        if name == "eigenvectors":
            return self.__dict__.get("_eigenvectors")
        return super()._field_value(name)

    def __len__(self) -> int:
        return len(self.states)

    @property
    def continuous_time(self) -> bool:
        return not np.isnan(self.dt)

    def select(self, mask: np.ndarray) -> np.ndarray:
        """Indices of the points where `mask` holds (a convenience for `np.flatnonzero`)."""
        return np.flatnonzero(mask)

    def count(self, member: int | None = None) -> dict[str, int]:
        """Number of points per stability class (and of slow points) for one member or all."""
        keep = np.ones(len(self), bool) if member is None else self.member == member
        counts = {s: int(np.sum(keep & self.is_fixed & (self.stability == s))) for s in STABILITY}
        counts["slow"] = int(np.sum(keep & ~self.is_fixed))
        return counts

    def points_by_start(self) -> dict[str, int]:
        """Number of distinct points reached from each kind of start (`start_kind`): a point
        reached from starts of both kinds counts for both."""
        kinds = (
            self.start_kind if len(self.start_kind) else np.full(len(self.assignment), "initial")
        )
        return {
            str(kind): len(np.unique(self.assignment[(kinds == kind) & (self.assignment >= 0)]))
            for kind in dict.fromkeys(kinds.tolist())
        }

    def _summary(self) -> list[tuple[str, str]]:
        # what a reader wants first: how many points of each kind
        counts = ", ".join(f"{v} {k}" for k, v in self.count().items() if v) or "none"
        summary = [("points", f"{len(self)} ({counts})")]
        by_start = self.points_by_start()
        if len(by_start) > 1:
            summary.append(("by start", ", ".join(f"{v} {k}" for k, v in by_start.items())))
        fields = [
            (name, "computed when read" if name == "eigenvectors" and text == "None" else text)
            for name, text in super()._summary()
        ]
        return [*summary, *fields]

    def take(self, index: np.ndarray) -> FixedPoints:
        """The points at `index` (an index array or boolean mask over the M points), with
        their linearisation; the initial states keep their `assignment` into this result
        (-1 for those whose point is left out)."""
        index = np.arange(len(self))[index]
        new_index = np.full(len(self) + 1, -1)
        new_index[index] = np.arange(len(index))
        per_point = {name: getattr(self, name)[index] for name in _PER_POINT}
        computed = self.__dict__.get("_eigenvectors")
        return dataclasses.replace(
            self,
            **per_point,
            jacobians=self.jacobians[index] if len(self.jacobians) else self.jacobians,
            eigenvectors=None if computed is None else computed[index],
            assignment=new_index[self.assignment],  # -1 stays -1 (the extra last slot)
        )

    def unstable_modes(self, index: int) -> np.ndarray:
        """Real parts of the unstable eigenvectors of point `index`: `[N, n_unstable]`."""
        return self.eigenvectors[index][:, : self.n_unstable[index]].real


# -- the finder ------------------------------------------------------------------------------


def find_fixed_points(
    step_fn: StepFn,
    initial_states: Tensor,
    inputs: Tensor,
    *,
    dt: float | None = None,
    condition: Tensor | None = None,
    options: FixedPointOptions | None = None,
    step_functions: StepFunctions | None = None,
    jacobian_fn: JacobianFn | None = None,
    float64_step_fn: StepFn | None = None,
    float64_jacobian_fn: JacobianFn | None = None,
    speed_grad_fn: SpeedGradFn | None = None,
    callback: ProgressFn | None = None,
) -> FixedPoints:
    """Find the fixed and slow points of `step_fn` from many initial states at once.

    Parameters
    ----------
    step_fn : F(h, u) -> h_next
        Maps each row of h on its own. For an ensemble, takes `h [E, K, N]`, `u [E, K, I]`.
    initial_states : Tensor [K, N], or [E, K, N] for an ensemble
    inputs : Tensor [I], [K, I], or [E, K, I]
        The constant input for each initial state (one shared input, or one per state, e.g.
        several input conditions in one call).
    dt : float, optional
        Step of the Euler map of a continuous-time network (`dt_ms` for a CTRNN): stability is
        then classified on the flow's eigenvalues `(lambda - 1) / dt`.
    condition : Tensor [K], optional
        Condition label of each initial state; points are de-duplicated per member and
        condition, and carry the label.
    options : FixedPointOptions
    step_functions : StepFunctions, optional
        The step function's Jacobian and speed gradient in closed form, and float64 twins
        for Newton refinement and the linearisation.
    jacobian_fn, float64_step_fn, float64_jacobian_fn, speed_grad_fn : deprecated
        The fields of `step_functions` (`jacobian`, `float64_step`, `float64_jacobian`,
        `speed_and_gradient`) as separate keywords.
    callback : FinderProgress -> None, optional
        Called every `options.check_every` iterations with the states converged so far, and
        once at the end with the number of distinct points (to show progress; the finder
        itself prints nothing).

    Returns
    -------
    FixedPoints

    Example
    -------
    >>> a = torch.tensor([[0.5, 0.2], [0.0, 0.8]], dtype=torch.float64)
    >>> starts = torch.randn(8, 2, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    >>> fps = find_fixed_points(lambda h, u: h @ a.T + u, starts,
    ...                         torch.tensor([1.0, 1.0], dtype=torch.float64))
    >>> np.round(fps.states, 6).tolist(), fps.stability.tolist()
    ([[4.0, 5.0]], ['stable'])

    Reference: Sussillo & Barak (2013), Neural Computation 25(3); Golub & Sussillo (2018), JOSS.
    """
    options = options or FixedPointOptions()
    functions = _step_functions_from_keywords(
        step_functions,
        caller="find_fixed_points",
        jacobian_fn=jacobian_fn,
        float64_step_fn=float64_step_fn,
        float64_jacobian_fn=float64_jacobian_fn,
        speed_grad_fn=speed_grad_fn,
    )
    jacobian_fn, speed_grad_fn = functions.jacobian, functions.speed_and_gradient
    float64_step_fn, float64_jacobian_fn = functions.float64_step, functions.float64_jacobian
    ensemble = initial_states.dim() == 3
    if initial_states.dim() not in (2, 3):
        raise ShapeError(
            f"initial_states must be [K, N] or [E, K, N], got {tuple(initial_states.shape)}"
        )
    h0 = initial_states.detach().clone()
    if not ensemble:
        h0 = h0[None]
    n_members, n_init, _ = h0.shape
    u = inputs.detach().to(h0.dtype)
    if u.dim() == 1:
        u = u.expand(n_members, n_init, -1)
    elif u.dim() == 2:
        if u.shape[0] != n_init:
            raise ShapeError(f"inputs [K, I] must have K = {n_init} rows, got {tuple(u.shape)}")
        u = u.expand(n_members, -1, -1)
    elif u.dim() != 3 or u.shape[:2] != (n_members, n_init):
        raise ShapeError(f"inputs must be [I], [K, I] or [E, K, I], got {tuple(inputs.shape)}")
    u = u.contiguous()
    cond = (
        torch.zeros(n_init, dtype=torch.long)
        if condition is None
        else condition.detach().cpu().long()
    )
    if tuple(cond.shape) != (n_init,):
        raise ShapeError(f"condition must be [K] = ({n_init},), got {tuple(cond.shape)}")

    fn = _with_ensemble_axis(step_fn, ensemble)
    jac_fn = (
        _with_ensemble_axis(jacobian_fn, ensemble)
        if jacobian_fn is not None
        else lambda h, x: jacobians(fn, h, x)
    )
    if float64_step_fn is not None:
        fine_fn = _with_ensemble_axis(float64_step_fn, ensemble)
        fine_jac = (
            _with_ensemble_axis(float64_jacobian_fn, ensemble)
            if float64_jacobian_fn is not None
            else lambda h, x: jacobians(fine_fn, h, x)
        )
    else:
        fine_fn, fine_jac = fn, jac_fn
    fine_dtype = torch.float64 if float64_step_fn is not None else h0.dtype
    fast_grad = (
        None if speed_grad_fn is None else _speed_grad_with_ensemble_axis(speed_grad_fn, ensemble)
    )
    fine_grad = fast_grad if float64_step_fn is None else None

    solver = Solver(
        step=fn,
        jacobian=jac_fn,
        speed_grad=fast_grad,
        fine_step=fine_fn,
        fine_jacobian=fine_jac,
        fine_speed_grad=fine_grad,
        fine_dtype=fine_dtype,
        options=options,
        callback=callback,
    )
    found = _find(solver, h0, u, cond, dt)
    if callback is not None:
        total = n_members * n_init
        callback(FinderProgress("found", 0, total, total, points=len(found)))
    return found


def _speed_grad_with_ensemble_axis(fn: SpeedGradFn, ensemble: bool) -> SpeedGradFn:
    """`fn` taking `[E, K, ...]`: as it is for an ensemble, else applied to member 0."""
    if ensemble:
        return fn

    def for_inputs(u: Tensor) -> Callable[[Tensor], tuple[Tensor, Tensor]]:
        inner = fn(u[0])

        def speed_grad(h: Tensor) -> tuple[Tensor, Tensor]:
            q, grad = inner(h[0])
            return q[None], grad[None]

        return speed_grad

    return for_inputs


def _with_ensemble_axis(fn: Callable[[Tensor, Tensor], Tensor], ensemble: bool) -> StepFn:
    """`fn` taking `[E, K, ...]`: as it is for an ensemble, else applied to member 0."""
    if ensemble:
        return fn
    return lambda h, x: fn(h[0], x[0])[None]


@dataclass
class _Points:
    """The distinct points found so far (NumPy, M points), and every start with its end."""

    states: np.ndarray  # [M, N]
    inputs: np.ndarray  # [M, I]
    member: np.ndarray  # [M]
    condition: np.ndarray  # [M]
    q: np.ndarray  # [M]
    eigenvalues: np.ndarray  # [M, N]
    jacobians: np.ndarray  # [M, N, N]
    starts: list[dict[str, np.ndarray]]  # per batch of starts: the per-start arrays

    def add_batch(
        self,
        found: Searched,
        h0: Tensor,
        cond: Tensor,
        assignment: np.ndarray,
        valid: Tensor,
        kind: str,
    ) -> None:
        """Record a batch of starts `[E, K]` (those where `valid`) and where each ended."""
        n_members, n_init, n_units = h0.shape
        root = found.leader
        rows = torch.arange(n_members, device=root.device)[:, None]
        final, final_q = found.states[rows, root], found.q[rows, root]
        flat = valid.reshape(-1).cpu().numpy()
        member = np.repeat(np.arange(n_members), n_init)
        self.starts.append(
            {
                "initial_states": h0.reshape(-1, n_units).cpu().numpy()[flat],
                "initial_member": member[flat],
                "initial_condition": cond.reshape(-1).cpu().numpy()[flat],
                "final_states": final.reshape(-1, n_units).cpu().numpy()[flat],
                "final_q": final_q.reshape(-1).cpu().numpy()[flat],
                # a merged copy ended at the point its leader ended at
                "assignment": np.take_along_axis(assignment, root.cpu().numpy(), 1).reshape(-1)[
                    flat
                ],
                "n_iters": found.iters.reshape(-1).cpu().numpy()[flat],
                "start_kind": np.full(int(flat.sum()), kind),
            }
        )


def _keepable(found: Searched, h0: Tensor, options: FixedPointOptions) -> Tensor:
    """States `[E, K]` that may be points: leaders, finite, slow enough, not outliers (far
    from the centroid of the starts `h0` given by the user)."""
    h, q = found.states, found.q
    rows = torch.arange(h.shape[1], device=h.device).expand(h.shape[0], -1)
    keep = (found.leader == rows) & torch.isfinite(q) & torch.isfinite(h).all(-1)
    keep &= q < options.slow_q
    if options.outlier_distance_scale is not None:
        start = h0.to(h.dtype)
        centroid = start.mean(1, keepdim=True)
        spread = (start - centroid).norm(dim=-1).mean(1, keepdim=True)
        keep &= (h - centroid).norm(dim=-1) <= options.outlier_distance_scale * spread
    return keep


def _find(solver: Solver, h0: Tensor, u: Tensor, cond: Tensor, dt: float | None) -> FixedPoints:
    """Search from the starts `h0 [E, K, N]`, then (with `saddle_starts`) from midpoints
    between the stable points found; de-duplicate, linearise each distinct point once, and
    classify."""
    options = solver.options
    n_members, _, n_units = h0.shape
    group = cond.to(h0.device)[None].expand(n_members, -1)
    # the points located by the first search are known to the second (the midpoint starts')
    known = KnownPoints(solver, n_members)
    found = solver_search(solver, h0, u, group, known=known)
    u_fine = u.to(solver.fine_dtype)
    assignment, chosen = unique_points(
        found.states, found.q, _keepable(found, h0, options), cond, options.tol_unique
    )
    members = np.array([e for e, _ in chosen], dtype=np.int64)
    index = np.array([k for _, k in chosen], dtype=np.int64)
    jacobians, eigenvalues = linearise(
        solver.fine_jacobian, found.states, u_fine, chosen, dt=dt, options=options
    )
    points = _Points(
        states=found.states.cpu().numpy()[members, index].reshape(-1, n_units),
        inputs=u_fine.cpu().numpy()[members, index].reshape(len(chosen), u.shape[-1]),
        member=members,
        condition=cond.numpy()[index],
        q=found.q.cpu().numpy()[members, index],
        eigenvalues=eigenvalues,
        jacobians=jacobians,
        starts=[],
    )
    points.add_batch(
        found, h0, group, assignment, torch.ones_like(group, dtype=torch.bool), "initial"
    )
    if options.saddle_starts:
        _search_from_midpoints(solver, points, h0, dt, known)
    linear = classify(points.eigenvalues, None, dt, options.marginal_tol)
    starts = {name: np.concatenate([b[name] for b in points.starts]) for name in points.starts[0]}
    return FixedPoints(
        states=points.states,
        inputs=points.inputs,
        member=points.member,
        condition=points.condition,
        q=points.q,
        is_fixed=points.q < options.tol_q,
        eigenvalues=linear.eigenvalues,
        flow_eigenvalues=linear.flow_eigenvalues,
        stability=linear.stability,
        n_unstable=linear.n_unstable,
        n_marginal=linear.n_marginal,
        dt=float("nan") if dt is None else float(dt),
        options=dict(options.__dict__),
        jacobians=points.jacobians,
        eigenvectors=None,
        **starts,
    )


def _search_from_midpoints(
    solver: Solver, points: _Points, h0: Tensor, dt: float | None, known: KnownPoints
) -> None:
    """Search again from half-way between each pair of stable points (states reaching a point
    `known` from the first search stop there); add the points not found before to `points`
    (linearising only those)."""
    options = solver.options
    n_members = h0.shape[0]
    stable = classify(points.eigenvalues, None, dt, options.marginal_tol).stability
    mids, mid_inputs, mid_cond, valid_np = midpoint_starts(
        points.states,
        points.inputs,
        points.member,
        points.condition,
        (stable == "stable") & (points.q < options.tol_q),
        n_members,
        options.max_saddle_starts,
    )
    if not valid_np.any():
        return
    as_tensor = lambda x, dtype: torch.as_tensor(x, dtype=dtype, device=h0.device)  # noqa: E731
    starts, valid = as_tensor(mids, h0.dtype), as_tensor(valid_np, torch.bool)
    group = as_tensor(mid_cond, torch.long)
    u = as_tensor(mid_inputs, h0.dtype)
    # aimed at saddles, where descent on q is slowest: Levenberg-Marquardt from the start
    found = solver_search(
        solver, starts, u, group, stage="saddle starts: ", direct=True, known=known
    )
    local, chosen = unique_points(
        found.states, found.q, _keepable(found, h0, options) & valid, group, options.tol_unique
    )
    n_known = len(points.states)
    mapping = np.full(len(chosen) + 1, -1)  # local point -> point index (-1 stays -1)
    new: list[tuple[int, int]] = []
    states_np = found.states.cpu().numpy()
    for j, (e, k) in enumerate(chosen):
        same = np.flatnonzero((points.member == e) & (points.condition == mid_cond[e, k]))
        distance = distances_to(points.states[same], states_np[e, k])
        if len(same) and distance.min() < options.tol_unique:
            mapping[j] = same[int(np.argmin(distance))]
        else:
            mapping[j] = n_known + len(new)
            new.append((e, k))
    if new:
        u_fine = u.to(solver.fine_dtype)
        jacobians, eigenvalues = linearise(
            solver.fine_jacobian, found.states, u_fine, new, dt=dt, options=options
        )
        members = np.array([e for e, _ in new], dtype=np.int64)
        index = np.array([k for _, k in new], dtype=np.int64)
        points.states = np.concatenate([points.states, states_np[members, index]])
        points.inputs = np.concatenate([points.inputs, u_fine.cpu().numpy()[members, index]])
        points.member = np.concatenate([points.member, members])
        points.condition = np.concatenate([points.condition, mid_cond[members, index]])
        points.q = np.concatenate([points.q, found.q.cpu().numpy()[members, index]])
        points.eigenvalues = np.concatenate([points.eigenvalues, eigenvalues])
        points.jacobians = np.concatenate([points.jacobians, jacobians])
    points.add_batch(found, starts, group, mapping[local], valid, "midpoint")


def model_fixed_points(
    model: Network,
    initial_states: Tensor,
    inputs: Tensor,
    *,
    condition: Tensor | None = None,
    options: FixedPointOptions | None = None,
    descent_dtype: torch.dtype = torch.float32,
    callback: ProgressFn | None = None,
) -> FixedPoints:
    """`find_fixed_points` for a neurodyn network (all its ensemble members at once).

    Noise-free copies of the network do the work: gradient descent in `descent_dtype`
    (float32: fast), Newton refinement and linearisation in float64 (points to ~1e-12,
    q ~ 1e-25), with the Jacobian in closed form. Stability is classified on the flow
    (`dt = spec.dt_ms`, flow eigenvalues per ms).

    Parameters
    ----------
    model : Network with E members
    initial_states : Tensor [K, N] (shared by all members) or [E, K, N]
    inputs : Tensor [I], [K, I] or [E, K, I]

    Returns
    -------
    FixedPoints
        The points of every member, `states: [M, N]` with `member: [M]` naming each one's
        network.
    """
    fast = frozen_copy(model, descent_dtype)
    fine = frozen_copy(model, torch.float64)
    states = initial_states.to(descent_dtype)
    if states.dim() == 2:
        states = states[None].expand(model.ensemble_size, -1, -1)
    return find_fixed_points(
        fast.step,
        states,
        inputs.to(descent_dtype),
        # continuous-time networks are classified on the flow, gated cells on the map
        dt=model.spec.dt_ms if model.continuous_time else None,
        condition=condition,
        options=options,
        step_functions=StepFunctions(
            jacobian=fast.step_jacobian,
            speed_and_gradient=getattr(fast, "speed_and_gradient", None),
            float64_step=fine.step,
            float64_jacobian=fine.step_jacobian,
        ),
        callback=callback,
    )


def refuse_spiking(model: Network, analysis: str) -> None:
    """Refuse `analysis`, one that follows the step function `F(h, u)`, for a spiking network.

    A spiking step is a map with a threshold: piecewise constant in the potentials, with no
    fixed points of its full state under a drive that makes neurons fire, and a derivative
    that is zero almost everywhere. The analyses of states take its filtered spike trains
    instead (`model.activity`).

    Parameters
    ----------
    model : Network
    analysis : str
        What was asked for, as the message names it ("fixed points", "Lyapunov spectra").

    Returns
    -------
    None
        For a rate network, which every analysis of the step function takes.

    Raises
    ------
    ArgumentError
        For a spiking cell (`model.spiking`), naming the analysis and what does apply.

    Example
    -------
    >>> from neurodyn.models import NetworkSpec, build_model
    >>> net = build_model(NetworkSpec(n_inputs=1, n_hidden=4, n_outputs=1, cell="lif"))
    >>> refuse_spiking(net, "Lyapunov spectra")
    Traceback (most recent call last):
    ...
    neurodyn.errors.ArgumentError: Lyapunov spectra do not apply to the spiking cell 'lif' (its step is a map with a threshold); PCA, task variance and compare read its filtered spike trains, `neurodyn fixedpoints` finds its rate equivalent's fixed points
    """
    if getattr(model, "spiking", False):
        raise ArgumentError(
            f"{analysis} do not apply to the spiking cell {model.spec.cell!r} (its step is a "
            "map with a threshold); PCA, task variance and compare read its filtered spike "
            "trains, `neurodyn fixedpoints` finds its rate equivalent's fixed points"
        )


def frozen_copy(model: Network, dtype: torch.dtype) -> Network:
    """A copy of `model` in `dtype` with gradients switched off, for the analyses of its step
    function (which refuse a spiking network: `refuse_spiking`)."""
    refuse_spiking(model, "analyses of the step function (fixed points, cycles, Lyapunov spectra)")
    net = copy.deepcopy(model).to(dtype)
    for p in net.parameters():
        p.requires_grad_(False)
    return net
