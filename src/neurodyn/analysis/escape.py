"""Noise-driven escape between attractors: switching rates and first-passage times.

Many noisy trajectories run at once (one batch over starts and ensemble members), each step
`h <- G(h, u, sigma * xi)` with `xi` standard normal, `G` the network's own noise model
(`model_noise`) or additive Euler-Maruyama noise on any step function (`additive_noise`).

Which memory a trajectory holds. Each attractor `a_i` has a core, the ball of radius
`core_radius_i` around it (by default a quarter of the distance to the nearest other
attractor). A trajectory holds memory i from the moment it enters i's core until it enters the
core of another attractor j whose basin it is in (checked by relaxing the state without noise
and asking which attractor it reaches): that is one switch i -> j. Counting core-to-core
transitions, not crossings of the basin boundary, is what makes the rate a property of the
system: a trajectory near the separatrix crosses it back and forth many times before it
commits (milestoning; Vanden-Eijnden et al. 2008), and the crossing count grows without bound
as the step shrinks.

Rates. The dwell time in a memory is exponential when the barrier is high, so the maximum
likelihood switching rate i -> j is the number of switches over the total time spent holding
i, trajectories still holding it at the end included (censored dwells); its confidence
interval is the exact (Garwood) Poisson interval of the count. The mean first-passage time out
of i is the inverse of the total exit rate.

Times are in the unit of `dt` (ms for neurodyn networks, whose `dt` is `spec.dt_ms`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy import stats
from torch import Tensor

from neurodyn._progress import Progress
from neurodyn.analysis._descent import StepFn, gather, padded
from neurodyn.analysis._result import SavableResult
from neurodyn.errors import ArgumentError, ConfigError, ShapeError
from neurodyn.models import Network
from neurodyn.models.ctrnn import CTRNN
from neurodyn.models.gated import GatedRNN

__all__ = [
    "Escape",
    "NoiseModel",
    "additive_noise",
    "model_noise",
    "poisson_interval",
    "simulate_escape",
]

NoisyStepFn = Callable[[Tensor, Tensor, Tensor], Tensor]

_RELAX_CHUNK = 10  # noise-free steps between checks whether every relaxing state has arrived


@dataclass(frozen=True)
class NoiseModel:
    """How noise enters one step of a network.

    Attributes
    ----------
    step : G(h, u, noise) -> h_next
        One noisy step: `h [E, K, N]`, `u [E, K, I]`, `noise [E, K, C]` (already scaled by
        sigma) -> `[E, K, N]`; with zero noise it is the deterministic step.
    deterministic : F(h, u) -> h_next
        The same step without noise (relaxation to the attractors), `[E, K, N]`.
    dt : float
        Time per step (the unit of every time and rate of the results).
    channels : int or None
        C, the number of independent noise sources per state (None: the state's size N).
    """

    step: NoisyStepFn
    deterministic: StepFn
    dt: float
    channels: int | None = None

    def __post_init__(self) -> None:
        if not self.dt > 0:
            raise ConfigError(f"the noise model's dt must be positive, got {self.dt}")


def additive_noise(step_fn: StepFn, *, dt: float) -> NoiseModel:
    """Euler-Maruyama for the flow whose Euler map is `step_fn`: `h <- F(h, u) + sqrt(dt) *
    sigma * xi`, i.e. `dh = f(h) dt + sigma dW` with `f = (F(h) - h) / dt`.

    Parameters
    ----------
    step_fn : F(h, u) -> h_next, on `[E, K, N]` and `[E, K, I]`
    dt : float
        The Euler map's step.

    Returns
    -------
    NoiseModel
        Its `step` takes `noise [E, K, N]` (C = N: one source per state variable).

    Example
    -------
    >>> dt = 0.01
    >>> well = additive_noise(lambda h, u: h + dt * (h - h**3), dt=dt)
    >>> round(well.step(torch.zeros(1, 1, 1), torch.zeros(1, 1, 0), torch.ones(1, 1, 1)).item(), 6)
    0.1
    """
    root_dt = math.sqrt(dt)
    return NoiseModel(
        step=lambda h, u, noise: step_fn(h, u) + root_dt * noise,
        deterministic=step_fn,
        dt=dt,
    )


def model_noise(model: Network) -> NoiseModel:
    """The recurrent noise model of a neurodyn network, as its `forward` applies it.

    CTRNN: Gaussian noise of standard deviation `sqrt(2 / alpha) * sigma` added to the
    pre-activation, `h <- (1 - alpha) h + alpha f(W_in u + W_rec h + b + noise)`. GRU and LSTM:
    noise of standard deviation `sigma` added to the input side of every gate. Here `sigma`
    plays `sigma_rec`; the input noise `sigma_in` is left out (the escape concerns the
    recurrent dynamics under a constant input). Times are in ms (`dt = spec.dt_ms`).

    Parameters
    ----------
    model : CTRNN or GatedRNN with E members

    Returns
    -------
    NoiseModel
        Its `step` takes `h [E, K, S]`, `u [E, K, I]`, `noise [E, K, C]` with C = N (CTRNN),
        3N (GRU) or 4N (LSTM).
    """
    spec = model.spec
    if isinstance(model, CTRNN):
        alpha = spec.alpha
        scale = math.sqrt(2 / alpha)

        def ctrnn_step(h: Tensor, u: Tensor, noise: Tensor) -> Tensor:
            pre = model._preactivation(h, u) + scale * noise
            return (1 - alpha) * h + alpha * model.activation(pre)

        return NoiseModel(ctrnn_step, model.step, float(spec.dt_ms), spec.n_hidden)
    if isinstance(model, GatedRNN):

        def gated_step(h: Tensor, u: Tensor, noise: Tensor) -> Tensor:
            gx = torch.baddbmm(model.b[:, None], u, model.W_in.transpose(1, 2))
            return model._cell(h, gx + noise)[0]

        gates = 3 if spec.cell == "gru" else 4
        return NoiseModel(gated_step, model.step, float(spec.dt_ms), gates * spec.n_hidden)
    raise ConfigError(
        f"{type(model).__name__} has no noise model for escape; wrap its step as "
        "additive_noise(step_fn, dt=...) or write a NoiseModel"
    )


@dataclass(frozen=True)
class Escape(SavableResult):
    """Switching between the attractors of E networks under noise of one amplitude.

    A attractors per member (absent ones, where members have fewer, are NaN rows of
    `attractors`); K trajectories per member, `n_per_attractor` started at each attractor.

    Attributes
    ----------
    sigma : float                 noise amplitude
    attractors : [E, A, N]        the attractors (NaN rows: absent)
    core_radius : [E, A]          radius of each attractor's core
    counts : [E, A, A]            switches i -> j (row: from, column: to)
    time_held : [E, A]            total time trajectories held memory i (unit of dt)
    rates : [E, A, A]             counts / time_held, per unit of dt
    rates_low, rates_high : [E, A, A]   the rates' confidence interval
    exit_rates : [E, A]           total rate out of each memory (and its interval below)
    exit_low, exit_high : [E, A]
    mfpt : [E, A]                 mean first-passage time out of each memory, 1 / exit rate
                                  (inf without a single exit: see exit_low for a bound)
    start : [E, K]                the attractor each trajectory started at (-1: absent)
    first_passage : [E, K]        time of each trajectory's first switch (NaN: none)
    outside_fraction : [E]        share of checks finding a trajectory in no attractor's core
                                  (large: attractors are missing, or the noise is too strong
                                  for the cores)
    dt : float                    time per step
    n_steps : int                 steps per trajectory
    check_every : int             steps between checks of the trajectories' memory
    confidence : float            of the intervals
    options : dict                relax_steps, seed
    """

    sigma: float
    attractors: np.ndarray
    core_radius: np.ndarray
    counts: np.ndarray
    time_held: np.ndarray
    rates: np.ndarray
    rates_low: np.ndarray
    rates_high: np.ndarray
    exit_rates: np.ndarray
    exit_low: np.ndarray
    exit_high: np.ndarray
    mfpt: np.ndarray
    start: np.ndarray
    first_passage: np.ndarray
    outside_fraction: np.ndarray
    dt: float
    n_steps: int
    check_every: int
    confidence: float
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def n_switches(self) -> int:
        return int(self.counts.sum())

    def _summary(self) -> list[tuple[str, str]]:
        return [
            ("sigma", f"{self.sigma:g}"),
            ("switches", f"{self.n_switches} in {float(self.time_held.sum()):.4g} time units"),
            *super()._summary()[1:],
        ]


def poisson_interval(
    counts: np.ndarray, exposure: np.ndarray, confidence: float = 0.95
) -> tuple[np.ndarray, np.ndarray]:
    """The exact (Garwood) confidence interval of a Poisson rate `counts / exposure`.

    Parameters
    ----------
    counts : [...] events
    exposure : [...] time over which they were counted (broadcasts against counts)

    Returns
    -------
    low, high : [...]  (NaN where the exposure is zero)

    Example
    -------
    >>> low, high = poisson_interval(np.array([0, 10]), np.array([1.0, 1.0]))
    >>> np.round(low, 3).tolist(), np.round(high, 3).tolist()
    ([0.0, 4.795], [3.689, 18.39])
    """
    counts = np.asarray(counts, float)
    exposure = np.asarray(exposure, float)
    tail = (1 - confidence) / 2
    low = np.where(counts > 0, stats.chi2.ppf(tail, 2 * np.maximum(counts, 1)) / 2, 0.0)
    high = stats.chi2.ppf(1 - tail, 2 * counts + 2) / 2
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.where(exposure > 0, 1.0 / np.where(exposure > 0, exposure, 1.0), np.nan)
    return low * scale, high * scale


def _default_cores(attractors: Tensor, fraction: float) -> Tensor:
    """A quarter (`fraction`) of each attractor's distance to its nearest neighbour: `[E, A]`.
    A lone attractor has no neighbour, and no escape to measure."""
    d = torch.cdist(attractors.nan_to_num(0.0), attractors.nan_to_num(0.0))
    absent = attractors.isnan().any(-1)
    d = d.masked_fill(absent[:, None, :] | absent[:, :, None], math.inf)
    d = d + torch.diag_embed(torch.full(absent.shape, math.inf, dtype=d.dtype, device=d.device))
    return fraction * d.min(-1).values


def _core_of(
    h: Tensor, attractors: Tensor, absent_far: Tensor, cores: Tensor, *, scaled: bool = False
) -> tuple[Tensor, Tensor]:
    """The attractor whose core is nearest to each state `h [E, K, N]`, distances measured in
    core radii: its index `[E, K]`, and whether the state is inside it `[E, K]` (or, with
    `scaled`, the distance in core radii)."""
    d = (torch.cdist(h, attractors) + absent_far) / cores[:, None, :]
    ratio, nearest = d.min(-1)
    return nearest, (ratio if scaled else ratio < 1)


def _relax(
    step_fn: StepFn,
    h: Tensor,
    u: Tensor,
    attractors: Tensor,
    absent_far: Tensor,
    cores: Tensor,
    relax_steps: int,
) -> tuple[Tensor, Tensor]:
    """Run `h [E, L, N]` without noise for up to `relax_steps` steps: the attractor each state
    reaches `[E, L]` and whether it is inside that attractor's core `[E, L]`.

    Relaxation stops early once every state is within a quarter of a core radius of an
    attractor: that close to a stable point a state stays (most confirmations take a few tens
    of steps, not the full budget)."""
    done = 0
    while True:
        reached, scaled = _core_of(h, attractors, absent_far, cores, scaled=True)
        if done >= relax_steps or bool((scaled < 0.25).all()):
            return reached, scaled < 1
        for _ in range(min(_RELAX_CHUNK, relax_steps - done)):
            h = step_fn(h, u)
        done += _RELAX_CHUNK


def simulate_escape(
    noise: NoiseModel,
    attractors: Tensor,
    inputs: Tensor,
    *,
    sigma: float,
    n_steps: int,
    n_per_attractor: int = 100,
    check_every: int = 5,
    relax_steps: int = 200,
    commit_steps: int = 0,
    core_fraction: float = 0.25,
    core_radius: float | Tensor | None = None,
    confidence: float = 0.95,
    seed: int = 0,
    progress: bool = False,
) -> Escape:
    """Simulate noisy trajectories from every attractor and count the switches between them.

    Parameters
    ----------
    noise : NoiseModel
        The noisy step (`model_noise(model)`, or `additive_noise(step_fn, dt=...)`).
    attractors : Tensor [A, N], or [E, A, N] for an ensemble
        The stable states between which to count switches (e.g. the stable points of
        `find_fixed_points`); NaN rows mark absent ones where members have fewer (a member
        with fewer than two gets NaN rates).
    inputs : Tensor [I] or [E, I]
        The constant input during the simulation.
    sigma : float
        Noise amplitude (positive).
    n_steps : int
        Steps per trajectory.
    n_per_attractor : int
        Trajectories started at each attractor (K = A * n_per_attractor per member).
    check_every : int
        Steps between checks of which memory each trajectory holds; a switch is timed at the
        first check that sees it.
    relax_steps : int
        Noise-free steps that take a state to the attractor of its basin.
    commit_steps : int
        Noise-free steps a state outside every core relaxes before it is tested against the
        cores again (0: none). Where noise enters through a saturating nonlinearity (a
        CTRNN's pre-activation noise) the noisy cloud around an attractor is wide and its
        centre shifted, and most states lie outside the core; a relaxation of about one time
        constant brings those committed to an attractor into its core, while states near a
        saddle, where the flow is slow, stay out.
    core_fraction, core_radius : float, or core_radius Tensor [A] / [E, A]
        The cores: `core_radius` given, or `core_fraction` of each attractor's distance to
        its nearest neighbour.
    confidence : float
        Of the rates' intervals.
    seed : int
        Seed of the noise (one generator for the whole batch).
    progress : bool
        Report progress on stderr.

    Returns
    -------
    Escape

    Example
    -------
    The double well `dx = (x - x^3) dt + sigma dW`, whose switching rate at sigma = 0.4 is
    0.0083 (from the exact first-passage time; Kramers' formula gives 0.0099):

    >>> dt = 0.05
    >>> well = additive_noise(lambda h, u: h + dt * (h - h**3), dt=dt)
    >>> result = simulate_escape(well, torch.tensor([[-1.0], [1.0]]), torch.zeros(0),
    ...                          sigma=0.4, n_steps=2000, n_per_attractor=200, seed=0)
    >>> bool(0.0068 < result.exit_rates.mean() < 0.0098)
    True

    Reference: Kramers (1940), Physica 7, 284-304; Hanggi, Talkner & Borkovec (1990), Rev.
    Mod. Phys. 62, 251 (rates and first-passage times).
    """
    if not sigma > 0:
        raise ArgumentError(
            f"escape needs noise: sigma must be positive, got {sigma} (without noise a "
            "trajectory never leaves its attractor)"
        )
    if n_steps < 1 or n_per_attractor < 1 or check_every < 1 or min(relax_steps, commit_steps) < 0:
        raise ArgumentError(
            "n_steps, n_per_attractor and check_every must be at least 1, relax_steps and "
            "commit_steps >= 0"
        )
    if not 0 < confidence < 1:
        raise ArgumentError(f"confidence must be in (0, 1), got {confidence}")
    ensemble = attractors.dim() == 3
    if attractors.dim() not in (2, 3):
        raise ShapeError(f"attractors must be [A, N] or [E, A, N], got {tuple(attractors.shape)}")
    att = (attractors if ensemble else attractors[None]).detach()
    n_members, n_att, n_units = att.shape
    present = ~att.isnan().any(-1)  # [E, A]
    if int(present.sum(-1).max()) < 2:
        raise ArgumentError(
            "escape needs at least two attractors to switch between; got "
            f"{present.sum(-1).tolist()} per network (find more stable points, e.g. from more "
            "or more spread starts)"
        )
    if core_radius is None:
        cores = _default_cores(att, core_fraction)
    else:
        cores = torch.as_tensor(core_radius, dtype=att.dtype, device=att.device)
        cores = cores.expand(n_members, n_att).clone() if cores.dim() < 2 else cores.clone()
    if bool((cores[present] <= 0).any()):
        raise ArgumentError("core radii must be positive (two attractors coincide?)")
    cores = cores.masked_fill(~present, 1.0)
    u = inputs.detach().to(att.dtype)
    if u.dim() == 1:
        u = u.expand(n_members, -1)
    if u.dim() != 2 or u.shape[0] != n_members:
        raise ShapeError(f"inputs must be [I] or [E={n_members}, I], got {tuple(inputs.shape)}")

    n_traj = n_att * n_per_attractor
    device, dtype = att.device, att.dtype
    start = torch.arange(n_att, device=device).repeat_interleave(n_per_attractor)
    start = start[None].expand(n_members, -1)  # [E, K]
    # a member with a single attractor has nothing to switch to: its rates are NaN
    active = torch.gather(present, 1, start) & (present.sum(-1, keepdim=True) >= 2)  # [E, K]
    filled = att.nan_to_num(0.0)
    h = gather(filled, start).clone()  # [E, K, N]
    u_k = u[:, None].expand(-1, n_traj, -1).contiguous()
    held = start.clone()
    counts = torch.zeros(n_members, n_att, n_att, dtype=torch.long, device=device)
    time_held = torch.zeros(n_members, n_att, dtype=torch.float64, device=device)
    first = torch.full((n_members, n_traj), math.nan, dtype=torch.float64, device=device)
    outside = torch.zeros(n_members, dtype=torch.float64, device=device)
    n_checks = 0
    channels = noise.channels or n_units
    generator = torch.Generator(device=device).manual_seed(seed)
    absent_far = torch.where(present, 0.0, math.inf).to(dtype)[:, None, :]  # [E, 1, A]
    member_index = torch.arange(n_members, device=device)[:, None].expand(-1, n_traj)

    def check(step: int) -> None:
        nonlocal held, n_checks
        span = check_every * noise.dt
        time_held.index_put_(
            (member_index[active], held[active]),
            torch.full_like(held[active], span, dtype=torch.float64),
            accumulate=True,
        )
        nearest, in_core = _core_of(h, filled, absent_far, cores)
        if commit_steps and bool((~in_core & active).any()):
            # a noisy state sits off its attractor (noise through a saturating nonlinearity
            # also shifts the cloud's centre): a short noise-free relaxation says which core
            # it is committed to
            index, valid = padded(~in_core & active)
            moved = gather(h, index)
            u_sub = gather(u_k, index)
            for _ in range(commit_steps):
                moved = noise.deterministic(moved, u_sub)
            near_moved, in_moved = _core_of(moved, filled, absent_far, cores)
            rows = torch.arange(n_members, device=device)[:, None].expand_as(index)
            nearest = nearest.clone()
            in_core = in_core.clone()
            nearest[rows[valid], index[valid]] = near_moved[valid]
            in_core[rows[valid], index[valid]] = in_moved[valid]
        outside.add_(((~in_core) & active).sum(-1).to(torch.float64))
        n_checks += 1
        candidate = in_core & (nearest != held) & active
        if not bool(candidate.any()):
            return
        # confirm by relaxation that the state is in the new attractor's basin
        index, valid = padded(candidate)
        relaxed = gather(h, index)
        u_sub = gather(u_k, index)
        reached, inside = _relax(
            noise.deterministic, relaxed, u_sub, filled, absent_far, cores, relax_steps
        )
        target = gather(nearest[..., None], index)[..., 0]
        confirmed = valid & inside & (reached == target)
        rows = torch.arange(n_members, device=device)[:, None].expand_as(index)
        e_idx, k_idx = rows[confirmed], index[confirmed]
        old, new = held[e_idx, k_idx], target[confirmed]
        counts.index_put_((e_idx, old, new), torch.ones_like(new), accumulate=True)
        was_first = first[e_idx, k_idx].isnan()
        first[e_idx[was_first], k_idx[was_first]] = step * noise.dt
        held = held.clone()
        held[e_idx, k_idx] = new

    with Progress("escape", n_steps, enabled=progress) as bar, torch.no_grad():
        for step in range(1, n_steps + 1):
            xi = torch.randn(
                n_members, n_traj, channels, generator=generator, device=device, dtype=dtype
            )
            h = noise.step(h, u_k, sigma * xi)
            if step % check_every == 0:
                check(step)
            if step % 1000 == 0:
                bar.advance(1000)
        # the last partial interval still counts as time held (a censored dwell)
        rest = n_steps % check_every
        if rest:
            time_held.index_put_(
                (member_index[active], held[active]),
                torch.full_like(held[active], rest * noise.dt, dtype=torch.float64),
                accumulate=True,
            )

    counts_np = counts.cpu().numpy()
    time_np = time_held.cpu().numpy()
    exits = counts_np.sum(-1)
    low, high = poisson_interval(counts_np, time_np[..., None], confidence)
    exit_low, exit_high = poisson_interval(exits, time_np, confidence)
    with np.errstate(divide="ignore", invalid="ignore"):
        rates = np.where(time_np[..., None] > 0, counts_np / time_np[..., None], np.nan)
        exit_rates = np.where(time_np > 0, exits / time_np, np.nan)
        mfpt = np.where(exit_rates > 0, 1.0 / exit_rates, np.where(time_np > 0, np.inf, np.nan))
    n_active = active.sum(-1).to(torch.float64).clamp(min=1).cpu().numpy()
    start_np = torch.where(active, start, -1).cpu().numpy()
    return Escape(
        sigma=float(sigma),
        attractors=att.cpu().double().numpy(),
        core_radius=cores.masked_fill(~present, math.nan).cpu().double().numpy(),
        counts=counts_np,
        time_held=time_np,
        rates=rates,
        rates_low=low,
        rates_high=high,
        exit_rates=exit_rates,
        exit_low=exit_low,
        exit_high=exit_high,
        mfpt=mfpt,
        start=start_np,
        first_passage=first.cpu().numpy(),
        outside_fraction=outside.cpu().numpy() / (max(n_checks, 1) * n_active),
        dt=float(noise.dt),
        n_steps=int(n_steps),
        check_every=int(check_every),
        confidence=float(confidence),
        options={
            "relax_steps": int(relax_steps),
            "commit_steps": int(commit_steps),
            "seed": int(seed),
        },
    )
