"""Yang et al. (2019), Fig. 7: learning tasks one group after another, with and without the
intelligent-synapses penalty (Zenke, Poole & Ganguli 2017) that protects the weights earlier
tasks rely on.

The battery's full layout (85 inputs, 33 outputs) from the start; the groups, in the paper's
order: Go -> Dly Go -> DM 1, DM 2 -> MultSen DM -> Ctx DM 1, Ctx DM 2, each trained for a
fixed number of steps (`{battery: yang19, only: [...]}` stages of a curriculum). As the public
code's continual runs (gyyang/multitask `experiment.train_seq`, `paper.py`): ReLU units,
random orthogonal W_rec, its `easy_task` coherences (`easy: true`), one task per batch within
a group (`interleave: batch`), the penalty c = 1 against c = 0, xi = 0.01. Smaller than the
paper's (64 units, 1,500 steps per group instead of 6,250 per task): see the README. One run
without the penalty (`continual-plain`) and one with it (`continual-synapses`), each an
ensemble of seeds. After every stage the trainer evaluates every task learned so far (fresh
trials); this study reads those evaluations:

- `performance[s][task]`: each task's performance after stage s;
- `forgetting`: for the tasks of the earlier groups, their performance right after their own
  stage minus their performance at the end (positive: forgotten).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurodyn.errors import ConfigError
from neurodyn.runs import Run, parse_config
from neurodyn.tasks.yang19 import BATTERY

_FIELDS = ("groups", "steps_per_group", "penalty", "model", "train")


@dataclass(frozen=True)
class ContinualConfig:
    """The task groups in the order they are learned, the steps each gets, the penalty's
    strength, and the two runs' model and training."""

    groups: tuple[tuple[str, ...], ...]
    steps_per_group: int
    penalty: float
    model: dict[str, Any]
    train: dict[str, Any]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ContinualConfig:
        unknown, missing = set(data) - set(_FIELDS), set(_FIELDS) - set(data)
        if unknown or missing:
            raise ConfigError(
                f"study continual takes the fields {', '.join(_FIELDS)}; got {sorted(data)}"
            )
        config = cls(
            groups=tuple(tuple(g) for g in data["groups"]),
            steps_per_group=int(data["steps_per_group"]),
            penalty=float(data["penalty"]),
            model=dict(data["model"]),
            train=dict(data["train"]),
        )
        known = {t.name for t in BATTERY}
        stray = sorted({t for g in config.groups for t in g} - known)
        if stray or not config.groups or not all(config.groups):
            raise ConfigError(
                f"groups must be non-empty lists of the battery's tasks {sorted(known)}; "
                f"got {[list(g) for g in config.groups]}"
            )
        if config.penalty <= 0:
            raise ConfigError("penalty (the intelligent-synapses strength c) must be positive")
        for run_config in config.run_configs().values():
            parse_config(run_config)
        return config

    def to_dict(self) -> dict[str, Any]:
        return {
            "groups": [list(g) for g in self.groups],
            "steps_per_group": self.steps_per_group,
            "penalty": self.penalty,
            "model": self.model,
            "train": self.train,
        }

    def run_configs(self) -> dict[str, dict[str, Any]]:
        battery = {"battery": "yang19", "easy": True, "interleave": "batch"}
        stages = [
            {"task": {**battery, "only": list(g)}, "steps": self.steps_per_group}
            for g in self.groups
        ]
        # stream 1: the trials the study's runs were trained on before streams had versions
        base = {"task": battery, "model": self.model, "curriculum": stages, "stream": 1}
        return {
            "continual-plain": {**base, "name": "continual-plain", "train": self.train},
            "continual-synapses": {
                **base,
                "name": "continual-synapses",
                "train": {**self.train, "intelligent_synapses": self.penalty},
            },
        }


@dataclass(frozen=True)
class ContinualResult:
    """One run's evaluations: `performance[e][s][task]` after stage s, for member e."""

    run: str
    groups: tuple[tuple[str, ...], ...]
    seeds: tuple[int, ...]
    performance: list[list[dict[str, float]]]

    def mean(self, stage: int, task: str) -> float:
        """`task`'s performance after `stage`, averaged over the networks."""
        return float(np.mean([member[stage][task] for member in self.performance]))

    def forgetting(self) -> np.ndarray:
        """Per member `[E]`: mean over the earlier groups' tasks of (performance after their
        own stage - performance after the last stage)."""
        last = len(self.groups) - 1
        out = []
        for member in self.performance:
            drops = [
                member[s][task] - member[last][task]
                for s, group in enumerate(self.groups[:-1])
                for task in group
            ]
            out.append(float(np.mean(drops)))
        return np.array(out)


def evaluations(run: Run, groups: tuple[tuple[str, ...], ...]) -> ContinualResult:
    """The after-stage evaluations the trainer logged, as `performance[e][s][task]`."""
    seeds = tuple(run.config.model.seeds)
    perf: list[list[dict[str, float]]] = [[{} for _ in groups] for _ in seeds]
    for row in run.metrics():
        if "after_stage" not in row:
            continue
        member, after = int(row["member"]), int(row["after_stage"])
        for key, value in row.items():
            if key.startswith("perf."):
                perf[member][after][key[5:]] = value
    missing = [s for s in range(len(groups)) if not perf[0][s]]
    if missing:
        raise ConfigError(f"run {run.id} has no evaluations after stages {missing}: train it")
    return ContinualResult(run.id, groups, seeds, perf)


def runs(config: ContinualConfig, root: Path) -> dict[str, dict[str, Any]]:
    """The run without the penalty and the run with it."""
    return config.run_configs()


def measure(
    config: ContinualConfig, runs: Mapping[str, Run], out: Path, progress: bool
) -> list[ContinualResult]:
    """Each run's evaluations after every stage."""
    return [evaluations(run, config.groups) for run in runs.values()]


def rows(results: list[ContinualResult]) -> list[dict[str, Any]]:
    """One row per run, network, stage and task learned by then: its performance after that
    stage."""
    return [
        {"run": r.run, "seed": seed, "after_stage": s, "task": task, "performance": f"{v:.4f}"}
        for r in results
        for e, seed in enumerate(r.seeds)
        for s, perf in enumerate(r.performance[e])
        for task, v in perf.items()
    ]


def summary(results: list[ContinualResult]) -> str:
    """Markdown: each task's mean performance right after its own stage and at the end, per
    run; then the mean forgetting."""
    lines = [
        "| task | learned in stage | "
        + " | ".join(f"{r.run}: after own stage | {r.run}: at the end" for r in results)
        + " |"
    ]
    lines.append("|---|---|" + "---|---|" * len(results))
    groups = results[0].groups
    last = len(groups) - 1
    for s, group in enumerate(groups):
        for task in group:
            cells = []
            for r in results:
                cells += [f"{r.mean(s, task):.2f}", f"{r.mean(last, task):.2f}"]
            lines.append(f"| {task} | {s + 1} | " + " | ".join(cells) + " |")
    lines.append("")
    lines.append(
        "Forgetting (mean drop of the earlier groups' tasks, over networks): "
        + "; ".join(
            f"{r.run} {r.forgetting().mean():.3f} (per network {', '.join(f'{f:.2f}' for f in r.forgetting())})"
            for r in results
        )
    )
    return "\n".join(lines)
