"""Barriers between attractors: Kramers' rate, the Arrhenius fit, and the saddles between them.

Kramers. For a gradient flow `dh = -grad U(h) dt + sigma dW` with a high barrier, the rate
of escape from a minimum `a` over a saddle `s` with one unstable direction is (Langer 1969's
form of Kramers 1940)

    k = |mu_s| / (2 pi) * sqrt(det H_a / |det H_s|) * exp(-2 (U(s) - U(a)) / sigma^2)

with `H` the Hessians of U and `mu_s` the saddle's negative Hessian eigenvalue. The flow's
Jacobian is `-H`, so everything but the potential difference comes from the fixed-point
finder's linearisation (`flow_eigenvalues`). In 1-D this is the textbook
`sqrt(U''(a) |U''(s)|) / (2 pi) exp(-dU / D)`, `D = sigma^2 / 2`.

Arrhenius. For any system, `log k = log A - 2 dU_eff / sigma^2` at small noise: the fit of
log rate against `1 / sigma^2` gives an effective barrier `dU_eff` (the quasi-potential
barrier of Freidlin & Wentzell for a non-gradient system).

Saddles. `saddles_between` searches for fixed points from starts along the segments between
every pair of attractors, keeps those with one unstable mode, and follows that mode both ways
(relaxing without noise) to name the two attractors the saddle separates. The work against
the flow along the straight path from an attractor to the saddle, `-int f . dh`, is the
potential difference for a gradient system (the path does not matter there) and a path
estimate of the barrier otherwise (`path_barrier`).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from scipy import stats
from torch import Tensor

from neurodyn.analysis._descent import StepFn
from neurodyn.analysis._result import SavableResult
from neurodyn.analysis.escape import _default_cores
from neurodyn.analysis.fixed_points import FixedPointOptions, FixedPoints
from neurodyn.errors import ArgumentError, ShapeError

__all__ = [
    "ArrheniusFit",
    "Saddles",
    "arrhenius_fit",
    "kramers_rate",
    "path_barrier",
    "saddles_between",
]


def kramers_rate(
    fixed_points: FixedPoints,
    minimum: int,
    saddle: int,
    *,
    potential: Callable[[np.ndarray], float],
    sigma: float | np.ndarray,
) -> float | np.ndarray:
    """Kramers' escape rate from `minimum` over `saddle` of a gradient flow.

    Parameters
    ----------
    fixed_points : FixedPoints
        Found on the Euler map of the flow (`dt` given), so that `flow_eigenvalues` hold the
        eigenvalues of `-H` at each point.
    minimum, saddle : int
        Indices of a stable point and of a saddle with one unstable mode.
    potential : U(h) for `h [N]`
        The potential whose negative gradient is the flow.
    sigma : float or array
        Noise amplitude(s) of `dh = -grad U dt + sigma dW`.

    Returns
    -------
    float or array of sigma's shape
        The rate, per unit of dt.

    Example
    -------
    >>> from neurodyn.analysis import find_fixed_points
    >>> dt = 0.01
    >>> fps = find_fixed_points(lambda h, u: h + dt * (h - h**3),
    ...                         torch.linspace(-1.5, 1.5, 7, dtype=torch.float64)[:, None],
    ...                         torch.zeros(0, dtype=torch.float64), dt=dt)
    >>> lo, mid = int(np.argmin(fps.states[:, 0])), int(np.argmin(np.abs(fps.states[:, 0])))
    >>> rate = kramers_rate(fps, lo, mid, potential=lambda h: h[0]**4 / 4 - h[0]**2 / 2,
    ...                     sigma=0.3)
    >>> round(rate / (math.sqrt(2) / (2 * math.pi) * math.exp(-0.25 / 0.045)), 6)
    1.0

    Reference: Kramers (1940), Physica 7, 284; Langer (1969), Ann. Phys. 54, 258; Hanggi,
    Talkner & Borkovec (1990), Rev. Mod. Phys. 62, 251, eq. 4.56.
    """
    if not fixed_points.continuous_time:
        raise ArgumentError(
            "kramers_rate needs the flow's eigenvalues: find the fixed points with dt= (the "
            "step of the Euler map of the gradient flow)"
        )
    sigma_arr = np.asarray(sigma, float)
    if np.any(sigma_arr <= 0):
        raise ArgumentError(f"sigma must be positive, got {sigma}")
    hess_min = -fixed_points.flow_eigenvalues[minimum].real
    hess_saddle = -fixed_points.flow_eigenvalues[saddle].real
    if np.any(hess_min <= 0):
        raise ArgumentError(f"point {minimum} is not a minimum (it has unstable modes)")
    if int(np.sum(hess_saddle < 0)) != 1:
        raise ArgumentError(
            f"point {saddle} is not a saddle with one unstable mode "
            f"({int(np.sum(hess_saddle < 0))} unstable)"
        )
    barrier = float(
        potential(fixed_points.states[saddle]) - potential(fixed_points.states[minimum])
    )
    unstable = float(-hess_saddle.min())
    prefactor = unstable / (2 * math.pi) * math.sqrt(np.prod(hess_min) / abs(np.prod(hess_saddle)))
    rate = prefactor * np.exp(-2 * barrier / sigma_arr**2)
    return float(rate) if rate.ndim == 0 else rate


@dataclass(frozen=True)
class ArrheniusFit(SavableResult):
    """The fit `log k = log_prefactor - 2 barrier / sigma^2` of one transition's rates.

    Attributes
    ----------
    sigma : [S]               noise levels with at least `min_counts` events (those fitted)
    rates : [S]               their rates
    counts : [S]              their event counts
    barrier : float           effective barrier dU_eff (NaN: fewer than two levels)
    barrier_low, barrier_high : float   its confidence interval (NaN: fewer than three)
    log_prefactor : float
    confidence : float
    """

    sigma: np.ndarray
    rates: np.ndarray
    counts: np.ndarray
    barrier: float
    barrier_low: float
    barrier_high: float
    log_prefactor: float
    confidence: float

    def predict(self, sigma: np.ndarray | float) -> np.ndarray:
        """The fitted rate at noise `sigma`."""
        return np.exp(self.log_prefactor - 2 * self.barrier / np.asarray(sigma, float) ** 2)


def arrhenius_fit(
    sigma: Sequence[float] | np.ndarray,
    counts: Sequence[float] | np.ndarray,
    time: Sequence[float] | np.ndarray,
    *,
    min_counts: int = 5,
    confidence: float = 0.95,
) -> ArrheniusFit:
    """Fit log rate against `1 / sigma^2` for one transition measured at several noise levels.

    Weighted least squares: the variance of a log rate from n Poisson events is about `1 / n`,
    so each level weighs by its count; levels with fewer than `min_counts` events are left out.

    Parameters
    ----------
    sigma : [S]  noise levels
    counts : [S] events (switches) seen at each
    time : [S]   time over which they were counted (the rate is counts / time)

    Returns
    -------
    ArrheniusFit

    Example
    -------
    >>> s = np.array([0.2, 0.25, 0.3])
    >>> fit = arrhenius_fit(s, 1e6 * np.exp(-2 * 0.1 / s**2), np.ones(3))
    >>> round(fit.barrier, 4)
    0.1
    """
    sigma_arr, count_arr, time_arr = (np.asarray(v, float) for v in (sigma, counts, time))
    if not sigma_arr.shape == count_arr.shape == time_arr.shape or sigma_arr.ndim != 1:
        raise ShapeError("sigma, counts and time must be 1-D arrays of one length")
    keep = (count_arr >= min_counts) & (time_arr > 0) & (sigma_arr > 0)
    s, n, t = sigma_arr[keep], count_arr[keep], time_arr[keep]
    nan = float("nan")
    if len(s) < 2 or np.ptp(s) == 0:
        return ArrheniusFit(s, n / t if len(t) else n, n, nan, nan, nan, nan, confidence)
    x, y, w = 1.0 / s**2, np.log(n / t), n
    design = np.stack([np.ones_like(x), x], axis=1)
    gram = design.T @ (w[:, None] * design)
    coef = np.linalg.solve(gram, design.T @ (w * y))
    low = high = nan
    if len(s) > 2:
        # the residual scatter (not only the Poisson weights) sets the interval
        resid = y - design @ coef
        scale = float(np.sum(w * resid**2) / (len(s) - 2))
        cov = np.linalg.inv(gram) * max(scale, 1.0)
        half = stats.t.ppf(0.5 + confidence / 2, len(s) - 2) * math.sqrt(cov[1, 1]) / 2
        low, high = -coef[1] / 2 - half, -coef[1] / 2 + half
    return ArrheniusFit(
        sigma=s,
        rates=n / t,
        counts=n,
        barrier=float(-coef[1] / 2),
        barrier_low=float(low),
        barrier_high=float(high),
        log_prefactor=float(coef[0]),
        confidence=confidence,
    )


def path_barrier(
    step_fn: StepFn,
    start: Tensor,
    end: Tensor,
    inputs: Tensor,
    *,
    dt: float,
    n_points: int = 65,
) -> Tensor:
    """The work against the flow along the straight path from `start` to `end`,
    `-int f(h) . dh` with `f = (F(h, u) - h) / dt` (Simpson's rule on `n_points` points).

    For a gradient flow `f = -grad U` it is `U(end) - U(start)`, whatever the path.

    Parameters
    ----------
    step_fn : F(h, u), on `[E, K, N]` and `[E, K, I]`
    start, end : Tensor [E, M, N]
    inputs : Tensor [E, I] or [I]
    dt : float
        The step of the Euler map `F`.

    Returns
    -------
    Tensor [E, M]

    Example
    -------
    >>> dt = 0.01
    >>> work = path_barrier(lambda h, u: h + dt * (h - h**3), torch.tensor([[[-1.0]]]),
    ...                     torch.tensor([[[0.0]]]), torch.zeros(0), dt=dt)
    >>> round(work.item(), 6)  # U(0) - U(-1) of U = x^4 / 4 - x^2 / 2
    0.25
    """
    if start.shape != end.shape or start.dim() != 3:
        raise ShapeError(
            f"start and end must both be [E, M, N], got {tuple(start.shape)}, {tuple(end.shape)}"
        )
    if n_points < 3 or n_points % 2 == 0:
        raise ArgumentError(f"n_points must be odd and at least 3, got {n_points}")
    n_members, n_paths, n_units = start.shape
    frac = torch.linspace(0, 1, n_points, dtype=start.dtype, device=start.device)
    points = start[:, :, None] + frac[:, None] * (end - start)[:, :, None]  # [E, M, P, N]
    flat = points.reshape(n_members, n_paths * n_points, n_units)
    u = inputs.to(start.dtype)
    u = u.expand(n_members, -1) if u.dim() == 1 else u
    u = u[:, None].expand(-1, n_paths * n_points, -1)
    with torch.no_grad():
        flow = (step_fn(flat, u) - flat) / dt
    along = (flow.reshape(points.shape) * (end - start)[:, :, None]).sum(-1)  # [E, M, P]
    weights = torch.ones(n_points, dtype=start.dtype, device=start.device)
    weights[1:-1:2], weights[2:-1:2] = 4.0, 2.0
    return -(along * weights).sum(-1) / (3 * (n_points - 1))


@dataclass(frozen=True)
class Saddles(SavableResult):
    """Saddles with one unstable mode between the attractors of E networks.

    Attributes
    ----------
    states : [M, N]          the saddles
    member : [M]             ensemble member of each
    connects : [M, 2]        the attractors its unstable mode leads to (indices into the
                             member's attractors; -1: none of them)
    unstable_rate : [M]      growth rate of the unstable mode (the flow's eigenvalue per unit of
                             dt; for a map, log |lambda| per step)
    barrier : [M, 2]         `path_barrier` from each of the two attractors to the saddle
    attractors : [E, A, N]   the attractors (NaN rows: absent)
    """

    states: np.ndarray
    member: np.ndarray
    connects: np.ndarray
    unstable_rate: np.ndarray
    barrier: np.ndarray
    attractors: np.ndarray

    def __len__(self) -> int:
        return len(self.states)

    def lowest(self, member: int, i: int, j: int) -> float:
        """The lowest barrier from attractor i over a saddle to j, of one member (NaN: no
        saddle between them was found)."""
        pick = (self.member == member) & (
            ((self.connects[:, 0] == i) & (self.connects[:, 1] == j))
            | ((self.connects[:, 0] == j) & (self.connects[:, 1] == i))
        )
        if not pick.any():
            return float("nan")
        side = np.where(self.connects[pick, 0] == i, 0, 1)
        return float(np.min(self.barrier[pick][np.arange(int(pick.sum())), side]))


def saddles_between(
    fixed_points_of: Callable[[Tensor, FixedPointOptions], FixedPoints],
    step_fn: StepFn,
    attractors: Tensor,
    inputs: Tensor,
    *,
    dt: float | None,
    points_per_pair: int = 8,
    jitter: float = 0.02,
    relax_steps: int = 2000,
    options: FixedPointOptions | None = None,
    seed: int = 0,
) -> Saddles:
    """Find the saddles between every pair of attractors and the attractors each separates.

    Parameters
    ----------
    fixed_points_of : (starts [E, K, N], options) -> FixedPoints
        The finder on the network (e.g. `lambda h, o: model_fixed_points(model, h, u,
        options=o)`, or `find_fixed_points` on a step function with its `dt`).
    step_fn : F(h, u) on `[E, K, N]`, `[E, K, I]`
        The noise-free step, to follow the unstable modes and integrate the path barrier.
    attractors : Tensor [E, A, N]
        NaN rows: absent.
    inputs : Tensor [E, I] or [I]
    dt : float or None
        The Euler map's step (None: a discrete map, barriers then per step).
    points_per_pair : int
        Starts along each segment between two attractors (its interior, evenly spaced).
    jitter : float
        Gaussian noise added to the starts, relative to the segment's length.
    relax_steps : int
        Noise-free steps from either side of a saddle to the attractor it leads to.

    Returns
    -------
    Saddles
    """
    if attractors.dim() != 3:
        raise ShapeError(f"attractors must be [E, A, N], got {tuple(attractors.shape)}")
    n_members, n_att, n_units = attractors.shape
    filled = attractors.nan_to_num(0.0)
    present = ~attractors.isnan().any(-1)
    pairs = [(i, j) for i in range(n_att) for j in range(i + 1, n_att)]
    if not pairs:
        raise ArgumentError("saddles_between needs at least two attractors")
    generator = torch.Generator().manual_seed(seed)
    frac = torch.linspace(0, 1, points_per_pair + 2, dtype=attractors.dtype)[1:-1]
    i_idx = torch.tensor([i for i, _ in pairs])
    j_idx = torch.tensor([j for _, j in pairs])
    a, b = filled[:, i_idx], filled[:, j_idx]  # [E, P, N]
    starts = a[:, :, None] + frac[:, None] * (b - a)[:, :, None]  # [E, P, F, N]
    length = (b - a).norm(dim=-1)[:, :, None, None]
    starts = starts + jitter * length * torch.randn(starts.shape, generator=generator).to(
        starts.dtype
    )
    starts = starts.reshape(n_members, -1, n_units)
    found = fixed_points_of(starts, options or FixedPointOptions(max_iters=2000))
    keep = found.is_fixed & (found.n_unstable == 1)
    states = found.states[keep]
    member = found.member[keep]
    eig = found.eigenvalues[keep]
    if dt is not None:
        rate = found.flow_eigenvalues[keep][:, 0].real
    else:
        rate = np.log(np.abs(eig[:, 0])) if len(eig) else np.zeros(0)
    direction = found.eigenvectors[keep][:, :, 0].real  # the most unstable mode
    n_saddles = len(states)
    connects = np.full((n_saddles, 2), -1, dtype=np.int64)
    barrier = np.full((n_saddles, 2), np.nan)
    dtype = attractors.dtype
    u = inputs.to(dtype)
    u = u.expand(n_members, -1) if u.dim() == 1 else u
    for e in range(n_members):
        rows = np.flatnonzero(member == e)
        if not len(rows):
            continue
        s = torch.as_tensor(states[rows], dtype=dtype)
        v = torch.as_tensor(direction[rows], dtype=dtype)
        v = v / v.norm(dim=-1, keepdim=True)
        eps = 1e-3 * max(float((filled[e, present[e]]).std()), 1e-6)
        sides = torch.cat([s + eps * v, s - eps * v])[None]  # [1, 2L, N]
        u_e = u[e : e + 1, None].expand(-1, sides.shape[1], -1)
        member_step = _member_step(step_fn, e, n_members)
        with torch.no_grad():
            h = sides
            for _ in range(relax_steps):
                h = member_step(h, u_e)
        d = torch.cdist(h[0], filled[e]).masked_fill(~present[e][None], math.inf)
        reached = d.argmin(-1)
        cores = _default_cores(attractors[e : e + 1], 0.25)[0]
        close = d.gather(-1, reached[:, None])[:, 0] < cores[reached]
        label = torch.where(close, reached, -1).reshape(2, -1).T  # [L, 2]
        connects[rows] = label.numpy()
        ok = (label >= 0).all(-1)
        if ok.any():
            ends = s[ok]
            for side in range(2):
                origin = filled[e, label[ok][:, side]]
                work = path_barrier(
                    member_step, origin[None], ends[None], u[e], dt=1.0 if dt is None else dt
                )
                barrier[rows[ok.numpy()], side] = work[0].numpy()
    return Saddles(
        states=states,
        member=member,
        connects=connects,
        unstable_rate=np.asarray(rate, float),
        barrier=barrier,
        attractors=attractors.detach().cpu().double().numpy(),
    )


def _member_step(step_fn: StepFn, member: int, n_members: int) -> StepFn:
    """`step_fn` on member `member` alone: `[1, K, N]` -> `[1, K, N]` (the others get the
    same states, their results dropped), for step functions that take every member at once."""
    if n_members == 1:
        return step_fn

    def one(h: Tensor, u: Tensor) -> Tensor:
        return step_fn(h.expand(n_members, -1, -1), u.expand(n_members, -1, -1))[
            member : member + 1
        ]

    return one
