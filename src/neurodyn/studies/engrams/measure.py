"""What the engrams study measures (Ramsaran et al., Science 2023): its config and conditions,
each network's engram and memory precision, the rows of measures.csv and the summary table.

Every condition runs the same ensemble of networks (`seeds`, the E axis of
`neurodyn.models.engram`) through contextual fear conditioning:

1. encoding: the network settles in context A under the condition's allocation (PV strength or
   k-WTA) and, for a manipulation, with every unit's excitability shifted (hM4Di lowers it,
   hM3Dq raises it, as CNO does before training); the active units are the engram (c-Fos+);
2. storage: the engram's synapses are strengthened by the Hebbian rule
   (`neurodyn.train.hebbian.store_engram`);
3. recall, drug-free: the network settles in A and in the similar context B under the same
   allocation, through the stored weights;
4. measures (`neurodyn.analysis.engrams`): the engram's density, the overlap of A's engram with
   the one B would have allocated (B encoded alone, under the same condition), freezing in A
   and B (the covariance fear readout) and the discrimination index.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurodyn._progress import progress as show_progress
from neurodyn.analysis.engrams import engram_overlap, memory_precision
from neurodyn.errors import ConfigError
from neurodyn.models.engram import (
    EngramNetwork,
    KWinnersTakeAll,
    PVInhibition,
    context_pair,
    init_engram_network,
    settle,
)
from neurodyn.runs import Run
from neurodyn.studies._study import check_fields
from neurodyn.train.hebbian import store_engram

__all__ = [
    "Condition",
    "ConditionResult",
    "EngramsConfig",
    "conditions",
    "measure",
    "measure_condition",
    "rows",
    "summary",
]

# the seed of the contexts (the networks' own seeds are the config's)
CONTEXT_SEED = 26
_MANIPULATION_FIELDS = {"age", "shift", "fraction", "pv_scale"}


@dataclass(frozen=True)
class EngramsConfig:
    """The study's settings (see config.yaml for each field's meaning)."""

    n_units: int
    n_inputs: int
    seeds: tuple[int, ...]
    similarity: float
    input_scale: float
    excitability_sd: float
    baseline: float
    learning_rate: float
    steps: int
    maturation: tuple[float, ...]
    ages: dict[str, float]
    manipulations: dict[str, dict[str, Any]]
    kwta_density: tuple[float, ...]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EngramsConfig:
        """The config from every field; each checked before anything runs."""
        check_fields("engrams", (f.name for f in dataclasses.fields(cls)), data)
        config = cls(
            n_units=int(data["n_units"]),
            n_inputs=int(data["n_inputs"]),
            seeds=tuple(int(s) for s in data["seeds"]),
            similarity=float(data["similarity"]),
            input_scale=float(data["input_scale"]),
            excitability_sd=float(data["excitability_sd"]),
            baseline=float(data["baseline"]),
            learning_rate=float(data["learning_rate"]),
            steps=int(data["steps"]),
            maturation=tuple(float(g) for g in data["maturation"]),
            ages={str(k): float(v) for k, v in dict(data["ages"]).items()},
            manipulations={str(k): dict(v) for k, v in dict(data["manipulations"] or {}).items()},
            kwta_density=tuple(float(f) for f in data["kwta_density"] or ()),
        )
        if not config.seeds or config.n_units < 10 or config.n_inputs < 1 or config.steps < 1:
            raise ConfigError("need seeds, n_units >= 10, n_inputs >= 1 and steps >= 1")
        if not config.maturation or min(config.maturation) < 0:
            raise ConfigError(
                f"maturation must list PV strengths >= 0, got {list(config.maturation)}"
            )
        for name, m in config.manipulations.items():
            if set(m) != _MANIPULATION_FIELDS or m["age"] not in config.ages:
                raise ConfigError(
                    f"manipulation {name!r} needs exactly {sorted(_MANIPULATION_FIELDS)} with "
                    f"age one of {sorted(config.ages)}; got {m}"
                )
            if not 0 < float(m["fraction"]) <= 1 or float(m["pv_scale"]) < 0:
                raise ConfigError(
                    f"manipulation {name!r}: fraction must be in (0, 1] and pv_scale >= 0"
                )
        if any(not 0 < f < 1 for f in config.kwta_density):
            raise ConfigError(f"kwta_density must be in (0, 1), got {list(config.kwta_density)}")
        return config

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out.update(
            seeds=list(self.seeds),
            maturation=list(self.maturation),
            kwta_density=list(self.kwta_density),
        )
        return out


@dataclass(frozen=True)
class Condition:
    """One way of allocating the engram: its name, its group (`maturation`, `age`,
    `manipulation` or `kwta`), the allocation (at recall; at encoding too unless
    `encoding_allocation` replaces it, as silencing PV cells before training does) and the
    excitability shift at encoding (of a random `fraction` of units; 0: none)."""

    name: str
    group: str
    allocation: PVInhibition | KWinnersTakeAll
    shift: float = 0.0
    fraction: float = 1.0
    encoding_allocation: PVInhibition | KWinnersTakeAll | None = None

    @property
    def at_encoding(self) -> PVInhibition | KWinnersTakeAll:
        """The allocation while the engram is formed."""
        return self.encoding_allocation or self.allocation

    @property
    def strength(self) -> float:
        """The PV strength (NaN for k-WTA)."""
        a = self.allocation
        return a.strength if isinstance(a, PVInhibition) else float("nan")


def conditions(config: EngramsConfig) -> list[Condition]:
    """Every condition, in the report's order: the maturation sweep, the ages, each
    manipulation (encoding shifted, at its age's strength) and the k-WTA limits."""
    out = [Condition(f"pv {g:g}", "maturation", PVInhibition(g)) for g in config.maturation]
    out += [Condition(age, "age", PVInhibition(g)) for age, g in config.ages.items()]
    for name, m in config.manipulations.items():
        strength = config.ages[m["age"]]
        scale = float(m["pv_scale"])
        out.append(
            Condition(
                name,
                "manipulation",
                PVInhibition(strength),
                shift=float(m["shift"]),
                fraction=float(m["fraction"]),
                encoding_allocation=None if scale == 1 else PVInhibition(strength * scale),
            )
        )
    for density in config.kwta_density:
        k = max(1, round(density * config.n_units))
        out.append(Condition(f"k-wta {density:g}", "kwta", KWinnersTakeAll(k)))
    return out


@dataclass(frozen=True)
class ConditionResult:
    """One condition's measures, one value per network (`[E]` each)."""

    condition: Condition
    seeds: tuple[int, ...]
    density: np.ndarray
    overlap: np.ndarray  # the share of A's engram in B's
    overlap_chance: np.ndarray
    test_density_a: np.ndarray
    test_density_b: np.ndarray
    freezing_a: np.ndarray
    freezing_b: np.ndarray
    discrimination: np.ndarray


def _networks(config: EngramsConfig) -> EngramNetwork:
    # one network per seed, stacked on the ensemble axis
    nets = [
        init_engram_network(
            config.n_units,
            config.n_inputs,
            seed=seed,
            input_scale=config.input_scale,
            excitability_sd=config.excitability_sd,
            baseline=config.baseline,
        )
        for seed in config.seeds
    ]
    return EngramNetwork(
        input_weights=torch.cat([n.input_weights for n in nets]),
        excitability=torch.cat([n.excitability for n in nets]),
        recurrent=torch.cat([n.recurrent for n in nets]),
        baseline=config.baseline,
    )


def _shift(config: EngramsConfig, condition: Condition) -> torch.Tensor | None:
    if condition.shift == 0:
        return None
    g = torch.Generator().manual_seed(CONTEXT_SEED + 1)
    n_networks = len(config.seeds)
    expressing = torch.rand(n_networks, config.n_units, generator=g) < condition.fraction
    return condition.shift * expressing.float()


def measure_condition(config: EngramsConfig, condition: Condition) -> ConditionResult:
    """Encode A (and, for the overlap, B) under `condition`, store A, recall in A and B."""
    network = _networks(config)
    contexts = context_pair(
        config.n_inputs, config.similarity, n_networks=len(config.seeds), seed=CONTEXT_SEED
    )
    encoding = settle(
        network,
        network.drive(contexts, shift=_shift(config, condition)),
        condition.at_encoding,
        steps=config.steps,
    )  # [E, 2, N]: A's engram, and B's had B been the one conditioned
    stored = store_engram(network, encoding[:, 0], lr=config.learning_rate)
    recall = settle(stored, stored.drive(contexts), condition.allocation, steps=config.steps)
    precision = memory_precision(encoding[:, 0], recall[:, 0], recall[:, 1])
    overlap = engram_overlap(encoding[:, 0], encoding[:, 1])
    return ConditionResult(
        condition=condition,
        seeds=config.seeds,
        density=precision.density,
        overlap=overlap.shared_of_a,
        overlap_chance=overlap.chance,
        test_density_a=precision.test_density_a,
        test_density_b=precision.test_density_b,
        freezing_a=precision.freezing_a,
        freezing_b=precision.freezing_b,
        discrimination=precision.discrimination,
    )


def measure(
    config: EngramsConfig, trained_runs: Mapping[str, Run], out: Path, progress: bool
) -> list[ConditionResult]:
    """Every condition (`Study.measure`; the study trains no runs)."""
    return [
        measure_condition(config, c)
        for c in show_progress(conditions(config), "engram conditions", enabled=progress)
    ]


_PER_NETWORK = (
    "density",
    "overlap",
    "overlap_chance",
    "test_density_a",
    "test_density_b",
    "freezing_a",
    "freezing_b",
    "discrimination",
)


def rows(results: list[ConditionResult]) -> list[dict[str, Any]]:
    """measures.csv: one row per condition and network."""
    out = []
    for r in results:
        c = r.condition
        k = c.allocation.k if isinstance(c.allocation, KWinnersTakeAll) else ""
        for e, seed in enumerate(r.seeds):
            row: dict[str, Any] = {
                "condition": c.name,
                "group": c.group,
                "pv_strength": "" if np.isnan(c.strength) else c.strength,
                "k": k,
                "shift": c.shift,
                "fraction": c.fraction,
                "pv_strength_at_encoding": getattr(c.at_encoding, "strength", ""),
                "seed": seed,
            }
            row.update({key: float(getattr(r, key)[e]) for key in _PER_NETWORK})
            out.append(row)
    return out


def _cell(values: np.ndarray) -> str:
    spread = f" +- {values.std(ddof=1):.2f}" if len(values) > 1 else ""
    return f"{values.mean():.2f}{spread}"


def summary(results: list[ConditionResult]) -> str:
    """Markdown: per condition, each measure's mean +- sd over the networks."""
    head = (
        "| condition | group | engram density | A/B engram overlap (chance) | freezing A | "
        "freezing B | discrimination |"
    )
    lines = [head, "|---|---|---|---|---|---|---|"]
    for r in results:
        lines.append(
            f"| {r.condition.name} | {r.condition.group} | {_cell(r.density)} | "
            f"{_cell(r.overlap)} ({r.overlap_chance.mean():.2f}) | {_cell(r.freezing_a)} | "
            f"{_cell(r.freezing_b)} | {_cell(r.discrimination)} |"
        )
    return "\n".join(lines)
