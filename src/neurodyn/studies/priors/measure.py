"""What the priors study measures (Ganguli & Simoncelli 2010): its config, its networks, and the
Fisher information, density and gain of each one against its stimulus prior.

Two kinds of networks learn orientation estimation under the same three von Mises priors (wide,
narrow, shifted):

- the stochastic circuit of Bredenberg, Simoncelli & Savin (2020) (`neurodyn.models.
  stochastic`), trained by its local reward-modulated Hebbian rule and by truncated BPTT
  (`neurodyn.train.plasticity`), as the plasticity study trains them (reused from
  `ROOT/study-priors/networks/` when trained before with the same settings; other settings are
  refused, never overwritten);
- leaky rate networks (CTRNNs) trained by BPTT on `orientation_estimation`, one run (an
  ensemble of seeds) per prior, and the same under a budget (`rnn_budget`): a cost on the mean
  squared rate (Ganguli & Simoncelli's constraint on the spikes), with more noise inside the
  network than in its input, so that the network, not its input, limits the information.

Each network is probed on a grid of angles (the circuit with each angle held fixed, its rates
sampled every `record_interval` time units; the CTRNN on `trials_per_angle` noisy trials per
angle, its state at the last step), and measured (`neurodyn.analysis.fisher`): the
bias-corrected linear Fisher information over the angle, the density of preferred angles and
the gains, and the powers of the prior they follow (infomax: Fisher 2, density 1, gain 0;
discrimax: 1/2, 1/2, -1/2), with the objective whose optimum has the network's Fisher power.
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
from neurodyn.analysis import (
    LinearFisher,
    PopulationAllocation,
    PriorPowers,
    SavableResult,
    fit_prior_powers,
    linear_fisher,
    population_allocation,
    responses_by_stimulus,
)
from neurodyn.errors import ConfigError
from neurodyn.models.stochastic import CircuitSpec
from neurodyn.runs import Run, parse_config
from neurodyn.studies._study import check_fields, typed_section
from neurodyn.tasks import OrientationEstimation
from neurodyn.tasks.bredenberg import StimulusTask, wrap
from neurodyn.train.plasticity import (
    Circuit,
    LocalRule,
    init_circuit,
    probe,
    probe_performance,
    train_bptt,
    train_local,
)

__all__ = [
    "SECTIONS",
    "CircuitCondition",
    "NetworkResult",
    "PriorsConfig",
    "TrainedCircuit",
    "angle_grid",
    "measure",
    "measure_circuit",
    "measure_rnn_run",
    "rows",
    "runs",
    "summary",
    "train_circuit",
]

# the settings of each section, with their types (the values are config.yaml's)
SECTIONS: dict[str, dict[str, type]] = {
    "circuit": {"n_units": int, "sigma": float},
    "local": {
        "n_chains": int,
        "n_trials": int,
        "trial_time": float,
        "rate_scale": float,
        "transient": float,
    },
    "bptt": {"n_chains": int, "n_updates": int, "window_time": float, "lr": float, "warmup": float},
    "probe": {"n_chains": int, "hold_time": float, "transient": float, "record_interval": float},
    "rnn_probe": {"trials_per_angle": int},
    "rnn_budget": {"input_noise": float, "sigma_rec": float, "l2_rate": float},
}
# sections handed to the run config as they are (checked by parse_config)
RUN_SECTIONS = ("rnn_task", "rnn_model", "rnn_train")
# the seed of the CTRNNs' probe trials (not a training seed)
PROBE_SEED = 2010
NEAR_PRIOR_CENTRE = math.pi / 3  # "near the prior's centre": within 60 degrees
# the CTRNNs' trainings: BPTT as it is, and BPTT under a rate cost with the noise inside
RNN_TRAINERS = ("bptt", "bptt-rate-cost")


def _run_name(trainer: str, prior: str) -> str:
    return f"priors-rnn-{prior}" if trainer == "bptt" else f"priors-rnn-budget-{prior}"


def angle_grid(n_angles: int) -> np.ndarray:
    """`n_angles` evenly spaced angles from -pi: `[A]`."""
    return -math.pi + 2 * math.pi * np.arange(n_angles) / n_angles


@dataclass(frozen=True)
class CircuitCondition:
    """One stochastic circuit to train: its prior (name and task), trainer and seed."""

    prior: str
    task: StimulusTask
    trainer: str
    seed: int

    @property
    def label(self) -> str:
        return f"circuit-{self.trainer}-{self.prior}-seed{self.seed}"


@dataclass(frozen=True)
class PriorsConfig:
    """The study's settings (config.yaml says what each field means)."""

    priors: dict[str, dict[str, float]]
    n_angles: int
    seeds: tuple[int, ...]
    circuit: dict[str, Any]
    local: dict[str, Any]
    bptt: dict[str, Any]
    probe: dict[str, Any]
    rnn_task: dict[str, Any]
    rnn_model: dict[str, Any]
    rnn_train: dict[str, Any]
    rnn_probe: dict[str, Any]
    rnn_budget: dict[str, Any]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PriorsConfig:
        """The config from every field (`load_config` merges a user's file over config.yaml);
        checks every run config and prior before anything trains."""
        check_fields("priors", (f.name for f in dataclasses.fields(cls)), data)
        try:
            priors = {
                str(name): {"kappa": float(p["kappa"]), "mu": float(p.get("mu", 0.0))}
                for name, p in dict(data["priors"]).items()
            }
            config = cls(
                priors=priors,
                n_angles=int(data["n_angles"]),
                seeds=tuple(int(s) for s in data["seeds"]),
                **{name: typed_section("priors", data, name, SECTIONS[name]) for name in SECTIONS},
                **{name: dict(data[name]) for name in RUN_SECTIONS},
            )
        except (TypeError, ValueError, KeyError) as err:
            raise ConfigError(
                f"study priors: a field has the wrong type or misses a key ({err}); each prior "
                "needs kappa and may set mu"
            ) from err
        if not config.priors or not config.seeds or len(set(config.seeds)) != len(config.seeds):
            raise ConfigError("study priors: give at least one prior and distinct seeds")
        if config.n_angles < 4:
            raise ConfigError(f"n_angles must be at least 4, got {config.n_angles}")
        if {"kappa", "mu", "angles"} & set(config.rnn_task):
            raise ConfigError(
                "rnn_task sets neither kappa nor mu (each prior sets them) nor angles (the "
                "probe's grid)"
            )
        config.circuit_conditions()  # every prior a valid StimulusTask
        for run_config in config.run_configs().values():
            parse_config(run_config)
        return config

    def to_dict(self) -> dict[str, Any]:
        out = {f.name: copy.deepcopy(getattr(self, f.name)) for f in dataclasses.fields(self)}
        out["seeds"] = list(self.seeds)
        return out

    def circuit_conditions(self) -> list[CircuitCondition]:
        """Every circuit: per seed, per prior, the local rule and BPTT."""
        return [
            CircuitCondition(name, StimulusTask("estimation", **prior), trainer, seed)
            for seed in self.seeds
            for name, prior in self.priors.items()
            for trainer in ("local", "bptt")
        ]

    def run_configs(self) -> dict[str, dict[str, Any]]:
        """The CTRNN runs, per prior: free (`priors-rnn-<prior>`) and under the budget
        (`priors-rnn-budget-<prior>`)."""
        budget = self.rnn_budget
        out = {}
        for trainer in RNN_TRAINERS:
            task, model, train = dict(self.rnn_task), dict(self.rnn_model), dict(self.rnn_train)
            if trainer == "bptt-rate-cost":
                task["input_noise"] = budget["input_noise"]
                model["sigma_rec"] = budget["sigma_rec"]
                train["l2_rate"] = budget["l2_rate"]
            for name, prior in self.priors.items():
                run_name = _run_name(trainer, name)
                out[run_name] = {
                    "name": run_name,
                    "task": {"name": OrientationEstimation.name, "params": {**task, **prior}},
                    "model": model,
                    "train": train,
                }
        return out


