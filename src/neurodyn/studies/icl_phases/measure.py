"""What the icl-phases study measures (Park, Lubana, Pres & Tanaka 2025): its config, the
training of each network with its measurements at log-spaced steps, the rows of measures.csv
and kl_by_context.csv, and the summary.

For every number of training chains N, model (the causal transformer, a GRU, an LSTM) and seed,
a network is trained on next-state prediction over `markov_mixture` sequences (AdamW with the
paper's betas and weight decay; the three models of one N and seed read the same batches). At
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
from neurodyn.models import CausalTransformer, NetworkSpec, TransformerSpec, build_model
from neurodyn.runs import Run
from neurodyn.tasks import MarkovMixture

__all__ = [
    "MODELS",
    "PHASE_NAMES",
    "IclConfig",
    "NetworkResult",
    "measure",
    "phase_sequence",
    "rows",
    "summary",
    "tables",
    "train_network",
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
        names = [f.name for f in dataclasses.fields(cls)]
        missing, unknown = set(names) - set(data), set(data) - set(names)
        if missing or unknown:
            raise ConfigError(
                f"study icl-phases: missing field(s) {sorted(missing)}, unknown "
                f"{sorted(unknown)}; load_config(STUDY, path) fills the missing ones from the "
                "study's config.yaml"
            )
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


def _network(model: str, config: IclConfig, seed: int) -> nn.Module:
    if model == "transformer":
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
        seeds=(seed,),
    )
    return build_model(spec)


def _logits(model: str, network: nn.Module, task: MarkovMixture, states: Tensor) -> Tensor:
    """Next-state logits `[T, B, K]` after every prefix of `states [T, B]`."""
    if model == "transformer":
        return network(states)
    return network(task.encode(states), noise=False).outputs[:, 0]


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
) -> dict[str, Any]:
    out: dict[str, Any] = {}
    network.eval()
    with torch.no_grad():
        for split, data in sets.items():
            context = data.states[:-1]
            logits = _logits(model, network, task, context)
            d = algorithm_distances(
                logits,
                context,
                task.transitions,
                task.weights,
                context_lengths=[task.length],
                references=data.references,
            )
            out[f"kl_{split}"] = d.kl[0, :, 0]
            out[f"truth_{split}"] = _kl_last(logits, data.truth)
        if model == "transformer":
            context = sets["ood"].states[:-1]
            _, attention = network(context, return_attention=True)
            scores = induction_scores(attention, context)
            out["previous_token"] = float(scores.previous_token[0].max())
            later = scores.induction[1:] if len(scores.induction) > 1 else scores.induction
            out["induction"] = float(later.max())
            out["induction_chance"] = scores.induction_chance
        else:
            out["previous_token"] = out["induction"] = out["induction_chance"] = math.nan
    network.train()
    return out


def _by_context(
    model: str,
    network: nn.Module,
    task: MarkovMixture,
    sets: dict[str, _EvalSet],
    lengths: tuple[int, ...],
) -> dict[str, np.ndarray]:
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
            out[split] = d.kl[0]
    return out


def train_network(
    config: IclConfig, model: str, n_chains: int, seed: int, folder: Path, *, progress: bool
) -> NetworkResult:
    """Train one network (or resume it from `folder/LABEL.pt`), measuring it at
    `config.eval_steps()`; reuse its measurements from `folder/LABEL.npz` when it finished
    before under the same settings."""
    label = f"{model}-N{n_chains}-seed{seed}"
    settings = json.dumps(config.settings(model, n_chains, seed), sort_keys=True)
    done_path, state_path = folder / f"{label}.npz", folder / f"{label}.pt"
    if done_path.exists():
        done = NetworkResult.load(done_path)
        if done.settings != settings:
            raise ConfigError(
                f"{done_path} was trained under other settings; move it away or use another "
                "--runs folder"
            )
        return done
    task = MarkovMixture(n_chains=n_chains, length=config.length, chain_seed=config.chain_seed)
    sets = _eval_sets(task, config.eval_sequences)
    network = _network(model, config, seed)
    optimizer = torch.optim.AdamW(
        network.parameters(), lr=config.lr, betas=(0.9, 0.95), weight_decay=config.weight_decay
    )
    data = torch.Generator().manual_seed(seed)
    step, seconds, measured = 0, 0.0, []
    if state_path.exists():
        try:
            state = torch.load(state_path, weights_only=False)
        except Exception as err:  # a file cut short by a kill mid-write is the usual cause
            raise CorruptCheckpoint(
                f"cannot read {state_path} ({type(err).__name__}); delete it to train that "
                "network again"
            ) from None
        if state["settings"] != settings:
            raise ConfigError(
                f"{state_path} was trained under other settings; move it away or use another "
                "--runs folder"
            )
        network.load_state_dict(state["network"])
        optimizer.load_state_dict(state["optimizer"])
        data.set_state(state["data"])
        step, seconds, measured = state["step"], state["seconds"], state["measured"]
    eval_steps = config.eval_steps()
    with Progress(f"{label}", config.steps, enabled=progress, initial=step) as bar:
        while step < config.steps:
            start = time.perf_counter()
            states, _, _ = task.sample_states(config.batch_size, generator=data)
            logits = _logits(model, network, task, states[:-1])
            loss = nn.functional.cross_entropy(logits.reshape(-1, 10), states[1:].reshape(-1))
            optimizer.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(network.parameters(), config.clip_grad)
            optimizer.step()
            step += 1
            seconds += time.perf_counter() - start
            loss_value = float(loss.detach())
            bar.advance(note=f"loss {loss_value:.3f}")
            if step in eval_steps:
                measured.append(
                    {"step": step, "loss": loss_value} | _measure_step(model, network, task, sets)
                )
                state = {
                    "settings": settings,
                    "network": network.state_dict(),
                    "optimizer": optimizer.state_dict(),
                    "data": data.get_state(),
                    "step": step,
                    "seconds": seconds,
                    "measured": measured,
                }
                _save(state_path, state)
    final = _by_context(model, network, task, sets, config.context_lengths)
    result = NetworkResult(
        label=label,
        model=model,
        n_chains=n_chains,
        seed=seed,
        settings=settings,
        steps=np.array([m["step"] for m in measured]),
        train_loss=np.array([m["loss"] for m in measured]),
        kl_id=np.stack([m["kl_id"] for m in measured]),
        kl_ood=np.stack([m["kl_ood"] for m in measured]),
        truth_id=np.array([m["truth_id"] for m in measured]),
        truth_ood=np.array([m["truth_ood"] for m in measured]),
        previous_token=np.array([m["previous_token"] for m in measured]),
        induction=np.array([m["induction"] for m in measured]),
        induction_chance=float(measured[-1]["induction_chance"]),
        by_context_id=final["id"],
        by_context_ood=final["ood"],
        context_lengths=np.array(config.context_lengths),
        seconds=seconds,
    )
    result.save(done_path)
    return result


def _save(path: Path, state: dict[str, Any]) -> None:
    """The training state, written whole or not at all."""

    def write(tmp: Path) -> None:
        torch.save(state, tmp)

    atomic_write(path, write)


def measure(
    config: IclConfig, runs: Mapping[str, Run], out: Path, progress: bool
) -> list[NetworkResult]:
    """Train and measure every network of the study (see the module docstring)."""
    folder = out / "networks"
    folder.mkdir(parents=True, exist_ok=True)
    results = []
    for seed in config.seeds:
        for n_chains in config.n_chains:
            for model in config.models:
                results.append(
                    train_network(config, model, n_chains, seed, folder, progress=progress)
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


def summary(results: list[NetworkResult]) -> str:
    """Per model and N: the phases over training (in distribution; seed by seed where they
    differ), the final phase out of distribution, the KL to the true chain (id, and ood: its
    best over training and at the end: a rise is the transience of bigram inference) and the
    transformer's best induction score against chance."""
    lines = [
        "| model | N | phases over training (id) | final phase (ood) | KL to truth id | "
        "KL to truth ood: best (step) > final | induction (chance) |",
        "|---|---|---|---|---|---|---|",
    ]
    keys = sorted(
        {(r.model, r.n_chains) for r in results}, key=lambda k: (MODELS.index(k[0]), k[1])
    )
    for model, n_chains in keys:
        group = [r for r in results if (r.model, r.n_chains) == (model, n_chains)]
        sequences = sorted({phase_sequence(r.phases("id")) for r in group})
        final_ood = sorted({r.phases("ood")[-1] for r in group})
        best = [int(r.truth_ood.argmin()) for r in group]
        best_kl = np.mean([r.truth_ood[b] for r, b in zip(group, best, strict=True)])
        best_step = int(np.median([r.steps[b] for r, b in zip(group, best, strict=True)]))
        final_kl = np.mean([r.truth_ood[-1] for r in group])
        if model == "transformer":
            induction = f"{np.mean([r.induction.max() for r in group]):.2f} ({group[0].induction_chance:.2f})"
        else:
            induction = "-"
        lines.append(
            f"| {model} | {n_chains} | {'; '.join(sequences)} | {', '.join(final_ood)} | "
            f"{np.mean([r.truth_id[-1] for r in group]):.3f} | {best_kl:.3f} ({best_step}) > "
            f"{final_kl:.3f} | {induction} |"
        )
    return "\n".join(lines)
