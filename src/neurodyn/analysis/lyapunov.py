"""Lyapunov spectra of a recurrent network (or any step function) by the QR method.

The method of Benettin et al. (1980) and Shimada & Nagashima (1979): carry k orthonormal
tangent vectors `Q [N, k]` along a trajectory, push them through the Jacobian of each step
(`Q <- dF/dh Q`) and re-orthonormalise them (`Q, R = qr(Q)`); the time averages of
`log |R_ii|` are the k largest Lyapunov exponents, in decreasing order once converged.

Every trajectory of every ensemble member is one batch: states `[E, K, N]`, tangent vectors
`[E, K, N, k]`, one batched QR per step (no Python loop over trajectories).

Flows and maps. A step function is a map; its exponents are per step. Pass `dt` when the map
is a discretised flow (the Euler map of a CTRNN, or a Runge-Kutta step of an ODE): the
exponents are then divided by `dt`, i.e. per unit of time of the flow (per ms for a CTRNN,
whose `dt` is `dt_ms`). The Euler map's exponents approach the flow's as `dt` shrinks.

The Kaplan-Yorke (Lyapunov) dimension is `j + (l_1 + ... + l_j) / |l_{j+1}|`, with j the
largest number of exponents whose sum is non-negative (Kaplan & Yorke 1979).

References: Benettin, Galgani, Giorgilli & Strelcyn (1980), Meccanica 15; Sompolinsky,
Crisanti & Sommers (1988), PRL 61 (chaos in random networks); Engelken, Wolf & Abbott (2023),
Phys. Rev. Research 5 (Lyapunov spectra of chaotic recurrent networks).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from neurodyn.analysis._descent import StepFn
from neurodyn.analysis._result import SavableResult
from neurodyn.analysis._tangent import TangentFn, batch_of_states, tangent_map, with_ensemble_axis
from neurodyn.analysis.fixed_points import StepFunctions, frozen_copy
from neurodyn.errors import ArgumentError
from neurodyn.models import CTRNN, Network
from neurodyn.models.ctrnn import DERIVATIVES


@dataclass(frozen=True)
class LyapunovSpectrum(SavableResult):
    """The k largest Lyapunov exponents of M trajectories (K starts of each of E members).

    Attributes
    ----------
    exponents : [M, k]          per trajectory, largest first; per unit of `dt` (per step for
                                a map)
    member : [M]                ensemble member of each trajectory (0 for a single network)
    initial_states : [M, N]     where each trajectory started (before the transient)
    final_states : [M, N]       where it ended
    history : [S, M, k]         the running estimates after `history_steps` steps: they
                                settle as the estimate converges
    history_steps : [S]
    kaplan_yorke : [M]          the Kaplan-Yorke dimension; NaN where the k exponents found
                                do not determine it (their sum is still non-negative and
                                k < N: ask for more exponents), as `notes` says
    dt : float                  NaN for a map (exponents per step)
    n_steps : int               steps averaged over (after `n_transient` steps discarded)
    n_transient : int
    n_units : int               N, the state's dimension
    notes : str                 what the arrays do not say ('' when nothing)
    """

    exponents: np.ndarray
    member: np.ndarray
    initial_states: np.ndarray
    final_states: np.ndarray
    history: np.ndarray
    history_steps: np.ndarray
    kaplan_yorke: np.ndarray
    dt: float
    n_steps: int
    n_transient: int
    n_units: int
    notes: str = ""

    def __len__(self) -> int:
        return len(self.exponents)

    @property
    def continuous_time(self) -> bool:
        return not np.isnan(self.dt)

    def mean(self, member: int | None = None) -> np.ndarray:
        """The exponents averaged over the trajectories of one member (or all): `[k]`."""
        keep = np.ones(len(self), bool) if member is None else self.member == member
        return self.exponents[keep].mean(0)

    def spread(self, member: int | None = None) -> np.ndarray:
        """Standard deviation of each exponent over the trajectories: `[k]`, a measure of
        how far the estimates have converged (all trajectories of one attractor share it)."""
        keep = np.ones(len(self), bool) if member is None else self.member == member
        return self.exponents[keep].std(0)

    def _summary(self) -> list[tuple[str, str]]:
        top = ", ".join(f"{v:.3g}" for v in self.mean()[:3])
        more = ", ..." if self.exponents.shape[1] > 3 else ""
        unit = "per unit of dt" if self.continuous_time else "per step"
        return [("exponents", f"[{top}{more}] {unit}"), *super()._summary()]


def kaplan_yorke_dimension(exponents: np.ndarray, n_units: int) -> np.ndarray:
    """The Kaplan-Yorke dimension of each row of `exponents`.

    Parameters
    ----------
    exponents : [M, k]
        The k largest exponents of M trajectories (any order).
    n_units : int
        N, the state's dimension.

    Returns
    -------
    np.ndarray [M]
        `j + sum(l_1..l_j) / |l_{j+1}|`; 0 when the largest is negative; N when the whole
        spectrum (k = N) sums to a non-negative number; NaN when k < N exponents all sum to a
        non-negative number (the dimension is at least k, and the rest are needed to tell).

    Reference: Kaplan & Yorke (1979), Lecture Notes in Mathematics 730.
    """
    exponents = np.sort(np.asarray(exponents, float), axis=-1)[..., ::-1]
    sums = np.cumsum(exponents, axis=-1)
    n_exponents = exponents.shape[-1]
    dims = np.full(len(exponents), np.nan)
    for m, (row, total) in enumerate(zip(exponents, sums, strict=True)):
        nonneg = np.flatnonzero(total >= 0)
        if not len(nonneg):
            dims[m] = 0.0
            continue
        j = int(nonneg[-1]) + 1  # exponents whose sum is non-negative
        if j < n_exponents:
            dims[m] = j + total[j - 1] / abs(row[j])
        elif n_exponents == n_units:
            dims[m] = float(n_units)
    return dims


def estimate_drift(history: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """How far each running estimate still moved over the second half of the run:
    `max |l(t) - l(T)|` over the history's steps t >= T / 2, `[M, k]`.

    A converged exponent's estimate `l + c / t` drifts by about `|c| / T`, far less than
    `|l|`; a zero exponent's, `c / t`, by about its whole size. So `|l(T)| <= 2 drift` marks an
    exponent that the run cannot tell from zero.

    Parameters
    ----------
    history : np.ndarray [S, M, k]
        The running estimates at `steps`, the last at T.
    steps : np.ndarray [S]

    Returns
    -------
    np.ndarray [M, k]
    """
    late = history[steps >= steps[-1] / 2]
    return np.abs(late - history[-1]).max(0)


def lyapunov_spectrum(
    step_fn: StepFn,
    initial_states: Tensor,
    inputs: Tensor,
    *,
    n_steps: int,
    n_exponents: int | None = None,
    dt: float | None = None,
    n_transient: int = 0,
    qr_every: int = 1,
    n_history: int = 50,
    step_functions: StepFunctions | None = None,
    seed: int = 0,
    callback: Callable[[int, int], None] | None = None,
) -> LyapunovSpectrum:
    """The `n_exponents` largest Lyapunov exponents along trajectories from many states at
    once, by the QR (Benettin) method.

    Parameters
    ----------
    step_fn : F(h, u) -> h_next
        Maps each row of h on its own; for an ensemble takes `h [E, K, N]`, `u [E, K, I]`.
    initial_states : Tensor [K, N], or [E, K, N] for an ensemble
    inputs : Tensor [I], [K, I] or [E, K, I]
        The constant input of each trajectory.
    n_steps : int
        Steps averaged over, after `n_transient` steps that bring the states onto the
        attractor and are not counted.
    n_exponents : int, optional
        k, how many of the largest exponents (default all N); at most N.
    dt : float, optional
        The time step of a discretised flow: exponents are then per unit of time.
    qr_every : int
        Steps between re-orthonormalisations (1 is safest; more is faster when the exponents
        are not too far apart for the vectors to stay independent over that many steps).
    n_history : int
        How many running estimates to keep (the convergence diagnostic).
    step_functions : StepFunctions, optional
        Its `jacobian` (dF/dh in closed form, `[..., K, N, N]`) replaces automatic
        differentiation.
    seed : int
        Seed of the random orthonormal vectors the tangent space starts from.
    callback : (steps done, n_steps) -> None, optional
        Called every `n_steps / n_history` steps (to show progress).

    Returns
    -------
    LyapunovSpectrum

    Example
    -------
    The map `h -> A h` has exponents log |eigenvalues of A| (here log 0.9, log 0.5):

    >>> a = torch.tensor([[0.9, 0.3], [0.0, 0.5]], dtype=torch.float64)
    >>> spectrum = lyapunov_spectrum(lambda h, u: h @ a.T, torch.ones(3, 2, dtype=torch.float64),
    ...                              torch.zeros(1, dtype=torch.float64), n_steps=2000)
    >>> np.round(spectrum.mean(), 2).tolist(), np.round(np.log([0.9, 0.5]), 2).tolist()
    ([-0.11, -0.69], [-0.11, -0.69])

    Reference: Benettin et al. (1980), Meccanica 15, 9-30.
    """
    h, u, ensemble = batch_of_states(initial_states, inputs)
    functions = step_functions or StepFunctions()
    fn = with_ensemble_axis(step_fn, ensemble)
    jac = None if functions.jacobian is None else with_ensemble_axis(functions.jacobian, ensemble)
    return _spectrum(
        tangent_map(fn, jac),
        fn,
        h,
        u,
        n_exponents=n_exponents,
        n_steps=n_steps,
        dt=dt,
        n_transient=n_transient,
        qr_every=qr_every,
        n_history=n_history,
        seed=seed,
        callback=callback,
    )


def _spectrum(
    tangent: TangentFn,
    step_fn: StepFn,
    h: Tensor,
    u: Tensor,
    *,
    n_exponents: int | None,
    n_steps: int,
    dt: float | None,
    n_transient: int,
    qr_every: int,
    n_history: int,
    seed: int,
    callback: Callable[[int, int], None] | None,
) -> LyapunovSpectrum:
    n_members, n_starts, n_units = h.shape
    k = n_units if n_exponents is None else int(n_exponents)
    if not 1 <= k <= n_units:
        raise ArgumentError(
            f"n_exponents must be from 1 to the state's dimension {n_units}, got {n_exponents}"
        )
    if n_steps < 1 or n_transient < 0 or qr_every < 1:
        raise ArgumentError(
            f"need n_steps >= 1, n_transient >= 0, qr_every >= 1; got {n_steps}, "
            f"{n_transient}, {qr_every}"
        )
    if dt is not None and not (math.isfinite(dt) and dt > 0):
        raise ArgumentError(f"dt must be a positive number (or None for a map), got {dt}")
    h0 = h.clone()
    with torch.no_grad():
        for _ in range(n_transient):
            h = step_fn(h, u)
        g = torch.Generator().manual_seed(seed)
        start = torch.randn(n_members, n_starts, n_units, k, generator=g, dtype=torch.float64)
        q = torch.linalg.qr(start)[0].to(device=h.device, dtype=h.dtype)
        log_growth = torch.zeros(n_members, n_starts, k, dtype=torch.float64, device=h.device)
        every = max(1, n_steps // max(n_history, 1))
        history, history_steps = [], []
        for step in range(1, n_steps + 1):
            h, q = tangent(h, u, q)
            if step % qr_every == 0 or step == n_steps:
                q, r = torch.linalg.qr(q)
                log_growth += torch.log(torch.diagonal(r, dim1=-2, dim2=-1).abs()).double()
            if step % every == 0 or step == n_steps:
                if not (torch.isfinite(h).all() and torch.isfinite(log_growth).all()):
                    raise ArgumentError(
                        f"a trajectory left the finite numbers by step {step}: the dynamics "
                        "diverge from these states; start elsewhere or take fewer steps"
                    )
                # estimates only at steps where the vectors were just re-orthonormalised
                if step % qr_every == 0 or step == n_steps:
                    history.append((log_growth / (step * (dt or 1.0))).cpu().numpy())
                    history_steps.append(step)
                if callback is not None:
                    callback(step, n_steps)
    exponents = (log_growth / (n_steps * (dt or 1.0))).reshape(-1, k).cpu().numpy()
    order = np.argsort(-exponents, axis=1)
    exponents = np.take_along_axis(exponents, order, axis=1)
    stacked = np.stack(history).reshape(len(history), -1, k)
    drift = np.take_along_axis(estimate_drift(stacked, np.array(history_steps)), order, axis=1)
    # an exponent within its estimate's drift of zero counts as zero for the dimension: a
    # cycle's zero exponent, estimated as c / T, falls either side of 0 and would move the
    # dimension by one (a stable cycle came out 0 or 1 trajectory by trajectory)
    kaplan_yorke = kaplan_yorke_dimension(
        np.where(np.abs(exponents) <= 2 * drift, 0.0, exponents), n_units
    )
    notes = (
        f"the {k} exponents found sum to a non-negative number for some trajectories: their "
        f"Kaplan-Yorke dimension is at least {k} (NaN); ask for more exponents"
        if np.isnan(kaplan_yorke).any()
        else ""
    )
    return LyapunovSpectrum(
        exponents=exponents,
        member=np.repeat(np.arange(n_members), n_starts),
        initial_states=h0.reshape(-1, n_units).cpu().double().numpy(),
        final_states=h.reshape(-1, n_units).cpu().double().numpy(),
        history=stacked,
        history_steps=np.array(history_steps),
        kaplan_yorke=kaplan_yorke,
        dt=float("nan") if dt is None else float(dt),
        n_steps=int(n_steps),
        n_transient=int(n_transient),
        n_units=int(n_units),
        notes=notes,
    )


def _ctrnn_tangent(model: CTRNN) -> TangentFn:
    """The CTRNN's step and tangent map in closed form: `J V = (1 - alpha) V + alpha f'(pre)
    (W_rec V)`, with `W_rec h` and `W_rec V` one matmul per member over all starts and
    vectors (one pass over W_rec for all of them)."""
    alpha, slope = model.spec.alpha, DERIVATIVES[model.spec.activation]

    def tangent(h: Tensor, u: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        n_members, n_starts, n_units, k = v.shape
        columns = torch.cat(
            [h.transpose(1, 2), v.permute(0, 2, 1, 3).reshape(n_members, n_units, -1)], -1
        )
        product = torch.bmm(model.W_rec, columns)  # [E, N, K + K k]
        wh = product[..., :n_starts].transpose(1, 2)
        wv = product[..., n_starts:].reshape(n_members, n_units, n_starts, k).permute(0, 2, 1, 3)
        x = u if u.dim() == 3 else u[None].expand(n_members, -1, -1)
        pre = torch.bmm(x, model.W_in.transpose(1, 2)) + model.b[:, None] + wh
        pushed = (1 - alpha) * v + alpha * slope(pre)[..., None] * wv
        return (1 - alpha) * h + alpha * model.activation(pre), pushed

    return tangent


def model_lyapunov_spectrum(
    model: Network,
    initial_states: Tensor,
    inputs: Tensor,
    *,
    n_steps: int,
    n_exponents: int | None = None,
    n_transient: int = 0,
    qr_every: int = 1,
    n_history: int = 50,
    dtype: torch.dtype = torch.float64,
    seed: int = 0,
    callback: Callable[[int, int], None] | None = None,
) -> LyapunovSpectrum:
    """`lyapunov_spectrum` of a neurodyn network, every member at once, noise-free.

    A CTRNN's exponents are those of its Euler map per ms (`dt = spec.dt_ms`), its tangent
    map in closed form; a GRU's or LSTM's are per step of the map, by forward-mode
    differentiation.

    Parameters
    ----------
    model : Network with E members
    initial_states : Tensor [K, N] (shared by all members) or [E, K, N]
    inputs : Tensor [I], [K, I] or [E, K, I]

    Returns
    -------
    LyapunovSpectrum
    """
    net = frozen_copy(model, dtype)
    states = initial_states.to(dtype)
    if states.dim() == 2:
        states = states[None].expand(model.ensemble_size, -1, -1)
    h, u, _ = batch_of_states(states, inputs.to(dtype))
    tangent = _ctrnn_tangent(net) if isinstance(net, CTRNN) else tangent_map(net.step)
    return _spectrum(
        tangent,
        net.step,
        h,
        u,
        n_exponents=n_exponents,
        n_steps=n_steps,
        dt=model.spec.dt_ms if model.continuous_time else None,
        n_transient=n_transient,
        qr_every=qr_every,
        n_history=n_history,
        seed=seed,
        callback=callback,
    )
