"""What the criticality study measures (Safavi, Chalk, Logothetis & Levina 2024): its config,
the coding error and avalanche statistics of efficient spike-coding networks against the
noise, per network size, the rows of measures.csv and the summary table.

For each size N and seed, one network (`spike_coding_network`: random decoder directions,
|D_i| = decoder_scale / N) encodes one smoothly wandering J-dimensional signal
(`random_command`) at every noise level at once: the noise levels are the members of one
ensemble sharing the decoder (`simulate_spike_coding`, one noise amplitude per member). Per
level: the coding error (the readout's MSE against the signal), the mean rate, and the
avalanches of the population's spikes (bin width: the mean inter-event interval) with Shew's
kappa over sizes 1..N, the power-law exponents of their sizes and durations (maximum
likelihood with x_min, the `powerlaw` package) and the crackling-noise exponent. A level whose
population leaves no bin empty (no avalanche ends) or makes fewer than 10 avalanches has no
avalanche statistics (NaN). Per size, the noise of the lowest mean coding error and the noise
whose mean kappa is closest to 1 (`CriticalityCurve`), saved as `curves/N<size>.npz`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurodyn._progress import Progress
from neurodyn.analysis.avalanches import (
    CriticalityCurve,
    avalanche_statistics,
    criticality_curve,
)
from neurodyn.errors import ArgumentError, ConfigError
from neurodyn.models.spike_coding import (
    NOISE_MODELS,
    NoiseModel,
    SpikeCodingNetwork,
    random_command,
    simulate_spike_coding,
    spike_coding_network,
)
from neurodyn.runs import Run
from neurodyn.studies._study import check_fields, typed_section

__all__ = [
    "PAPER",
    "CriticalityConfig",
    "SizeResult",
    "measure",
    "measure_size",
    "rows",
    "summary",
]

# What the paper states (abstract; the reading log's review of its figures 1-2). Its exact
# parameters (signal, costs, noise units, recording length) were not available to us.
PAPER = {
    "sizes": "50, 100, 200, 400",
    "coding_error": "non-monotonic in the noise: lowest at an intermediate level",
    "kappa": "most scale-free (kappa closest to 1) near the noise of the lowest coding error",
    "low_noise": "supercritical: synchronous volleys, a bump in the size distribution's tail",
    "high_noise": "subcritical: small avalanches, an exponential cut-off",
    "crackling": "the crackling-noise relation holds near the optimal noise",
}

_NETWORK = {
    "signals": int,
    "decoder_scale": float,
    "tau_ms": float,
    "cost_l2": float,
    "cost_l1": float,
    "delay_steps": int,
    "dt_ms": float,
}
_SIGNAL = {"duration_ms": float, "trials": int, "amplitude": float, "smoothing_ms": float}
# what is measured of every network at every noise level (SizeResult's [seeds, noise] arrays)
_MEASURES = (
    "coding_error",
    "rate_hz",
    "kappa",
    "size_exponent",
    "duration_exponent",
    "crackling_fitted",
    "crackling_predicted",
)


@dataclass(frozen=True)
class CriticalityConfig:
    """Network sizes, seeds, noise levels (increasing) and model, the networks' constants
    (`network`: J, |D_i| x N, tau, costs, delay, dt) and the encoded signal's (`signal`:
    duration per trial, trials, amplitude, correlation time)."""

    sizes: tuple[int, ...]
    seeds: tuple[int, ...]
    noise_levels: tuple[float, ...]
    noise_model: NoiseModel
    network: dict[str, Any]
    signal: dict[str, Any]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> CriticalityConfig:
        """The config from every field (`load_config` merges a user's file over config.yaml,
        key by key inside `network` and `signal`)."""
        check_fields("criticality", (f.name for f in dataclasses.fields(cls)), data)
        try:
            config = cls(
                sizes=tuple(int(n) for n in data["sizes"]),
                seeds=tuple(int(s) for s in data["seeds"]),
                noise_levels=tuple(float(v) for v in data["noise_levels"]),
                noise_model=data["noise_model"],
                network=typed_section("criticality", data, "network", _NETWORK),
                signal=typed_section("criticality", data, "signal", _SIGNAL),
            )
        except (TypeError, ValueError) as err:
            raise ConfigError(f"study criticality: a field has the wrong type ({err})") from err
        config._check()
        return config

    def _check(self) -> None:
        levels = np.asarray(self.noise_levels)
        if len(levels) < 2 or np.any(np.diff(levels) <= 0) or levels[0] < 0:
            raise ConfigError(
                f"noise_levels must be at least two increasing non-negative values, got "
                f"{list(self.noise_levels)}"
            )
        if not self.sizes or min(self.sizes) < 2 or not self.seeds:
            raise ConfigError("need at least one size (of 2 neurons or more) and one seed")
        if self.noise_model not in NOISE_MODELS:
            raise ConfigError(
                f"noise_model must be one of {NOISE_MODELS}, got {self.noise_model!r}"
            )
        net, signal = self.network, self.signal
        if net["signals"] < 1 or net["decoder_scale"] <= 0:
            raise ConfigError("network.signals must be at least 1 and decoder_scale positive")
        try:  # the network's own checks (time constants, costs, delay), before any work
            self.network_of(min(self.sizes), self.seeds[0])
        except ArgumentError as err:
            raise ConfigError(f"study criticality: network: {err}") from None
        steps = signal["duration_ms"] / net["dt_ms"]
        if signal["trials"] < 1 or not math.isfinite(steps) or steps < 10:
            raise ConfigError(
                "signal needs at least one trial of at least 10 steps (duration_ms / dt_ms)"
            )

    @property
    def n_steps(self) -> int:
        """Steps per trial."""
        return round(self.signal["duration_ms"] / self.network["dt_ms"])

    def network_of(self, size: int, seed: int) -> SpikeCodingNetwork:
        """The network of `size` neurons and `seed`, one member per noise level."""
        net = self.network
        one = spike_coding_network(
            size,
            net["signals"],
            decoder_norm=net["decoder_scale"] / size,
            tau_ms=net["tau_ms"],
            cost_l2=net["cost_l2"],
            cost_l1=net["cost_l1"],
            delay_steps=net["delay_steps"],
            dt_ms=net["dt_ms"],
            seed=seed,
        )
        return dataclasses.replace(
            one, decoder=one.decoder.expand(len(self.noise_levels), -1, -1).clone()
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "sizes": list(self.sizes),
            "seeds": list(self.seeds),
            "noise_levels": list(self.noise_levels),
            "noise_model": self.noise_model,
            "network": dict(self.network),
            "signal": dict(self.signal),
        }


@dataclass(frozen=True)
class SizeResult:
    """One network size: each measure per seed and noise level `[S, R]` (NaN where a level
    had no avalanche statistics), and the curve of kappa and coding error against noise."""

    size: int
    noise_levels: np.ndarray
    coding_error: np.ndarray
    rate_hz: np.ndarray
    kappa: np.ndarray
    size_exponent: np.ndarray
    duration_exponent: np.ndarray
    crackling_fitted: np.ndarray
    crackling_predicted: np.ndarray
    n_avalanches: np.ndarray
    curve: CriticalityCurve

    @property
    def error_minimum(self) -> float:
        """The noise of the lowest mean coding error."""
        return self.curve.error_minimum

    @property
    def kappa_optimum(self) -> float:
        """The noise whose mean kappa is closest to 1."""
        return self.curve.kappa_optimum

    def mean(self, name: str) -> np.ndarray:
        """The mean over seeds of measure `name` `[R]` (NaN where no seed has it)."""
        values = getattr(self, name)
        counted = np.isfinite(values).sum(axis=0)
        return np.where(counted > 0, np.nansum(values, axis=0) / np.maximum(counted, 1), np.nan)


def measure_size(
    config: CriticalityConfig, size: int, progress: Progress | None = None
) -> SizeResult:
    """Every seed's network of `size` neurons at every noise level (see the module docstring)."""
    shape = (len(config.seeds), len(config.noise_levels))
    out = {name: np.full(shape, np.nan) for name in _MEASURES}
    n_avalanches = np.zeros(shape, dtype=np.int64)
    net_config, signal = config.network, config.signal
    noise = torch.tensor(config.noise_levels, dtype=torch.float64)
    for s, seed in enumerate(config.seeds):
        network = config.network_of(size, seed)
        command = random_command(
            config.n_steps,
            signal["trials"],
            net_config["signals"],
            dt_ms=net_config["dt_ms"],
            tau_ms=net_config["tau_ms"],
            amplitude=signal["amplitude"],
            smoothing_ms=signal["smoothing_ms"],
            seed=1000 + seed,
        )
        trace = simulate_spike_coding(
            network, command, noise_std=noise, noise_model=config.noise_model, seed=seed
        )
        out["coding_error"][s] = trace.coding_error.numpy()
        out["rate_hz"][s] = trace.rates_hz.numpy()
        counts = trace.population_counts.numpy()  # [T, R, B]
        for r in range(len(config.noise_levels)):
            try:
                stats = avalanche_statistics(counts[:, r], n_units=size)
            except ArgumentError:
                # silent, never quiet (no bin empty) or too few avalanches: no statistics
                continue
            n_avalanches[s, r] = len(stats.avalanches.sizes)
            out["kappa"][s, r] = stats.kappa
            out["size_exponent"][s, r] = stats.sizes.exponent
            out["duration_exponent"][s, r] = stats.durations.exponent
            if stats.crackling is not None:
                out["crackling_fitted"][s, r] = stats.crackling.fitted
                out["crackling_predicted"][s, r] = stats.crackling.predicted
        if progress is not None:
            progress.advance(note=f"N={size}, seed {seed}")
    curve = criticality_curve(
        config.noise_levels,
        out["kappa"],
        coding_error=out["coding_error"],
        control_name="voltage noise" if config.noise_model == "voltage" else "input noise",
    )
    return SizeResult(
        size=size,
        noise_levels=np.asarray(config.noise_levels),
        n_avalanches=n_avalanches,
        curve=curve,
        **out,
    )


