"""What the Yang et al. (2019) study computes: its config, every analysis of each network of a
multitask run, the rows of measures.csv and the summary.

`analyze_multitask` runs these analyses on any multitask run (any tasks with epochs and rule
inputs), not only the battery; the paper's task pairs and analogies are its defaults.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurodyn._progress import stage
from neurodyn.analysis.task_variance import (
    FractionalVariance,
    LesionEffects,
    TaskVariance,
    UnitClusters,
    cluster_units,
    fractional_variance,
    lesion_effects,
    task_variance,
)
from neurodyn.analysis.task_vectors import Analogy, TaskVectors, analogy, task_vectors
from neurodyn.errors import ConfigError
from neurodyn.runs import Run, parse_config
from neurodyn.runs.analyze import save_task_variance
from neurodyn.runs.task_variance import run_multitask, task_performance, task_states
from neurodyn.tasks import Multitask, Task

# Pairs of the paper's fractional-variance histograms (public code gyyang/multitask,
# analysis/variance.py, `plot_hist_varprop_selection`; Fig. 3).
FTV_PAIRS: tuple[tuple[str, str], ...] = (
    ("dm1", "dm2"),
    ("contextdm1", "contextdm2"),
    ("dm1", "fdanti"),
    ("dm1", "contextdm1"),
    ("fdgo", "reactgo"),
    ("delaydm1", "dm1"),
    ("dmcgo", "dmcnogo"),
    ("contextdm1", "contextdelaydm1"),
)

# (a, b, c, d) read "a is to b as c is to d": vec(d) ~ vec(c) + vec(b) - vec(a). The three task
# sets of the public code's analysis/taskset.py (`compute_taskspace`, setups 1-3) with the
# compositions of `compute_replacerule_performance`, e.g. Dly Anti = Anti + (Dly Go - Go).
ANALOGIES: tuple[tuple[str, str, str, str], ...] = (
    ("fdgo", "delaygo", "fdanti", "delayanti"),
    ("contextdm2", "contextdm1", "contextdelaydm2", "contextdelaydm1"),
    ("dmcnogo", "dmsnogo", "dmcgo", "dmsgo"),
)

_FIELDS = ("run", "analysis_trials")


@dataclass(frozen=True)
class Yang19Config:
    """The run to train (a run config) and how many trials per task the analyses use."""

    run: dict[str, Any]
    analysis_trials: int

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Yang19Config:
        unknown = set(data) - set(_FIELDS)
        missing = set(_FIELDS) - set(data)
        if unknown or missing:
            raise ConfigError(f"study yang19 takes `run` and `analysis_trials`; got {sorted(data)}")
        config = cls(run=dict(data["run"]), analysis_trials=int(data["analysis_trials"]))
        parse_config(config.run)  # fail early on a bad run config
        if config.analysis_trials < 8:
            raise ConfigError(f"analysis_trials must be at least 8, got {config.analysis_trials}")
        return config

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run, "analysis_trials": self.analysis_trials}

    @property
    def run_id(self) -> str:
        """The run's folder name under the runs root: its config's name, else `yang19`."""
        return str(self.run.get("name") or "yang19")


def runs(config: Yang19Config, root: Path) -> dict[str, dict[str, Any]]:
    """The study's one run."""
    return {config.run_id: config.run}


@dataclass(frozen=True)
class MultitaskAnalysis:
    """Every analysis of one network of a multitask run. `performance` is ours (the paper's
    criterion plus fixation held from 100 ms to the go cue); `performance_paper` the paper's
    (the last step only, the public code's `get_perf`)."""

    member: int
    performance: dict[str, float]
    performance_paper: dict[str, float]
    variance: TaskVariance
    clusters: UnitClusters
    fractional: list[FractionalVariance]
    lesions: LesionEffects
    vectors: TaskVectors
    analogies: list[Analogy]


def vector_epoch(task: Task) -> str:
    """The epoch whose last step gives the task vector: `stim1` (the paper's) when the task
    has one, else its first epoch."""
    return "stim1" if "stim1" in task.epochs else task.epochs[0]


