"""What the escape study measures: its config and runs, each network's memory lifetimes under
noise, the Arrhenius fit and the saddles' barriers, the rows of its tables and the summary.

For each task and training noise `sigma_rec`, one ensemble of seeds is one run,
`escape-<task>-noise<sigma>`. Per network (one member):

- its memories: the stable fixed points under the constant input of the flip-flop's memory
  period or the ring task's delay (`neurodyn.runs.escape.run_escape`);
- at each test noise sigma, trajectories from every memory under the network's own recurrent
  noise model, the switches between memories (core-to-core), the pooled memory lifetime
  (total time held over the number of switches) and the share of time spent outside every
  memory's core (where that share is large the memories have dissolved into one noisy cloud
  and a lifetime means little);
- the Arrhenius fit of the pooled switching rate against `1 / sigma^2` over the noise levels
  with enough switches and most time inside the cores: the effective barrier `dU_eff` (in
  sigma_rec units: rate ~ exp(-2 dU_eff / sigma^2));
- the saddles with one unstable mode between memories and, for each memory, the lowest path
  barrier out of it (the work against the flow along the straight path to the saddle, in
  state units squared per ms; a barrier of the deterministic flow, independent of the noise).

Per pair of memories joined by a saddle: the Arrhenius barrier of that transition, next to the
saddle's path barrier (`pairs.csv`).
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy import stats

from neurodyn._progress import stage
from neurodyn.analysis.barriers import arrhenius_fit
from neurodyn.errors import ConfigError
from neurodyn.runs import Run, parse_config
from neurodyn.runs.escape import RunEscape, TooFewMemories, run_escape
from neurodyn.studies._study import check_fields

__all__ = [
    "TASKS",
    "EscapeConfig",
    "NetworkEscape",
    "PairBarrier",
    "StudyResults",
    "basin_depth_trend",
    "measure",
    "measure_run",
    "rows",
    "runs",
    "summary",
    "tables",
]

TASKS = {"flipflop": "memory", "dlygo": "delay"}  # task -> the epoch holding the memory
# run_escape's arguments the study sets itself (the others are the `escape:` section's)
_SET_BY_THE_STUDY = {"run", "sigmas", "task", "epoch", "model", "progress"}


@dataclass(frozen=True)
class EscapeConfig:
    """The study's settings (see config.yaml for each field's meaning)."""

    tasks: tuple[str, ...]
    train_noise: tuple[float, ...]
    test_noise: tuple[float, ...]
    max_outside: float
    min_switches: int
    model: dict[str, Any]
    train: dict[str, Any]
    escape: dict[str, Any]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EscapeConfig:
        """The config from every field; checks every run config before anything trains."""
        check_fields("escape", (f.name for f in dataclasses.fields(cls)), data)
        config = cls(
            tasks=tuple(str(t) for t in data["tasks"]),
            train_noise=tuple(float(s) for s in data["train_noise"]),
            test_noise=tuple(sorted(float(s) for s in data["test_noise"])),
            max_outside=float(data["max_outside"]),
            min_switches=int(data["min_switches"]),
            model=dict(data["model"]),
            train=dict(data["train"]),
            escape=dict(data["escape"]),
        )
        bad = set(config.tasks) - set(TASKS)
        if bad:
            raise ConfigError(
                f"study escape: tasks must be among {sorted(TASKS)}, got {sorted(bad)}"
            )
        if not config.test_noise or min(config.test_noise) <= 0:
            raise ConfigError("study escape: test_noise must be positive noise levels")
        if min(config.train_noise, default=-1.0) < 0:
            raise ConfigError("study escape: train_noise must be non-negative")
        allowed = set(inspect.signature(run_escape).parameters) - _SET_BY_THE_STUDY
        wrong = set(config.escape) - allowed
        if wrong:
            raise ConfigError(f"study escape: unknown escape setting(s) {sorted(wrong)}")
        for run_config in config.run_configs().values():
            parse_config(run_config)  # every field checked before anything trains
        return config

    def to_dict(self) -> dict[str, Any]:
        return {
            "tasks": list(self.tasks),
            "train_noise": list(self.train_noise),
            "test_noise": list(self.test_noise),
            "max_outside": self.max_outside,
            "min_switches": self.min_switches,
            "model": self.model,
            "train": self.train,
            "escape": self.escape,
        }

    def run_configs(self) -> dict[str, dict[str, Any]]:
        """Every run config, keyed by run name."""
        out = {}
        for task in self.tasks:
            for sigma in self.train_noise:
                name = run_name(task, sigma)
                out[name] = {
                    "name": name,
                    "task": task,
                    "model": {**self.model, "sigma_rec": sigma},
                    "train": self.train,
                }
        return out


def run_name(task: str, sigma: float) -> str:
    return f"escape-{task}-noise{sigma:g}"


@dataclass(frozen=True)
class NetworkEscape:
    """The measures of one network (one member of one run)."""

    task: str
    train_noise: float
    seed: int
    performance: float
    n_memories: int
    lifetime_ms: dict[float, float]  # pooled memory lifetime at each test noise (inf: none)
    switches: dict[float, int]
    outside: dict[float, float]  # share of time outside every core
    barrier: float  # Arrhenius dU_eff (sigma_rec units), NaN: fewer than two usable levels
    barrier_low: float
    barrier_high: float
    n_levels: int  # noise levels in the fit
    path_barrier: float  # median over memories of the lowest saddle path barrier out of each
    n_saddles: int

    def row(self) -> dict[str, Any]:
        row: dict[str, Any] = {
            k: v
            for k, v in self.__dict__.items()
            if k not in ("lifetime_ms", "switches", "outside")
        }
        for sigma in self.lifetime_ms:
            row[f"lifetime_ms_{sigma:g}"] = self.lifetime_ms[sigma]
            row[f"switches_{sigma:g}"] = self.switches[sigma]
            row[f"outside_{sigma:g}"] = self.outside[sigma]
        return row


@dataclass(frozen=True)
class PairBarrier:
    """One transition between two memories joined by a saddle."""

    task: str
    train_noise: float
    seed: int
    source: int
    target: int
    switches: int  # over every test noise level
    barrier: float  # Arrhenius dU_eff of this transition (NaN: too few switches)
    path_barrier: float  # the lowest saddle path barrier from source towards target

    def row(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class StudyResults:
    networks: list[NetworkEscape]
    pairs: list[PairBarrier] = field(default_factory=list)


def _performance(run: Run) -> np.ndarray:
    """Noise-free performance of every member on 256 fresh trials `[E]`."""
    model = run.load_model()
    task = run.task
    batch = task.sample(256, seed=12345)  # type: ignore[union-attr]
    with torch.no_grad():
        outputs = model(batch.x, noise=False).outputs
    return np.atleast_1d(task.performance(outputs, batch).numpy())  # type: ignore[union-attr]


def measure_run(
    run: Run, config: EscapeConfig, task: str, train_noise: float, progress: bool
) -> StudyResults:
    """The measures of every member of one trained run."""
    seeds = [int(s) for s in run.config.model.seeds]
    performance = _performance(run)
    settings = dict(config.escape)
    try:
        found: RunEscape | None = run_escape(
            run, sigmas=config.test_noise, epoch=TASKS[task], progress=progress, **settings
        )
    except TooFewMemories:
        found = None  # no member holds two memories: nothing switches
    networks, pairs = [], []
    for e, seed in enumerate(seeds):
        n_memories = 0 if found is None else int((~np.isnan(found.attractors[e]).any(-1)).sum())
        if found is None or n_memories < 2:
            nan = float("nan")
            networks.append(
                NetworkEscape(
                    task,
                    train_noise,
                    seed,
                    float(performance[e]),
                    n_memories,
                    {s: nan for s in config.test_noise},
                    {s: 0 for s in config.test_noise},
                    {s: nan for s in config.test_noise},
                    nan,
                    nan,
                    nan,
                    0,
                    nan,
                    0,
                )
            )
            continue
        escapes = found.escapes
        counts = np.array([x.counts[e].sum() for x in escapes], float)
        held = np.array([x.time_held[e].sum() for x in escapes])
        outside = np.array([float(x.outside_fraction[e]) for x in escapes])
        usable = outside <= config.max_outside
        sigma = np.array(config.test_noise)
        fit = arrhenius_fit(
            sigma[usable], counts[usable], held[usable], min_counts=config.min_switches
        )
        saddles = found.saddles
        path = float("nan")
        n_saddles = 0
        if saddles is not None:
            n_saddles = int(np.sum(saddles.member == e))
            lowest = []
            for i in range(n_memories):
                out_of_i = [saddles.lowest(e, i, j) for j in range(n_memories) if j != i]
                finite = [b for b in out_of_i if np.isfinite(b)]
                if finite:
                    lowest.append(min(finite))
            path = float(np.median(lowest)) if lowest else float("nan")
            for i in range(n_memories):
                for j in range(n_memories):
                    barrier_ij = saddles.lowest(e, i, j) if i != j else float("nan")
                    if not np.isfinite(barrier_ij):
                        continue
                    c = np.array([x.counts[e, i, j] for x in escapes], float)
                    t = np.array([x.time_held[e, i] for x in escapes])
                    pair_fit = arrhenius_fit(
                        sigma[usable], c[usable], t[usable], min_counts=config.min_switches
                    )
                    pairs.append(
                        PairBarrier(
                            task,
                            train_noise,
                            seed,
                            i,
                            j,
                            int(c.sum()),
                            pair_fit.barrier,
                            barrier_ij,
                        )
                    )
        with np.errstate(divide="ignore"):
            lifetime = np.where(counts > 0, held / np.maximum(counts, 1), np.inf)
        networks.append(
            NetworkEscape(
                task=task,
                train_noise=train_noise,
                seed=seed,
                performance=float(performance[e]),
                n_memories=n_memories,
                lifetime_ms={s: float(v) for s, v in zip(config.test_noise, lifetime, strict=True)},
                switches={s: int(v) for s, v in zip(config.test_noise, counts, strict=True)},
                outside={s: float(v) for s, v in zip(config.test_noise, outside, strict=True)},
                barrier=fit.barrier,
                barrier_low=fit.barrier_low,
                barrier_high=fit.barrier_high,
                n_levels=len(fit.sigma),
                path_barrier=path,
                n_saddles=n_saddles,
            )
        )
    return StudyResults(networks, pairs)


def basin_depth_trend(networks: list[NetworkEscape], task: str, key: str) -> tuple[float, float]:
    """Spearman correlation (and its p) of the training noise with measure `key` ('barrier' or
    'path_barrier') over the task's networks where it is finite (NaN: fewer than 3)."""
    pick = [n for n in networks if n.task == task and np.isfinite(getattr(n, key))]
    x = [n.train_noise for n in pick]
    y = [getattr(n, key) for n in pick]
    if len(pick) < 3 or np.ptp(x) == 0 or np.ptp(y) == 0:
        return float("nan"), float("nan")
    rho, p = stats.spearmanr(x, y)
    return float(rho), float(p)


