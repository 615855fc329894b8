"""What the Driscoll, Shenoy & Sussillo (2024) study computes: its config, its runs (the main
run and the transfer runs), the motif analysis of every network, the fixed points per task
period, the rule interpolation, the transfer learning curves, the rows and the summary."""

from __future__ import annotations

import copy
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurodyn._progress import stage
from neurodyn.analysis.fixed_points import FixedPointOptions
from neurodyn.errors import ConfigError
from neurodyn.models import Network
from neurodyn.runs import Run, parse_config
from neurodyn.runs.fixedpoints import find_run_fixed_points
from neurodyn.runs.motifs import MotifAnalysis, RuleBridge, analyze_motifs, rule_interpolation
from neurodyn.tasks import Multitask
from neurodyn.tasks.driscoll24 import TASKS

_FIELDS = (
    "run",
    "analysis_trials",
    "lesion_trials",
    "fixed_points",
    "interpolation",
    "transfer",
)
PAPER_NAMES = {cls.name: cls.paper_name for cls in TASKS}
PREFIX = "driscoll24."
# a transfer network has learnt its task once its training batches reach this performance
CRITERION = 0.8


def _codes(task_entry: Any) -> list[str]:
    """The code names of the tasks of the run's `task: {battery: driscoll24, ...}` entry."""
    if task_entry == "driscoll24":
        return [cls.code_name for cls in TASKS]
    if not isinstance(task_entry, Mapping) or task_entry.get("battery") != "driscoll24":
        raise ConfigError("study motifs: run.task must be the driscoll24 battery (or a subset)")
    given = task_entry.get("tasks") or [cls.code_name for cls in TASKS]
    return [str(t).removeprefix(PREFIX) for t in given]


@dataclass(frozen=True)
class MotifsConfig:
    """The study's runs and analyses (config.yaml says what each field is)."""

    run: dict[str, Any]
    analysis_trials: int
    lesion_trials: int
    fixed_points: dict[str, Any]
    interpolation: dict[str, Any]
    transfer: dict[str, Any]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> MotifsConfig:
        if set(data) != set(_FIELDS):
            raise ConfigError(f"study motifs takes {list(_FIELDS)}; got {sorted(data)}")
        config = cls(
            run=dict(data["run"]),
            analysis_trials=int(data["analysis_trials"]),
            lesion_trials=int(data["lesion_trials"]),
            fixed_points=dict(data["fixed_points"]),
            interpolation=dict(data["interpolation"]),
            transfer=dict(data["transfer"]),
        )
        parse_config(config.run)  # fail early on a bad run config
        tasks = config.tasks
        for held in config.transfer["held_out"]:
            if held not in tasks:
                raise ConfigError(
                    f"transfer.held_out: {held!r} is not one of the run's tasks {tasks}"
                )
            unrelated = config.transfer["unrelated"].get(held)
            if not unrelated or held not in unrelated or set(unrelated) - set(tasks):
                raise ConfigError(
                    f"transfer.unrelated.{held} must list the held-out task and its relatives "
                    f"among {tasks}, got {unrelated}"
                )
        for name in config.interpolation["tasks"]:
            if name not in tasks:
                raise ConfigError(f"interpolation.tasks: {name!r} is not one of the run's {tasks}")
        if config.analysis_trials < 2 or config.lesion_trials < 1:
            raise ConfigError("analysis_trials must be at least 2 and lesion_trials at least 1")
        return config

    def to_dict(self) -> dict[str, Any]:
        return {name: getattr(self, name) for name in _FIELDS}

    @property
    def tasks(self) -> list[str]:
        return _codes(self.run["task"])

    @property
    def run_id(self) -> str:
        return str(self.run.get("name") or "motifs")


