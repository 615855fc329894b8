"""Run the first analyses on a trained run and keep their results under `RUN/analysis/`.

For each task of the run: PCA of the hidden-state trajectories (averaged per condition), the
recurrent-to-input drive ratio per step and per epoch, and activity across the steps of the
stimulus epoch. Files are `analysis/<task>.<kind>.npz`, readable with the result classes'
`load` (or `load_analyses(run)`). Also: hidden structure of the trajectories — a Gaussian HMM's
state sequence set against the epochs (`epoch_states`) and the DMD spectrum and modes of the
activity (`dmd`).

Analyses of several tasks at once (task variance, its unit clusters and their lesion effects,
per ensemble member) are kept as `analysis/member<m>.<kind>.npz` by `save_task_variance`, which
the multitask study calls for its run; `saved_task_variance` reads them back.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from neurodyn._io import atomic_write_text, remove_stray_temporaries
from neurodyn._progress import Progress
from neurodyn.analysis import (
    PCATrajectories,
    RecurrentInputRatio,
    SavableResult,
    StepTuning,
    pca_trajectories,
    recurrent_input_ratio,
    step_tuning,
)
from neurodyn.analysis.latent import DMD, EpochStates, dmd, epoch_states
from neurodyn.analysis.task_variance import LesionEffects, TaskVariance, UnitClusters
from neurodyn.errors import ArgumentError, CorruptFile, excerpt
from neurodyn.runs.run import ANALYSIS, Run
from neurodyn.tasks import Batch, Multitask, Task

# The epoch whose steps `step_tuning` looks across: where evidence or a cue arrives.
_TUNING_EPOCHS = ("stimulus", "delay")
_RING_DIRECTIONS = 8
_SETTINGS = "settings.json"
_HMM_TRIALS = 64  # trials the HMM is fitted on (EM's cost grows with B x T x S^2)
_DMD_RANK = 10


@dataclass(frozen=True)
class TaskAnalysis:
    """The analyses of one task of a run (one ensemble member)."""

    task: str
    member: int
    pca: PCATrajectories
    # None for an adopted network whose cell does not name its weights as torch's cells do
    recurrent_input_ratio: RecurrentInputRatio | None
    step_tuning: StepTuning | None
    epoch_states: EpochStates | None = None
    dmd: DMD | None = None


def condition_of(task: Task, batch: Batch) -> tuple[Tensor | None, str]:
    """The per-trial label trajectories are averaged over, and its name.

    `pdm`: signed coherence (coherence x choice). Ring tasks: the stimulus direction binned
    into 8 sectors. Other tasks: none.
    """
    if "signed_coherence" in batch.trial:
        return batch.trial["signed_coherence"], "signed coherence"
    if "angle" in batch.trial:
        width = 2 * math.pi / _RING_DIRECTIONS
        sector = torch.floor(batch.trial["angle"] / width).clamp(max=_RING_DIRECTIONS - 1)
        return sector * (360 / _RING_DIRECTIONS), "stimulus direction (deg, 45° sectors)"
    return None, ""


def _kinds() -> dict[str, type[SavableResult]]:
    return {
        "pca": PCATrajectories,
        "recurrent_input_ratio": RecurrentInputRatio,
        "step_tuning": StepTuning,
        "epoch_states": EpochStates,
        "dmd": DMD,
    }


@torch.no_grad()
def analyze_task(
    run: Run, task: Task, *, member: int = 0, batch_size: int = 256, seed: int = 0
) -> TaskAnalysis:
    """Analyse member `member` of `run` on `task` (one of its tasks), noise-free.

    The network runs without recurrent noise so the trajectories show its deterministic
    dynamics; trials are drawn with `seed`, so the results are reproducible.
    """
    net = run.load_member(member)
    batch = task.sample(batch_size, seed=seed)
    x = run.task.embed(task.name, batch).x if isinstance(run.task, Multitask) else batch.x
    traj = net(x, noise=False, return_drives=True)
    # a spiking network's filtered spike trains, a rate network's states
    states = net.activity(traj.states[: batch.n_steps, 0])  # [T, B, N]
    if not bool(states.any()):
        raise ArgumentError(
            f"member {member} of run {run.id} is silent on {task.name} (its activity is zero "
            "throughout): there is nothing to analyse; train it further or drive it harder"
        )
    in_trial = batch.trial_mask()
    condition, condition_name = condition_of(task, batch)
    pca = pca_trajectories(
        states, mask=in_trial, condition=condition, condition_name=condition_name
    )
    ratio = (
        None
        if traj.input_drive is None or traj.recurrent_drive is None
        else recurrent_input_ratio(
            traj.input_drive[: batch.n_steps, 0],
            traj.recurrent_drive[: batch.n_steps, 0],
            mask=in_trial,
            epochs={e: batch.epoch_mask(e) for e in task.epochs},
        )
    )
    epoch = next((e for e in _TUNING_EPOCHS if e in task.epochs), None)
    tuning = (
        None
        if epoch is None
        else step_tuning(
            states, batch.trial[f"{epoch}_start"], batch.trial[f"{epoch}_end"], epoch=epoch
        )
    )
    # the HMM's trials sorted by condition, so state sequences that code it line up
    some = torch.arange(min(_HMM_TRIALS, batch.batch_size))
    if condition is not None:
        some = some[torch.argsort(condition[some], stable=True)]
    bounds = {
        e: (batch.trial[f"{e}_start"][some], batch.trial[f"{e}_end"][some]) for e in task.epochs
    }
    # with one epoch there is nothing for the states to tell apart (it read "tells the epoch
    # to 0%")
    states_by_epoch = (
        epoch_states(
            states[:, some],
            bounds,
            seed=seed,
            trial_order=condition_name if condition is not None else "",
        )
        if len(task.epochs) > 1
        else None
    )
    # DMD over the steps every trial has, so no pair of steps crosses a trial's end
    shortest = int(batch.trial[f"{task.epochs[-1]}_end"].min())
    spectrum = dmd(states[:shortest], rank=min(_DMD_RANK, states.shape[-1]))
    return TaskAnalysis(task.name, member, pca, ratio, tuning, states_by_epoch, spectrum)


def analyze_run(
    run: Run, *, member: int = 0, batch_size: int = 256, seed: int = 0, progress: bool = False
) -> list[TaskAnalysis]:
    """Analyse every task of `run` and save the results under `RUN/analysis/` (holding the
    run's writer lock: `RunLocked` while another process writes the run).

    The wall time of the analyses goes to `run.json` (`RunInfo.seconds`); `progress` shows
    which task is being analysed (on stderr).
    """
    with run.writing():
        folder = run.writable(ANALYSIS)  # before the work, which a refusal would waste
        remove_stray_temporaries(run.path)
        tasks = run.task.tasks if isinstance(run.task, Multitask) else (run.task,)
        start = time.perf_counter()
        results = []
        with Progress("analyses", len(tasks), enabled=progress) as bar:
            for t in tasks:
                bar.note(t.name)
                results.append(
                    analyze_task(run, t, member=member, batch_size=batch_size, seed=seed)
                )
                bar.advance()
        for result in results:
            for kind in _kinds():
                value = getattr(result, kind)
                path = folder / f"{result.task}.{kind}.npz"
                if value is not None:
                    value.save(path)
                else:
                    path.unlink(missing_ok=True)  # an earlier analysis's, not this one's
        settings = {"member": member, "batch_size": batch_size, "seed": seed}
        atomic_write_text(folder / _SETTINGS, json.dumps(settings))
        run.record_seconds("analyses", time.perf_counter() - start)
    return results


def _saved_member(path: Path) -> int:
    """The ensemble member the saved analyses are of, from their settings file."""
    try:
        member = json.loads(path.read_text(encoding="utf-8"))["member"]
    except (ValueError, KeyError, TypeError) as err:
        raise CorruptFile(
            f"{path} cannot be read ({excerpt(str(err), 60)}): delete the analysis folder and "
            "run `neurodyn analyze` again"
        ) from None
    if not isinstance(member, int) or isinstance(member, bool) or member < 0:
        raise CorruptFile(f"{path}: `member` must be a non-negative integer, got {excerpt(member)}")
    return member


def load_analyses(run: Run) -> list[TaskAnalysis]:
    """The saved analyses of `run`, in task order (tasks without saved results are skipped)."""
    folder = run.path / ANALYSIS
    found: list[TaskAnalysis] = []
    if not (folder / _SETTINGS).exists():
        return found
    member = _saved_member(folder / _SETTINGS)
    for name in run.task.task_names:
        pca, ratio, tuning, by_epoch, spectrum = (
            folder / f"{name}.{kind}.npz" for kind in _kinds()
        )
        if pca.exists():
            found.append(
                TaskAnalysis(
                    task=name,
                    member=member,
                    pca=PCATrajectories.load(pca),
                    recurrent_input_ratio=RecurrentInputRatio.load(ratio)
                    if ratio.exists()
                    else None,
                    step_tuning=StepTuning.load(tuning) if tuning.exists() else None,
                    epoch_states=EpochStates.load(by_epoch) if by_epoch.exists() else None,
                    dmd=DMD.load(spectrum) if spectrum.exists() else None,
                )
            )
    return found


def analysis_settings(run: Run) -> dict[str, int] | None:
    """The member, batch size and seed `analyze_run` used on `run` (None if never analysed)."""
    path = run.path / ANALYSIS / _SETTINGS
    if not path.exists():
        return None
    return {k: int(v) for k, v in json.loads(path.read_text(encoding="utf-8")).items()}


@torch.no_grad()
def member_trajectories(
    run: Run, task: Task, *, member: int, batch_size: int = 256, seed: int = 0
) -> PCATrajectories:
    """The PCA of member `member`'s noise-free trajectories on `task`, as `analyze_task`
    computes it, without the other analyses (for looking at the members `analyze_run` did not
    save)."""
    net = run.load_member(member)
    batch = task.sample(batch_size, seed=seed)
    x = run.task.embed(task.name, batch).x if isinstance(run.task, Multitask) else batch.x
    states = net.activity(net(x, noise=False).states[: batch.n_steps, 0])  # [T, B, N]
    condition, condition_name = condition_of(task, batch)
    return pca_trajectories(
        states, mask=batch.trial_mask(), condition=condition, condition_name=condition_name
    )


@dataclass(frozen=True)
class SavedTaskVariance:
    """The task variance of one member of a multitask run, with what was derived from it."""

    member: int
    variance: TaskVariance
    clusters: UnitClusters | None
    lesions: LesionEffects | None


def save_task_variance(
    run: Run,
    member: int,
    variance: TaskVariance,
    clusters: UnitClusters | None = None,
    lesions: LesionEffects | None = None,
) -> None:
    """Keep one member's task variance (and its clusters and their lesion effects) under
    `RUN/analysis/member<m>.<kind>.npz`."""
    folder = run.path / ANALYSIS
    for kind, value in (
        ("task_variance", variance),
        ("unit_clusters", clusters),
        ("lesion_effects", lesions),
    ):
        if value is not None:
            value.save(folder / f"member{member}.{kind}.npz")


def saved_task_variance(run: Run) -> list[SavedTaskVariance]:
    """Every member's saved task variance, by member (empty when none was saved)."""
    folder = run.path / ANALYSIS
    found = []
    for path in sorted(folder.glob("member*.task_variance.npz")):
        stem = path.name.removesuffix(".task_variance.npz")
        clusters, lesions = (
            folder / f"{stem}.unit_clusters.npz",
            folder / f"{stem}.lesion_effects.npz",
        )
        found.append(
            SavedTaskVariance(
                member=int(stem.removeprefix("member")),
                variance=TaskVariance.load(path),
                clusters=UnitClusters.load(clusters) if clusters.exists() else None,
                lesions=LesionEffects.load(lesions) if lesions.exists() else None,
            )
        )
    return sorted(found, key=lambda saved: saved.member)
