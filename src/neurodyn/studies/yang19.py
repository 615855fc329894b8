"""Yang, Joglekar, Song, Newsome & Wang (2019), "Task representations in neural networks trained
to perform many cognitive tasks" (Nature Neuroscience 22, 297-306).

`neurodyn study yang19` trains the paper's network on the 20-task battery (or reuses / resumes
the run), then for every ensemble member: performance on every task, task variance and its
clusters (Fig. 2), fractional task variance of the paper's task pairs (Fig. 3), cluster lesions
(Fig. 2d) and compositional task vectors (Fig. 6), written to `ROOT/study-yang19/`.

`analyse_multitask` runs the same analyses on any multitask run (any tasks with epochs and
rule inputs), not only the battery.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import Tensor

from neurodyn._io import atomic_write_csv, atomic_write_text
from neurodyn.analysis.task_variance import (
    YANG19_FTV_PAIRS,
    FractionalVariance,
    LesionEffects,
    TaskVariance,
    UnitClusters,
    cluster_units,
    fractional_variance,
    lesion_effects,
    task_variance,
)
from neurodyn.analysis.task_vectors import (
    YANG19_ANALOGIES,
    Analogy,
    TaskVectors,
    analogy,
    task_vectors,
)
from neurodyn.errors import ConfigError, NeurodynError
from neurodyn.models import Network
from neurodyn.runs import Run, parse_config, train_or_reuse
from neurodyn.tasks import Batch, Multitask, Task, between

NAME = "yang19"
CAN_SKIP_TRAINING = True  # `neurodyn study yang19 --no-train`: analyse the run as it is

DEFAULT_RUN: dict[str, Any] = {
    "name": "yang19",
    "task": "yang19",
    "model": {
        "n_hidden": 256,
        "tau_ms": 100.0,
        "activation": "softplus",
        "rec_init": "diagonal",
        "rec_gain": 0.5,
        "sigma_rec": 0.05,
        "seeds": [0, 1, 2],
    },
    "train": {
        "steps": 60000,
        "batch_size": 64,
        "lr": 0.001,
        "log_every": 250,
        "checkpoint_every": 500,
        "eval_batch_size": 512,
    },
}


@dataclass(frozen=True)
class StudyConfig:
    """The run to train (a run config) and how many trials per task the analyses use."""

    run: dict[str, Any] = field(default_factory=lambda: dict(DEFAULT_RUN))
    analysis_trials: int = 256

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> StudyConfig:
        unknown = set(data) - {"run", "analysis_trials"}
        if unknown:
            raise ConfigError(
                f"study yang19 takes `run` and `analysis_trials`; got {sorted(unknown)}"
            )
        config = cls(
            run=data.get("run", dict(DEFAULT_RUN)),
            analysis_trials=int(data.get("analysis_trials", 256)),
        )
        parse_config(config.run)  # fail early on a bad run config
        if config.analysis_trials < 8:
            raise ConfigError(f"analysis_trials must be at least 8, got {config.analysis_trials}")
        return config


@dataclass(frozen=True)
class MultitaskAnalysis:
    """Every analysis of one network of a multitask run."""

    member: int
    performance: dict[str, float]
    variance: TaskVariance
    clusters: UnitClusters
    fractional: list[FractionalVariance]
    lesions: LesionEffects
    vectors: TaskVectors
    analogies: list[Analogy]


def _quiet(task: Task) -> Task:
    """The task without input noise, where it has any (the paper's analyses are noise-free)."""
    names = {f.name for f in dataclasses.fields(task)}  # type: ignore[arg-type]
    return dataclasses.replace(task, input_noise=0.0) if "input_noise" in names else task  # type: ignore[call-arg]


def _states(net: Network, multitask: Multitask, task: Task, batch: Batch) -> Tensor:
    x = multitask.embed(task.name, batch).x
    with torch.no_grad():
        return net(x, noise=False).states[: batch.n_steps, 0]  # [T, B, N]


def vector_epoch(task: Task) -> str:
    """The epoch whose last step gives the task vector: `stim1` (the paper's) when the task
    has one, else its first epoch."""
    return "stim1" if "stim1" in task.epochs else task.epochs[0]


def analyse_multitask(
    run: Run,
    member: int = 0,
    *,
    n_trials: int = 256,
    seed: int = 0,
    pairs: tuple[tuple[str, str], ...] = YANG19_FTV_PAIRS,
    analogies: tuple[tuple[str, str, str, str], ...] = YANG19_ANALOGIES,
) -> MultitaskAnalysis:
    """Task variance, clusters, fractional variance, lesions and task vectors of member
    `member` of a multitask run.

    States are noise-free (network and inputs) on `n_trials` fresh trials per task. Task
    variance uses every step after the first epoch (the paper: from stimulus onset to the
    end); task vectors are the mean state at the last step of `vector_epoch`. Pairs and
    analogies naming tasks the run does not have are skipped. Lesions and performance use the
    tasks with their input noise and a noise-free network, on trials drawn with `seed + 1`.
    """
    multitask = run.task
    if not isinstance(multitask, Multitask):
        raise NeurodynError(
            f"run {run.id} has one task ({multitask.name}); these analyses compare tasks"
        )
    net = run.load_member(member)
    states, masks, steady = {}, {}, {}
    for task in multitask.tasks:
        quiet = _quiet(task)
        batch = quiet.sample(n_trials, seed=seed)
        h = _states(net, multitask, quiet, batch)
        first = task.epochs[0]
        masks[task.name] = between(batch.n_steps, batch.trial[f"{first}_end"], batch.trial["end"])
        states[task.name] = h
        last = batch.trial[f"{vector_epoch(task)}_end"] - 1
        steady[task.name] = h[last, torch.arange(batch.batch_size)]  # [B, N]
    variance = task_variance(states, masks)
    clusters = cluster_units(variance, seed=seed)
    names = set(multitask.task_names)
    fractional = [fractional_variance(variance, a, b) for a, b in pairs if {a, b} <= names]

    eval_batches = {t.name: t.sample(n_trials, seed=seed + 1) for t in multitask.tasks}

    def evaluate(model: Network) -> dict[str, float]:
        out = {}
        for task in multitask.tasks:
            batch = eval_batches[task.name]
            x = multitask.embed(task.name, batch).x
            with torch.no_grad():
                outputs = model(x, noise=False).outputs[: batch.n_steps]
            out[task.name] = float(task.performance(outputs[:, 0], batch))
        return out

    vectors = task_vectors(steady)
    return MultitaskAnalysis(
        member=member,
        performance=evaluate(net),
        variance=variance,
        clusters=clusters,
        fractional=fractional,
        lesions=lesion_effects(net, clusters.labels, evaluate),
        vectors=vectors,
        analogies=[analogy(vectors, *quad) for quad in analogies if set(quad) <= names],
    )


def set_vectors(result: MultitaskAnalysis, quad: tuple[str, ...]) -> TaskVectors:
    """Task vectors of one analogy's four tasks with their own PCA (the paper's Fig. 6)."""
    index = [result.vectors.tasks.index(t) for t in quad]
    steady = {
        t: torch.as_tensor(result.vectors.vectors[i]) for t, i in zip(quad, index, strict=True)
    }
    return task_vectors(steady)


def measures(results: list[MultitaskAnalysis]) -> list[dict[str, Any]]:
    """One row per network: performance per task, cluster count and its silhouette score, the
    fractional-variance shape of each pair (`FractionalVariance.shares`), each analogy's nearest
    task, the expected task's rank and the relative error."""
    rows = []
    for r in results:
        row: dict[str, Any] = {"member": r.member}
        row.update({f"perf_{t}": round(p, 4) for t, p in r.performance.items()})
        row["min_performance"] = round(min(r.performance.values()), 4)
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
        rows.append(row)
    return rows


def run_study(
    config: StudyConfig, root: str | Path = "runs", *, progress: bool = True, train: bool = True
) -> tuple[Path, list[dict[str, Any]]]:
    """Train (or reuse, or resume) the run, analyse every member, and write
    `ROOT/study-yang19/` with `measures.csv`, `config.yaml` and `report.html`.

    With `train=False` an existing run is analysed as it is (an unfinished one at its last
    checkpoint), e.g. to look at a long training while it goes on."""
    import yaml

    from neurodyn.report.yang19 import write_yang19_report

    root = Path(root)
    run_config = parse_config(config.run)
    run = train_or_reuse(run_config, root, run_config.name or NAME, progress=progress, train=train)
    results = [
        analyse_multitask(run, member, n_trials=config.analysis_trials)
        for member in range(len(run.config.model.seeds))
    ]
    rows = measures(results)
    out = root / f"study-{NAME}"
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_csv(out / "measures.csv", rows)
    atomic_write_text(
        out / "config.yaml",
        yaml.safe_dump(
            {"run": config.run, "analysis_trials": config.analysis_trials}, sort_keys=False
        ),
    )
    write_yang19_report(out / "report.html", run, results)
    return out, rows


def summary_table(rows: list[dict[str, Any]]) -> str:
    """Markdown: per network, the minimum and mean performance, clusters, analogies."""
    lines = [
        "| network | min performance | mean performance | active units | clusters | analogies held |",
        "|---|---|---|---|---|---|",
    ]
    for row in rows:
        perfs = [v for k, v in row.items() if k.startswith("perf_")]
        tried = [
            k.removeprefix("analogy_").removesuffix("_rank")
            for k in row
            if k.startswith("analogy_") and k.endswith("_rank")
        ]
        held = [d for d in tried if row[f"analogy_{d}"] == d]
        lines.append(
            f"| {row['member']} | {row['min_performance']:.3f} | {np.mean(perfs):.3f} | "
            f"{row['active_units']} | {row['clusters']} | {len(held)}/{len(tried)} ({', '.join(held) or 'none'}) |"
        )
    return "\n".join(lines)


def quick_config() -> StudyConfig:
    """A tiny version (4 tasks, 32 units, 30 steps) that checks the whole loop runs."""
    run = {
        "name": "yang19-quick",
        "task": {"battery": "yang19", "tasks": ["fdgo", "delaygo", "fdanti", "delayanti"]},
        "model": {
            "n_hidden": 32,
            "activation": "softplus",
            "rec_init": "diagonal",
            "rec_gain": 0.5,
            "seeds": [0, 1],
        },
        "train": {"steps": 30, "batch_size": 16, "log_every": 10, "checkpoint_every": 30},
    }
    return StudyConfig(run=run, analysis_trials=16)
