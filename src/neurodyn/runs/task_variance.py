"""Yang et al. (2019)'s task variance of any trained multitask run: each member's normalised
task variance, the clusters of its units and the effect of lesioning each cluster on each
task, kept under `RUN/analysis/member<m>.<kind>.npz` (`save_task_variance`). `neurodyn analyze
RUN --task-variance` runs it; the run report and `neurodyn serve` show it. The Yang study adds
the paper's fractional variance and task vectors to the same states.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import Tensor

from neurodyn._progress import Progress
from neurodyn.analysis.task_variance import cluster_units, lesion_effects, task_variance
from neurodyn.errors import ConfigError
from neurodyn.models import Network
from neurodyn.runs.analyze import SavedTaskVariance, save_task_variance
from neurodyn.runs.run import Run
from neurodyn.tasks import Batch, Multitask, Task, between


def quiet(task: Task) -> Task:
    """The task without input noise, where it has any (the papers' analyses are noise-free)."""
    names = {f.name for f in dataclasses.fields(task)}  # type: ignore[arg-type]
    return dataclasses.replace(task, input_noise=0.0) if "input_noise" in names else task  # type: ignore[call-arg]


def run_multitask(run: Run) -> Multitask:
    """The run's `Multitask`, or a one-line error for a run of one task."""
    if not isinstance(run.task, Multitask):
        raise ConfigError(
            f"run {run.id} has one task ({run.task.name}); task variance compares tasks: "
            "analyze a run trained on several (e.g. task: {battery: yang19})"
        )
    return run.task


@dataclass(frozen=True)
class TaskStates:
    """One network's noise-free states on each task, as the task-variance analyses read them."""

    batches: dict[str, Batch]
    states: dict[str, Tensor]  # task -> [T, B, N]
    after_first_epoch: dict[str, Tensor]  # task -> [T, B] bool: after the first epoch's end


def task_states(net: Network, multitask: Multitask, trials: int, seed: int) -> TaskStates:
    """Noise-free states (a spiking network's filtered spike trains: `Network.activity`) of
    one network (network, stimulus and rule inputs) on `trials` trials
    of every task, all drawn with `seed`; the steps from the end of each task's first epoch to
    the trial's end are the ones its task variance uses (the paper: stimulus onset to the end).
    """
    noise_free = dataclasses.replace(multitask, tasks=tuple(quiet(t) for t in multitask.tasks))
    batches, states, masks = {}, {}, {}
    for task in noise_free.tasks:
        batch = task.sample(trials, seed=seed)
        with torch.no_grad():
            h = net.activity(net(noise_free.embed(task.name, batch).x, noise=False).states)
        batches[task.name] = batch
        states[task.name] = h[: batch.n_steps, 0]
        first = task.epochs[0]
        masks[task.name] = between(batch.n_steps, batch.trial[f"{first}_end"], batch.trial["end"])
    return TaskStates(batches, states, masks)


def task_performance(
    multitask: Multitask, trials: int, seed: int, *, paper: bool = False
) -> Callable[[Network], dict[str, float]]:
    """`evaluate(net) -> {task: performance}` on `trials` fixed trials per task drawn with
    `seed`, with the tasks' input noise (rule inputs included, on random streams 2 and 3) and a
    noise-free network; `paper=True` scores by each task's `performance_paper` where it has one.
    """
    batches = {t.name: t.sample(trials, seed=seed) for t in multitask.tasks}
    inputs = {
        t.name: multitask.embed(
            t.name, batches[t.name], generator=torch.Generator().manual_seed(seed)
        ).x
        for t in multitask.tasks
    }

    def evaluate(net: Network) -> dict[str, float]:
        scores = {}
        for task in multitask.tasks:
            with torch.no_grad():
                outputs = net(inputs[task.name], noise=False).outputs
            criterion = (
                getattr(task, "performance_paper", task.performance) if paper else task.performance
            )
            batch = batches[task.name]
            scores[task.name] = float(criterion(outputs[: batch.n_steps, 0], batch))
        return scores

    return evaluate


def analyze_task_variance(
    run: Run,
    *,
    trials: int = 256,
    seed: int = 0,
    lesions: bool = True,
    progress: bool = False,
) -> list[SavedTaskVariance]:
    """Task variance, unit clusters and (with `lesions`) cluster lesion effects of every
    member of a multitask run, kept with the run.

    Parameters
    ----------
    run : a trained run whose task is a `Multitask`
    trials : noise-free trials per task for the variance, and trials per task for the lesions
    seed : seeds the variance's trials and the clustering; the lesions' trials use `seed + 1`
    lesions : also lesion every cluster and score every task

    Returns
    -------
    list of SavedTaskVariance, one per member
    """
    if trials < 2:
        raise ConfigError(f"trials must be at least 2 (a variance over trials), got {trials}")
    multitask = run_multitask(run)
    start = time.perf_counter()
    model = run.load_model()
    evaluate = task_performance(multitask, trials, seed + 1) if lesions else None
    results = []
    with Progress("task variance", model.ensemble_size, enabled=progress) as bar:
        for member in range(model.ensemble_size):
            net = model.member(member)
            seen = task_states(net, multitask, trials, seed)
            variance = task_variance(seen.states, seen.after_first_epoch)
            clusters = cluster_units(variance, seed=seed)
            effects = (
                lesion_effects(
                    net,
                    clusters.labels,
                    evaluate,
                    progress=progress,
                    desc=f"task variance: member {member}: lesions",
                )
                if evaluate
                else None
            )
            results.append(SavedTaskVariance(member, variance, clusters, effects))
            bar.advance(note=f"member {member}: {clusters.n_clusters} clusters")
    with run.writing():
        for result in results:
            save_task_variance(run, result.member, result.variance, result.clusters, result.lesions)
        run.record_seconds("task variance", time.perf_counter() - start)
    return results


def describe(results: list[SavedTaskVariance]) -> list[str]:
    """One line per member: its cluster count and the lesion that costs most."""
    lines = []
    for saved in results:
        line = f"member {saved.member}"
        if saved.clusters is not None:
            line += f": {saved.clusters.n_clusters} unit clusters"
        if saved.lesions is not None:
            effects = saved.lesions
            cluster, task = divmod(int(effects.change.argmin()), effects.change.shape[1])
            line += (
                f"; lesioning cluster {cluster + 1} costs {effects.tasks[task]} most "
                f"({effects.intact[task]:.2f} -> {effects.lesioned[cluster, task]:.2f})"
            )
        lines.append(line)
    return lines


__all__ = [
    "TaskStates",
    "analyze_task_variance",
    "describe",
    "quiet",
    "run_multitask",
    "task_performance",
    "task_states",
]
