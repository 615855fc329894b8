"""Dynamics beyond fixed points of a trained run: limit cycles, Lyapunov spectra, Koopman modes.

Each runs under the constant input of one epoch of one task (as `neurodyn fixedpoints` does:
the median input over the epoch), from states the network visits on the task, for every
ensemble member at once. Results go to `RUN/analysis/`:

    <task>.<epoch>.limit_cycles.npz    LimitCycles (every member)
    <task>.<epoch>.poincare.npz        PoincareSection of trajectories of one member, on the
                                       section of its first cycle
    <task>.<epoch>.lyapunov.npz        LyapunovSpectrum (every member)
    <task>.<epoch>.koopman.npz         KoopmanModes of one member, on the leading principal
                                       components of its autonomous trajectories

and each one's wall time to `run.json` (phase "<analysis> <task>.<epoch>").
"""

from __future__ import annotations

import glob
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from neurodyn._progress import Progress
from neurodyn.analysis._result import SavableResult
from neurodyn.analysis.cycles import (
    CycleOptions,
    LimitCycles,
    PoincareSection,
    Section,
    model_limit_cycles,
    poincare_section,
)
from neurodyn.analysis.fixed_points import frozen_copy, refuse_spiking
from neurodyn.analysis.koopman import KoopmanModes, Monomials, edmd
from neurodyn.analysis.lyapunov import LyapunovSpectrum, model_lyapunov_spectrum
from neurodyn.analysis.projection import principal_axes
from neurodyn.errors import ArgumentError, ConfigError
from neurodyn.models import Network
from neurodyn.runs.fixedpoints import (
    _check_epoch,
    epoch_input,
    run_task,
    sample_initial_states,
    visited_states,
)
from neurodyn.runs.run import ANALYSIS, Run
from neurodyn.tasks import Task


def _setup(
    run: Run, task: str | None, epoch: str | None, n_initial: int, noise: float, seed: int
) -> tuple[Task, str, Network, Tensor, Tensor]:
    """The task, epoch, model, starts `[E, K, N]` and constant input `[I]` of an analysis."""
    if n_initial < 1:
        raise ConfigError(f"n_initial (--initial-states) must be at least 1, got {n_initial}")
    if not 0 <= noise < float("inf"):
        raise ConfigError(f"noise must be a finite non-negative number, got {noise}")
    chosen = run_task(run, task)
    epoch = _check_epoch(chosen, epoch)
    model = run.load_model()
    refuse_spiking(model, "limit cycles, Lyapunov spectra and Koopman modes")
    starts = sample_initial_states(
        visited_states(model, run, chosen, seed=seed), n_initial, noise=noise, seed=seed
    )
    return chosen, epoch, model, starts, epoch_input(run, chosen, epoch, seed=seed)


def _path(run: Run, *parts: str) -> Path:
    return run.writable(ANALYSIS) / ".".join(parts)


def run_limit_cycles(
    run: Run,
    *,
    task: str | None = None,
    epoch: str | None = None,
    n_initial: int = 32,
    noise: float = 0.1,
    seed: int = 0,
    options: CycleOptions | None = None,
    progress: bool = False,
) -> LimitCycles:
    """Limit cycles of every member of `run` under the constant input of `epoch` of `task`,
    saved as `analysis/<task>.<epoch>.limit_cycles.npz`; with the crossings of a few
    trajectories of the first cycle's member through its section, saved as
    `<task>.<epoch>.poincare.npz` (when a cycle was found).

    Returns
    -------
    LimitCycles
        Empty, with its `reason`, when no start settles on a cycle.
    """
    chosen, epoch, model, starts, u = _setup(run, task, epoch, n_initial, noise, seed)
    options = options or CycleOptions()
    start = time.perf_counter()
    with Progress(f"limit cycles of {chosen.name} ({epoch})", enabled=progress) as bar:
        cycles = model_limit_cycles(model, starts, u, options=options, callback=bar.note)
    crossings = _crossings(model, starts, u, cycles, options) if len(cycles) else None
    with run.writing():
        cycles.save(_path(run, chosen.name, epoch, "limit_cycles.npz"))
        poincare = _path(run, chosen.name, epoch, "poincare.npz")
        if crossings is not None:
            crossings.save(poincare)
        else:
            # an older section would no longer belong to the cycles saved beside it
            poincare.unlink(missing_ok=True)
        run.record_seconds(f"limit cycles {chosen.name}.{epoch}", time.perf_counter() - start)
    return cycles


def _crossings(
    model: Network, starts: Tensor, u: Tensor, cycles: LimitCycles, options: CycleOptions
) -> PoincareSection | None:
    """Where trajectories of the first cycle's member cross that cycle's section."""
    member = int(cycles.member[0])
    # every member steps (Network.member rebuilds from a spec, which not every cell can)
    net = frozen_copy(model, torch.float64)
    h = starts.double()
    x = u.double()[None, None].expand(h.shape[0], h.shape[1], -1)
    states = []
    with torch.no_grad():
        for step in range(options.n_transient + options.window):
            h = net.step(h, x)
            if step >= options.n_transient:
                states.append(h[member])
    section = Section(cycles.section_normal[0], float(cycles.section_offset[0]))
    try:
        return poincare_section(torch.stack(states), section)
    except ArgumentError:
        return None  # these starts went to other attractors: the cycles file says so