# --- the stochastic circuits -----------------------------------------------------------------


@dataclass(frozen=True)
class TrainedCircuit(SavableResult):
    """A trained circuit as saved: its label, the settings it was trained with (JSON), its
    parameters (W, C, b, D) and the training's wall time."""

    label: str
    setting: str
    recurrent: np.ndarray
    input: np.ndarray
    bias: np.ndarray
    readout: np.ndarray
    seconds: float

    def circuit(self) -> Circuit:
        return Circuit(
            *(torch.from_numpy(a) for a in (self.recurrent, self.input, self.bias, self.readout))
        )


def _setting(condition: CircuitCondition, config: PriorsConfig) -> str:
    trainer = config.local if condition.trainer == "local" else config.bptt
    prior = config.priors[condition.prior]
    return json.dumps(
        {
            "trainer": condition.trainer,
            "seed": condition.seed,
            "prior": prior,
            "circuit": config.circuit,
            "trainer_settings": trainer,
        },
        sort_keys=True,
    )


def _initial_circuit(condition: CircuitCondition, config: PriorsConfig) -> Circuit:
    return init_circuit(int(config.circuit["n_units"]), condition.task, seed=condition.seed)


def train_circuit(
    condition: CircuitCondition, config: PriorsConfig, folder: Path
) -> TrainedCircuit:
    """Train one circuit as the plasticity study does, or load it from `folder/LABEL.npz` when
    it was trained before with the same settings (a file from other settings is an error)."""
    path = folder / f"{condition.label}.npz"
    setting = _setting(condition, config)
    if path.exists():
        saved = TrainedCircuit.load(path)
        if json.loads(saved.setting) != json.loads(setting):
            raise ConfigError(
                f"{path} was trained with other settings ({saved.setting}); the study's are "
                f"{setting}. Use another --runs folder, or delete the file to retrain it"
            )
        return saved
    spec = CircuitSpec(sigma=float(config.circuit["sigma"]))
    start = _initial_circuit(condition, config)
    began = time.perf_counter()
    if condition.trainer == "local":
        local = config.local
        rule = LocalRule.paper("estimation").scaled(local["rate_scale"])
        rule = dataclasses.replace(rule, transient=local["transient"])
        trained = train_local(
            start,
            condition.task,
            spec,
            rule,
            n_chains=local["n_chains"],
            n_trials=local["n_trials"],
            trial_time=local["trial_time"],
            seed=condition.seed + 1,
        ).circuit
    else:
        bptt = config.bptt
        trained = train_bptt(
            start,
            condition.task,
            spec,
            n_chains=bptt["n_chains"],
            n_updates=bptt["n_updates"],
            window_time=bptt["window_time"],
            lr=bptt["lr"],
            seed=condition.seed + 1,
            warmup_time=bptt["warmup"],
        ).circuit
    result = TrainedCircuit(
        label=condition.label,
        setting=setting,
        **trained.to_numpy(),
        seconds=time.perf_counter() - began,
    )
    result.save(path)
    return result


