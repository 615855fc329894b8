"""What the simplicity-bias study computes (Turner & Barak 2023): its config and runs, every
measure of each network, the rows of measures.csv and the summary.

For each set of attractor tasks (e.g. two 1-bit flip-flops, a flip-flop and a line) and each
setting (gated, orthogonal, parallel), one ensemble of seeds is trained as one run. Each
network is then measured:

- `outliers`: eigenvalues of W_rec outside the unit circle (the paper's main count);
- `separability`: cross-validated linear separability of the two first tasks' probe
  trajectories (one pulse, then 55 silent steps; the last 40 steps are used, as in the paper);
- `f_ratio`: the between/within-task variance ratio of the same states;
- `shared`: of the stable fixed points the two first tasks' probe trials end at, the fraction
  both use (1: the tasks share attractors; 0: separate ones);
- `emergence`: the training step at which the k-th W_rec outlier first appeared, from the
  weights kept during training.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurodyn._progress import progress as progress_of
from neurodyn.analysis.fixed_points import FixedPointOptions, model_fixed_points
from neurodyn.analysis.task_geometry import count_outliers, linear_separability, variance_ratio
from neurodyn.errors import ConfigError, NeurodynError
from neurodyn.models import Network
from neurodyn.runs import Run, parse_config
from neurodyn.tasks.attractors import AttractorTasks

PROBE_STEPS = 60
PROBE_KEPT = 40  # the last steps of each probe trial used for separability and F ratio
N_PROBES = 10


_FIELDS = ("settings", "component_sets", "model", "train")


@dataclass(frozen=True)
class SimplicityBiasConfig:
    """The settings and task sets to train (one run each), and the runs' model and training."""

    settings: tuple[str, ...]
    component_sets: tuple[tuple[str, ...], ...]
    model: dict[str, Any]
    train: dict[str, Any]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> SimplicityBiasConfig:
        unknown, missing = set(data) - set(_FIELDS), set(_FIELDS) - set(data)
        if unknown or missing:
            raise ConfigError(
                f"study simplicity-bias takes the fields {', '.join(_FIELDS)}; got {sorted(data)}"
            )
        config = cls(
            settings=tuple(data["settings"]),
            component_sets=tuple(tuple(c) for c in data["component_sets"]),
            model=dict(data["model"]),
            train=dict(data["train"]),
        )
        for components in config.component_sets:
            if len(components) < 2:
                raise ConfigError(f"each component set needs two or more tasks, got {components}")
        for run_config in config.run_configs().values():
            parse_config(run_config)  # every field checked before anything trains
        return config

    def to_dict(self) -> dict[str, Any]:
        return {
            "settings": list(self.settings),
            "component_sets": [list(c) for c in self.component_sets],
            "model": self.model,
            "train": self.train,
        }

    def run_configs(self) -> dict[str, dict[str, Any]]:
        """One run config per (component set, setting), keyed by run name."""
        out = {}
        for components in self.component_sets:
            for setting in self.settings:
                name = f"sb-{'-'.join(components)}-{setting}"
                out[name] = {
                    "name": name,
                    "task": {
                        "name": "attractors",
                        "params": {"components": list(components), "setting": setting},
                    },
                    "model": self.model,
                    "train": self.train,
                }
        return out


@dataclass(frozen=True)
class NetworkMeasures:
    """The measures of one trained network (one member of one run)."""

    components: str
    setting: str
    seed: int
    performance: float
    outliers: int
    separability: float
    f_ratio: float
    shared: float
    n_stable: int
    emergence: list[int] = field(default_factory=list)

    def row(self) -> dict[str, Any]:
        row = {k: v for k, v in self.__dict__.items() if k != "emergence"}
        row["emergence"] = " ".join(map(str, self.emergence))
        return row


