"""Fixed points of a trained run: per task and epoch, along a rule interpolation, across training.

Results go to `RUN/analysis/`:

    <task>.<epoch>.fixed_points.npz          FixedPoints (all ensemble members)
    <task_a>-<task_b>.<epoch>.interpolation.npz   FixedPointContinuation (one member; <epoch>
                                                  is <epoch_a>-<epoch_b> where they differ)
    <task>.<epoch>.across_training.npz       FixedPointsAcrossTraining (one member)

The constant input of an epoch is the median input over the epoch's steps and trials: for
`pdm`'s stimulus epoch, the fixation input with both evidence streams at their zero-coherence
mean (the input under which an integrator's line attractor is usually sought); for a delay,
the fixation and rule inputs alone. Initial states are states the network visits on the task
(noise-free), plus Gaussian noise scaled to the spread of those states.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import numpy as np
import torch
from torch import Tensor

from neurodyn._progress import Progress
from neurodyn._progress import progress as progress_of
from neurodyn.analysis.fixed_point_tracking import (
    FixedPointContinuation,
    FixedPointsAcrossTraining,
    continue_fixed_points,
    summarise_across_training,
)
from neurodyn.analysis.fixed_points import (
    FinderProgress,
    FixedPointOptions,
    FixedPoints,
    StepFunctions,
    frozen_copy,
    model_fixed_points,
    refuse_spiking,
)
from neurodyn.errors import ArgumentError, ConfigError, NeurodynError
from neurodyn.models import LIFNetwork, Network
from neurodyn.runs.run import ANALYSIS, Run
from neurodyn.tasks import Multitask, Task

# Where fixed points are sought when no epoch is named: where the network must hold something.
_DEFAULT_EPOCHS = ("delay", "memory", "stimulus", "fixation")


def run_task(run: Run, name: str | None) -> Task:
    """The task `name` of the run (its only task when `name` is None)."""
    tasks = run.task.tasks if isinstance(run.task, Multitask) else (run.task,)
    if name is None:
        return tasks[0]
    for task in tasks:
        if task.name == name:
            return task
    raise NeurodynError(
        f"run {run.id} was not trained on task {name!r}; its tasks are {[t.name for t in tasks]}"
    )


def default_epoch(task: Task) -> str:
    return next((e for e in _DEFAULT_EPOCHS if e in task.epochs), task.epochs[0])


def _check_epoch(task: Task, epoch: str | None) -> str:
    epoch = default_epoch(task) if epoch is None else epoch
    if epoch not in task.epochs:
        raise NeurodynError(
            f"task {task.name} has no epoch {epoch!r}; its epochs are {task.epochs}"
        )
    return epoch


def _network_batch(run: Run, task: Task, batch_size: int, seed: int) -> tuple[Tensor, object]:
    batch = task.sample(batch_size, seed=seed)
    x = run.task.embed(task.name, batch).x if isinstance(run.task, Multitask) else batch.x
    return x[: batch.n_steps], batch


def epoch_input(run: Run, task: Task, epoch: str, *, seed: int = 0) -> Tensor:
    """The constant input `[I]` (network input space, rule included) of `epoch` of `task`."""
    x, batch = _network_batch(run, task, 256, seed)
    mask = batch.epoch_mask(epoch)  # type: ignore[attr-defined]
    return x[mask].median(dim=0).values


def visited_states(model: Network, run: Run, task: Task, *, seed: int = 0) -> Tensor:
    """Noise-free states of every member within the trials of `task`: `[E, M, N]`."""
    x, batch = _network_batch(run, task, 64, seed)
    with torch.no_grad():
        states = model(x, noise=False).states  # [T, E, B, N]
    inside = batch.trial_mask()  # type: ignore[attr-defined]
    return states.permute(1, 0, 2, 3)[:, inside]


def sample_initial_states(visited: Tensor, n: int, *, noise: float, seed: int) -> Tensor:
    """`n` states per member drawn from `visited [E, M, N]`, plus Gaussian noise of `noise`
    times the per-unit standard deviation of the visited states: `[E, n, N]`."""
    g = torch.Generator().manual_seed(seed)
    picks = torch.randint(visited.shape[1], (visited.shape[0], n), generator=g)
    starts = visited[torch.arange(visited.shape[0])[:, None], picks]
    scale = visited.std(dim=1, keepdim=True)
    return starts + noise * scale * torch.randn(starts.shape, generator=g)


def _path(run: Run, *parts: str) -> Path:
    return run.writable(ANALYSIS) / ".".join(parts)


def find_run_fixed_points(
    run: Run,
    *,
    task: str | None = None,
    epoch: str | None = None,
    n_initial: int = 1024,
    noise: float = 0.1,
    seed: int = 0,
    options: FixedPointOptions | None = None,
    model: Network | None = None,
    progress: bool = False,
) -> FixedPoints:
    """Fixed and slow points of every member of `run` under the constant input of `epoch` of
    `task`, saved as `analysis/<task>.<epoch>.fixed_points.npz` (its wall time in `run.json`,
    as phase "fixed points <task>.<epoch>").

    `progress` shows the states converged so far and, at the end, the points found (stderr).
    """
    # checked before any search, so a bad value never replaces an earlier saved result
    if not 0 <= noise < math.inf:
        raise ConfigError(f"noise must be a finite non-negative number, got {noise}")
    if n_initial < 1:
        raise ConfigError(f"n_initial (--initial-states) must be at least 1, got {n_initial}")
    chosen = run_task(run, task)
    epoch = _check_epoch(chosen, epoch)
    save = model is None
    model = run.load_model() if model is None else model
    if isinstance(model, LIFNetwork):
        # a spiking step is a map with a threshold; its steady firing patterns are the fixed
        # points of its rate equivalent, in the filtered spike trains' units
        model = model.rate_equivalent()
    start = time.perf_counter()
    starts = sample_initial_states(
        visited_states(model, run, chosen, seed=seed), n_initial, noise=noise, seed=seed
    )
    with Progress(f"fixed points of {chosen.name} ({epoch})", enabled=progress) as bar:
        found = model_fixed_points(
            model,
            starts,
            epoch_input(run, chosen, epoch),
            options=options,
            callback=lambda state: bar.note(_progress_note(state)),
        )
    if save:
        with run.writing():
            found.save(_path(run, chosen.name, epoch, "fixed_points.npz"))
            run.record_seconds(f"fixed points {chosen.name}.{epoch}", time.perf_counter() - start)
    return found


def _progress_note(state: FinderProgress) -> str:
    if state.stage == "found":
        return f"{state.points} distinct points"
    return f"{state.stage}: {state.converged}/{state.total} states converged"


def interpolate_run(
    run: Run,
    task_a: str,
    task_b: str,
    *,
    epoch: str | None = None,
    member: int = 0,
    n_alphas: int = 21,
    n_initial: int = 256,
    noise: float = 0.1,
    seed: int = 0,
    options: FixedPointOptions | None = None,
    progress: bool = False,
) -> FixedPointContinuation:
    """Fixed points of one member as the input moves from task A's to task B's (rule inputs
    included), saved as `analysis/<a>-<b>.<epoch>.interpolation.npz` (`<epoch>` is
    `<epoch of a>-<epoch of b>` where the two differ), its wall time in `run.json` as phase
    "fixed points <a>-<b>.<epoch> (interpolation)"."""
    if not isinstance(run.task, Multitask):
        raise NeurodynError(
            f"run {run.id} has one task ({run.task.name}); interpolating between rules needs a "
            "run trained on several tasks"
        )
    a, b = run_task(run, task_a), run_task(run, task_b)
    if a.name == b.name:
        # one task's epoch input at both ends: 21 searches of one and the same input
        raise ArgumentError(
            f"interpolating {a.name} to itself gives one input at every alpha; name two of "
            "the run's tasks"
        )
    epoch_a = _check_epoch(a, epoch)
    epoch_b = _check_epoch(b, epoch)
    net = run.load_member(member)
    refuse_spiking(net, "fixed points along a rule interpolation")
    start = time.perf_counter()
    visited = torch.cat(
        [visited_states(net, run, a, seed=seed), visited_states(net, run, b, seed=seed)], dim=1
    )
    starts = sample_initial_states(visited, n_initial, noise=noise, seed=seed)[0]
    fine = frozen_copy(net, torch.float64)
    fast = frozen_copy(net, torch.float32)
    with Progress(f"fixed points from {a.name} to {b.name}", n_alphas, enabled=progress) as bar:
        cont = continue_fixed_points(
            lambda h, u: fast.step(h[None], u[None])[0],
            epoch_input(run, a, epoch_a, seed=seed),
            epoch_input(run, b, epoch_b, seed=seed),
            starts,
            alphas=np.linspace(0, 1, n_alphas),
            # flows are classified on the flow, maps (gated and most adopted cells) on the map
            dt=net.spec.dt_ms if net.continuous_time else None,
            options=options,
            step_functions=StepFunctions(
                jacobian=lambda h, u: fast.step_jacobian(h[None], u[None])[0],
                float64_step=lambda h, u: fine.step(h[None], u[None])[0],
                float64_jacobian=lambda h, u: fine.step_jacobian(h[None], u[None])[0],
            ),
            callback=lambda alpha, found: bar.advance(
                note=f"alpha {alpha:.2f}: {len(found)} points"
            ),
        )
    label = epoch_a if epoch_a == epoch_b else f"{epoch_a}-{epoch_b}"
    with run.writing():
        cont.save(_path(run, f"{a.name}-{b.name}", label, "interpolation.npz"))
        run.record_seconds(
            f"fixed points {a.name}-{b.name}.{label} (interpolation)", time.perf_counter() - start
        )
    return cont


def across_training(
    run: Run,
    *,
    task: str | None = None,
    epoch: str | None = None,
    member: int = 0,
    n_initial: int = 256,
    noise: float = 0.1,
    seed: int = 0,
    options: FixedPointOptions | None = None,
    progress: bool = False,
) -> FixedPointsAcrossTraining:
    """Fixed points of one member at every set of weights kept during training (and the
    final one), each from its own trajectories; saved as
    `analysis/<task>.<epoch>.across_training.npz`, its wall time in `run.json` as phase
    "fixed points <task>.<epoch> (across training)"."""
    if run.config.model.adopted is not None:
        raise NeurodynError(
            f"run {run.id} adopts a network trained outside neurodyn, which holds only its "
            "final weights: there is no training to follow"
        )
    history = run.weight_history()
    if not history:
        raise NeurodynError(
            f"run {run.id} kept no weights during training; set train.keep_weights_every in its "
            "config (e.g. 100) and train again"
        )
    chosen = run_task(run, task)
    epoch = _check_epoch(chosen, epoch)
    final = run.load_model()
    refuse_spiking(final, "fixed points across training")
    run.check_member(member, final.ensemble_size)
    steps_done = run.info().steps_done
    if history[-1][0] != steps_done:
        history.append((steps_done, final))
    steps, found, weights = [], [], []
    start = time.perf_counter()
    for step, model in progress_of(history, "fixed points across training", enabled=progress):
        net = model.member(member)
        fps = find_run_fixed_points(
            run,
            task=chosen.name,
            epoch=epoch,
            n_initial=n_initial,
            noise=noise,
            seed=seed,
            options=options,
            model=net,
        )
        steps.append(step)
        found.append(fps)
        weights.append(net.W_rec[0] if net.continuous_time else None)
    result = summarise_across_training(steps, found, weights)
    with run.writing():
        result.save(_path(run, chosen.name, epoch, "across_training.npz"))
        run.record_seconds(
            f"fixed points {chosen.name}.{epoch} (across training)", time.perf_counter() - start
        )
    return result


def saved_fixed_points(run: Run, task: str) -> dict[str, FixedPoints]:
    """The fixed points saved for `task`, by epoch."""
    folder = run.path / ANALYSIS
    return {
        p.name.split(".")[1]: FixedPoints.load(p)
        for p in sorted(folder.glob(f"{task}.*.fixed_points.npz"))
    }


def saved_interpolations(run: Run) -> dict[str, FixedPointContinuation]:
    folder = run.path / ANALYSIS
    return {
        p.name.removesuffix(".interpolation.npz"): FixedPointContinuation.load(p)
        for p in sorted(folder.glob("*.interpolation.npz"))
    }


def saved_across_training(run: Run) -> dict[str, FixedPointsAcrossTraining]:
    folder = run.path / ANALYSIS
    return {
        p.name.removesuffix(".across_training.npz"): FixedPointsAcrossTraining.load(p)
        for p in sorted(folder.glob("*.across_training.npz"))
    }
