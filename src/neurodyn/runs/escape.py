"""Noise-driven escape between the memories of a trained run (`neurodyn dynamics RUN --escape`).

The memories are the stable fixed points of every member under the constant input of an epoch
(the delay, or the flip-flop's memory period: `find_run_fixed_points`). From each, many noisy
trajectories run under the network's own recurrent noise at each noise level (the run's
`sigma_rec` by default), and the switches between memories are counted (`simulate_escape`);
the saddles between the memories and their path barriers come from the fixed-point finder
(`saddles_between`). Results go to `RUN/analysis/`:

    <task>.<epoch>.escape.sigma<sigma>.npz   Escape, one per noise level
    <task>.<epoch>.saddles.npz               Saddles between the memories
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from neurodyn._progress import Progress
from neurodyn.analysis.barriers import Saddles, saddles_between
from neurodyn.analysis.escape import Escape, model_noise, simulate_escape
from neurodyn.analysis.fixed_points import (
    FixedPointOptions,
    FixedPoints,
    frozen_copy,
    model_fixed_points,
    refuse_spiking,
)
from neurodyn.errors import ConfigError, NeurodynError
from neurodyn.models import Network
from neurodyn.runs.fixedpoints import (
    _check_epoch,
    _path,
    epoch_input,
    find_run_fixed_points,
    run_task,
)
from neurodyn.runs.run import Run

__all__ = ["RunEscape", "TooFewMemories", "memories", "run_escape"]


class TooFewMemories(NeurodynError):
    """No member of the run has two stable points to switch between."""


@dataclass(frozen=True)
class RunEscape:
    """What `run_escape` found: the memories, one `Escape` per noise level, the saddles."""

    task: str
    epoch: str
    attractors: np.ndarray  # [E, A, N], NaN rows where a member has fewer
    escapes: list[Escape]
    saddles: Saddles | None


def memories(fixed_points: FixedPoints, n_members: int) -> torch.Tensor:
    """The distinct stable fixed points of each member, padded with NaN rows: `[E, A, N]` (A
    the most any member has)."""
    stable = fixed_points.is_fixed & (fixed_points.stability == "stable")
    # (distinct already: the finder merges points within tol_unique after its final polish)
    per_member = [
        fixed_points.states[stable & (fixed_points.member == e)] for e in range(n_members)
    ]
    most = max((len(p) for p in per_member), default=0)
    n_units = fixed_points.states.shape[1]
    out = np.full((n_members, most, n_units), np.nan)
    for e, points in enumerate(per_member):
        out[e, : len(points)] = points
    return torch.as_tensor(out)


def escape_noise_levels(
    run: Run, sigmas: Sequence[float] | None, own: float | None = None
) -> list[float]:
    """The noise levels `run_escape` simulates: `sigmas`, else the run's own training noise
    (`own`, read from its config when None); `ConfigError` for a run trained without noise
    and no levels given, or for levels that are not positive numbers. Cheap: the CLI checks
    it before any analysis runs."""
    if sigmas is None:
        own = float(run.config.model.sigma_rec) if own is None else own
        if not own > 0:
            raise ConfigError(
                f"run {run.id} was trained without recurrent noise (sigma_rec = 0): give the "
                "noise levels to test (--sigma 0.1 0.2 ...)"
            )
        sigmas = [own]
    levels = [float(s) for s in sigmas]
    if not levels or min(levels) <= 0 or not all(math.isfinite(s) for s in levels):
        raise ConfigError(f"noise levels must be positive numbers, got {levels}")
    return levels


def run_escape(
    run: Run,
    *,
    sigmas: Sequence[float] | None = None,
    task: str | None = None,
    epoch: str | None = None,
    n_steps: int = 2000,
    n_per_attractor: int = 32,
    check_every: int = 5,
    relax_steps: int = 300,
    commit_steps: int | None = None,
    core_fraction: float = 0.25,
    n_initial: int = 512,
    start_noise: float = 0.5,
    finder_iters: int = 3000,
    saddles: bool = True,
    seed: int = 0,
    model: Network | None = None,
    progress: bool = False,
) -> RunEscape:
    """Switching between the memories of every member of `run` under noise.

    Parameters
    ----------
    run : Run
    sigmas : noise levels (`sigma_rec` units), optional
        By default the run's own training noise; a run trained without noise needs them.
    task, epoch : str, optional
        Whose constant input holds the memories (default: the run's first task, its delay or
        memory epoch).
    n_steps, n_per_attractor, check_every, relax_steps, core_fraction
        As `simulate_escape` (steps of the network's dt).
    commit_steps : int, optional
        As `simulate_escape`; by default one time constant of a CTRNN (`tau_ms / dt_ms`
        steps), two steps of a gated cell.
    n_initial, start_noise, finder_iters
        Starts of the fixed-point search for the memories (states the network visits on the
        task, plus Gaussian noise of `start_noise` times their spread: memories the trials
        rarely visit are found too) and its iterations.
    saddles : bool
        Also find the saddles between the memories and their path barriers.
    model : Network, optional
        Analyse this network instead of the run's final weights (nothing is saved then).

    Returns
    -------
    RunEscape
    """
    save = model is None
    model = run.load_model() if model is None else model
    refuse_spiking(model, "escapes between memories (stable fixed points)")
    sigmas = escape_noise_levels(run, sigmas, float(getattr(model.spec, "sigma_rec", 0.0)))
    noise = model_noise(frozen_copy(model, torch.float32))  # refuses a cell without one
    if commit_steps is None:
        tau = getattr(model.spec, "tau_ms", None)
        commit_steps = max(2, round(tau / model.spec.dt_ms)) if model.continuous_time else 2
    chosen = run_task(run, task)
    epoch = _check_epoch(chosen, epoch)
    start = time.perf_counter()
    options = FixedPointOptions(max_iters=finder_iters)
    found = find_run_fixed_points(
        run,
        task=chosen.name,
        epoch=epoch,
        n_initial=n_initial,
        noise=start_noise,
        seed=seed,
        options=options,
        model=model,
        progress=progress,
    )
    attractors = memories(found, model.ensemble_size)
    counts = (~attractors.isnan().any(-1)).sum(-1)
    if attractors.shape[1] < 2 or int(counts.max()) < 2:
        raise TooFewMemories(
            f"run {run.id}: no member has two stable points under the input of "
            f"{chosen.name}'s {epoch} epoch ({counts.tolist()} per member), so there is no "
            "switching to measure; try another --epoch or more --initial-states"
        )
    u = epoch_input(run, chosen, epoch, seed=seed)
    escapes = []
    with Progress("escape", len(sigmas), enabled=progress) as bar:
        for sigma in sigmas:
            escapes.append(
                simulate_escape(
                    noise,
                    attractors.float(),
                    u.float(),
                    sigma=sigma,
                    n_steps=n_steps,
                    n_per_attractor=n_per_attractor,
                    check_every=check_every,
                    relax_steps=relax_steps,
                    commit_steps=commit_steps,
                    core_fraction=core_fraction,
                    seed=seed,
                )
            )
            bar.advance(note=f"sigma {sigma:g}: {escapes[-1].n_switches} switches")
    between = None
    if saddles:
        fine = frozen_copy(model, torch.float64)
        between = saddles_between(
            lambda starts, opts: model_fixed_points(model, starts, u, options=opts),
            fine.step,
            attractors,
            u.double(),
            dt=model.spec.dt_ms if model.continuous_time else None,
            options=options,
            seed=seed,
        )
    if save:
        with run.writing():
            for result in escapes:
                result.save(_path(run, chosen.name, epoch, f"escape.sigma{result.sigma:g}.npz"))
            if between is not None:
                between.save(_path(run, chosen.name, epoch, "saddles.npz"))
            run.record_seconds(f"escape {chosen.name}.{epoch}", time.perf_counter() - start)
    return RunEscape(chosen.name, epoch, attractors.numpy(), escapes, between)