def run_lyapunov(
    run: Run,
    *,
    task: str | None = None,
    epoch: str | None = None,
    n_initial: int = 8,
    n_exponents: int | None = None,
    n_steps: int = 2000,
    n_transient: int = 500,
    noise: float = 0.1,
    seed: int = 0,
    progress: bool = False,
) -> LyapunovSpectrum:
    """The `n_exponents` largest Lyapunov exponents (default: min(N, 10)) of every member of
    `run` under the constant input of `epoch` of `task`, along `n_initial` trajectories per
    member, saved as `analysis/<task>.<epoch>.lyapunov.npz`."""
    chosen, epoch, model, starts, u = _setup(run, task, epoch, n_initial, noise, seed)
    k = min(model.state_size, 10) if n_exponents is None else n_exponents
    start = time.perf_counter()
    with Progress(
        f"Lyapunov spectrum of {chosen.name} ({epoch})", n_steps, enabled=progress
    ) as bar:
        done = [0]

        def advance(step: int, total: int) -> None:
            bar.advance(step - done[0])
            done[0] = step

        spectrum = model_lyapunov_spectrum(
            model,
            starts,
            u,
            n_steps=n_steps,
            n_exponents=k,
            n_transient=n_transient,
            seed=seed,
            callback=advance,
        )
    with run.writing():
        spectrum.save(_path(run, chosen.name, epoch, "lyapunov.npz"))
        run.record_seconds(f"lyapunov {chosen.name}.{epoch}", time.perf_counter() - start)
    return spectrum


def run_koopman(
    run: Run,
    *,
    task: str | None = None,
    epoch: str | None = None,
    member: int = 0,
    n_initial: int = 64,
    n_steps: int = 100,
    n_components: int = 6,
    degree: int = 2,
    noise: float = 0.1,
    seed: int = 0,
    progress: bool = False,
) -> KoopmanModes:
    """Koopman eigenvalues of one member of `run` by extended DMD: `n_initial` trajectories
    of `n_steps` from visited states under the constant input of `epoch` of `task` (the
    autonomous dynamics whose fixed points `neurodyn fixedpoints` finds), projected on their
    first `n_components` principal components and lifted by monomials up to `degree`; saved
    as `analysis/<task>.<epoch>.koopman.npz`."""
    if n_components < 1 or degree < 1 or n_steps < 2:
        raise ConfigError(
            f"need n_components >= 1, degree >= 1, n_steps >= 2; got {n_components}, "
            f"{degree}, {n_steps}"
        )
    chosen, epoch, model, starts, u = _setup(run, task, epoch, n_initial, noise, seed)
    run.check_member(member, model.ensemble_size)
    start = time.perf_counter()
    net = frozen_copy(model, torch.float64)
    with Progress(f"Koopman modes of {chosen.name} ({epoch})", enabled=progress):
        h = starts.double()
        x = u.double()[None, None].expand(h.shape[0], h.shape[1], -1)
        states = [h[member]]
        with torch.no_grad():
            for _ in range(n_steps - 1):
                h = net.step(h, x)
                states.append(h[member])
        trajectories = torch.stack(states)  # [T, K, N]
        dims = min(n_components, trajectories.shape[-1])
        axes = principal_axes(trajectories.reshape(-1, trajectories.shape[-1]).numpy(), dims=dims)
        reduced = torch.as_tensor(axes.project(trajectories.numpy()))
        koopman = edmd(reduced, Monomials(degree), dt=model.spec.dt_ms)
    with run.writing():
        koopman.save(_path(run, chosen.name, epoch, "koopman.npz"))
        run.record_seconds(f"koopman {chosen.name}.{epoch}", time.perf_counter() - start)
    return koopman


@dataclass(frozen=True)
class SavedDynamics:
    """The dynamics results saved for one task and epoch (None: not computed)."""

    epoch: str
    cycles: LimitCycles | None
    poincare: PoincareSection | None
    lyapunov: LyapunovSpectrum | None
    koopman: KoopmanModes | None


def saved_dynamics(run: Run, task: str) -> list[SavedDynamics]:
    """Every epoch of `task` with a dynamics result saved, in order of the epoch's name."""
    folder = run.path / ANALYSIS
    kinds: dict[str, type[SavableResult]] = {
        "limit_cycles": LimitCycles,
        "poincare": PoincareSection,
        "lyapunov": LyapunovSpectrum,
        "koopman": KoopmanModes,
    }
    # task names may hold dots (yang19.dlygo): the epoch is what lies between name and kind
    epochs = sorted(
        {
            p.name[len(task) + 1 : -len(f".{kind}.npz")]
            for kind in kinds
            for p in folder.glob(f"{glob.escape(task)}.*.{kind}.npz")
        }
    )
    found = []
    for epoch in epochs:
        loaded = {}
        for kind, cls in kinds.items():
            path = folder / f"{task}.{epoch}.{kind}.npz"
            loaded[kind] = cls.load(path) if path.exists() else None
        found.append(
            SavedDynamics(
                epoch=epoch,
                cycles=loaded["limit_cycles"],  # type: ignore[arg-type]
                poincare=loaded["poincare"],  # type: ignore[arg-type]
                lyapunov=loaded["lyapunov"],  # type: ignore[arg-type]
                koopman=loaded["koopman"],  # type: ignore[arg-type]
            )
        )
    return found
