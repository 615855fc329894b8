"""What the abstraction study measures (Vafidis, Bhargava & Rangel 2025): its config and runs,
the measures of every network, the rows of measures.csv and the summary table.

One run per number of classification lines N (`latent_classification` with `n_tasks: N`), an
ensemble of the seeds. Each network is run without recurrent noise on `eval_trials` fresh
trials (seeded, with the task's input noise as in training); its state at the trial's last step
(the decision step, where the public code's `generalize.py` reads it) is measured:

- `performance`: the share of right reports (all N lines);
- `ood_r2`: out-of-distribution generalisation as the paper's Fig. 3a: a linear read-out of x*
  fitted on three quadrants, scored on the fourth, 1 - MSE / (1/12) (the variance of the
  uniform latent, as the code normalises), averaged over the four held-out quadrants;
  `id_r2`: the same read-out fitted and scored on held-out trials from all quadrants;
- `ccgp_x`, `ccgp_y`, `parallelism_x`, `parallelism_y`, `shattering`: the abstraction measures
  (Bernardi et al. 2020) of the two latent coordinates' signs (`neurodyn.analysis.abstraction`).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurodyn._progress import progress as progress_of
from neurodyn.analysis import abstraction, regression_generalisation
from neurodyn.errors import ConfigError
from neurodyn.runs import Run, parse_config
from neurodyn.studies._study import check_fields
from neurodyn.tasks import LatentClassification
from neurodyn.tasks.latent_classification import QUADRANT_SIGNS

__all__ = [
    "AbstractionConfig",
    "NetworkResult",
    "final_states",
    "measure",
    "measure_run",
    "quadrant_of",
    "rows",
    "runs",
    "summary",
]

# the seed of the evaluation trials (not a training seed)
EVAL_SEED = 2025
# the variance of the latent's coordinates, uniform on [-0.5, 0.5]: what the code divides by
LATENT_VARIANCE = 1 / 12
# held-out folds of the in-distribution read-out
ID_FOLDS = 4


@dataclass(frozen=True)
class AbstractionConfig:
    """The study's settings (see config.yaml for each field's meaning): the numbers of tasks,
    the evaluation trials, and the `task`, `model` and `train` sections every run shares."""

    n_tasks: tuple[int, ...]
    eval_trials: int
    task: dict[str, Any]
    model: dict[str, Any]
    train: dict[str, Any]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AbstractionConfig:
        """The config from every field (`load_config` merges a user's file over config.yaml);
        checks every run config before anything trains."""
        check_fields("abstraction", (f.name for f in dataclasses.fields(cls)), data)
        config = cls(
            n_tasks=tuple(int(n) for n in data["n_tasks"]),
            eval_trials=int(data["eval_trials"]),
            task=dict(data["task"]),
            model=dict(data["model"]),
            train=dict(data["train"]),
        )
        if (
            not config.n_tasks
            or min(config.n_tasks) < 1
            or len(set(config.n_tasks)) != len(config.n_tasks)
        ):
            raise ConfigError(
                f"n_tasks must be distinct positive numbers of lines, got {list(config.n_tasks)}"
            )
        if config.eval_trials < 4 * ID_FOLDS:
            raise ConfigError(f"eval_trials must be at least {4 * ID_FOLDS}")
        if "n_tasks" in config.task or "quadrants" in config.task:
            raise ConfigError(
                "the task section sets neither n_tasks (the study's own list) nor quadrants "
                "(the networks train on the whole square)"
            )
        for run_config in config.run_configs().values():
            parse_config(run_config)  # every field checked before anything trains
        return config

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_tasks": list(self.n_tasks),
            "eval_trials": self.eval_trials,
            "task": self.task,
            "model": self.model,
            "train": self.train,
        }

    def run_configs(self) -> dict[str, dict[str, Any]]:
        """Every run config, keyed by run name (`abstraction-n<N>`)."""
        return {
            f"abstraction-n{n}": {
                "name": f"abstraction-n{n}",
                "task": {
                    "name": LatentClassification.name,
                    "params": {**self.task, "n_tasks": n},
                },
                "model": self.model,
                "train": self.train,
            }
            for n in self.n_tasks
        }


@dataclass(frozen=True)
class NetworkResult:
    """One network's measures (see the module docstring); `ood_r2_by_quadrant` holds the
    held-out quadrants 1-4 in order."""

    n_tasks: int
    seed: int
    performance: float
    id_r2: float
    ood_r2: float
    ood_r2_by_quadrant: tuple[float, ...]
    ccgp_x: float
    ccgp_y: float
    parallelism_x: float
    parallelism_y: float
    shattering: float

    @property
    def ccgp(self) -> float:
        """CCGP averaged over the two coordinates."""
        return (self.ccgp_x + self.ccgp_y) / 2

    @property
    def parallelism(self) -> float:
        """The parallelism score averaged over the two coordinates."""
        return (self.parallelism_x + self.parallelism_y) / 2

    def row(self) -> dict[str, Any]:
        out = {k: v for k, v in dataclasses.asdict(self).items() if k != "ood_r2_by_quadrant"}
        out.update({f"ood_r2_q{q + 1}": v for q, v in enumerate(self.ood_r2_by_quadrant)})
        return out


def quadrant_of(latent: torch.Tensor) -> np.ndarray:
    """The quadrant (1-4, as `latent_classification` numbers them, after the public code:
    1 = (+, +), 2 = (-, +), 3 = (-, -), 4 = (+, -)) of each latent point `[B, 2]`."""
    signs = np.where(latent.cpu().numpy() >= 0, 1, -1)  # [B, 2]
    table = np.array(QUADRANT_SIGNS)  # [4, 2]
    return 1 + np.argmax((signs[:, None] == table[None]).all(-1), axis=1)


def final_states(run: Run, n_trials: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Each network's state at the decision step of `n_trials` fresh trials (seeded), the
    trials' latent points and the networks' performance.

    Returns
    -------
    states : [E, B, N], latent : [B, 2], performance : [E]
    """
    task = run.config.make_task()
    assert isinstance(task, LatentClassification)
    batch = task.sample(n_trials, seed=EVAL_SEED)
    model = run.load_model()
    with torch.no_grad():
        trajectory = model(batch.x, noise=False)
    last = batch.trial["end"] - 1  # every trial has the same length
    states = trajectory.states[int(last[0])]
    return states, batch.trial["latent"], task.performance(trajectory.outputs, batch)


def measure_run(run: Run, config: AbstractionConfig, n_tasks: int) -> list[NetworkResult]:
    """The measures of every network of the run trained on `n_tasks` lines."""
    states, latent, performance = final_states(run, config.eval_trials)
    x = states.double().cpu().numpy()
    target = latent.double().cpu().numpy()
    ood = regression_generalisation(x, target, quadrant_of(latent), variance=LATENT_VARIANCE)
    folds = np.arange(len(target)) % ID_FOLDS  # trials are independent: any split is random
    inside = regression_generalisation(x, target, folds, variance=LATENT_VARIANCE)
    signs = (target > 0).astype(np.int64)
    geometry = abstraction(x, signs, variables=["x", "y"])
    seeds = run.config.model.seeds
    return [
        NetworkResult(
            n_tasks=n_tasks,
            seed=int(seeds[e]),
            performance=float(performance[e]),
            id_r2=float(inside.mean_r2[e]),
            ood_r2=float(ood.mean_r2[e]),
            ood_r2_by_quadrant=tuple(float(v) for v in ood.r2[e]),
            ccgp_x=float(geometry.ccgp[e, 0]),
            ccgp_y=float(geometry.ccgp[e, 1]),
            parallelism_x=float(geometry.parallelism[e, 0]),
            parallelism_y=float(geometry.parallelism[e, 1]),
            shattering=float(geometry.shattering[e]),
        )
        for e in range(len(seeds))
    ]


def runs(config: AbstractionConfig, root: Path) -> dict[str, dict[str, Any]]:
    """The study's runs, in training order (`Study.runs`)."""
    return config.run_configs()


def measure(
    config: AbstractionConfig, trained_runs: Mapping[str, Run], out: Path, progress: bool
) -> list[NetworkResult]:
    """Every network of every run, run by run (`Study.measure`)."""
    results: list[NetworkResult] = []
    for n in progress_of(config.n_tasks, "abstraction: runs measured", enabled=progress):
        results += measure_run(trained_runs[f"abstraction-n{n}"], config, n)
    return results


def rows(results: list[NetworkResult]) -> list[dict[str, Any]]:
    """measures.csv: one row per network."""
    return [r.row() for r in results]


_SUMMARY = (
    ("performance", "performance"),
    ("id_r2", "in-distribution r2"),
    ("ood_r2", "OOD r2 (held-out quadrant)"),
    ("ccgp", "CCGP (x, y mean)"),
    ("parallelism", "parallelism (x, y mean)"),
    ("shattering", "shattering"),
)


def summary(results: list[NetworkResult]) -> str:
    """Markdown: per number of tasks, each measure's mean +- sd over the networks."""
    head = "| tasks N | networks | " + " | ".join(title for _, title in _SUMMARY) + " |"
    lines = [head, "|" + "---|" * (len(_SUMMARY) + 2)]
    for n in dict.fromkeys(r.n_tasks for r in results):
        group = [r for r in results if r.n_tasks == n]
        cells = []
        for key, _ in _SUMMARY:
            values = np.array([getattr(r, key) for r in group])
            spread = f" +- {values.std(ddof=1):.2f}" if len(values) > 1 else ""
            cells.append(f"{values.mean():.2f}{spread}")
        lines.append(f"| {n} | {len(group)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