def _variant(
    config: MotifsConfig, only: list[str], steps: int, *, seeds: list[int], name: str
) -> dict[str, Any]:
    """The main run's config sampling `only` (every rule input kept) for `steps`."""
    data = copy.deepcopy(config.run)
    entry = data["task"] if isinstance(data["task"], Mapping) else {"battery": "driscoll24"}
    data["task"] = {**entry, "tasks": config.tasks, "only": only}
    data["name"] = name
    data["model"] = {**data["model"], "seeds": list(seeds)}
    train = data["train"]
    data["train"] = {
        **train,
        "steps": int(steps),
        "log_every": min(int(train.get("log_every", 100)), max(1, int(steps) // 20)),
        "checkpoint_every": min(int(train.get("checkpoint_every", 500)), int(steps)),
    }
    return data


def runs(config: MotifsConfig, root: Path) -> dict[str, dict[str, Any]]:
    """The main run, then per held-out task: the networks pre-trained without it and without
    its relatives, and three transfer runs that train only the input weights: from either
    pre-trained network and from scratch."""
    out = {config.run_id: config.run}
    t = config.transfer
    seeds, tasks = list(t["seeds"]), config.tasks
    for held in t["held_out"]:
        pre, unrelated = f"{config.run_id}-pre-{held}", f"{config.run_id}-pre-unrelated-{held}"
        out[pre] = _variant(
            config, [x for x in tasks if x != held], t["pretrain_steps"], seeds=seeds, name=pre
        )
        out[unrelated] = _variant(
            config,
            [x for x in tasks if x not in t["unrelated"][held]],
            t["pretrain_steps"],
            seeds=seeds,
            name=unrelated,
        )
        for kind, start in (("related", pre), ("unrelated", unrelated), ("scratch", None)):
            name = f"{config.run_id}-transfer-{held}-{kind}"
            data = _variant(config, [held], t["steps"], seeds=seeds, name=name)
            data["train"]["train_only"] = ["W_in"]
            if start is not None:
                data["model"]["init_from"] = start  # by id, in the same runs folder
            out[name] = data
    return out


@dataclass(frozen=True)
class NetworkMeasures:
    """Every measure of one network of the main run."""

    member: int
    performance: dict[str, float]
    motifs: MotifAnalysis
    fixed_points: dict[str, dict[str, int]]
    bridges: list[RuleBridge]


@dataclass(frozen=True)
class TransferCurve:
    """One network learning a held-out task with only its input weights."""

    held_out: str
    start: str  # 'related' (pre-trained on the others), 'unrelated' or 'scratch'
    member: int
    steps: np.ndarray
    performance: np.ndarray
    steps_to_criterion: float  # NaN: never reached
    final_performance: float


@dataclass(frozen=True)
class MotifsResults:
    networks: list[NetworkMeasures]
    transfer: list[TransferCurve]
    steps_done: int


def evaluate(model: Network, task: Multitask, trials: int, seed: int = 0) -> list[dict[str, float]]:
    """Each member's performance per task on `trials` trials of each (training noise)."""
    generator = torch.Generator().manual_seed(seed)
    batch = task.sample(trials * len(task.tasks), generator=generator)
    streams = [torch.Generator().manual_seed(seed + 1 + e) for e in range(model.ensemble_size)]
    with torch.no_grad():
        outputs = model(batch.x, generators=streams).outputs
    by_task = task.performance_by_task(outputs, batch)
    return [
        {name: float(values[e]) for name, values in by_task.items()}
        for e in range(model.ensemble_size)
    ]


def _transfer_curves(run: Run, held: str, start: str) -> list[TransferCurve]:
    column = f"perf.{PREFIX}{held}"
    rows = [r for r in run.metrics() if column in r]
    curves = []
    for member in sorted({int(r["member"]) for r in rows}):
        mine = [r for r in rows if int(r["member"]) == member]
        steps = np.array([r["step"] for r in mine])
        perf = np.array([r[column] for r in mine])
        reached = np.flatnonzero(perf >= CRITERION)
        curves.append(
            TransferCurve(
                held_out=held,
                start=start,
                member=member,
                steps=steps,
                performance=perf,
                steps_to_criterion=float(steps[reached[0]]) if len(reached) else math.nan,
                final_performance=float(perf[-3:].mean()) if len(perf) else math.nan,
            )
        )
    return curves


def measure(
    config: MotifsConfig, runs: Mapping[str, Run], out: Path, progress: bool
) -> MotifsResults:
    main = runs[config.run_id]
    task = main.task
    assert isinstance(task, Multitask)
    model = main.load_model()
    performance = evaluate(model, task, max(config.analysis_trials // 4, 8))
    motifs = analyze_motifs(
        main,
        trials=config.analysis_trials,
        lesion_trials=config.lesion_trials,
        folder=out / "motifs",
        progress=progress,
    )
    fp = config.fixed_points
    options = FixedPointOptions(max_iters=int(fp["steps"]))
    counts: list[dict[str, dict[str, int]]] = [{} for _ in motifs]
    for code, epoch in fp["periods"]:
        stage(f"motifs: fixed points of {code} {epoch}", enabled=progress)
        found = find_run_fixed_points(
            main,
            task=PREFIX + code,
            epoch=epoch,
            n_initial=int(fp["candidates"]),
            options=options,
            model=model,
            progress=progress,
        )
        for e in range(len(motifs)):
            counts[e][f"{code} {epoch}"] = found.count(e)
    interp = config.interpolation
    networks = []
    for e, analysis in enumerate(motifs):
        stage(
            f"motifs: member {e}: {' -> '.join(interp['tasks'])} interpolation, "
            f"{interp['alphas']} steps",
            enabled=progress,
        )
        bridges = [
            rule_interpolation(
                main,
                PREFIX + interp["tasks"][0],
                PREFIX + interp["tasks"][1],
                interp["period"],
                member=e,
                n_alphas=int(interp["alphas"]),
                n_initial=int(fp["candidates"]),
                options=options,
            )
        ]
        networks.append(NetworkMeasures(e, performance[e], analysis, counts[e], bridges))
    transfer = []
    for held in config.transfer["held_out"]:
        for start in ("related", "unrelated", "scratch"):
            run = runs.get(f"{config.run_id}-transfer-{held}-{start}")
            if run is not None:
                transfer += _transfer_curves(run, held, start)
    return MotifsResults(networks, transfer, int(main.info().steps_done))


def rows(results: MotifsResults) -> list[dict[str, Any]]:
    """measures.csv: one row per network of the main run."""
    out = []
    for n in results.networks:
        clusters = n.motifs.clusters
        row: dict[str, Any] = {
            "member": n.member,
            "steps": results.steps_done,
            "min_performance": round(min(n.performance.values()), 4),
            "mean_performance": round(float(np.mean(list(n.performance.values()))), 4),
            "active_units": int(n.motifs.variance.active.sum()),
            "unit_clusters": clusters.n_unit_clusters,
            "unit_clusters_at_edge": clusters.units_at_edge,
            "period_clusters": clusters.n_period_clusters,
            "period_clusters_at_edge": clusters.periods_at_edge,
            "shared_motifs": len(clusters.shared()),
        }
        for label, count in n.fixed_points.items():
            row[f"stable {label}"] = count.get("stable", 0)
        for bridge in n.bridges:
            row["interpolation stable points (alpha 0, 1)"] = (
                f"{bridge.stable_counts[0]}, {bridge.stable_counts[-1]}"
            )
            row["bridge-readout angle (deg)"] = round(bridge.bridge_readout_angle_deg, 1)
        out.append(row)
    return out


def transfer_rows(results: MotifsResults) -> list[dict[str, Any]]:
    """transfer.csv: one row per transfer network."""
    return [
        {
            "held_out": c.held_out,
            "paper_name": PAPER_NAMES.get(PREFIX + c.held_out, c.held_out),
            "start": c.start,
            "member": c.member,
            "steps_to_criterion": c.steps_to_criterion,
            "final_performance": round(c.final_performance, 4),
        }
        for c in results.transfer
    ]


def _spread(values: list[float]) -> str:
    values = [v for v in values if not math.isnan(v)]
    if not values:
        return "n/a"
    return f"{np.mean(values):.2f} ± {np.std(values):.2f} (n={len(values)})"


# What the paper reports for each row of the summary (its Figs. 3, 4, 6 and 7, one network of
# 256 units trained on 1e8 trials per task set); README.md gives the sources point by point.
PAPER = {
    "performance": "trained on 1e8 trials",
    "unit_clusters": "about 20 (lettered a-u in Fig. 3)",
    "period_clusters": "at least 10 (numbered in Fig. 3)",
    "shared": "memory, anti-response, reaction-response motifs shared across tasks",
    "angle": "orthogonal (90) to the decision boundary",
    "related": "faster than the others after an initial slow phase",
    "unrelated": "slower than from the related tasks",
    "scratch": "n/a (our baseline)",
}


def _at_edge(flags: list[bool]) -> str:
    """A note for the networks whose silhouette was largest at the most clusters tried."""
    n = sum(flags)
    return (
        f" ({n} of {len(flags)}: silhouette largest at the most tried, a lower bound)" if n else ""
    )


def summary(results: MotifsResults) -> str:
    nets = results.networks
    lines = [
        f"Main run at step {results.steps_done}; {len(nets)} networks (mean ± sd over them).",
        "",
        "| measure | paper | ours |",
        "|---|---|---|",
        f"| min performance over tasks | {PAPER['performance']} | "
        f"{_spread([min(n.performance.values()) for n in nets])} |",
        f"| unit clusters | {PAPER['unit_clusters']} | "
        f"{_spread([n.motifs.clusters.n_unit_clusters for n in nets])}"
        f"{_at_edge([n.motifs.clusters.units_at_edge for n in nets])} |",
        f"| task-period clusters | {PAPER['period_clusters']} | "
        f"{_spread([n.motifs.clusters.n_period_clusters for n in nets])}"
        f"{_at_edge([n.motifs.clusters.periods_at_edge for n in nets])} |",
        f"| shared motifs | {PAPER['shared']} | "
        f"{_spread([len(n.motifs.clusters.shared()) for n in nets])} |",
        f"| bridge-readout angle (deg) | {PAPER['angle']} | "
        f"{_spread([b.bridge_readout_angle_deg for n in nets for b in n.bridges])} |",
    ]
    for held in sorted({c.held_out for c in results.transfer}):
        for start in ("related", "unrelated", "scratch"):
            mine = [c for c in results.transfer if c.held_out == held and c.start == start]
            if mine:
                lines.append(
                    f"| transfer {PAPER_NAMES.get(PREFIX + held, held)} from {start}: steps to "
                    f"{CRITERION:g} / final performance | {PAPER[start]} | "
                    f"{_spread([c.steps_to_criterion for c in mine])} / "
                    f"{_spread([c.final_performance for c in mine])} |"
                )
    return "\n".join(lines)


def tables(results: MotifsResults) -> dict[str, list[dict[str, Any]]]:
    return {"transfer.csv": transfer_rows(results)} if results.transfer else {}
