"""The motif analysis of a trained multitask run (Driscoll, Shenoy & Sussillo 2024): task-period
variance of every member, its Ward clusters of units and of task periods with the motif blocks,
and the cluster lesions per task period, kept under `RUN/analysis/`:

    motifs.period_variance.npz          PeriodVariance, every member (`[E, N, P]`)
    member<m>.motif_clusters.npz        MotifClusters of member m
    member<m>.period_lesions.npz        PeriodLesions of member m

Any run whose tasks declare their task periods (`Task.periods`: the driscoll24 and yang19
tasks do) can be analysed; `neurodyn motifs RUN` runs it, and the run report shows it.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from neurodyn._progress import Progress, stage
from neurodyn.analysis.fixed_point_tracking import FixedPointContinuation, continue_fixed_points
from neurodyn.analysis.fixed_points import FixedPointOptions, StepFunctions, frozen_copy
from neurodyn.analysis.motif_lesions import PeriodLesions, period_lesion_effects
from neurodyn.analysis.motifs import (
    MotifClusters,
    PeriodVariance,
    cluster_motifs,
    period_variance,
)
from neurodyn.errors import ConfigError, NeurodynError
from neurodyn.runs.fixedpoints import epoch_input, sample_initial_states, visited_states
from neurodyn.runs.run import ANALYSIS, Run
from neurodyn.runs.task_variance import quiet
from neurodyn.tasks import Batch, Multitask, Task

_VARIANCE = "motifs.period_variance.npz"


@dataclass(frozen=True)
class MotifAnalysis:
    """The motif analysis of one member of a run."""

    member: int
    variance: PeriodVariance
    clusters: MotifClusters
    lesions: PeriodLesions | None


def run_tasks(run: Run) -> tuple[Task, ...]:
    """The tasks of a run, each checked to declare its task periods (one-line error)."""
    tasks = run.task.tasks if isinstance(run.task, Multitask) else (run.task,)
    missing = [t.name for t in tasks if not t.periods]
    if missing:
        raise ConfigError(
            f"run {run.id}: tasks {missing} declare no task periods (Task.periods), which the "
            "motif analysis needs; train on tasks that do (e.g. driscoll24 or yang19)"
        )
    return tasks


class _States(Mapping[str, torch.Tensor]):
    """Each task's noise-free states `[T, E, B, N]`, made when asked for and not kept: the
    period variance reads one task at a time, so only one task's states are in memory."""

    def __init__(self, run: Run, model, batches: dict[str, Batch]) -> None:
        self.run, self.model, self.batches = run, model, batches

    def __getitem__(self, name: str) -> torch.Tensor:
        batch = self.batches[name]
        layout = self.run.task
        x = layout.embed(name, batch).x if isinstance(layout, Multitask) else batch.x
        with torch.no_grad():
            return self.model.activity(self.model(x, noise=False).states[: batch.n_steps])

    def __iter__(self) -> Iterator[str]:
        return iter(self.batches)

    def __len__(self) -> int:
        return len(self.batches)


def noise_free_states(
    run: Run, model, tasks: tuple[Task, ...], trials: int, seed: int
) -> tuple[Mapping[str, torch.Tensor], dict[str, Batch]]:
    """Each task's noise-free states `[T, E, B, N]` (computed as each is read) and its batch
    of `trials` noise-free trials."""
    batches = {t.name: quiet(t).sample(trials, seed=seed + k) for k, t in enumerate(tasks)}
    return _States(run, model, batches), batches


