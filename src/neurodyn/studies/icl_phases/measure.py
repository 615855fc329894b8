"""What the icl-phases study measures (Park, Lubana, Pres & Tanaka 2025): its config, the
training of each network with its measurements at log-spaced steps, the rows of measures.csv
and kl_by_context.csv, and the summary.

For every number of training chains N, model (the causal transformer, a GRU, an LSTM) and seed,
a network is trained on next-state prediction over `markov_mixture` sequences (AdamW with the
paper's betas and weight decay; the three models of one N and seed read the same batches; the
GRUs and LSTMs of all seeds train as one ensemble, each member exactly as it would alone). At
`checkpoints` log-spaced steps it is measured on fixed held-out sequences of the training
chains (in distribution, "id") and of fresh chains (out of distribution, "ood"): the KL
divergence of its predictions to each of the four reference algorithms
(`neurodyn.analysis.algorithm_distances`) and to the chain that made the sequence, at the
longest context, the closest algorithm (its phase), and for the transformer the
previous-token and induction scores of its heads (`neurodyn.analysis.induction_scores`).

Networks are kept in `ROOT/study-icl-phases/networks/`: LABEL.pt, the training state
(resumed when the study is interrupted) and LABEL.npz, the measurements of a finished network
(reused when the study runs again). A network trained under other settings is refused, never
overwritten.
"""

from __future__ import annotations

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
from torch import Tensor, nn

from neurodyn._io import atomic_write
from neurodyn._progress import Progress
from neurodyn.analysis._result import SavableResult
from neurodyn.analysis.icl import (
    ALGORITHMS,
    algorithm_distances,
    induction_scores,
    reference_predictions,
)
from neurodyn.errors import ConfigError, CorruptCheckpoint
from neurodyn.models import (
    CausalTransformer,
    EnsembleNetwork,
    NetworkSpec,
    TransformerSpec,
    build_model,
)
from neurodyn.runs import Run
from neurodyn.studies._study import check_fields
from neurodyn.tasks import MarkovMixture
from neurodyn.train import clip_per_member

__all__ = [
    "MODELS",
    "PHASE_NAMES",
    "IclConfig",
    "NetworkResult",
    "induction_step",
    "measure",
    "phase_changes",
    "phase_sequence",
    "phase_table",
    "rows",
    "summary",
    "tables",
    "train_network",
    "train_networks",
]

MODELS = ("transformer", "gru", "lstm")
PHASE_NAMES = {
    "unigram_retrieval": "Uni-Ret",
    "bigram_retrieval": "Bi-Ret",
    "unigram_inference": "Uni-Inf",
    "bigram_inference": "Bi-Inf",
}
SPLITS = ("id", "ood")
# the held-out sequences' seeds, apart from any training stream
_EVAL_SEEDS = {"id": 1_000_003, "ood": 2_000_003}