def probe_states(model: Network, task: AttractorTasks, component: int) -> torch.Tensor:
    """States `[E, N_PROBES * PROBE_KEPT, N]` of every member after one pulse on `component`
    (values evenly spaced over the component's range), silent afterwards."""
    kind = task.components[component]
    if kind in ("fixed", "cycle"):
        values = torch.tensor([-1.0, 1.0]).repeat(N_PROBES // 2)
    elif kind == "line":
        values = torch.linspace(-1, 1, N_PROBES)
    else:  # plane: values around a circle
        angle = torch.linspace(0, 2 * torch.pi, N_PROBES + 1)[:-1]
        values = 0.8 * torch.stack([torch.cos(angle), torch.sin(angle)], -1)
    x = task.probe(component, values, n_steps=PROBE_STEPS)
    with torch.no_grad():
        states = model(x, noise=False).states  # [T, E, V, N]
    kept = states[-PROBE_KEPT:]
    return kept.permute(1, 0, 2, 3).reshape(model.ensemble_size, -1, model.spec.n_hidden)


def shared_attractors(
    model: Network, task: AttractorTasks, options: FixedPointOptions | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """For each member: the fraction of stable fixed points reached by the two first tasks'
    probe trials that both reach (Jaccard index), and the number of stable fixed points.

    Fixed points are sought under zero input (between pulses every task's input is zero)
    from the probe states of every task; each probe trial's final state is assigned to the
    nearest stable point within 0.1 of it (trials that end elsewhere, e.g. on a limit
    cycle, reach none).
    """
    probes = [probe_states(model, task, k) for k in range(len(task.components))]
    starts = torch.cat(probes, dim=1)
    found = model_fixed_points(
        model,
        starts,
        torch.zeros(task.n_inputs),
        options=options or FixedPointOptions(max_iters=1000),
    )
    shared, n_stable = [], []
    for e in range(model.ensemble_size):
        stable = found.states[(found.member == e) & (found.stability == "stable") & found.is_fixed]
        n_stable.append(len(stable))
        used: list[set[int]] = []
        for k in (0, 1):
            ends = probes[k][e].reshape(N_PROBES, PROBE_KEPT, -1)[:, -1].double().numpy()
            if len(stable) == 0:
                used.append(set())
                continue
            dist = np.linalg.norm(ends[:, None] - stable[None], axis=-1)
            near = dist.min(1) < 0.1
            used.append(set(dist.argmin(1)[near].tolist()))
        union = used[0] | used[1]
        shared.append(len(used[0] & used[1]) / len(union) if union else float("nan"))
    return np.array(shared), np.array(n_stable)


@dataclass(frozen=True)
class OutlierHistory:
    """W_rec eigenvalues outside the unit circle at each set of weights kept during training.

    Attributes
    ----------
    steps : [S] int        training steps of the kept weights
    counts : [S, E] int    outliers of each member at each of them
    """

    steps: np.ndarray
    counts: np.ndarray


def outlier_history(run: Run) -> OutlierHistory:
    """The outlier counts of every member at every set of weights the run kept."""
    history = run.weight_history()
    counts = [count_outliers(model.W_rec).tolist() for _, model in history]
    return OutlierHistory(
        steps=np.array([s for s, _ in history], dtype=int),
        counts=np.array(counts, dtype=int).reshape(len(history), -1),
    )


def outlier_emergence(steps: np.ndarray, counts: np.ndarray) -> list[list[int]]:
    """For each member (column of `counts [S, E]`): the first step at which it had k outliers,
    k = 1, 2, ..., up to its largest count."""
    emergence = []
    for e in range(counts.shape[1]):
        top = int(counts[:, e].max(initial=0))
        emergence.append([int(steps[np.argmax(counts[:, e] >= k)]) for k in range(1, top + 1)])
    return emergence


def measure_run(run: Run, history: OutlierHistory) -> list[NetworkMeasures]:
    """Every measure for every member of a finished study run, given its outlier history."""
    task = run.task
    if not isinstance(task, AttractorTasks):
        raise NeurodynError(f"run {run.id} is not trained on attractor tasks; train it anew")
    model = run.load_model()
    info = run.info()
    perf = (info.performance_by_member or {})["attractors"]
    probes = [probe_states(model, task, k) for k in (0, 1)]
    shared, n_stable = shared_attractors(model, task)
    emergence = (
        outlier_emergence(history.steps, history.counts)
        if len(history.steps)
        else [[] for _ in range(model.ensemble_size)]
    )
    outliers = count_outliers(model.W_rec)
    rows = []
    for e, seed in enumerate(run.config.model.seeds):
        rows.append(
            NetworkMeasures(
                components="+".join(task.components),
                setting=task.setting,
                seed=int(seed),
                performance=float(perf[e]),
                outliers=int(outliers[e]),
                separability=linear_separability(probes[0][e], probes[1][e], seed=seed).accuracy,
                f_ratio=variance_ratio(probes[0][e], probes[1][e]).f_ratio,
                shared=float(shared[e]),
                n_stable=int(n_stable[e]),
                emergence=emergence[e],
            )
        )
    return rows


@dataclass(frozen=True)
class SimplicityBiasResults:
    """The measures of every network, and each run's outlier history by run name."""

    networks: list[NetworkMeasures]
    histories: dict[str, OutlierHistory]


def runs(config: SimplicityBiasConfig, root: Path) -> dict[str, dict[str, Any]]:
    """One run per (component set, setting)."""
    return config.run_configs()


def measure(
    config: SimplicityBiasConfig, runs: Mapping[str, Run], out: Path, progress: bool
) -> SimplicityBiasResults:
    """Every measure of every network of every run."""
    histories = {name: outlier_history(run) for name, run in runs.items()}
    measured = progress_of(runs.items(), "simplicity-bias: runs measured", enabled=progress)
    networks = [m for name, run in measured for m in measure_run(run, histories[name])]
    return SimplicityBiasResults(networks=networks, histories=histories)


def rows(results: SimplicityBiasResults) -> list[dict[str, Any]]:
    """One row per network, its measures as `NetworkMeasures.row`."""
    return [m.row() for m in results.networks]


def summary(results: SimplicityBiasResults) -> str:
    """A markdown table of median [quartiles] of each measure per component set and setting."""
    groups: dict[tuple[str, str], list[NetworkMeasures]] = {}
    for m in results.networks:
        groups.setdefault((m.components, m.setting), []).append(m)

    def stat(values: list[float]) -> str:
        v = np.array([x for x in values if not np.isnan(x)])
        if len(v) == 0:
            return "-"
        q1, med, q3 = np.percentile(v, [25, 50, 75])
        return f"{med:.2f} [{q1:.2f}, {q3:.2f}]"

    lines = [
        "Median [quartiles] over networks.",
        "",
        "| tasks | setting | networks | performance | W_rec outliers (mean) | separability | F ratio | shared attractors |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for (components, setting), group in groups.items():
        lines.append(
            f"| {components} | {setting} | {len(group)} | {stat([m.performance for m in group])} | "
            f"{np.mean([m.outliers for m in group]):.2f} | "
            f"{stat([m.separability for m in group])} | {stat([m.f_ratio for m in group])} | "
            f"{stat([m.shared for m in group])} |"
        )
    return "\n".join(lines)
