"""Following fixed points as something changes: an input interpolated between two rules
(Driscoll, Shenoy & Sussillo 2024), or the weights during training (Turner & Barak 2023).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from torch import Tensor

from neurodyn.analysis._result import SavableResult
from neurodyn.analysis.fixed_points import (
    STABILITY,
    FixedPointOptions,
    FixedPoints,
    JacobianFn,
    StepFn,
    StepFunctions,
    _step_functions_from_keywords,
    find_fixed_points,
)
from neurodyn.analysis.task_geometry import count_outliers
from neurodyn.errors import ShapeError


@dataclass(frozen=True)
class FixedPointContinuation(SavableResult):
    """Fixed points along `u(alpha) = (1 - alpha) u_A + alpha u_B`.

    P points over all alphas.

    Attributes
    ----------
    alphas : [A]
    states : [P, N]
    alpha_index : [P]       which alpha each point belongs to
    q : [P]
    stability : [P]         'stable', 'saddle', 'unstable', 'marginal'
    n_unstable : [P]
    growth : [P]            largest dt * Re(flow eigenvalue) (flow) or |lambda| - 1 (map):
                            negative for a stable point, crosses 0 at a bifurcation
    parent : [P]            the point at the previous alpha it continues (-1: new); points
                            are linked when each is the other's nearest
    input_a, input_b : [I]
    events : list of {"alpha", "kind", "point", ...}, kind one of 'appears' (a point with no
        predecessor), 'vanishes' (a point whose continuation found nothing), 'merges' (two
        points continued into one), 'stability' (a continued point changed class). An event
        is reported at the first alpha of the grid past it.
    """

    alphas: np.ndarray
    states: np.ndarray
    alpha_index: np.ndarray
    q: np.ndarray
    stability: np.ndarray
    n_unstable: np.ndarray
    growth: np.ndarray
    parent: np.ndarray
    input_a: np.ndarray
    input_b: np.ndarray
    events: list[dict[str, Any]] = field(default_factory=list)

    def at(self, alpha_index: int) -> np.ndarray:
        """Indices of the points at one alpha."""
        return np.flatnonzero(self.alpha_index == alpha_index)

    def counts(self) -> dict[str, np.ndarray]:
        """Number of points per stability class at each alpha: `{class: [A]}`."""
        return {
            s: np.array(
                [
                    np.sum((self.alpha_index == a) & (self.stability == s))
                    for a in range(len(self.alphas))
                ]
            )
            for s in STABILITY
        }


def continue_fixed_points(
    step_fn: StepFn,
    input_a: Tensor,
    input_b: Tensor,
    initial_states: Tensor,
    *,
    alphas: Sequence[float] | np.ndarray | None = None,
    dt: float | None = None,
    fresh_starts: bool = True,
    options: FixedPointOptions | None = None,
    step_functions: StepFunctions | None = None,
    jacobian_fn: JacobianFn | None = None,
    float64_step_fn: StepFn | None = None,
    float64_jacobian_fn: JacobianFn | None = None,
    callback: Callable[[float, FixedPoints], None] | None = None,
) -> FixedPointContinuation:
    """Fixed points of one network along a straight line of constant inputs from `input_a`
    to `input_b`, each alpha warm-started from the points of the previous one.

    Parameters
    ----------
    step_fn : F(h, u) -> h_next on `h [K, N]`, `u [K, I]` (one network)
    input_a, input_b : Tensor [I]
    initial_states : Tensor [K, N]
        Starts at the first alpha (and, with `fresh_starts`, again at every alpha so that
        points that appear are found).
    alphas : the grid, default 21 values from 0 to 1
    dt, options, step_functions : as `find_fixed_points`
    jacobian_fn, float64_step_fn, float64_jacobian_fn : deprecated
        As `find_fixed_points`'s (the fields of `step_functions`).
    callback : (alpha, fixed points found there) -> None, optional
        Called after each alpha (to show progress; nothing is printed here)

    Returns
    -------
    FixedPointContinuation

    Example
    -------
    A pitchfork: dx/dt = a x - x^3 with a = 2 alpha - 1; one stable point below alpha 0.5;
    above it the origin is unstable (a repeller in 1-D) between two stable points.

    >>> def step(h, u):
    ...     return h + 0.1 * (u * h - h**3)
    >>> starts = torch.linspace(-2, 2, 41, dtype=torch.float64)[:, None]
    >>> cont = continue_fixed_points(step, torch.tensor([-1.0], dtype=torch.float64),
    ...     torch.tensor([1.0], dtype=torch.float64), starts, alphas=[0.0, 0.25, 0.75, 1.0],
    ...     dt=0.1)
    >>> cont.counts()["stable"].tolist(), cont.counts()["unstable"].tolist()
    ([1, 1, 2, 2], [0, 0, 1, 1])
    >>> sorted({e["kind"] for e in cont.events})
    ['appears', 'stability']
    """
    if initial_states.dim() != 2:
        raise ShapeError(f"initial_states must be [K, N], got {tuple(initial_states.shape)}")
    grid = np.linspace(0.0, 1.0, 21) if alphas is None else np.asarray(alphas, dtype=float)
    ua, ub = input_a.detach(), input_b.detach()
    functions = _step_functions_from_keywords(
        step_functions,
        caller="continue_fixed_points",
        jacobian_fn=jacobian_fn,
        float64_step_fn=float64_step_fn,
        float64_jacobian_fn=float64_jacobian_fn,
    )
    kwargs = dict(dt=dt, options=options, step_functions=functions)
    states: list[np.ndarray] = []
    stability: list[str] = []
    alpha_index: list[int] = []
    n_unstable: list[int] = []
    parent: list[int] = []
    q: list[float] = []
    growth: list[float] = []
    events: list[dict[str, Any]] = []
    previous: FixedPoints | None = None
    offset_prev = 0  # index of the previous alpha's first point in the flat arrays
    for a, alpha in enumerate(grid):
        u = torch.lerp(ua, ub, float(alpha))
        n_warm = 0 if previous is None else len(previous)
        if previous is None:
            starts = initial_states
        else:
            warm = torch.as_tensor(previous.states, dtype=initial_states.dtype)
            starts = torch.cat([warm, initial_states]) if fresh_starts else warm
        # Only fixed points are continued: slow points along the way are transient.
        found = only_fixed(find_fixed_points(step_fn, starts, u, **kwargs))  # type: ignore[arg-type]
        if callback is not None:
            callback(float(alpha), found)
        offset = len(states)
        point_parent = np.full(len(found), -1)
        if previous is not None:
            links = _mutual_nearest(previous.states, found.states)
            for j in range(n_warm):
                k = links.get(j, -1)
                if k >= 0:
                    point_parent[k] = offset_prev + j
                elif found.assignment[j] >= 0:
                    events.append(
                        {
                            "alpha": float(alpha),
                            "kind": "merges",
                            "point": offset + int(found.assignment[j]),
                            "from": offset_prev + j,
                        }
                    )
                else:
                    events.append(
                        {"alpha": float(alpha), "kind": "vanishes", "point": offset_prev + j}
                    )
        for k in range(len(found)):
            if previous is not None and point_parent[k] < 0:
                events.append({"alpha": float(alpha), "kind": "appears", "point": offset + k})
            elif point_parent[k] >= 0:
                before = stability[point_parent[k]]
                if before != found.stability[k]:
                    events.append(
                        {
                            "alpha": float(alpha),
                            "kind": "stability",
                            "point": offset + k,
                            "from": str(before),
                            "to": str(found.stability[k]),
                        }
                    )
        continuous = found.continuous_time
        for k in range(len(found)):
            lam = found.eigenvalues[k]
            states.append(found.states[k])
            alpha_index.append(a)
            q.append(found.q[k])
            stability.append(str(found.stability[k]))
            n_unstable.append(int(found.n_unstable[k]))
            growth.append(float((lam.real - 1).max() if continuous else (np.abs(lam) - 1).max()))
            parent.append(int(point_parent[k]))
        previous, offset_prev = found, offset
    n_units = initial_states.shape[1]
    return FixedPointContinuation(
        alphas=grid,
        states=np.array(states).reshape(-1, n_units),
        alpha_index=np.array(alpha_index, dtype=int),
        q=np.array(q, dtype=float),
        stability=np.array(stability, dtype=str),
        n_unstable=np.array(n_unstable, dtype=int),
        growth=np.array(growth, dtype=float),
        parent=np.array(parent, dtype=int),
        input_a=ua.cpu().numpy(),
        input_b=ub.cpu().numpy(),
        events=events,
    )


def only_fixed(points: FixedPoints) -> FixedPoints:
    """`points` without its slow points (initial states that ended at one get -1)."""
    return points.take(points.is_fixed)


def _mutual_nearest(before: np.ndarray, after: np.ndarray) -> dict[int, int]:
    """Pairs (i, j) where after[j] is the nearest to before[i] and before[i] the nearest to
    after[j]. A warm start is not enough to link points: near a bifurcation a branch moves
    fast and its warm start can descend onto a neighbouring branch."""
    if len(before) == 0 or len(after) == 0:
        return {}
    dist = np.linalg.norm(before[:, None] - after[None], axis=-1)
    forward, backward = dist.argmin(1), dist.argmin(0)
    return {i: int(forward[i]) for i in range(len(before)) if backward[forward[i]] == i}


@dataclass(frozen=True)
class FixedPointsAcrossTraining(SavableResult):
    """How the fixed points of a network change as it learns.

    Attributes
    ----------
    steps : [S]                 training steps of the kept weights
    counts : {class: [S]}       number of fixed points per stability class ('stable',
                                'saddle', 'unstable', 'marginal') and of slow points ('slow')
    n_outside_unit_circle : [S] eigenvalues of W_rec with modulus above 1
    spectral_radius : [S]       largest |eigenvalue| of W_rec
    """

    steps: np.ndarray
    counts: dict[str, np.ndarray]
    n_outside_unit_circle: np.ndarray
    spectral_radius: np.ndarray


def summarise_across_training(
    steps: Sequence[int],
    fixed_points: Sequence[FixedPoints],
    recurrent_weights: Sequence[Tensor | None],
) -> FixedPointsAcrossTraining:
    """Collect per-checkpoint fixed points and `W_rec [N, N]` into one result. A weight of
    None (a gated cell, whose recurrent weights are not one square matrix) gives -1 outside
    the unit circle and a NaN radius."""
    if not len(steps) == len(fixed_points) == len(recurrent_weights):
        raise ShapeError("steps, fixed_points and recurrent_weights must have the same length")
    per_step = [fps.count() for fps in fixed_points]
    return FixedPointsAcrossTraining(
        steps=np.asarray(steps, dtype=int),
        counts={k: np.array([c[k] for c in per_step]) for k in (*STABILITY, "slow")},
        n_outside_unit_circle=np.array(
            [-1 if w is None else int(count_outliers(w)) for w in recurrent_weights]
        ),
        spectral_radius=np.array(
            [
                np.nan
                if w is None
                else float(np.abs(np.linalg.eigvals(w.detach().cpu().double().numpy())).max())
                for w in recurrent_weights
            ]
        ),
    )