def analyze_multitask(
    run: Run,
    member: int = 0,
    *,
    n_trials: int = 256,
    seed: int = 0,
    pairs: tuple[tuple[str, str], ...] = FTV_PAIRS,
    analogies: tuple[tuple[str, str, str, str], ...] = ANALOGIES,
    progress: bool = False,
) -> MultitaskAnalysis:
    """Task variance, clusters, fractional variance, lesions and task vectors of member
    `member` of a multitask run.

    States are noise-free (network and inputs) on `n_trials` fresh trials per task. Task
    variance uses every step after the first epoch (the paper: from stimulus onset to the
    end); task vectors are the mean state at the last step of `vector_epoch`. Pairs and
    analogies naming tasks the run does not have are skipped. Lesions and performance use the
    tasks with their input noise and a noise-free network, on trials drawn with `seed + 1`.

    Parameters
    ----------
    run : a trained run whose task is a `Multitask`
    member : which network of the run's ensemble
    n_trials : trials per task for every analysis
    seed : seed of the analysed trials (and of the clustering)
    pairs : task pairs for fractional task variance (default: the paper's, Fig. 3)
    analogies : (a, b, c, d) task quadruples for task-vector analogies (default: the paper's)
    progress : report each stage and each lesion on stderr (a 256-unit member takes about a
        minute on one core)

    Returns
    -------
    MultitaskAnalysis

    References
    ----------
    Yang, Joglekar, Song, Newsome & Wang (2019), Nature Neuroscience 22:297-306, Figs. 2, 3, 6.
    """
    name = f"member {member}"
    multitask = run_multitask(run)
    net = run.load_member(member)
    stage(f"{name}: states on {n_trials} trials per task", enabled=progress)
    seen = task_states(net, multitask, n_trials, seed)
    steady = {}
    for task in multitask.tasks:
        batch = seen.batches[task.name]
        last = batch.trial[f"{vector_epoch(task)}_end"] - 1
        steady[task.name] = seen.states[task.name][last, torch.arange(batch.batch_size)]  # [B, N]
    stage(f"{name}: task variance and unit clusters", enabled=progress)
    variance = task_variance(seen.states, seen.after_first_epoch)
    clusters = cluster_units(variance, seed=seed)
    names = set(multitask.task_names)
    fractional = [fractional_variance(variance, a, b) for a, b in pairs if {a, b} <= names]
    # lesions and performance: the tasks' input noise (on stream 2 the rule inputs' too),
    # a noise-free network, trials drawn with seed + 1
    evaluate = task_performance(multitask, n_trials, seed + 1)
    evaluate_paper = task_performance(multitask, n_trials, seed + 1, paper=True)

    vectors = task_vectors(steady)
    stage(f"{name}: performance by the paper's criterion", enabled=progress)
    performance_paper = evaluate_paper(net)
    # the intact network's performance (ours) is the lesion table's first evaluation
    lesions = lesion_effects(
        net, clusters.labels, evaluate, progress=progress, desc=f"{name}: lesions"
    )
    return MultitaskAnalysis(
        member=member,
        performance=dict(zip(lesions.tasks, lesions.intact.tolist(), strict=True)),
        performance_paper=performance_paper,
        variance=variance,
        clusters=clusters,
        fractional=fractional,
        lesions=lesions,
        vectors=vectors,
        analogies=[analogy(vectors, *quad) for quad in analogies if set(quad) <= names],
    )


def analyse_multitask(*args: Any, **kwargs: Any) -> MultitaskAnalysis:
    """Deprecated spelling of `analyze_multitask` (the project spells the verb "analyze")."""
    warnings.warn(
        "analyse_multitask is renamed analyze_multitask; call that instead",
        DeprecationWarning,
        stacklevel=2,
    )
    return analyze_multitask(*args, **kwargs)