def _mean_sd(values: list[float]) -> str:
    finite = [v for v in values if np.isfinite(v)]
    if not finite:
        return "n/a"
    if len(finite) == 1:
        return f"{finite[0]:.3g}"
    return f"{np.mean(finite):.3g} ± {np.std(finite, ddof=1):.2g}"


def summary(results: StudyResults) -> str:
    """Markdown: per task and training noise, mean ± sd over seeds of the memories, the
    Arrhenius barrier and the saddles' path barrier; then whether more training noise
    deepened the basins."""
    nets = results.networks
    lines = [
        "| task | training noise | networks | performance | memories | Arrhenius barrier "
        "(sigma_rec^2) | path barrier | networks fitted |",
        "|---|---|---|---|---|---|---|---|",
    ]
    groups: dict[tuple[str, float], list[NetworkEscape]] = {}
    for n in nets:
        groups.setdefault((n.task, n.train_noise), []).append(n)
    for (task, noise), g in groups.items():
        lines.append(
            f"| {task} | {noise:g} | {len(g)} | {_mean_sd([n.performance for n in g])} | "
            f"{_mean_sd([float(n.n_memories) for n in g])} | "
            f"{_mean_sd([n.barrier for n in g])} | {_mean_sd([n.path_barrier for n in g])} | "
            f"{sum(np.isfinite(n.barrier) for n in g)} |"
        )
    lines.append("")
    for task in dict.fromkeys(n.task for n in nets):
        rho, p = basin_depth_trend(nets, task, "barrier")
        rho_path, p_path = basin_depth_trend(nets, task, "path_barrier")
        lines.append(
            f"{task}: Spearman correlation of the training noise with the Arrhenius barrier "
            f"rho = {rho:.2f} (p = {p:.2g}), with the path barrier rho = {rho_path:.2f} "
            f"(p = {p_path:.2g})."
        )
    pairs = [q for q in results.pairs if np.isfinite(q.barrier) and np.isfinite(q.path_barrier)]
    if len(pairs) >= 3:
        rho, p = stats.spearmanr([q.path_barrier for q in pairs], [q.barrier for q in pairs])
        lines.append(
            f"Over {len(pairs)} transitions with a fit, the saddle's path barrier predicts the "
            f"Arrhenius barrier with Spearman rho = {rho:.2f} (p = {p:.2g})."
        )
    return "\n".join(lines)


def runs(config: EscapeConfig, root: Path) -> dict[str, dict[str, Any]]:
    """The study's runs (`Study.runs`)."""
    return config.run_configs()


def measure(
    config: EscapeConfig, trained_runs: Mapping[str, Run], out: Path, progress: bool
) -> StudyResults:
    """Every network of every run (`Study.measure`)."""
    networks: list[NetworkEscape] = []
    pairs: list[PairBarrier] = []
    for task in config.tasks:
        for noise in config.train_noise:
            name = run_name(task, noise)
            stage(f"study escape: measuring {name}", enabled=progress)
            found = measure_run(trained_runs[name], config, task, noise, progress)
            networks += found.networks
            pairs += found.pairs
    return StudyResults(networks, pairs)


def rows(results: StudyResults) -> list[dict[str, Any]]:
    """measures.csv: one row per network."""
    return [n.row() for n in results.networks]


def tables(results: StudyResults) -> dict[str, list[dict[str, Any]]]:
    """pairs.csv: one row per transition between memories joined by a saddle."""
    return {"pairs.csv": [q.row() for q in results.pairs]}
