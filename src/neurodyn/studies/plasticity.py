"""Bredenberg, Simoncelli & Savin (NeurIPS 2020), "Learning efficient task-dependent
representations with synaptic plasticity".

`neurodyn study plasticity` trains the stochastic circuit (`neurodyn.models.stochastic`) on
orientation estimation (40 units) and half-circle classification (25 units) with the local
reward-modulated Hebbian rule (`neurodyn.train.plasticity.train_local`), at several noise
levels, under the default von Mises prior and under a narrower (estimation) and a shifted
(classification) one, plus the same circuits trained by truncated BPTT; probes every network
before and after learning at the 12 test angles, and measures (`neurodyn.analysis.
population_code`) the preferred-stimulus histogram, population tuning, decoding bias and
variance, d' at the class boundaries, the noise volume fraction and the recurrent-vs-input
engagement. Writes `ROOT/study-plasticity/` with `measures.csv` (one row per network),
`config.yaml`, `report.html` and every trained network as `networks/LABEL.npz`.

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
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

from neurodyn._io import atomic_write_csv, atomic_write_text
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
from neurodyn.studies._config import with_defaults
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

NAME = "plasticity"

DEFAULT_CONFIG: dict[str, Any] = {
    "tasks": {
        # the authors' sizes and initial biases
        "estimation": {"n_units": 40, "bias": 0.0},
        "classification": {"n_units": 25, "bias": 0.7},
    },
    "sigma": 0.2,  # the paper's noise; the learning curves add the other noise_levels
    "noise_levels": [0.1, 0.2, 0.4],
    # the prior the authors' networks were trained on: their code's stimulus drift with its
    # kappa = 0.75 has a von Mises stationary law of concentration 2 kappa = 1.5
    "kappa": 1.5,
    # the paper's narrower and shifted priors (their values are not in the authors' code)
    "priors": {
        "narrow": {"task": "estimation", "kappa": 6.0},
        "shifted": {"task": "classification", "mu": 1.0},
    },
    "local": {
        "n_chains": 32,
        "n_trials": 6,
        "trial_time": 500.0,
        "rate_scale": 100.0,
        "transient": 40.0,
    },
    "bptt": {"n_chains": 32, "n_updates": 400, "window_time": 2.0, "lr": 0.01, "warmup": 40.0},
    "probe": {"n_chains": 8, "hold_time": 100.0, "transient": 20.0},
    "seeds": [0, 1, 2],  # one network per seed and condition
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


def _typed(section: dict[str, Any], name: str) -> dict[str, Any]:
    """A section's values as the types of its defaults (counts int, times float)."""
    return {k: type(DEFAULT_CONFIG[name][k])(v) for k, v in section.items()}