@dataclass(frozen=True)
class IclConfig:
    """The study's settings (config.yaml says what each means)."""

    n_chains: tuple[int, ...]
    models: tuple[str, ...]
    seeds: tuple[int, ...]
    length: int
    chain_seed: int
    steps: int
    batch_size: int
    lr: float
    weight_decay: float
    clip_grad: float
    checkpoints: int
    eval_sequences: int
    context_lengths: tuple[int, ...]
    transformer: dict[str, int]
    recurrent: dict[str, int]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> IclConfig:
        """The config from every field (`load_config` merges a user's file over config.yaml)."""
        check_fields("icl-phases", (f.name for f in dataclasses.fields(cls)), data)
        try:
            config = cls(
                n_chains=tuple(int(n) for n in data["n_chains"]),
                models=tuple(str(m) for m in data["models"]),
                seeds=tuple(int(s) for s in data["seeds"]),
                length=int(data["length"]),
                chain_seed=int(data["chain_seed"]),
                steps=int(data["steps"]),
                batch_size=int(data["batch_size"]),
                lr=float(data["lr"]),
                weight_decay=float(data["weight_decay"]),
                clip_grad=float(data["clip_grad"]),
                checkpoints=int(data["checkpoints"]),
                eval_sequences=int(data["eval_sequences"]),
                context_lengths=tuple(int(c) for c in data["context_lengths"]),
                transformer={str(k): int(v) for k, v in dict(data["transformer"]).items()},
                recurrent={str(k): int(v) for k, v in dict(data["recurrent"]).items()},
            )
        except (TypeError, ValueError) as err:
            raise ConfigError(f"study icl-phases: a field has the wrong type ({err})") from None
        config._check()
        return config

    def _check(self) -> None:
        bad_models = set(self.models) - set(MODELS)
        if bad_models or not self.models:
            raise ConfigError(f"models must be some of {', '.join(MODELS)}; got {self.models}")
        if not self.n_chains or min(self.n_chains) < 1:
            raise ConfigError(f"n_chains must be positive numbers of chains, got {self.n_chains}")
        if not self.seeds or len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(f"seeds must be distinct and at least one, got {self.seeds}")
        for name in ("steps", "batch_size", "checkpoints", "eval_sequences"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0 < self.lr < math.inf or self.weight_decay < 0 or not self.clip_grad > 0:
            raise ConfigError("lr and clip_grad must be positive, weight_decay not negative")
        bad = [c for c in self.context_lengths if not 1 <= c <= self.length]
        if bad or not self.context_lengths:
            raise ConfigError(f"context_lengths must lie in 1..length={self.length}, got {bad}")
        if set(self.recurrent) != {"n_hidden"}:
            raise ConfigError(f"recurrent takes n_hidden only, got {sorted(self.recurrent)}")
        if set(self.transformer) != {"d_model", "n_heads", "n_layers"}:
            raise ConfigError(
                f"transformer takes d_model, n_heads and n_layers, got {sorted(self.transformer)}"
            )
        TransformerSpec(max_length=self.length, **self.transformer)
        MarkovMixture(n_chains=self.n_chains[0], length=self.length)

    def to_dict(self) -> dict[str, Any]:
        data = dataclasses.asdict(self)
        return {k: list(v) if isinstance(v, tuple) else v for k, v in data.items()}

    def eval_steps(self) -> list[int]:
        """The steps measured: `checkpoints` log-spaced steps from 1 to `steps` (fewer where
        they round to the same step)."""
        grid = np.geomspace(1, self.steps, max(self.checkpoints, 2))[-self.checkpoints :]
        return sorted({round(float(s)) for s in grid} | {self.steps})

    def settings(self, model: str, n_chains: int, seed: int) -> dict[str, Any]:
        """What a network's training depends on: if any differ, it is another network."""
        data = self.to_dict()
        for name in ("n_chains", "models", "seeds", "eval_sequences", "context_lengths"):
            del data[name]
        if model == "transformer":
            del data["recurrent"]
        else:
            del data["transformer"]
        return {"model": model, "n_chains": n_chains, "seed": seed, **data}


@dataclass(frozen=True)
class NetworkResult(SavableResult):
    """One network's measurements over training.

    Attributes
    ----------
    label, model : str
        `MODEL-NN-seedS`, and the model kind.
    n_chains, seed : int
    settings : str
        JSON of `IclConfig.settings`, to refuse reusing a network trained otherwise.
    steps : ndarray [C]
        The measured steps.
    train_loss : ndarray [C]
        Cross-entropy of the training batch of that step.
    kl_id, kl_ood : ndarray [C, 4]
        KL (nats) of the model's predictions to each of `ALGORITHMS` at the longest context.
    truth_id, truth_ood : ndarray [C]
        KL to the chain that made each sequence, at the longest context.
    previous_token, induction : ndarray [C]
        The transformer's best previous-token head of its first layer and best induction head
        of its later layers (NaN for a recurrent network).
    induction_chance : float
        The induction score of uniform attention on the same sequences.
    by_context_id, by_context_ood : ndarray [4, X]
        The final network's KL to each algorithm at each of `context_lengths`.
    context_lengths : ndarray [X]
    seconds : float
        Training wall time.
    """

    label: str
    model: str
    n_chains: int
    seed: int
    settings: str
    steps: np.ndarray
    train_loss: np.ndarray
    kl_id: np.ndarray
    kl_ood: np.ndarray
    truth_id: np.ndarray
    truth_ood: np.ndarray
    previous_token: np.ndarray
    induction: np.ndarray
    induction_chance: float
    by_context_id: np.ndarray
    by_context_ood: np.ndarray
    context_lengths: np.ndarray
    seconds: float

    def phases(self, split: str = "id") -> list[str]:
        """The closest algorithm's short name (`PHASE_NAMES`) at each measured step."""
        kl = self.kl_id if split == "id" else self.kl_ood
        return [PHASE_NAMES[ALGORITHMS[i]] for i in kl.argmin(1)]


def phase_sequence(phases: list[str]) -> str:
    """The phases a network passed through, each once per stay: 'Uni-Inf > Bi-Inf > Bi-Ret'."""
    kept = [p for i, p in enumerate(phases) if i == 0 or p != phases[i - 1]]
    return " > ".join(kept)


def _network(model: str, config: IclConfig, seeds: tuple[int, ...]) -> nn.Module:
    """The transformer of one seed, or a GRU/LSTM ensemble with one member per seed (member e
    starts as a network of seed `seeds[e]` alone would)."""
    if model == "transformer":
        (seed,) = seeds
        return CausalTransformer(
            TransformerSpec(max_length=config.length, seed=seed, **config.transformer)
        )
    spec = NetworkSpec(
        n_inputs=10,
        n_hidden=config.recurrent["n_hidden"],
        n_outputs=10,
        cell=model,
        dt_ms=1.0,
        tau_ms=1.0,
        sigma_rec=0.0,
        seeds=seeds,
    )
    return build_model(spec)


def _logits(model: str, network: nn.Module, task: MarkovMixture, states: Tensor) -> Tensor:
    """Next-state logits `[T, E, B, K]` after every prefix of `states`: `[T, B]` (the same
    sequences for every member) or `[T, E, B]` (each member its own); E = 1 for the
    transformer."""
    if model == "transformer":
        return network(states[:, 0] if states.dim() == 3 else states)[:, None]
    return network(task.encode(states), noise=False).outputs


@dataclass(frozen=True)
class _EvalSet:
    """Held-out sequences `[T + 1, B]`, the algorithms' predictions on them and the truth."""

    states: Tensor
    references: Tensor  # [4, T, B, K]
    truth: Tensor  # [T, B, K]


def _eval_sets(task: MarkovMixture, n_sequences: int) -> dict[str, _EvalSet]:
    out = {}
    for split in SPLITS:
        source = task if split == "id" else dataclasses.replace(task, n_chains=None)
        states, _, per_seq = source.sample_states(n_sequences, seed=_EVAL_SEEDS[split])
        context = states[:-1]
        truth = per_seq[torch.arange(n_sequences)[None], context]  # [T, B, K]
        references = reference_predictions(context, task.transitions, task.weights)
        out[split] = _EvalSet(states, references, truth)
    return out


def _kl_last(logits: Tensor, target: Tensor) -> float:
    """Mean D(model || target) at the last step: logits `[T, B, K]`, target probabilities."""
    log_model = torch.log_softmax(logits[-1].double(), -1)
    return float(
        (log_model.exp() * (log_model - target[-1].clamp_min(1e-300).log())).sum(-1).mean()
    )


def _measure_step(
    model: str, network: nn.Module, task: MarkovMixture, sets: dict[str, _EvalSet]
) -> list[dict[str, Any]]:
    """Each member's measures at the current step."""
    n_members = 1 if not isinstance(network, EnsembleNetwork) else network.ensemble_size
    out: list[dict[str, Any]] = [{} for _ in range(n_members)]
    network.eval()
    with torch.no_grad():
        for split, data in sets.items():
            context = data.states[:-1]
            logits = _logits(model, network, task, context)  # [T, E, B, K]
            d = algorithm_distances(
                logits,
                context,
                task.transitions,
                task.weights,
                context_lengths=[task.length],
                references=data.references,
            )
            for e, member in enumerate(out):
                member[f"kl_{split}"] = d.kl[e, :, 0]
                member[f"truth_{split}"] = _kl_last(logits[:, e], data.truth)
        if model == "transformer":
            context = sets["ood"].states[:-1]
            _, attention = network(context, return_attention=True)
            scores = induction_scores(attention, context)
            later = scores.induction[1:] if len(scores.induction) > 1 else scores.induction
            out[0]["previous_token"] = float(scores.previous_token[0].max())
            out[0]["induction"] = float(later.max())
            out[0]["induction_chance"] = scores.induction_chance
        else:
            for member in out:
                member["previous_token"] = member["induction"] = math.nan
                member["induction_chance"] = math.nan
    network.train()
    return out


def _by_context(
    model: str,
    network: nn.Module,
    task: MarkovMixture,
    sets: dict[str, _EvalSet],
    lengths: tuple[int, ...],
) -> dict[str, np.ndarray]:
    """Each member's KL to each algorithm at each context length: `[E, 4, X]` per split."""
    out = {}
    network.eval()
    with torch.no_grad():
        for split, data in sets.items():
            context = data.states[:-1]
            d = algorithm_distances(
                _logits(model, network, task, context),
                context,
                task.transitions,
                task.weights,
                context_lengths=lengths,
                references=data.references,
            )
            out[split] = d.kl
    network.train()
    return out


def train_network(
    config: IclConfig, model: str, n_chains: int, seed: int, folder: Path, *, progress: bool
) -> NetworkResult:
    """Train one network (or resume it from `folder/LABEL.pt`), measuring it at
    `config.eval_steps()`; reuse its measurements from `folder/LABEL.npz` when it finished
    before under the same settings."""
    return train_networks(config, model, n_chains, (seed,), folder, progress=progress)[0]


def train_networks(
    config: IclConfig,
    model: str,
    n_chains: int,
    seeds: tuple[int, ...],
    folder: Path,
    *,
    progress: bool,
) -> list[NetworkResult]:
    """Train the networks of `seeds` (a GRU or LSTM: as one ensemble, a batched computation;
    the transformer: one seed), each exactly as it would be trained alone: its own initial
    weights, its own stream of training batches, its own gradient clipping. A network that
    finished before under the same settings is reused from `folder/LABEL.npz`; the others
    resume from their checkpoint (`folder/LABEL.pt` for one seed, `MODEL-NN-seedsA+B.pt` for
    an ensemble)."""
    labels = [f"{model}-N{n_chains}-seed{seed}" for seed in seeds]
    settings = [json.dumps(config.settings(model, n_chains, s), sort_keys=True) for s in seeds]
    done: dict[int, NetworkResult] = {}
    for seed, label, setting in zip(seeds, labels, settings, strict=True):
        path = folder / f"{label}.npz"
        if path.exists():
            result = NetworkResult.load(path)
            if result.settings != setting:
                raise ConfigError(
                    f"{path} was trained under other settings; move it away or use another "
                    "--runs folder"
                )
            done[seed] = result
    todo = tuple(s for s in seeds if s not in done)
    if todo:
        trained = _train(config, model, n_chains, todo, folder, progress=progress)
        done.update(zip(todo, trained, strict=True))
    return [done[s] for s in seeds]


def _train(
    config: IclConfig,
    model: str,
    n_chains: int,
    seeds: tuple[int, ...],
    folder: Path,
    *,
    progress: bool,
) -> list[NetworkResult]:
    labels = [f"{model}-N{n_chains}-seed{seed}" for seed in seeds]
    settings = [json.dumps(config.settings(model, n_chains, s), sort_keys=True) for s in seeds]
    name = labels[0] if len(seeds) == 1 else f"{model}-N{n_chains}-seeds{'+'.join(map(str, seeds))}"
    state_path = folder / f"{name}.pt"
    task = MarkovMixture(n_chains=n_chains, length=config.length, chain_seed=config.chain_seed)
    sets = _eval_sets(task, config.eval_sequences)
    network = _network(model, config, seeds)
    optimizer = torch.optim.AdamW(
        network.parameters(), lr=config.lr, betas=(0.9, 0.95), weight_decay=config.weight_decay
    )
    streams = [torch.Generator().manual_seed(seed) for seed in seeds]
    step, seconds = 0, 0.0
    measured: list[list[dict[str, Any]]] = [[] for _ in seeds]
    if state_path.exists():
        try:
            state = torch.load(state_path, weights_only=False)
        except Exception as err:  # a file cut short by a kill mid-write is the usual cause
            raise CorruptCheckpoint(
                f"cannot read {state_path} ({type(err).__name__}); delete it to train that "
                "network again"
            ) from None
        # a single network's checkpoint keeps its one-network layout (settings, data and
        # measured of that network), so the checkpoints of earlier runs resume
        saved = [state["settings"]] if isinstance(state["settings"], str) else state["settings"]
        if saved != settings:
            raise ConfigError(
                f"{state_path} was trained under other settings; move it away or use another "
                "--runs folder"
            )
        network.load_state_dict(state["network"])
        optimizer.load_state_dict(state["optimizer"])
        data = state["data"] if isinstance(state["settings"], list) else [state["data"]]
        for stream, data_state in zip(streams, data, strict=True):
            stream.set_state(data_state)
        step, seconds = state["step"], state["seconds"]
        measured = state["measured"] if isinstance(state["settings"], list) else [state["measured"]]
    eval_steps = config.eval_steps()
    with Progress(name, config.steps, enabled=progress, initial=step) as bar:
        while step < config.steps:
            start = time.perf_counter()
            states = torch.stack(
                [task.sample_states(config.batch_size, generator=g)[0] for g in streams], 1
            )  # [T + 1, E, B]
            logits = _logits(model, network, task, states[:-1])  # [T, E, B, K]
            # each member's mean cross-entropy, summed: a member's gradient is its own alone
            losses = nn.functional.cross_entropy(
                logits.permute(1, 3, 0, 2), states[1:].transpose(0, 1), reduction="none"
            ).mean((1, 2))  # [E]
            optimizer.zero_grad()
            losses.sum().backward()
            if isinstance(network, EnsembleNetwork):
                clip_per_member(network, config.clip_grad)  # as torch's, member by member
            else:
                nn.utils.clip_grad_norm_(network.parameters(), config.clip_grad)
            optimizer.step()
            step += 1
            seconds += time.perf_counter() - start
            loss_values = [float(v) for v in losses.detach()]
            bar.advance(note=f"loss {np.mean(loss_values):.3f}")
            if step in eval_steps:
                for e, at_step in enumerate(_measure_step(model, network, task, sets)):
                    measured[e].append({"step": step, "loss": loss_values[e]} | at_step)
                single = len(seeds) == 1
                state = {
                    "settings": settings[0] if single else settings,
                    "network": network.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "data": streams[0].get_state() if single else [g.get_state() for g in streams],
                    "step": step,
                    "seconds": seconds,
                    "measured": measured[0] if single else measured,
                }
                _save(state_path, state)
    final = _by_context(model, network, task, sets, config.context_lengths)
    results = []
    for e, seed in enumerate(seeds):
        member = measured[e]
        result = NetworkResult(
            label=labels[e],
            model=model,
            n_chains=n_chains,
            seed=seed,
            settings=settings[e],
            steps=np.array([m["step"] for m in member]),
            train_loss=np.array([m["loss"] for m in member]),
            kl_id=np.stack([m["kl_id"] for m in member]),
            kl_ood=np.stack([m["kl_ood"] for m in member]),
            truth_id=np.array([m["truth_id"] for m in member]),
            truth_ood=np.array([m["truth_ood"] for m in member]),
            previous_token=np.array([m["previous_token"] for m in member]),
            induction=np.array([m["induction"] for m in member]),
            induction_chance=float(member[-1]["induction_chance"]),
            by_context_id=final["id"][e],
            by_context_ood=final["ood"][e],
            context_lengths=np.array(config.context_lengths),
            # an ensemble's members share its wall time
            seconds=seconds / len(seeds),
        )
        result.save(folder / f"{labels[e]}.npz")
        results.append(result)
    return results


def _save(path: Path, state: dict[str, Any]) -> None:
    """The training state, written whole or not at all."""

    def write(tmp: Path) -> None:
        torch.save(state, tmp)

    atomic_write(path, write)


def measure(
    config: IclConfig, runs: Mapping[str, Run], out: Path, progress: bool
) -> list[NetworkResult]:
    """Train and measure every network of the study (see the module docstring): the
    transformers seed by seed, the GRUs and LSTMs of all seeds as one ensemble each."""
    folder = out / "networks"
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    for n_chains in config.n_chains:
        for model in config.models:
            if model == "transformer":
                for seed in config.seeds:
                    results += train_networks(
                        config, model, n_chains, (seed,), folder, progress=progress
                    )
            else:
                results += train_networks(
                    config, model, n_chains, config.seeds, folder, progress=progress
                )
    return results


def _number(value: float) -> float | str:
    return "" if math.isnan(value) else round(float(value), 5)


def rows(results: list[NetworkResult]) -> list[dict[str, Any]]:
    """measures.csv: one row per network and measured step."""
    out = []
    for r in results:
        for c, step in enumerate(r.steps):
            row: dict[str, Any] = {
                "model": r.model,
                "n_chains": r.n_chains,
                "seed": r.seed,
                "step": int(step),
                "train_loss": round(float(r.train_loss[c]), 5),
            }
            for split in SPLITS:
                kl = r.kl_id if split == "id" else r.kl_ood
                for a, name in enumerate(ALGORITHMS):
                    row[f"kl_{name}_{split}"] = round(float(kl[c, a]), 5)
                truth = r.truth_id if split == "id" else r.truth_ood
                row[f"kl_truth_{split}"] = round(float(truth[c]), 5)
                row[f"phase_{split}"] = r.phases(split)[c]
            row["previous_token_score"] = _number(r.previous_token[c])
            row["induction_score"] = _number(r.induction[c])
            row["induction_chance"] = _number(r.induction_chance)
            out.append(row)
    return out


def tables(results: list[NetworkResult]) -> dict[str, list[dict[str, Any]]]:
    """kl_by_context.csv: each final network's KL to each algorithm at every context length."""
    out = []
    for r in results:
        for split in SPLITS:
            kl = r.by_context_id if split == "id" else r.by_context_ood
            for x, length in enumerate(r.context_lengths):
                row: dict[str, Any] = {
                    "model": r.model,
                    "n_chains": r.n_chains,
                    "seed": r.seed,
                    "split": split,
                    "context_length": int(length),
                }
                row |= {
                    f"kl_{name}": round(float(kl[a, x]), 5) for a, name in enumerate(ALGORITHMS)
                }
                row["phase"] = PHASE_NAMES[ALGORITHMS[int(kl[:, x].argmin())]]
                out.append(row)
    return {"kl_by_context.csv": out}


def phase_changes(phases: list[str], steps: np.ndarray) -> list[tuple[str, int]]:
    """Each phase a network entered after its first, with the first measured step in it.

    Parameters
    ----------
    phases : list of str [C]
        The closest algorithm at each measured step (`NetworkResult.phases`).
    steps : ndarray [C]
        The measured steps.

    Returns
    -------
    list of (phase, step)
        In order; a phase left and entered again appears again.

    Example
    -------
    >>> phase_changes(["Uni-Inf", "Uni-Inf", "Bi-Inf", "Bi-Ret"], np.array([1, 10, 100, 1000]))
    [('Bi-Inf', 100), ('Bi-Ret', 1000)]
    """
    return [(phases[c], int(steps[c])) for c in range(1, len(phases)) if phases[c] != phases[c - 1]]


def induction_step(result: NetworkResult) -> int | None:
    """The first measured step at which the transformer's best induction head scores at least
    half-way from chance to 1 (an induction head has formed); None if it never does or the
    network is recurrent."""
    threshold = (1 + result.induction_chance) / 2
    formed = np.flatnonzero(result.induction >= threshold)
    return int(result.steps[formed[0]]) if formed.size else None


def _spread(values: list[float], digits: int = 3) -> str:
    """Mean, with the standard deviation over seeds when there are several."""
    if len(values) == 1:
        return f"{values[0]:.{digits}f}"
    return f"{np.mean(values):.{digits}f} ± {np.std(values, ddof=1):.{digits}f}"


def _phases_over_seeds(group: list[NetworkResult], split: str) -> str:
    """The phase sequence of each group of seeds that share it, with the step of each change
    seed by seed: 'Uni-Inf > Uni-Ret (Uni-Ret at 158, 251, 251)'."""
    by_sequence: dict[str, list[NetworkResult]] = {}
    for r in sorted(group, key=lambda r: r.seed):
        by_sequence.setdefault(phase_sequence(r.phases(split)), []).append(r)
    parts = []
    for sequence, members in by_sequence.items():
        changes = [phase_changes(r.phases(split), r.steps) for r in members]
        at = "; ".join(
            f"{changes[0][i][0]} at {', '.join(str(c[i][1]) for c in changes)}"
            for i in range(len(changes[0]))
        )
        label = ""
        if len(by_sequence) > 1:  # name the seeds of each sequence only where they differ
            label = (
                f"seed{'s' if len(members) > 1 else ''} {', '.join(str(r.seed) for r in members)}: "
            )
        parts.append(f"{label}{sequence}" + (f" ({at})" if at else ""))
    return "; ".join(parts)


def summary(results: list[NetworkResult]) -> str:
    """Per model and N, over seeds: the phases over training in distribution (each sequence
    of phases with the seeds that follow it and the step of each change, seed by seed), the
    final phase out of distribution (with its number of seeds), the KL to the true chain (id,
    and ood: its best over training and at the end, a rise being the transience of bigram
    inference), and the transformer's best induction score against chance with the step its
    induction head formed (`induction_step`), seed by seed. Numbers are the mean ± sd over
    seeds."""
    lines = [
        "| model | N | seeds | phases over training (id) | final phase (ood) | KL to truth id | "
        "KL to truth ood: best (median step) > final | induction (chance): formed at |",
        "|---|---|---|---|---|---|---|---|",
    ]
    keys = sorted(
        {(r.model, r.n_chains) for r in results}, key=lambda k: (MODELS.index(k[0]), k[1])
    )
    for model, n_chains in keys:
        group = [r for r in results if (r.model, r.n_chains) == (model, n_chains)]
        final_ood = [r.phases("ood")[-1] for r in group]
        final_counts = ", ".join(
            f"{p}" + (f" ({final_ood.count(p)})" if len(set(final_ood)) > 1 else "")
            for p in sorted(set(final_ood))
        )
        best = [int(r.truth_ood.argmin()) for r in group]
        best_kl = [float(r.truth_ood[b]) for r, b in zip(group, best, strict=True)]
        best_step = int(np.median([r.steps[b] for r, b in zip(group, best, strict=True)]))
        if model == "transformer":
            formed = [induction_step(r) for r in sorted(group, key=lambda r: r.seed)]
            steps = ", ".join("never" if s is None else str(s) for s in formed)
            induction = (
                f"{_spread([float(r.induction.max()) for r in group], 2)} "
                f"({group[0].induction_chance:.2f}): {steps}"
            )
        else:
            induction = "-"
        lines.append(
            f"| {model} | {n_chains} | {len(group)} | {_phases_over_seeds(group, 'id')} | "
            f"{final_counts} | {_spread([float(r.truth_id[-1]) for r in group])} | "
            f"{_spread(best_kl)} ({best_step}) > "
            f"{_spread([float(r.truth_ood[-1]) for r in group])} | {induction} |"
        )
    return "\n".join(lines)


def phase_table(results: list[NetworkResult], split: str = "id") -> str:
    """Markdown: per model and N (rows), the closest algorithm at each measured step (columns)
    taken by most seeds, with the count where the seeds differ ('Uni-Ret 2/3'); networks
    measured at other steps than the first one's are left out."""
    steps = results[0].steps
    keys = sorted(
        {(r.model, r.n_chains) for r in results}, key=lambda k: (MODELS.index(k[0]), k[1])
    )
    lines = [
        f"| model | N | {' | '.join(str(int(s)) for s in steps)} |",
        "|---|---|" + "---|" * len(steps),
    ]
    for model, n_chains in keys:
        group = [
            r
            for r in results
            if (r.model, r.n_chains) == (model, n_chains) and np.array_equal(r.steps, steps)
        ]
        if not group:
            continue
        cells = []
        for c in range(len(steps)):
            at_step = [r.phases(split)[c] for r in group]
            top = max(sorted(set(at_step)), key=at_step.count)
            count = at_step.count(top)
            cells.append(top if count == len(group) else f"{top} {count}/{len(group)}")
        lines.append(f"| {model} | {n_chains} | {' | '.join(cells)} |")
    return "\n".join(lines)
