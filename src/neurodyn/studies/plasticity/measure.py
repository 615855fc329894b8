"""What the plasticity study measures (Bredenberg, Simoncelli & Savin 2020): its config and
conditions, the training of each network (reused when trained before), its probes before and
after learning, the rows of measures.csv and measures_by_condition.csv, and the summary table.

The study trains the stochastic circuit (`neurodyn.models.stochastic`) on orientation estimation
and half-circle classification with the local reward-modulated Hebbian rule
(`neurodyn.train.plasticity.train_local`), at several noise levels, under the default von Mises
prior and under a narrower (estimation) and a shifted (classification) one, plus the same
circuits trained by truncated BPTT; probes every network before and after learning at the 12
test angles, and measures (`neurodyn.analysis.population_code`) the preferred-stimulus
histogram, population tuning, decoding bias and variance, d' at the class boundaries, the noise
volume fraction and the recurrent-vs-input engagement. Every trained network is kept as
`ROOT/study-plasticity/networks/LABEL.npz`.

A trained network is reused when the study runs again (an interrupted study goes on from the
networks it finished); one trained under different settings is refused, never overwritten.

Each network runs `n_chains` chains side by side with the rule's rates `rate_scale` times the
authors' (see `train.plasticity`): the study's 3,000 time units of training (at 100x the
authors' rates: about their integrated learning) take under half a minute per network on a
CPU core (the C++ loop) where the authors' single chain needs 260,000 time units.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurodyn._progress import progress as show_progress
from neurodyn.analysis._result import SavableResult
from neurodyn.analysis.population_code import (
    DecodingBiasVariance,
    Engagement,
    TuningSummary,
    boundary_discriminability,
    current_engagement,
    decoding_bias_variance,
    noise_volume_fraction,
    task_discriminability,
    tuning_summary,
)
from neurodyn.errors import ConfigError
from neurodyn.models.stochastic import CircuitSpec
from neurodyn.runs import Run
from neurodyn.studies._study import check_fields, typed_section
from neurodyn.tasks.bredenberg import StimulusTask, wrap
from neurodyn.train.plasticity import (
    Circuit,
    LearningCurve,
    LocalRule,
    Probe,
    init_circuit,
    probe,
    probe_angles,
    probe_performance,
    train_bptt,
    train_local,
)

__all__ = [
    "BOUNDARY_PAIRS",
    "NEAR_PRIOR_PEAK",
    "SUMMARY_COLUMNS",
    "Condition",
    "NetworkResult",
    "PlasticityConfig",
    "TrainedNetwork",
    "condition_means",
    "mean_sd_text",
    "measure",
    "measure_network",
    "rows",
    "summary",
    "tables",
    "time_to_fraction",
    "train_condition",
]

# The settings of each trainer and of the probe, with their types (the values are config.yaml's)
SECTIONS: dict[str, dict[str, type]] = {
    "local": {
        "n_chains": int,
        "n_trials": int,
        "trial_time": float,
        "rate_scale": float,
        "transient": float,
    },
    "bptt": {"n_chains": int, "n_updates": int, "window_time": float, "lr": float, "warmup": float},
    "probe": {"n_chains": int, "hold_time": float, "transient": float},
}

# d' pairs of the authors' code: either side of the boundary at theta = 0 (where the default
# prior peaks) and of the one at +-pi (where it is least dense)
BOUNDARY_PAIRS = {
    "boundary 0 (+-30 deg)": (math.pi / 6, -math.pi / 6),
    "boundary pi (+-150 deg)": (5 * math.pi / 6, -5 * math.pi / 6),
}
NEAR_PRIOR_PEAK = math.pi / 3  # "near the prior's centre": within 60 degrees (5 of 12 angles)


@dataclass(frozen=True)
class Condition:
    """One network to train: its condition's name, task (with prior), trainer ("local" or
    "bptt"), noise and seed (of its initial weights, its training and its probe)."""

    name: str
    task: StimulusTask
    trainer: str
    sigma: float
    seed: int

    @property
    def label(self) -> str:
        return f"{self.name}-seed{self.seed}"

    def describe(self) -> dict[str, Any]:
        return {
            "task": self.task.kind,
            "trainer": self.trainer,
            "sigma": self.sigma,
            "kappa": self.task.kappa,
            "mu": self.task.mu,
            "seed": self.seed,
        }


@dataclass(frozen=True)
class PlasticityConfig:
    """The study's settings (see config.yaml for each field's meaning): network size and bias
    per task, the noise levels (`sigma`: the paper's), the default prior's concentration, the
    extra priors, the settings of the local rule, of BPTT and of the probe, and the seeds."""

    tasks: dict[str, dict[str, Any]]
    sigma: float
    noise_levels: tuple[float, ...]
    kappa: float
    priors: dict[str, dict[str, Any]]
    local: dict[str, Any]
    bptt: dict[str, Any]
    probe: dict[str, Any]
    seeds: tuple[int, ...]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PlasticityConfig:
        """The config from every field (`load_config` merges a user's file over config.yaml,
        section by section for `local`, `bptt` and `probe`)."""
        check_fields("plasticity", (f.name for f in dataclasses.fields(cls)), data)
        try:
            config = cls(
                tasks={str(k): dict(v) for k, v in dict(data["tasks"]).items()},
                sigma=float(data["sigma"]),
                noise_levels=tuple(float(s) for s in data["noise_levels"]),
                kappa=float(data["kappa"]),
                priors={str(k): dict(v) for k, v in dict(data["priors"]).items()},
                local=typed_section("plasticity", data, "local", SECTIONS["local"]),
                bptt=typed_section("plasticity", data, "bptt", SECTIONS["bptt"]),
                probe=typed_section("plasticity", data, "probe", SECTIONS["probe"]),
                seeds=tuple(int(s) for s in data["seeds"]),
            )
        except (TypeError, ValueError) as err:
            raise ConfigError(f"study plasticity: a field has the wrong type ({err})") from err
        if not config.seeds or len(set(config.seeds)) != len(config.seeds):
            raise ConfigError(f"seeds must be distinct and at least one, got {config.seeds}")
        if set(config.tasks) - {"estimation", "classification"} or not config.tasks:
            raise ConfigError(
                f"tasks must be estimation and/or classification, got {sorted(config.tasks)}"
            )
        if config.sigma not in config.noise_levels:
            raise ConfigError(
                f"sigma ({config.sigma}) must be one of the noise_levels {config.noise_levels}"
            )
        for name, prior in config.priors.items():
            if prior.get("task") not in config.tasks or set(prior) - {"task", "kappa", "mu"}:
                raise ConfigError(
                    f"prior {name!r} needs `task` (one of {sorted(config.tasks)}) and may set "
                    f"kappa and mu; got {prior}"
                )
        config.conditions()  # every task and prior must be a valid StimulusTask
        return config

    def conditions(self) -> list[Condition]:
        """Every network, seed by seed: per task, the local rule at each noise level and BPTT
        at `sigma`; each extra prior with the local rule at `sigma`."""
        out = []
        for seed in self.seeds:
            for kind in self.tasks:
                task = StimulusTask(kind, kappa=self.kappa)
                for sigma in self.noise_levels:
                    name = f"{kind}-local-sigma{sigma:g}"
                    out.append(Condition(name, task, "local", sigma, seed))
                name = f"{kind}-bptt-sigma{self.sigma:g}"
                out.append(Condition(name, task, "bptt", self.sigma, seed))
            for prior_name, prior in self.priors.items():
                task = StimulusTask(
                    prior["task"],
                    kappa=float(prior.get("kappa", self.kappa)),
                    mu=float(prior.get("mu", 0.0)),
                )
                name = f"{prior['task']}-{prior_name}-local"
                out.append(Condition(name, task, "local", self.sigma, seed))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "tasks": copy.deepcopy(self.tasks),
            "sigma": self.sigma,
            "noise_levels": list(self.noise_levels),
            "kappa": self.kappa,
            "priors": copy.deepcopy(self.priors),
            "local": dict(self.local),
            "bptt": dict(self.bptt),
            "probe": dict(self.probe),
            "seeds": list(self.seeds),
        }


@dataclass(frozen=True)
class TrainedNetwork(SavableResult):
    """A trained circuit as saved: its condition and settings (`setting`, JSON), parameters,
    learning curve and training wall time."""

    label: str
    setting: str
    recurrent: np.ndarray
    input: np.ndarray
    bias: np.ndarray
    readout: np.ndarray
    curve_time: np.ndarray
    curve_objective: np.ndarray
    seconds: float

    def circuit(self) -> Circuit:
        return Circuit(
            *(torch.from_numpy(a) for a in (self.recurrent, self.input, self.bias, self.readout))
        )


@dataclass(frozen=True)
class NetworkResult:
    """One condition's network, probed before and after learning, and its measures."""

    condition: Condition
    trained: TrainedNetwork
    before: Probe
    after: Probe
    tuning: TuningSummary
    decoding: DecodingBiasVariance
    noise_fraction_before: np.ndarray
    noise_fraction_after: np.ndarray
    engagement: Engagement
    discriminability: dict[str, float]
    row: dict[str, Any]

    @property
    def curve(self) -> LearningCurve:
        return LearningCurve(self.trained.curve_time, self.trained.curve_objective)


def _setting(condition: Condition, config: PlasticityConfig) -> str:
    trainer = config.local if condition.trainer == "local" else config.bptt
    task = config.tasks[condition.task.kind]
    return json.dumps(
        {**condition.describe(), "network": task, "trainer_settings": trainer},
        sort_keys=True,
    )


def _initial_circuit(condition: Condition, config: PlasticityConfig) -> Circuit:
    task = config.tasks[condition.task.kind]
    return init_circuit(
        int(task["n_units"]), condition.task, seed=condition.seed, bias=float(task["bias"])
    )


def train_condition(condition: Condition, config: PlasticityConfig, folder: Path) -> TrainedNetwork:
    """Train one network, or load it from `folder/LABEL.npz` when it was trained before with
    the same settings (a file from other settings is an error: never overwritten)."""
    path = folder / f"{condition.label}.npz"
    setting = _setting(condition, config)
    if path.exists():
        saved = TrainedNetwork.load(path)
        if json.loads(saved.setting) != json.loads(setting):  # 32 and 32.0 are one setting
            raise ConfigError(
                f"{path} was trained with other settings ({saved.setting}); the study's are "
                f"{setting}. Use another --runs folder, or delete the file to retrain it"
            )
        return saved
    spec = CircuitSpec(sigma=condition.sigma)
    start = _initial_circuit(condition, config)
    began = time.perf_counter()
    if condition.trainer == "local":
        local = config.local
        rule = LocalRule.paper(condition.task.kind).scaled(local["rate_scale"])
        rule = dataclasses.replace(rule, transient=local["transient"])
        result = train_local(
            start,
            condition.task,
            spec,
            rule,
            n_chains=int(local["n_chains"]),
            n_trials=int(local["n_trials"]),
            trial_time=local["trial_time"],
            seed=condition.seed + 1,
            curve_interval=min(10.0, local["trial_time"] / 10),
        )
    else:
        bptt = config.bptt
        result = train_bptt(
            start,
            condition.task,
            spec,
            n_chains=int(bptt["n_chains"]),
            n_updates=int(bptt["n_updates"]),
            window_time=bptt["window_time"],
            lr=bptt["lr"],
            seed=condition.seed + 1,
            warmup_time=bptt["warmup"],
        )
    params = result.circuit.to_numpy()
    trained = TrainedNetwork(
        label=condition.label,
        setting=setting,
        **params,
        curve_time=result.curve.time,
        curve_objective=result.curve.objective,
        seconds=time.perf_counter() - began,
    )
    trained.save(path)
    return trained


def measure_network(
    condition: Condition, config: PlasticityConfig, trained: TrainedNetwork
) -> NetworkResult:
    """Probe the network before and after learning and take every measure."""
    spec = CircuitSpec(sigma=condition.sigma)
    settings = {
        "n_chains": int(config.probe["n_chains"]),
        "hold_time": config.probe["hold_time"],
        "transient": config.probe["transient"],
        "seed": condition.seed + 2,
    }
    angles = probe_angles()
    start = _initial_circuit(condition, config)
    circuit = trained.circuit()
    before = probe(start, spec, angles, **settings)
    after = probe(circuit, spec, angles, **settings)
    task = condition.task
    tuning = tuning_summary(after.rates, angles)
    targets = task.target(torch.from_numpy(angles)).numpy()
    outputs = task.output(torch.from_numpy(after.drive)).numpy()
    decoding = decoding_bias_variance(outputs, targets, angles)
    fraction_before = noise_volume_fraction(before.rates, start.readout.double().numpy())
    fraction_after = noise_volume_fraction(after.rates, trained.readout)
    engagement = current_engagement(after.rates, after.inputs, trained.recurrent, trained.input)
    discriminability: dict[str, float] = {}
    if task.kind == "classification":
        projections = after.drive[..., 0]
        discriminability = {
            "whole task": task_discriminability(projections, angles),
            **boundary_discriminability(projections, angles, BOUNDARY_PAIRS),
        }
    near = _within(tuning.preferred, task.mu)
    near_angles = _within(angles, task.mu)
    prior = task.prior_density(angles)
    tail = max(1, len(trained.curve_objective) // 10)
    row: dict[str, Any] = {
        "network": condition.label,
        "condition": condition.name,
        **condition.describe(),
        "n_units": circuit.n_units,
        "test_error_before": probe_performance(before, task),
        "test_error_after": probe_performance(after, task),
        "final_objective": float(trained.curve_objective[-tail:].mean()),
        "time_to_90_percent": time_to_fraction(trained.curve_time, trained.curve_objective),
        "share_preferring_near_prior_centre": float(near.mean()),
        "noise_fraction_before": float(fraction_before.mean()),
        "noise_fraction_after": float(fraction_after.mean()),
        # does the circuit hide its noise from the readout where stimuli are frequent?
        "noise_fraction_after_near_centre": float(fraction_after[near_angles].mean()),
        "noise_fraction_after_elsewhere": float(fraction_after[~near_angles].mean()),
        # does the mean activity follow the prior?
        "population_mean_prior_correlation": float(
            np.corrcoef(tuning.population_mean, prior)[0, 1]
        ),
        "engagement_ratio": engagement.ratio,
        "d_prime_whole": discriminability.get("whole task", ""),
        "d_prime_boundary_0": discriminability.get("boundary 0 (+-30 deg)", ""),
        "d_prime_boundary_pi": discriminability.get("boundary pi (+-150 deg)", ""),
        "train_seconds": round(trained.seconds, 1),
    }
    return NetworkResult(
        condition,
        trained,
        before,
        after,
        tuning,
        decoding,
        fraction_before,
        fraction_after,
        engagement,
        discriminability,
        row,
    )


def time_to_fraction(time: np.ndarray, objective: np.ndarray, fraction: float = 0.9) -> float:
    """The first time the learning curve, smoothed by a trailing mean over a fiftieth of its
    length, has come `fraction` of the way from its first to its final value (the final value:
    the mean of its last fiftieth): how fast learning is, apart from where it ends."""
    width = max(1, len(objective) // 50)
    smooth = np.convolve(objective, np.ones(width) / width, mode="valid")
    start, end = smooth[0], objective[-width:].mean()
    reached = np.flatnonzero((smooth - start) >= fraction * (end - start))
    return float(time[width - 1 + reached[0]]) if len(reached) else float("nan")


def _within(angles: np.ndarray, centre: float) -> np.ndarray:
    """Which `angles` lie within NEAR_PRIOR_PEAK of `centre` on the circle."""
    return np.abs(wrap(angles - centre)) <= NEAR_PRIOR_PEAK + 1e-9


SUMMARY_COLUMNS = [
    ("network", "network"),
    ("test_error_before", "test error before"),
    ("test_error_after", "after"),
    ("final_objective", "final objective"),
    ("time_to_90_percent", "time to 90% of the gain"),
    ("share_preferring_near_prior_centre", "units preferring within 60 deg of the prior's centre"),
    ("noise_fraction_before", "noise volume fraction before"),
    ("noise_fraction_after", "after"),
    ("noise_fraction_after_near_centre", "after, within 60 deg of the prior's centre"),
    ("noise_fraction_after_elsewhere", "after, elsewhere"),
    ("population_mean_prior_correlation", "mean rate vs prior (r)"),
    ("engagement_ratio", "recurrent / input"),
    ("d_prime_boundary_0", "d' at 0"),
    ("d_prime_boundary_pi", "d' at pi"),
]


def condition_means(network_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per condition: each numeric measure's mean and standard deviation over the
    condition's seeds (`KEY_mean`, `KEY_sd`; sd 0 for one seed), in the rows' order."""
    by_condition: dict[str, list[dict[str, Any]]] = {}
    for row in network_rows:
        by_condition.setdefault(row["condition"], []).append(row)
    out = []
    for name, members in by_condition.items():
        means: dict[str, Any] = {"condition": name, "seeds": len(members)}
        for key, value in members[0].items():
            if isinstance(value, int | float) and not isinstance(value, bool) and key != "seed":
                values = np.array([m[key] for m in members], dtype=float)
                means[f"{key}_mean"] = float(values.mean())
                means[f"{key}_sd"] = float(values.std())
        out.append(means)
    return out


def mean_sd_text(means: dict[str, Any], key: str) -> str:
    """`mean ± sd` of measure `key` in a `condition_means` row ("" where the condition has
    none, e.g. d' of an estimation network)."""
    if f"{key}_mean" not in means:
        return ""
    return f"{means[f'{key}_mean']:.3g} ± {means[f'{key}_sd']:.2g}"


def summary(results: list[NetworkResult]) -> str:
    """Markdown: one line per condition, each measure's mean +- sd over seeds: test error
    before and after learning, final online objective, time to 90% of the gain,
    preferred-stimulus share near the prior's centre (5/12 = 0.42 if uniform), noise volume
    fraction (before, after, and after near and away from the prior's centre), the
    correlation of the mean rate with the prior over the test angles, engagement and
    boundary d'."""
    columns = SUMMARY_COLUMNS[1:]
    head = "| condition | " + " | ".join(title for _, title in columns) + " |"
    lines = [head, "|" + "---|" * (len(columns) + 1)]
    for means in condition_means(rows(results)):
        cells = [mean_sd_text(means, k) for k, _ in columns]
        lines.append(f"| {means['condition']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def measure(
    config: PlasticityConfig, runs: Mapping[str, Run], out: Path, progress: bool
) -> list[NetworkResult]:
    """Train (or reuse) every network into `out/networks` and measure it (`Study.measure`: the
    study trains its own circuits, not runs, so `runs` is empty)."""
    (out / "networks").mkdir(parents=True, exist_ok=True)
    results = []
    for condition in show_progress(config.conditions(), "networks", enabled=progress):
        trained = train_condition(condition, config, out / "networks")
        results.append(measure_network(condition, config, trained))
    return results


def rows(results: list[NetworkResult]) -> list[dict[str, Any]]:
    """measures.csv: one row per network."""
    return [r.row for r in results]


def tables(results: list[NetworkResult]) -> dict[str, list[dict[str, Any]]]:
    """measures_by_condition.csv: each measure's mean and sd over seeds, per condition."""
    return {"measures_by_condition.csv": condition_means(rows(results))}