@dataclass(frozen=True)
class StudyConfig:
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
    def from_dict(cls, data: dict[str, Any]) -> StudyConfig:
        merged = with_defaults(data, DEFAULT_CONFIG)
        for section in ("local", "bptt", "probe"):
            given = dict(merged[section])
            unknown = set(given) - set(DEFAULT_CONFIG[section])
            if unknown:
                raise ConfigError(
                    f"study plasticity: unknown {section} field(s) {sorted(unknown)}; "
                    f"fields: {', '.join(DEFAULT_CONFIG[section])}"
                )
            merged[section] = {**DEFAULT_CONFIG[section], **given}
        try:
            config = cls(
                tasks={str(k): dict(v) for k, v in dict(merged["tasks"]).items()},
                sigma=float(merged["sigma"]),
                noise_levels=tuple(float(s) for s in merged["noise_levels"]),
                kappa=float(merged["kappa"]),
                priors={str(k): dict(v) for k, v in dict(merged["priors"]).items()},
                local=_typed(merged["local"], "local"),
                bptt=_typed(merged["bptt"], "bptt"),
                probe=_typed(merged["probe"], "probe"),
                seeds=tuple(int(s) for s in merged["seeds"]),
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


def _setting(condition: Condition, config: StudyConfig) -> str:
    trainer = config.local if condition.trainer == "local" else config.bptt
    task = config.tasks[condition.task.kind]
    return json.dumps(
        {**condition.describe(), "network": task, "trainer_settings": trainer},
        sort_keys=True,
    )


def _initial_circuit(condition: Condition, config: StudyConfig) -> Circuit:
    task = config.tasks[condition.task.kind]
    return init_circuit(
        int(task["n_units"]), condition.task, seed=condition.seed, bias=float(task["bias"])
    )


def train_condition(condition: Condition, config: StudyConfig, folder: Path) -> TrainedNetwork:
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


def measure(condition: Condition, config: StudyConfig, trained: TrainedNetwork) -> NetworkResult:
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


def run_study(
    config: StudyConfig, root: str | Path = "runs", *, progress: bool = True
) -> tuple[Path, list[dict[str, Any]]]:
    """Train (or reuse) and measure every network; write `ROOT/study-plasticity/`."""
    from tqdm.auto import tqdm

    from neurodyn.report.plasticity import write_plasticity_report

    out = Path(root) / f"study-{NAME}"
    (out / "networks").mkdir(parents=True, exist_ok=True)
    results = []
    for condition in tqdm(config.conditions(), desc="networks", disable=not progress):
        trained = train_condition(condition, config, out / "networks")
        results.append(measure(condition, config, trained))
    rows = [r.row for r in results]
    atomic_write_csv(out / "measures.csv", rows)
    atomic_write_csv(out / "measures_by_condition.csv", condition_means(rows))
    atomic_write_text(out / "config.yaml", yaml.safe_dump(config.to_dict(), sort_keys=False))
    write_plasticity_report(out / "report.html", results, config)
    return out, rows


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


def condition_means(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per condition: each numeric measure's mean and standard deviation over the
    condition's seeds (`KEY_mean`, `KEY_sd`; sd 0 for one seed), in the rows' order."""
    by_condition: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_condition.setdefault(row["condition"], []).append(row)
    out = []
    for name, members in by_condition.items():
        summary: dict[str, Any] = {"condition": name, "seeds": len(members)}
        for key, value in members[0].items():
            if isinstance(value, int | float) and not isinstance(value, bool) and key != "seed":
                values = np.array([m[key] for m in members], dtype=float)
                summary[f"{key}_mean"] = float(values.mean())
                summary[f"{key}_sd"] = float(values.std())
        out.append(summary)
    return out


def mean_sd_text(summary: dict[str, Any], key: str) -> str:
    """`mean ± sd` of measure `key` in a `condition_means` row ("" where the condition has
    none, e.g. d' of an estimation network)."""
    if f"{key}_mean" not in summary:
        return ""
    return f"{summary[f'{key}_mean']:.3g} ± {summary[f'{key}_sd']:.2g}"


def summary_table(rows: list[dict[str, Any]]) -> str:
    """Markdown: one line per condition, each measure's mean +- sd over seeds: test error
    before and after learning, final online objective, time to 90% of the gain,
    preferred-stimulus share near the prior's centre (5/12 = 0.42 if uniform), noise volume
    fraction (before, after, and after near and away from the prior's centre), the
    correlation of the mean rate with the prior over the test angles, engagement and
    boundary d'."""
    columns = SUMMARY_COLUMNS[1:]
    head = "| condition | " + " | ".join(title for _, title in columns) + " |"
    lines = [head, "|" + "---|" * (len(columns) + 1)]
    for summary in condition_means(rows):
        cells = [mean_sd_text(summary, k) for k, _ in columns]
        lines.append(f"| {summary['condition']} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def quick_config() -> StudyConfig:
    """A tiny version: small circuits, short training, two noise levels, two seeds."""
    return StudyConfig.from_dict(
        {
            "tasks": {
                "estimation": {"n_units": 8, "bias": 0.0},
                "classification": {"n_units": 6, "bias": 0.7},
            },
            "noise_levels": [0.2, 0.4],
            "local": {
                "n_chains": 8,
                "n_trials": 1,
                "trial_time": 40.0,
                "rate_scale": 400.0,
                "transient": 5.0,
            },
            "bptt": {"n_chains": 8, "n_updates": 10, "window_time": 1.0, "warmup": 5.0},
            "probe": {"n_chains": 4, "hold_time": 10.0, "transient": 5.0},
            "seeds": [0, 1],
        }
    )