# --- measures --------------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkResult:
    """One network's code against its prior: its Fisher information, allocation, fitted powers
    and its row of measures.csv."""

    label: str
    kind: str  # "circuit" or "rnn"
    trainer: str  # "local" or "bptt"
    prior: str
    seed: int
    fisher: LinearFisher
    allocation: PopulationAllocation
    powers: PriorPowers
    row: dict[str, Any]

    @property
    def group(self) -> str:
        """The network's learning rule and architecture, e.g. "circuit, local rule"."""
        if self.kind == "rnn":
            return "CTRNN, BPTT" if self.trainer == "bptt" else "CTRNN, BPTT + rate cost"
        return "circuit, local rule" if self.trainer == "local" else "circuit, BPTT"


def _row(
    label: str,
    kind: str,
    trainer: str,
    prior_name: str,
    prior: StimulusTask,
    seed: int,
    test_error: float,
    fisher: LinearFisher,
    allocation: PopulationAllocation,
    powers: PriorPowers,
) -> dict[str, Any]:
    near = np.abs(wrap(fisher.stimuli - prior.mu)) <= NEAR_PRIOR_CENTRE
    values = fisher.fisher
    return {
        "network": label,
        "kind": kind,
        "trainer": trainer,
        "prior": prior_name,
        "kappa": prior.kappa,
        "mu": prior.mu,
        "seed": seed,
        "n_units": fisher.n_units,
        "n_trials": fisher.n_trials,
        "test_error": test_error,
        "fisher_mean": float(values.mean()),
        # Fisher information near the prior's centre over that elsewhere (1: no allocation)
        "fisher_near_over_far": float(values[near].mean() / values[~near].mean()),
        "fisher_power": powers.fisher_power,
        "fisher_power_se": powers.fisher_power_se,
        "fisher_r2": powers.fisher_r2,
        "threshold_power": powers.threshold_power,
        "density_power": powers.density_power,
        "density_power_se": powers.density_power_se,
        "gain_power": powers.gain_power,
        "objective_alpha": powers.objective_alpha,
    }


def measure_circuit(
    condition: CircuitCondition, config: PriorsConfig, trained: TrainedCircuit
) -> NetworkResult:
    """Probe one trained circuit on the grid and measure its code against its prior."""
    settings = config.probe
    spec = CircuitSpec(sigma=float(config.circuit["sigma"]))
    grid = angle_grid(config.n_angles)
    responses = probe(
        trained.circuit(),
        spec,
        grid,
        n_chains=settings["n_chains"],
        hold_time=settings["hold_time"],
        transient=settings["transient"],
        record_interval=settings["record_interval"],
        seed=condition.seed + 2,
    )
    fisher = linear_fisher(responses.rates, grid)
    allocation = population_allocation(responses.rates, grid)
    prior = condition.task
    powers = fit_prior_powers(fisher, allocation, prior.prior_density)
    row = _row(
        condition.label,
        "circuit",
        condition.trainer,
        condition.prior,
        prior,
        condition.seed,
        probe_performance(responses, prior),
        fisher,
        allocation,
        powers,
    )
    return NetworkResult(
        condition.label,
        "circuit",
        condition.trainer,
        condition.prior,
        condition.seed,
        fisher,
        allocation,
        powers,
        row,
    )