def measure(
    config: CriticalityConfig, runs: Mapping[str, Run], out: Path, progress: bool
) -> list[SizeResult]:
    """Every size's measures (`Study.measure`; nothing trains, so `runs` is empty), each
    size's curve saved as `out/curves/N<size>.npz`."""
    results = []
    with Progress("networks", len(config.sizes) * len(config.seeds), enabled=progress) as bar:
        for size in config.sizes:
            results.append(measure_size(config, size, bar))
    for result in results:
        result.curve.save(out / "curves" / f"N{result.size}.npz")
    return results


def _spread(values: np.ndarray) -> np.ndarray:
    """The standard deviation over seeds `[S, R] -> [R]`, of the finite values only."""
    return np.array(
        [np.std(col[np.isfinite(col)]) if np.isfinite(col).any() else np.nan for col in values.T]
    )


def _rounded(value: float, digits: int = 4) -> float | str:
    return round(float(value), digits) if math.isfinite(value) else ""


def rows(results: list[SizeResult]) -> list[dict[str, Any]]:
    """measures.csv: one row per size and noise level, means over the seeds (and the spread of
    kappa and of the coding error)."""
    table = []
    for result in results:
        means = {name: result.mean(name) for name in _MEASURES}
        spread = {"kappa": _spread(result.kappa), "coding_error": _spread(result.coding_error)}
        for r, level in enumerate(result.noise_levels):
            table.append(
                {
                    "size": result.size,
                    "noise": float(level),
                    "coding_error": _rounded(means["coding_error"][r], 5),
                    "coding_error_std": _rounded(spread["coding_error"][r], 5),
                    "kappa": _rounded(means["kappa"][r]),
                    "kappa_std": _rounded(spread["kappa"][r]),
                    "size_exponent": _rounded(means["size_exponent"][r], 3),
                    "duration_exponent": _rounded(means["duration_exponent"][r], 3),
                    "crackling_fitted": _rounded(means["crackling_fitted"][r], 3),
                    "crackling_predicted": _rounded(means["crackling_predicted"][r], 3),
                    "rate_hz": _rounded(means["rate_hz"][r], 1),
                    "avalanches": int(result.n_avalanches[:, r].sum()),
                    "seeds_with_avalanches": int(np.isfinite(result.kappa[:, r]).sum()),
                    "error_minimum": bool(level == result.error_minimum),
                    "kappa_optimum": bool(level == result.kappa_optimum),
                }
            )
    return table


def _at(result: SizeResult, name: str, level: float) -> float:
    return float(result.mean(name)[int(np.flatnonzero(result.noise_levels == level)[0])])


def summary(results: list[SizeResult]) -> str:
    """Markdown: per size, the noise of the lowest coding error and the noise of kappa
    closest to 1, with the coding error, kappa and exponents at each."""
    lines = [
        "| N | noise of lowest MSE | MSE there | kappa there | noise of kappa closest to 1 | kappa there | MSE there | tau, alpha there |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for result in results:
        low, crit = result.error_minimum, result.kappa_optimum
        lines.append(
            f"| {result.size} | {low:g} | {_at(result, 'coding_error', low):.4f} | "
            f"{_at(result, 'kappa', low):.3f} | {crit:g} | {_at(result, 'kappa', crit):.3f} | "
            f"{_at(result, 'coding_error', crit):.4f} | "
            f"{_at(result, 'size_exponent', crit):.2f}, "
            f"{_at(result, 'duration_exponent', crit):.2f} |"
        )
    return "\n".join(lines)