def task_labels(run: Run) -> dict[str, str]:
    """The paper's name of each of the run's tasks (`paper_name`, e.g. fdgo -> Go), else its
    own name."""
    tasks = run.task.tasks if isinstance(run.task, Multitask) else [run.task]
    return {t.name: getattr(t, "paper_name", t.name) for t in tasks}


def set_vectors(result: MultitaskAnalysis, quad: tuple[str, ...]) -> TaskVectors:
    """Task vectors of one analogy's four tasks with their own PCA (the paper's Fig. 6)."""
    index = [result.vectors.tasks.index(t) for t in quad]
    steady = {
        t: torch.as_tensor(result.vectors.vectors[i]) for t, i in zip(quad, index, strict=True)
    }
    return task_vectors(steady)


def measure(
    config: Yang19Config, runs: Mapping[str, Run], out: Path, progress: bool
) -> list[MultitaskAnalysis]:
    """Every analysis of every network of the study's run; each member's task variance, its
    clusters and their lesion effects are kept with the run too (for `neurodyn serve`)."""
    run = runs[config.run_id]
    results = [
        analyze_multitask(run, member, n_trials=config.analysis_trials, progress=progress)
        for member in range(len(run.config.model.seeds))
    ]
    for r in results:
        save_task_variance(run, r.member, r.variance, r.clusters, r.lesions)
    return results


def rows(results: list[MultitaskAnalysis]) -> list[dict[str, Any]]:
    """One row per network: performance per task by both criteria (`perf_strict_TASK`: ours,
    fixation also held before the go cue; `perf_paper_TASK`: the paper's, the last step only)
    and their minima, cluster count and its silhouette score, the fractional-variance shape of
    each pair (`FractionalVariance.shares`), each analogy's nearest task, the expected task's
    rank and the relative error."""
    out = []
    for r in results:
        row: dict[str, Any] = {"member": r.member}
        row["min_perf_strict"] = round(min(r.performance.values()), 4)
        row["min_perf_paper"] = round(min(r.performance_paper.values()), 4)
        row.update({f"perf_strict_{t}": round(p, 4) for t, p in r.performance.items()})
        row.update({f"perf_paper_{t}": round(p, 4) for t, p in r.performance_paper.items()})
        row["active_units"] = int(r.variance.active.sum())
        row["clusters"] = r.clusters.n_clusters
        # how clearly the units cluster: near 0 the chosen k is one of many equally poor splits
        row["silhouette"] = round(float(np.nanmax(r.clusters.silhouette)), 3)
        for f in r.fractional:
            only_b, both, only_a = f.shares()
            pair = f"ftv_{f.task_a}_{f.task_b}"
            row[f"{pair}_only_{f.task_b}"] = round(only_b, 3)
            row[f"{pair}_both"] = round(both, 3)
            row[f"{pair}_only_{f.task_a}"] = round(only_a, 3)
        for a in r.analogies:
            row[f"analogy_{a.d}"] = a.nearest
            row[f"analogy_{a.d}_rank"] = a.rank
            row[f"analogy_{a.d}_relative_error"] = round(a.relative_error, 3)
        out.append(row)
    return out


def summary(results: list[MultitaskAnalysis]) -> str:
    """Markdown: per network, the minimum and mean performance (ours, and the paper's
    criterion), clusters, analogies."""
    lines = [
        "| network | min performance | mean performance | min, paper's criterion | "
        "mean, paper's criterion | active units | clusters | analogies held |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in results:
        held = [a.d for a in r.analogies if a.nearest == a.d]
        lines.append(
            f"| {r.member} | {round(min(r.performance.values()), 4):.3f} | "
            f"{np.mean([round(p, 4) for p in r.performance.values()]):.3f} | "
            f"{round(min(r.performance_paper.values()), 4):.3f} | "
            f"{np.mean([round(p, 4) for p in r.performance_paper.values()]):.3f} | "
            f"{int(r.variance.active.sum())} | {r.clusters.n_clusters} | "
            f"{len(held)}/{len(r.analogies)} ({', '.join(held) or 'none'}) |"
        )
    return "\n".join(lines)