def measure_rnn_run(
    run: Run, config: PriorsConfig, prior_name: str, trainer: str = "bptt"
) -> list[NetworkResult]:
    """Every network of one CTRNN run: its noisy states at the last step of `trials_per_angle`
    trials per grid angle (input noise and recurrent noise as in training), measured against
    the run's prior; the test error is the prior-weighted squared error of the output at the
    last step, as the circuits' (1 for a silent output)."""
    task = run.config.make_task()
    assert isinstance(task, OrientationEstimation)
    grid = angle_grid(config.n_angles)
    n_trials = len(grid) * config.rnn_probe["trials_per_angle"]
    probe_task = dataclasses.replace(task, angles=tuple(float(a) for a in grid))
    batch = probe_task.sample(n_trials, seed=PROBE_SEED)
    model = run.load_model()
    seeds = run.config.model.seeds
    generators = [torch.Generator().manual_seed(PROBE_SEED + int(s)) for s in seeds]
    with torch.no_grad():
        trajectory = model(batch.x, generators=generators)
    states = trajectory.states[-1]  # [E, B, N]
    theta = batch.trial["theta"].double().numpy()
    responses = responses_by_stimulus(states, theta, grid, atol=1e-5)
    outputs = trajectory.outputs[-1].double().numpy()  # [E, B, 2]
    targets = np.stack([np.cos(theta), np.sin(theta)], -1)
    squared = ((outputs - targets) ** 2).sum(-1)  # [E, B]
    per_angle = responses_by_stimulus(squared[..., None], theta, grid, atol=1e-5)[..., 0]
    weights = task.prior_density(grid)
    prior = task.prior
    results = []
    for e, seed in enumerate(seeds):
        fisher = linear_fisher(responses[e], grid)
        allocation = population_allocation(responses[e], grid)
        powers = fit_prior_powers(fisher, allocation, task.prior_density)
        error = float((per_angle[e].mean(-1) * weights).sum() / weights.sum())
        label = f"rnn-{'' if trainer == 'bptt' else 'budget-'}{prior_name}-seed{seed}"
        row = _row(
            label, "rnn", trainer, prior_name, prior, int(seed), error, fisher, allocation, powers
        )
        results.append(
            NetworkResult(
                label, "rnn", trainer, prior_name, int(seed), fisher, allocation, powers, row
            )
        )
    return results


def runs(config: PriorsConfig, root: Path) -> dict[str, dict[str, Any]]:
    """The CTRNN runs (`Study.runs`); the circuits are trained by `measure`."""
    return config.run_configs()


def measure(
    config: PriorsConfig, trained_runs: Mapping[str, Run], out: Path, progress: bool
) -> list[NetworkResult]:
    """Train (or reuse) every circuit into `out/networks` and measure it, then measure every
    CTRNN (`Study.measure`)."""
    folder = out / "networks"
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    for condition in show_progress(config.circuit_conditions(), "circuits", enabled=progress):
        trained = train_circuit(condition, config, folder)
        results.append(measure_circuit(condition, config, trained))
    for trainer in RNN_TRAINERS:
        for name in config.priors:
            run = trained_runs[_run_name(trainer, name)]
            results += measure_rnn_run(run, config, name, trainer)
    return results


def rows(results: list[NetworkResult]) -> list[dict[str, Any]]:
    """measures.csv: one row per network."""
    return [r.row for r in results]


_SUMMARY = (
    ("test_error", "test error"),
    ("fisher_near_over_far", "Fisher near / far from the prior's centre"),
    ("fisher_power", "Fisher ~ p^x"),
    ("density_power", "density ~ p^x"),
    ("gain_power", "gain ~ p^x"),
    ("objective_alpha", "objective alpha"),
)


def summary(results: list[NetworkResult]) -> str:
    """Markdown: per network kind and prior, each measure's mean +- sd over seeds (infomax
    predicts Fisher 2, density 1, gain 0, alpha 0; discrimax 1/2, 1/2, -1/2, alpha 1)."""
    head = "| networks | prior | n | " + " | ".join(title for _, title in _SUMMARY) + " |"
    lines = [head, "|" + "---|" * (len(_SUMMARY) + 3)]
    groups: dict[tuple[str, str], list[NetworkResult]] = {}
    for r in results:
        groups.setdefault((r.group, r.prior), []).append(r)
    for (group, prior), members in groups.items():
        cells = []
        for key, _ in _SUMMARY:
            values = np.array([m.row[key] for m in members], dtype=float)
            spread = f" +- {np.nanstd(values, ddof=1):.2f}" if np.isfinite(values).sum() > 1 else ""
            cells.append(f"{np.nanmean(values):.2f}{spread}" if np.isfinite(values).any() else "-")
        lines.append(f"| {group} | {prior} | {len(members)} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