def analyze_motifs(
    run: Run,
    *,
    trials: int = 128,
    lesion_trials: int = 128,
    lesions: bool = True,
    seed: int = 0,
    folder: Path | None = None,
    progress: bool = False,
) -> list[MotifAnalysis]:
    """Task-period variance, motif clusters and cluster lesions of every member of `run`,
    saved under `RUN/analysis/` (see the module docstring).

    Parameters
    ----------
    run : a run whose tasks declare their periods
    trials : noise-free trials per task for the variance
    lesion_trials : trials per task for the lesions (with the training noise)
    lesions : also lesion every unit cluster (one batched ensemble per member)
    seed : seeds the trials
    folder : where to keep the results instead of `RUN/analysis/` (a study's folder: the run
        may still be training, its writer lock held)

    Returns
    -------
    list of MotifAnalysis, one per member
    """
    if trials < 2 or lesion_trials < 1:
        raise ConfigError(
            f"trials must be at least 2 and lesion_trials at least 1, got {trials}, {lesion_trials}"
        )
    tasks = run_tasks(run)
    start = time.perf_counter()
    model = run.load_model()
    stage(f"motifs: states on {trials} trials of each of {len(tasks)} tasks", enabled=progress)
    states, batches = noise_free_states(run, model, tasks, trials, seed)
    periods = {t.name: dict(t.periods or {}) for t in tasks}
    variance = period_variance(states, batches, periods)
    results = []
    with Progress("motifs", model.ensemble_size, enabled=progress) as bar:
        for member in range(model.ensemble_size):
            one = variance.member(member)
            clusters = cluster_motifs(one)
            effects = None
            if lesions:
                effects = period_lesion_effects(
                    model.member(member),
                    clusters.unit_labels,
                    run.task,
                    trials=lesion_trials,
                    seed=seed,
                )
            results.append(MotifAnalysis(member, one, clusters, effects))
            bar.advance(note=f"member {member}: {clusters.n_unit_clusters} unit clusters")
    if folder is not None:
        _save(results, variance, folder)
        return results
    with run.writing():
        _save(results, variance, run.writable(ANALYSIS))
        run.record_seconds("motifs", time.perf_counter() - start)
    return results


