"""What the resonance study measures (Metzner, Schilling, Maier & Krauss 2024): its config, the
resonance curves of each weight family, the rows of measures.csv and the summary table.

For each weight family (random, autapses only, Hopfield, N-rooks; `neurodyn.models.boltzmann`)
and seed, one noisy Boltzmann machine is built and observed for `steps` steps from a random
initial state at every noise amplitude r: the state entropy H, the mutual information I between
successive states and D = H - I (`resonance_curve`). For networks of at most 12 units the exact
curve of an infinite observation (the stationary distribution of the exact transition matrix)
is computed too: it shows what the finite observation adds, since the paper finds RR bound to
the observation time scale. The mean curves are saved as `curves/LABEL.npz`.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from neurodyn._progress import progress as show_progress
from neurodyn.analysis.information import ResonanceCurve, mean_curve, resonance_curve
from neurodyn.errors import ConfigError
from neurodyn.models.boltzmann import (
    MAX_EXACT_UNITS,
    WEIGHT_FAMILIES,
    family_weights,
    symmetric_bias,
)
from neurodyn.runs import Run
from neurodyn.studies._study import check_fields

__all__ = [
    "PAPER",
    "RR_GAIN_BITS",
    "FamilyResult",
    "ResonanceConfig",
    "family_row",
    "measure",
    "measure_family",
    "rows",
    "summary",
]

# What the paper reports, where we know it (autapses-only network of 5 neurons).
PAPER = {
    "autapses": {"r_opt": 4.0, "I_max": 4.5, "H_at_r_opt": 5.0, "I_at_zero": 1.0, "I_at_50": 0.1},
}

RR_GAIN_BITS = 0.1  # a network shows RR when its I peaks at least this far above I(r = 0)

_ENTRY_KEYS = {"family", "n", "observe"}
_NOISE_KEYS = {"zero", "min", "max", "count"}


def _family_params(family: str) -> tuple[set[str], set[str]]:
    """(all, required) parameters of a weight family besides n, seed and patterns."""
    params = {
        name: p
        for name, p in inspect.signature(WEIGHT_FAMILIES[family]).parameters.items()
        if name not in ("n", "seed", "patterns")
    }
    return set(params), {k for k, p in params.items() if p.default is inspect.Parameter.empty}


@dataclass(frozen=True)
class ResonanceConfig:
    """Families to measure (label -> `family`, its parameters, optionally `n` units of which
    `observe` are measured), the default network size, observation length, seeds and noise
    amplitudes (`zero` plus `count` values log-spaced from `min` to `max`)."""

    families: dict[str, dict[str, Any]]
    n_units: int
    steps: int
    seeds: tuple[int, ...]
    noise_levels: dict[str, Any]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ResonanceConfig:
        """The config from every field (`load_config` merges a user's file over config.yaml,
        key by key inside `noise_levels`)."""
        check_fields("resonance", (f.name for f in dataclasses.fields(cls)), data)
        noise = dict(data["noise_levels"])
        if set(noise) != _NOISE_KEYS:
            raise ConfigError(
                f"noise_levels needs exactly {sorted(_NOISE_KEYS)}, got {sorted(noise)}"
            )
        try:
            noise = {
                "zero": bool(noise["zero"]),
                "min": float(noise["min"]),
                "max": float(noise["max"]),
                "count": int(noise["count"]),
            }
            config = cls(
                families={str(k): dict(v) for k, v in dict(data["families"]).items()},
                n_units=int(data["n_units"]),
                steps=int(data["steps"]),
                seeds=tuple(int(s) for s in data["seeds"]),
                noise_levels=noise,
            )
        except (TypeError, ValueError) as err:
            raise ConfigError(f"study resonance: a field has the wrong type ({err})") from err
        if not 0 < noise["min"] < noise["max"] or noise["count"] < 2:
            raise ConfigError(f"noise_levels needs 0 < min < max and count >= 2, got {noise}")
        if config.steps < 2 or config.n_units < 1 or not config.seeds or not config.families:
            raise ConfigError(
                "need steps >= 2, n_units >= 1, at least one seed and at least one family"
            )
        for label, entry in config.families.items():
            config._check_entry(label, entry)
        return config

    def _check_entry(self, label: str, entry: dict[str, Any]) -> None:
        family = entry.get("family")
        if family not in WEIGHT_FAMILIES:
            raise ConfigError(
                f"family {label!r}: `family` must be one of {sorted(WEIGHT_FAMILIES)}, "
                f"got {family!r}"
            )
        allowed, required = _family_params(family)
        params = set(entry) - _ENTRY_KEYS
        if params - allowed or required - params:
            raise ConfigError(
                f"family {label!r} ({family}) takes {sorted(allowed)} (required: "
                f"{sorted(required)}) besides n and observe; got {sorted(params)}"
            )
        n = int(entry.get("n", self.n_units))
        observe = int(entry.get("observe", n))
        if not 1 <= observe <= min(n, 20):
            raise ConfigError(
                f"family {label!r}: observe must be between 1 and min(n, 20), got {observe}"
            )

    def levels(self) -> np.ndarray:
        """The noise amplitudes `[R]`, increasing."""
        spec = self.noise_levels
        logs = np.logspace(np.log10(spec["min"]), np.log10(spec["max"]), spec["count"])
        return np.concatenate([[0.0], logs]) if spec["zero"] else logs

    def to_dict(self) -> dict[str, Any]:
        return {
            "n_units": self.n_units,
            "steps": self.steps,
            "seeds": list(self.seeds),
            "noise_levels": dict(self.noise_levels),
            "families": {k: dict(v) for k, v in self.families.items()},
        }


@dataclass(frozen=True)
class FamilyResult:
    """One family's curves: the mean over seeds, each seed's, and the exact infinite-observation
    mean (None when the network is too large for an exact transition matrix)."""

    label: str
    family: str
    params: dict[str, Any]
    n: int
    observe: int
    curve: ResonanceCurve
    per_seed: list[ResonanceCurve]
    stationary: ResonanceCurve | None


def measure_family(label: str, entry: dict[str, Any], config: ResonanceConfig) -> FamilyResult:
    """Resonance curves of one family entry, one network and one run per seed."""
    family = entry["family"]
    params = {k: v for k, v in entry.items() if k not in _ENTRY_KEYS}
    n = int(entry.get("n", config.n_units))
    observe = int(entry.get("observe", n))
    levels = config.levels()
    exact = observe == n and n <= MAX_EXACT_UNITS
    per_seed, stationary = [], []
    for seed in config.seeds:
        weights = family_weights(family, n, seed=seed, **params)
        bias = symmetric_bias(weights)
        per_seed.append(
            resonance_curve(
                weights,
                bias,
                levels,
                steps=config.steps,
                seed=seed,
                observe=None if observe == n else range(observe),
                label=f"{label}, seed {seed}",
            )
        )
        if exact:
            stationary.append(
                resonance_curve(weights, bias, levels, steps=None, exact=True, seed=seed)
            )
    return FamilyResult(
        label=label,
        family=family,
        params=params,
        n=n,
        observe=observe,
        curve=mean_curve(per_seed, label),
        per_seed=per_seed,
        stationary=mean_curve(stationary, f"{label}, infinite observation") if exact else None,
    )


def family_row(result: FamilyResult) -> dict[str, Any]:
    """The measures of one family: the mean curve's peak, its ends, and how many networks have
    their own interior peak."""
    curve = result.curve
    peak = curve.at(curve.r_opt)
    gains = [c.i_max - c.mutual_information[0] for c in result.per_seed]
    row: dict[str, Any] = {
        "family": result.label,
        "weights": result.family,
        "params": " ".join(f"{k}={v}" for k, v in result.params.items()),
        "n_units": result.n,
        "observed": result.observe,
        "r_opt": round(curve.r_opt, 4),
        "I_max": round(curve.i_max, 4),
        "H_at_r_opt": round(peak.entropy, 4),
        "I_at_zero": round(float(curve.mutual_information[0]), 4),
        "H_at_zero": round(float(curve.entropy[0]), 4),
        "r_max": round(float(curve.noise_levels[-1]), 4),
        "I_at_r_max": round(float(curve.mutual_information[-1]), 4),
        "networks_with_rr": f"{sum(g >= RR_GAIN_BITS for g in gains)}/{len(gains)}",
    }
    stat = result.stationary
    row["stationary_r_opt"] = round(stat.r_opt, 4) if stat else ""
    row["stationary_I_max"] = round(stat.i_max, 4) if stat else ""
    row["stationary_I_at_zero"] = round(float(stat.mutual_information[0]), 4) if stat else ""
    return row


def summary(results: list[FamilyResult]) -> str:
    """Markdown: per family, the peak of the mean curve (r_opt, I_max, H there), I without
    noise and at the largest noise, how many networks peak inside, and the infinite-observation
    I at r = 0 and at its maximum."""
    lines = [
        "| family | units (observed) | r_opt | I_max | H at r_opt | I at r=0 | I at r_max | networks with RR | infinite obs.: I(0) -> I_max |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in rows(results):
        stat = (
            f"{row['stationary_I_at_zero']:.2f} -> {row['stationary_I_max']:.2f}"
            if row["stationary_I_max"] != ""
            else "-"
        )
        lines.append(
            f"| {row['family']} | {row['n_units']} ({row['observed']}) | {row['r_opt']:.3g} | "
            f"{row['I_max']:.2f} | {row['H_at_r_opt']:.2f} | {row['I_at_zero']:.2f} | "
            f"{row['I_at_r_max']:.2f} (r={row['r_max']:g}) | {row['networks_with_rr']} | {stat} |"
        )
    return "\n".join(lines)


def measure(
    config: ResonanceConfig, runs: Mapping[str, Run], out: Path, progress: bool
) -> list[FamilyResult]:
    """Every family's curves (`Study.measure`; nothing trains, so `runs` is empty), each mean
    curve saved as `out/curves/LABEL.npz` (and `LABEL.stationary.npz`, the exact one)."""
    results = [
        measure_family(label, entry, config)
        for label, entry in show_progress(config.families.items(), "families", enabled=progress)
    ]
    for r in results:
        r.curve.save(out / "curves" / f"{r.label}.npz")
        if r.stationary is not None:
            r.stationary.save(out / "curves" / f"{r.label}.stationary.npz")
    return results


def rows(results: list[FamilyResult]) -> list[dict[str, Any]]:
    """measures.csv: one row per family."""
    return [family_row(r) for r in results]
