"""What the memory study measures (Haviv, Rivkind & Barak 2019): its config and runs, the
measures of every network, the rows of measures.csv and the summary table.

Delayed classification of the 8 x 8 digits (`delayed_classification`), learned by curriculum:
`classes` grows the number of classes 3 -> 10 at T_max = 20 (the paper's VoCu), `tmax` grows
T_max 6 -> 20 with 10 classes (DeCu); each stage a fixed number of steps, as the paper's fixed
schedule. For each curriculum and cell (GRU, LSTM, CTRNN), one ensemble of seeds is one run,
`memory-<curriculum>-<cell>-plain`. The speed regulariser is then applied as the paper's code
does, as a fine-tuning of the trained networks on the final task (10 classes, T_max 20): one
run with the penalty (`...-tuned-speed`) and its control, the same fine-tuning without it
(`...-tuned`), both starting from the plain run's weights.

Measured per network:
- `accuracy[d]`: the share of right answers when the query comes exactly d steps after the
  image (`DelayedClassification.fixed_delay`), for d inside and beyond the trained T_max;
  `trained` averages d <= 16 (every such trial fits in 20 steps), `beyond` d > 20;
- `speed`: the mean squared speed |F(c) - c|^2 at the classes' centres of mass over the memory
  period (the regularised quantity), and the slow points of each class's memory
  (`class_slow_points`: their speed, how many distinct points the 10 classes use);
- backtracking (classes curriculum): right after each new class is introduced (the first kept
  weights after its stage starts), whether its memory settles at the slow point of an existing
  class, and which.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats

from neurodyn._progress import Progress
from neurodyn.analysis.memory import class_slow_points
from neurodyn.errors import ConfigError
from neurodyn.models import Network
from neurodyn.runs import Run, parse_config
from neurodyn.studies._study import check_fields
from neurodyn.tasks.haviv import DelayedClassification
from neurodyn.train.losses import speed_at_class_centres

__all__ = [
    "CURRICULA",
    "TRAINED_DELAY",
    "T_MAX",
    "MemoryConfig",
    "NetworkMeasures",
    "StudyRun",
    "accuracy_by_delay",
    "backtracking",
    "centre_speed",
    "curriculum_tasks",
    "group_means",
    "measure",
    "measure_run",
    "rows",
    "runs",
    "speed_predicts_memory",
    "summary",
]

CURRICULA = ("classes", "tmax")
# the paper's trials last up to T_MAX steps; a query at most TRAINED_DELAY steps after the
# image fits in every trained trial (the image comes at step 0..3)
TRAINED_DELAY, T_MAX = 16, 20


@dataclass(frozen=True)
class MemoryConfig:
    """The study's settings (see config.yaml for each field's meaning): cells, curricula, the
    speed penalty's weight, steps per fine-tuning and per curriculum stage, the probe delays,
    trials per delay, the slow-point finder's iterations, and the `model` and `train` sections
    every run shares."""

    cells: tuple[str, ...]
    curricula: tuple[str, ...]
    speed_penalty: float
    finetune_steps: int
    stage_steps: int
    delays: tuple[int, ...]
    eval_trials: int
    finder_iters: int
    model: dict[str, Any]
    train: dict[str, Any]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MemoryConfig:
        """The config from every field (`load_config` merges a user's file over config.yaml);
        checks every run config before anything trains."""
        check_fields("memory", (f.name for f in dataclasses.fields(cls)), data)
        config = cls(
            cells=tuple(data["cells"]),
            curricula=tuple(data["curricula"]),
            speed_penalty=float(data["speed_penalty"]),
            finetune_steps=int(data["finetune_steps"]),
            stage_steps=int(data["stage_steps"]),
            delays=tuple(int(d) for d in data["delays"]),
            eval_trials=int(data["eval_trials"]),
            finder_iters=int(data["finder_iters"]),
            model=dict(data["model"]),
            train=dict(data["train"]),
        )
        bad = set(config.curricula) - set(CURRICULA)
        if bad:
            raise ConfigError(f"curricula must be among {CURRICULA}, got {sorted(bad)}")
        if config.speed_penalty <= 0 or config.finetune_steps < 1:
            raise ConfigError("speed_penalty must be positive and finetune_steps at least 1")
        if not config.delays or min(config.delays) < 1:
            raise ConfigError("delays must be positive step counts")
        for run_config in config.run_configs().values():
            parse_config(run_config)  # every field checked before anything trains
        return config

    def to_dict(self) -> dict[str, Any]:
        return {
            "cells": list(self.cells),
            "curricula": list(self.curricula),
            "speed_penalty": self.speed_penalty,
            "finetune_steps": self.finetune_steps,
            "stage_steps": self.stage_steps,
            "delays": list(self.delays),
            "eval_trials": self.eval_trials,
            "finder_iters": self.finder_iters,
            "model": self.model,
            "train": self.train,
        }

    def run_configs(self, root: str | Path = "runs") -> dict[str, dict[str, Any]]:
        """Every run config, keyed by run name, in training order (a fine-tuning starts from
        `ROOT/<plain run>`, trained before it)."""
        return {r.name: r.config(root) for r in self.runs()}

    def runs(self) -> list[StudyRun]:
        """The curriculum runs, each followed by its two fine-tunings."""
        out = []
        for curriculum in self.curricula:
            for cell in self.cells:
                model = {**self.model, "cell": cell}
                if cell != "ctrnn":  # the leaky unit's settings mean nothing to a gated cell
                    model = {k: v for k, v in model.items() if k not in ("tau_ms", "activation")}
                base = f"memory-{curriculum}-{cell}"
                plain = {
                    "name": f"{base}-plain",
                    "task": _task(10, T_MAX),
                    "model": model,
                    "train": self.train,
                    "curriculum": [
                        {"task": task, "steps": self.stage_steps}
                        for task in curriculum_tasks(curriculum)
                    ],
                }
                out.append(StudyRun(f"{base}-plain", curriculum, "curriculum", 0.0, plain))
                train = {**self.train, "steps": self.finetune_steps}
                train.pop("keep_weights_every", None)
                for suffix, weight in (("tuned", 0.0), ("tuned-speed", self.speed_penalty)):
                    tuned = {
                        "name": f"{base}-{suffix}",
                        "task": _task(10, T_MAX),
                        "model": model,
                        "train": {**train, **({"speed_penalty": weight} if weight else {})},
                    }
                    phase = "fine-tune + speed" if weight else "fine-tune"
                    out.append(
                        StudyRun(
                            f"{base}-{suffix}", curriculum, phase, weight, tuned, f"{base}-plain"
                        )
                    )
        return out


@dataclass(frozen=True)
class StudyRun:
    """One run of the study: its name, curriculum, phase ('curriculum', 'fine-tune', 'fine-tune
    + speed'), penalty weight, config data and, for a fine-tuning, the run it starts from."""

    name: str
    curriculum: str
    phase: str
    weight: float
    data: dict[str, Any]
    parent: str | None = None

    def config(self, root: str | Path) -> dict[str, Any]:
        if self.parent is None:
            return self.data
        # by id: the run beside it in the same runs folder, which may move (or ship)
        model = {**self.data["model"], "init_from": self.parent}
        return {**self.data, "model": model}


def _task(n_classes: int, t_max: int) -> dict[str, Any]:
    return {"name": "delayed_classification", "params": {"n_classes": n_classes, "t_max": t_max}}


def curriculum_tasks(curriculum: str) -> list[dict[str, Any]]:
    """The stages' tasks: classes 3..10 at T_max 20, or T_max 6, 8, .., 20 with 10 classes."""
    if curriculum == "classes":
        return [_task(c, T_MAX) for c in range(3, 11)]
    return [_task(10, t) for t in range(6, T_MAX + 1, 2)]


@dataclass(frozen=True)
class NetworkMeasures:
    """The measures of one trained network (one member of one run)."""

    curriculum: str
    cell: str
    phase: str
    speed_penalty: float
    seed: int
    accuracy: dict[int, float]
    trained: float
    beyond: float
    speed: float
    slow_point_q: float
    n_slow_points: int
    backtracked: list[int] = field(default_factory=list)  # per new class: class joined, -1 none

    def row(self) -> dict[str, Any]:
        row = {k: v for k, v in self.__dict__.items() if k not in ("accuracy", "backtracked")}
        row.update({f"acc_{d}": a for d, a in self.accuracy.items()})
        row["backtracked"] = " ".join(map(str, self.backtracked))
        return row


@torch.no_grad()
def accuracy_by_delay(
    model: Network, task: DelayedClassification, delays: tuple[int, ...], n_trials: int
) -> dict[int, np.ndarray]:
    """Accuracy per member `[E]` at each delay, on fresh noise-free trials (seeded per delay)."""
    out = {}
    for d in delays:
        batch = task.fixed_delay(n_trials, d, seed=1000 + d)
        outputs = model(batch.x, noise=False).outputs
        out[d] = task.performance(outputs, batch).numpy()
    return out


@torch.no_grad()
def centre_speed(model: Network, task: DelayedClassification, n_trials: int) -> np.ndarray:
    """The regularised speed at the class centres, per member `[E]`."""
    batch = task.sample(n_trials, seed=7)
    states = model(batch.x, noise=False).states
    return speed_at_class_centres(model, states, batch.x, batch.trial).numpy()


def backtracking_steps(kept: list[int], stage_steps: int) -> list[int]:
    """The kept weights `backtracking` reads: for each stage that adds a class (the 2nd to the
    8th), the first kept step after it begins, while there is one."""
    read = []
    for stage in range(1, 8):
        after = [s for s in kept if s > stage * stage_steps]
        if not after:
            break
        read.append(after[0])
    return read


def backtracking(run: Run, stage_steps: int, finder_iters: int = 5000) -> list[list[int]]:
    """Per member: for each class the classes curriculum adds (the 4th, 5th, ...), the class
    whose slow point its memory shares right after it is introduced (-1: a point of its own,
    or none found)."""
    steps = backtracking_steps(run.history_steps(), stage_steps)
    history = dict(run.weight_history(steps))
    n_members = len(run.config.model.seeds)
    joined: list[list[int]] = [[] for _ in range(n_members)]
    for stage, step in enumerate(steps, start=1):
        n_classes = stage + 3
        model = history[step]
        found = class_slow_points(
            model,
            _make(n_classes, T_MAX),
            n_trials=256,
            starts_per_class=16,
            max_iters=finder_iters,
        )
        new = n_classes - 1
        for e in range(n_members):
            point = found.point[e, new]
            match = -1
            if np.isfinite(point).all():
                scale = 0.05 * np.nanmedian(np.linalg.norm(found.centre[e], axis=-1))
                for c in range(new):
                    if np.linalg.norm(found.point[e, c] - point) < scale:
                        match = c
                        break
            joined[e].append(match)
    return joined


def _make(n_classes: int, t_max: int) -> DelayedClassification:
    return DelayedClassification(n_classes=n_classes, t_max=t_max)


def measure_run(run: Run, config: MemoryConfig, study_run: StudyRun) -> list[NetworkMeasures]:
    """The measures of every member of one trained run."""
    model = run.load_model()
    task = _make(10, T_MAX)
    accuracy = accuracy_by_delay(model, task, config.delays, config.eval_trials)
    speed = centre_speed(model, task, config.eval_trials)
    slow = class_slow_points(
        model, task, n_trials=256, starts_per_class=16, max_iters=config.finder_iters
    )
    joined = (
        backtracking(run, config.stage_steps, config.finder_iters)
        if study_run.curriculum == "classes" and study_run.phase == "curriculum"
        else [[] for _ in run.config.model.seeds]
    )
    measures = []
    for e, seed in enumerate(run.config.model.seeds):
        acc = {d: float(a[e]) for d, a in accuracy.items()}
        trained = [a for d, a in acc.items() if d <= TRAINED_DELAY]
        beyond = [a for d, a in acc.items() if d > T_MAX]
        measures.append(
            NetworkMeasures(
                curriculum=study_run.curriculum,
                cell=run.config.model.cell,
                phase=study_run.phase,
                speed_penalty=study_run.weight,
                seed=int(seed),
                accuracy=acc,
                trained=float(np.mean(trained)) if trained else float("nan"),
                beyond=float(np.mean(beyond)) if beyond else float("nan"),
                speed=float(speed[e]),
                slow_point_q=float(np.nanmedian(slow.q[e]))
                if np.isfinite(slow.q[e]).any()
                else float("nan"),
                n_slow_points=int(slow.n_distinct[e]),
                backtracked=joined[e],
            )
        )
    return measures


def speed_predicts_memory(measures: list[NetworkMeasures]) -> tuple[float, float]:
    """Spearman correlation (and its p) between the log speed at the class centres and the
    accuracy beyond the trained delays, over every network (the paper: slower, longer)."""
    speed = np.log10([max(m.speed, 1e-12) for m in measures])
    beyond = np.array([m.beyond for m in measures])
    keep = np.isfinite(beyond)
    if keep.sum() < 3 or np.ptp(beyond[keep]) == 0 or np.ptp(speed[keep]) == 0:
        return float("nan"), float("nan")  # undefined on constant values
    rho, p = stats.spearmanr(speed[keep], beyond[keep])
    return float(rho), float(p)


def group_means(measures: list[NetworkMeasures]) -> dict[tuple[str, str, str], dict[str, float]]:
    """Mean of each measure per (curriculum, cell, phase)."""
    groups: dict[tuple[str, str, str], list[NetworkMeasures]] = {}
    for m in measures:
        groups.setdefault((m.curriculum, m.cell, m.phase), []).append(m)
    return {
        key: {
            "networks": len(g),
            "trained": float(np.mean([m.trained for m in g])),
            "beyond": float(np.mean([m.beyond for m in g])),
            "speed": float(np.exp(np.mean(np.log([max(m.speed, 1e-12) for m in g])))),
        }
        for key, g in groups.items()
    }


def summary(measures: list[NetworkMeasures]) -> str:
    """Markdown: per curriculum, cell and penalty, the mean accuracy inside and beyond the
    trained delays and the geometric-mean speed; then the speed-memory correlation."""
    lines = [
        "| curriculum | cell | training | networks | accuracy, delays <= 16 | accuracy, delays > 20 | speed at class centres |",
        "|---|---|---|---|---|---|---|",
    ]
    for (curriculum, cell, phase), g in group_means(measures).items():
        lines.append(
            f"| {curriculum} | {cell} | {phase} | {g['networks']} | {g['trained']:.3f} | "
            f"{g['beyond']:.3f} | {g['speed']:.2e} |"
        )
    rho, p = speed_predicts_memory(measures)
    lines.append("")
    lines.append(
        f"Spearman correlation of log speed and accuracy beyond the trained delays, over all "
        f"{len(measures)} networks: rho = {rho:.2f} (p = {p:.1e})."
    )
    return "\n".join(lines)


def runs(config: MemoryConfig, root: Path) -> dict[str, dict[str, Any]]:
    """The study's runs under `root`, in training order (`Study.runs`)."""
    return config.run_configs(root)


def history_read(config: MemoryConfig, run: Run) -> tuple[int, ...]:
    """The kept weights the measurement reads of `run` (`Study.history_read`): backtracking's
    for a classes-curriculum run, none for the others."""
    study_run = next((r for r in config.runs() if r.name == run.id), None)
    if study_run is None or study_run.curriculum != "classes" or study_run.phase != "curriculum":
        return ()
    return tuple(backtracking_steps(run.history_steps(), config.stage_steps))


def measure(
    config: MemoryConfig, trained_runs: Mapping[str, Run], out: Path, progress: bool
) -> list[NetworkMeasures]:
    """Every network of every run, run by run (`Study.measure`)."""
    measures: list[NetworkMeasures] = []
    study_runs = config.runs()
    # each run's accuracy over ten delays, speeds and slow points take tens of seconds
    with Progress("memory: runs measured", len(study_runs), enabled=progress) as bar:
        for study_run in study_runs:
            measures += measure_run(trained_runs[study_run.name], config, study_run)
            bar.advance(note=f"{study_run.name} done")
    return measures


def rows(measures: list[NetworkMeasures]) -> list[dict[str, Any]]:
    """measures.csv: one row per network."""
    return [m.row() for m in measures]