def _save(results: list[MotifAnalysis], variance: PeriodVariance, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    variance.save(folder / _VARIANCE)
    for result in results:
        result.clusters.save(folder / f"member{result.member}.motif_clusters.npz")
        if result.lesions is not None:
            result.lesions.save(folder / f"member{result.member}.period_lesions.npz")


@dataclass(frozen=True)
class RuleBridge:
    """The fixed points of one member as the rule input moves from task A's to task B's
    (Driscoll et al. 2024, Fig. 4), and the direction of that "bridge" against the readout.

    Attributes
    ----------
    task_a, task_b : str
    epoch : str
    continuation : FixedPointContinuation
    stable_counts : [A] number of stable points at each alpha
    bridge_readout_angle_deg : float
        Angle between the shift of the stable points' centre from alpha 0 to alpha 1 and the
        readout plane (the response outputs' weights): 90 when the rule moves the state
        orthogonally to what the outputs read, as the paper finds.
    """

    task_a: str
    task_b: str
    epoch: str
    continuation: FixedPointContinuation
    stable_counts: np.ndarray
    bridge_readout_angle_deg: float


def rule_interpolation(
    run: Run,
    task_a: str,
    task_b: str,
    epoch: str,
    *,
    member: int = 0,
    n_alphas: int = 11,
    n_initial: int = 128,
    seed: int = 0,
    options: FixedPointOptions | None = None,
) -> RuleBridge:
    """Continue the fixed points of one member of `run` along the input from `task_a`'s
    `epoch` to `task_b`'s (the same epoch), for two tasks that read the same inputs.

    Parameters
    ----------
    run : a multitask run whose tasks share their inputs (e.g. `task: driscoll24`)
    task_a, task_b : names of two of its tasks (e.g. MemoryPro and MemoryAnti)
    epoch : an epoch both tasks have (e.g. `delay1`, the memory period)
    member, n_alphas, n_initial, seed, options : the member, the alpha grid's size, the
        starts of the search, their seed and the finder's options

    Returns
    -------
    RuleBridge
    """
    layout = run.task
    if not isinstance(layout, Multitask):
        raise ConfigError(f"run {run.id} has one task; a rule interpolation needs two")
    a, b = layout.task(task_a), layout.task(task_b)
    if not layout.shared_io and a.name != b.name:
        raise ConfigError(
            f"tasks {a.name} and {b.name} have different input layouts (run {run.id} gives each "
            "task its own channels); interpolate between tasks of one battery"
        )
    for task in (a, b):
        if epoch not in task.epochs:
            raise ConfigError(f"task {task.name} has no epoch {epoch!r}; its epochs: {task.epochs}")
    net = run.load_member(member)
    visited = torch.cat(
        [visited_states(net, run, a, seed=seed), visited_states(net, run, b, seed=seed)], dim=1
    )
    starts = sample_initial_states(visited, n_initial, noise=0.1, seed=seed)[0]
    fine = frozen_copy(net, torch.float64)
    fast = frozen_copy(net, torch.float32)
    cont = continue_fixed_points(
        lambda h, u: fast.step(h[None], u[None])[0],
        epoch_input(run, a, epoch, seed=seed),
        epoch_input(run, b, epoch, seed=seed),
        starts,
        alphas=np.linspace(0, 1, n_alphas),
        dt=net.spec.dt_ms,
        options=options,
        step_functions=StepFunctions(
            jacobian=lambda h, u: fast.step_jacobian(h[None], u[None])[0],
            float64_step=lambda h, u: fine.step(h[None], u[None])[0],
            float64_jacobian=lambda h, u: fine.step_jacobian(h[None], u[None])[0],
        ),
    )
    stable = cont.stability == "stable"
    counts = np.array([int(np.sum(stable & (cont.alpha_index == i))) for i in range(n_alphas)])
    angle = float("nan")
    ends = [stable & (cont.alpha_index == i) for i in (0, n_alphas - 1)]
    if all(e.any() for e in ends):
        shift = cont.states[ends[1]].mean(0) - cont.states[ends[0]].mean(0)
        readout = net.W_out[0, 1:].detach().double().numpy().T  # [N, 2]: the response outputs
        basis, _ = np.linalg.qr(readout)
        inside = np.linalg.norm(basis.T @ shift) / max(float(np.linalg.norm(shift)), 1e-300)
        angle = float(np.degrees(np.arccos(np.clip(inside, 0.0, 1.0))))
    return RuleBridge(a.name, b.name, epoch, cont, counts, angle)


def describe(results: list[MotifAnalysis]) -> list[str]:
    """One line per member: active units, clusters of units and periods, the shared motifs
    (unit clusters whose block spans several tasks) and the lesion that costs most."""
    lines = []
    for r in results:
        c = r.clusters
        line = (
            f"member {r.member}: {int(r.variance.active.sum())} active units, "
            f"{c.counts_text()}, {len(c.shared())} shared motifs"
        )
        if r.lesions is not None and len(r.lesions.performance_change):
            worst = r.lesions.performance_change.min(1)  # [C]
            cluster = int(worst.argmin())
            task = r.lesions.tasks[int(r.lesions.performance_change[cluster].argmin())]
            line += f"; lesioning cluster {cluster} costs most ({worst[cluster]:+.2f} on {task})"
        lines.append(line)
    return lines


def saved_motifs(run: Run, folder: Path | None = None) -> list[MotifAnalysis]:
    """The motif analysis saved for `run` (or in `folder`), by member (empty when none was
    saved)."""
    folder = run.path / ANALYSIS if folder is None else folder
    if not (folder / _VARIANCE).is_file():
        return []
    variance = PeriodVariance.load(folder / _VARIANCE)
    found = []
    for member in range(len(variance.variance)):
        clusters_path = folder / f"member{member}.motif_clusters.npz"
        if not clusters_path.is_file():
            continue
        lesions_path = folder / f"member{member}.period_lesions.npz"
        found.append(
            MotifAnalysis(
                member,
                variance.member(member),
                MotifClusters.load(clusters_path),
                PeriodLesions.load(lesions_path) if lesions_path.is_file() else None,
            )
        )
    if not found:
        raise NeurodynError(f"{folder} holds a period variance but no clusters; rerun the motifs")
    return found


__all__ = [
    "MotifAnalysis",
    "analyze_motifs",
    "describe",
    "noise_free_states",
    "run_tasks",
    "saved_motifs",
]
