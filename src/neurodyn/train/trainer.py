"""Backpropagation through time with Adam, for an ensemble of networks at once.

Every member of the ensemble is trained exactly as if it were alone: its own data stream and
noise (from its own seed), its own loss, its own gradient clipping. Adam is elementwise, so
the ensemble's optimiser is E independent optimisers. This is what makes an E=3 ensemble equal
three single runs, and resuming from a checkpoint equal an uninterrupted run.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
from torch import Tensor
from tqdm.auto import tqdm

from neurodyn._malloc import keep_freed_memory
from neurodyn.errors import ConfigError, TrainingDiverged
from neurodyn.models import Network
from neurodyn.tasks import Batch, stack_batches
from neurodyn.train.continual import ElasticWeightConsolidation, SynapticIntelligence
from neurodyn.train.losses import rate_l2, speed_at_class_centres, task_loss, weight_l2


@dataclass(frozen=True)
class TrainOptions:
    """How to train. Units: steps are optimiser steps; rates are per step."""

    steps: int = 2000
    batch_size: int = 64
    lr: float = 1e-3
    l2_rate: float = 0.0
    l2_weight: float = 0.0
    clip_grad: float | None = 1.0
    log_every: int = 50
    checkpoint_every: int = 500
    keep_weights_every: int | None = None
    eval_batch_size: int = 256
    # Stop once every member does at least this well on every task (fresh trials, checked at
    # each log step), as Yang et al. train to a target; None trains all `steps`.
    target_performance: float | None = None
    # Train only these parameters (e.g. ["W_in"] to fit a new rule's input weights to a
    # pretrained network, as Yang et al. and Driscoll et al. do); the others stay frozen.
    train_only: tuple[str, ...] | None = None
    # ... or train all but these (e.g. ["W_rec"]: a fixed recurrent network, a reservoir).
    freeze: tuple[str, ...] | None = None
    # Continual learning over a curriculum's stages: the intelligent-synapses penalty's
    # strength c and damping xi (Yang et al. 2019 use c = 0.1, xi = 0.01); None: off.
    intelligent_synapses: float | None = None
    intelligent_synapses_damping: float = 0.01
    # ... or elastic weight consolidation: its strength lambda, the Fisher information from
    # `ewc_batches` batches of one trial per task.
    ewc: float | None = None
    ewc_batches: int = 32
    # Haviv et al.'s speed regulariser (tasks with `shown`, `query` and `label` facts, e.g.
    # delayed_classification): its weight on the speed at the classes' centres of mass.
    speed_penalty: float | None = None

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "log_every", "checkpoint_every", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"train.{name} must be at least 1, got {getattr(self, name)}")
        if self.keep_weights_every is not None and self.keep_weights_every < 1:
            raise ConfigError(
                f"train.keep_weights_every must be at least 1 or null, got {self.keep_weights_every}"
            )
        if self.lr <= 0:
            raise ConfigError(f"train.lr must be positive, got {self.lr}")
        if self.target_performance is not None and not 0 <= self.target_performance <= 1:
            raise ConfigError(
                f"train.target_performance must lie in [0, 1] or be null, got {self.target_performance}"
            )
        if self.intelligent_synapses is not None and self.intelligent_synapses < 0:
            raise ConfigError(
                f"train.intelligent_synapses must be non-negative, got {self.intelligent_synapses}"
            )
        if self.ewc is not None and self.ewc < 0:
            raise ConfigError(f"train.ewc must be non-negative, got {self.ewc}")
        if self.ewc is not None and self.intelligent_synapses is not None:
            raise ConfigError("choose one of train.intelligent_synapses and train.ewc")
        if self.ewc_batches < 1:
            raise ConfigError("train.ewc_batches must be at least 1")
        if self.intelligent_synapses_damping <= 0:
            raise ConfigError("train.intelligent_synapses_damping must be positive")
        if self.train_only is not None and self.freeze is not None:
            raise ConfigError("give train.train_only or train.freeze, not both")
        if self.clip_grad is not None and self.clip_grad <= 0:
            raise ConfigError(f"train.clip_grad must be positive or null, got {self.clip_grad}")


_STREAMS = {"data": 1, "noise": 2, "eval": 3, "fisher": 4, "fisher-noise": 5}


def member_generators(seeds: tuple[int, ...], stream: str, *index: int) -> list[torch.Generator]:
    """One generator per member for a named stream ('data', 'noise', 'eval', 'fisher',
    'fisher-noise'), optionally numbered (e.g. by curriculum stage).

    Streams are derived from the member's seed with numpy's SeedSequence, so they are
    independent of each other and of the weight initialisation.
    """
    key = _STREAMS[stream]
    gens = []
    for seed in seeds:
        entropy = [int(seed), key, *index]
        state = np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint64)[0]
        gens.append(torch.Generator().manual_seed(int(state)))
    return gens


@dataclass
class TrainState:
    """Everything that changes during training; a checkpoint saves exactly this."""

    model: Network
    optimizer: torch.optim.Optimizer
    data_generators: list[torch.Generator]
    noise_generators: list[torch.Generator]
    step: int
    metrics: list[dict[str, float]]
    target_reached: bool = False
    stage: int = 0  # curriculum stage, and the step it began at
    stage_start: int = 0
    synapses: SynapticIntelligence | ElasticWeightConsolidation | None = None  # continual learning

    @classmethod
    def new(cls, model: Network, options: TrainOptions) -> TrainState:
        seeds = model.spec.seeds
        return cls(
            model=model,
            optimizer=adam(trainable(model, options.train_only, options.freeze), options.lr),
            data_generators=member_generators(seeds, "data"),
            noise_generators=member_generators(seeds, "noise"),
            step=0,
            metrics=[],
            synapses=_continual(model, options),
        )

    def state_dict(self) -> dict:
        return {
            "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(),
            "data_generators": [g.get_state() for g in self.data_generators],
            "noise_generators": [g.get_state() for g in self.noise_generators],
            "step": self.step,
            "metrics": self.metrics,
            "stage": self.stage,
            "stage_start": self.stage_start,
            **({"synapses": self.synapses.state_dict()} if self.synapses is not None else {}),
        }

    def load_state_dict(self, state: dict) -> None:
        self.model.load_state_dict(state["model"])
        # keep this optimiser's own kernel choice (a checkpoint from before fused Adam says
        # fused=None; the algorithm, and so the state, is the same)
        fused = [group.get("fused") for group in self.optimizer.param_groups]
        self.optimizer.load_state_dict(state["optimizer"])
        for group, flag in zip(self.optimizer.param_groups, fused, strict=True):
            group["fused"] = flag
        for g, s in zip(self.data_generators, state["data_generators"], strict=True):
            g.set_state(s)
        for g, s in zip(self.noise_generators, state["noise_generators"], strict=True):
            g.set_state(s)
        self.step = int(state["step"])
        self.metrics = list(state["metrics"])
        self.stage = int(state.get("stage", 0))
        self.stage_start = int(state.get("stage_start", 0))
        if self.synapses is not None:
            self.synapses.load_state_dict(state["synapses"])


def adam(params: list[torch.nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """torch's Adam, fused (one kernel for all parameters) where torch has it for the device
    and dtype: on CPU it is 3x faster than the per-parameter loop, and the same algorithm."""
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except RuntimeError:  # a device or dtype without a fused kernel
        return torch.optim.Adam(params, lr=lr)


def sample_ensemble(
    task, batch_size: int, generators: list[torch.Generator], *, step: int | None = None
) -> Batch:
    """One batch per member, stacked: `x [T, E, B, I]`. With `step`, a multitask that
    interleaves tasks batch by batch gives the task of that training step."""
    if step is not None and hasattr(task, "for_step"):
        task = task.for_step(step)
    return stack_batches([task.sample(batch_size, generator=g) for g in generators])


def _continual(
    model: Network, options: TrainOptions
) -> SynapticIntelligence | ElasticWeightConsolidation | None:
    if options.intelligent_synapses is not None:
        return SynapticIntelligence(
            model, options.intelligent_synapses, options.intelligent_synapses_damping
        )
    if options.ewc is not None:
        return ElasticWeightConsolidation(model, options.ewc)
    return None


def task_gradients(
    model: Network, task, batch_size: int, n_batches: int, stage: int
) -> list[dict[str, Tensor]]:
    """Gradients of the task loss (summed over members, so each member's own) on `n_batches`
    fresh batches, one dict of parameter gradients per batch: the data of EWC's Fisher at
    the end of curriculum stage `stage` (its own random streams)."""
    generators = member_generators(model.spec.seeds, "fisher", stage)
    noise = member_generators(model.spec.seeds, "fisher-noise", stage)
    out = []
    for _ in range(n_batches):
        batch = sample_ensemble(task, batch_size, generators)
        model.zero_grad(set_to_none=True)
        task_loss(task, model(batch.x, generators=noise).outputs, batch).sum().backward()
        out.append(
            {
                k: (torch.zeros_like(p) if p.grad is None else p.grad.detach().clone())
                for k, p in model.named_parameters()
            }
        )
    model.zero_grad(set_to_none=True)
    return out


def trainable(
    model: Network, names: tuple[str, ...] | None, frozen: tuple[str, ...] | None = None
) -> list[torch.nn.Parameter]:
    """The parameters to train: all, those named in `names`, or all but `frozen` (the others
    are frozen: no gradient, never changed)."""
    params = dict(model.named_parameters())
    if names is None and frozen is None:
        return list(params.values())
    field, given = ("train_only", names) if names is not None else ("freeze", frozen)
    assert given is not None
    unknown = sorted(set(given) - set(params))
    if unknown or not given:
        raise ConfigError(
            f"train.{field} must name parameters of the network, got {list(given)}; "
            f"they are {list(params)}"
        )
    chosen = given if frozen is None else tuple(n for n in params if n not in frozen)
    if not chosen:
        raise ConfigError("train.freeze freezes every parameter: nothing would train")
    for name, p in params.items():
        p.requires_grad_(name in chosen)
    return [params[n] for n in params if n in chosen]


def clip_per_member(model: Network, max_norm: float) -> None:
    """Clip each member's gradient to global norm `max_norm`, as torch's clip_grad_norm_ would
    for that member alone."""
    grads = [p.grad for p in model.parameters() if p.grad is not None]
    norms = (
        torch.stack([g.pow(2).reshape(g.shape[0], -1).sum(1) for g in grads]).sum(0).sqrt()
    )  # [E]
    scale = (max_norm / (norms + 1e-6)).clamp(max=1.0)
    for g in grads:
        g.mul_(scale.reshape(-1, *([1] * (g.dim() - 1))))


def fit(
    state: TrainState,
    task,
    options: TrainOptions,
    *,
    until_step: int | None = None,
    on_checkpoint: Callable[[TrainState], None] | None = None,
    progress: bool = True,
) -> TrainState:
    """Train `state.model` on `task` from `state.step` to `options.steps` (or `until_step`).

    Parameters
    ----------
    state : TrainState
        Modified in place and returned.
    task : Task or Multitask
    options : TrainOptions
    until_step : int, optional
        Stop early at this step (the run stays resumable).
    on_checkpoint : callable, optional
        Called with the state every `options.checkpoint_every` (and `keep_weights_every`)
        steps and at the end.
    progress : bool
        Show a progress bar with loss and performance.

    Raises
    ------
    TrainingDiverged
        When a loss is NaN or infinite. The state is left at the last finished step; nothing is
        checkpointed from the diverged step.
    """
    keep_freed_memory()  # reuse each step's large blocks instead of faulting in new pages
    model = state.model
    last = options.steps if until_step is None else min(until_step, options.steps)
    bar = tqdm(
        total=last, initial=state.step, disable=not progress, desc="train", dynamic_ncols=True
    )
    seeds = model.spec.seeds
    stop = _StopOnSignal()
    try:
        while state.step < last:
            batch = sample_ensemble(
                task, options.batch_size, state.data_generators, step=state.step
            )
            traj = model(batch.x, generators=state.noise_generators)
            loss_task = task_loss(task, traj.outputs, batch)  # [E]
            loss = loss_task
            if options.l2_rate:
                loss = loss + options.l2_rate * rate_l2(traj.states)
            if options.l2_weight:
                loss = loss + options.l2_weight * weight_l2(model)
            if state.synapses is not None:
                loss = loss + state.synapses.penalty(model)
            if options.speed_penalty:
                loss = loss + options.speed_penalty * speed_at_class_centres(
                    model, traj.states, batch.x, batch.trial
                )
            if not torch.isfinite(loss).all():
                bad = [seeds[e] for e in torch.nonzero(~torch.isfinite(loss)).flatten().tolist()]
                raise TrainingDiverged(
                    f"the loss became {loss.detach().tolist()} at step {state.step + 1} "
                    f"(seeds {bad}). Lower train.lr or set train.clip_grad; the last good "
                    "checkpoint is kept."
                )
            state.optimizer.zero_grad(set_to_none=True)
            # Members are independent, so the sum's gradient is each member's own gradient.
            loss.sum().backward()
            if state.synapses is not None:
                state.synapses.before_step(model)
            if options.clip_grad is not None:
                clip_per_member(model, options.clip_grad)
            state.optimizer.step()
            model.constrain_()  # Dale's law, masks: back onto the allowed weights
            if state.synapses is not None:
                state.synapses.after_step(model)
            state.step += 1
            bar.update(1)

            if state.step % options.log_every == 0 or state.step == last:
                with torch.no_grad():
                    perf = task.performance_by_task(traj.outputs.detach(), batch)
                for e, seed in enumerate(seeds):
                    row = {
                        "step": state.step,
                        "member": e,
                        "seed": seed,
                        "loss": float(loss_task[e].detach()),
                    }
                    row.update({f"perf.{k}": float(v[e]) for k, v in perf.items()})
                    state.metrics.append(row)
                mean_perf = {k: float(v.mean()) for k, v in perf.items()}
                bar.set_postfix(
                    loss=f"{float(loss_task.detach().mean()):.4f}",
                    **{k: f"{v:.2f}" for k, v in mean_perf.items()},
                )
                if options.target_performance is not None:
                    fresh = evaluate(model, task, batch_size=options.eval_batch_size)
                    worst = min(min(v) for v in fresh.values())
                    for row in state.metrics[-len(seeds) :]:
                        row["eval_min_performance"] = worst
                    if worst >= options.target_performance:
                        state.target_reached = True
                        if on_checkpoint is not None:
                            on_checkpoint(state)
                        break
            keep = options.keep_weights_every
            if on_checkpoint is not None and (
                state.step % options.checkpoint_every == 0
                or state.step == last
                or (keep is not None and state.step % keep == 0)
            ):
                on_checkpoint(state)
            if stop.requested:
                # a clean stop at a step boundary: checkpointed, so a resume loses nothing
                if on_checkpoint is not None:
                    on_checkpoint(state)
                raise KeyboardInterrupt(f"stopped by signal at step {state.step}")
    finally:
        bar.close()
        stop.restore()
    return state


class _StopOnSignal:
    """While training, SIGINT and SIGTERM (Ctrl-C, `kill`, a scheduler's time limit) only ask
    the loop to stop after the current step; a second SIGINT stops at once. Handlers can only
    be set from the main thread; elsewhere signals act as usual."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: dict[int, Any] = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._previous[sig] = signal.signal(sig, self._handle)

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested and signum == signal.SIGINT:
            raise KeyboardInterrupt
        self.requested = True

    def restore(self) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)


@torch.no_grad()
def evaluate(
    model: Network, task, *, batch_size: int = 256, seed_stream: str = "eval"
) -> dict[str, list[float]]:
    """Performance per task and member on fresh trials (with the network's noise).

    Uses generators derived from each member's seed and the stream name, so the numbers are
    reproducible and independent of training's random streams.

    Returns
    -------
    dict of task name to a list of E performances
    """
    seeds = model.spec.seeds
    batch = sample_ensemble(task, batch_size, member_generators(seeds, seed_stream))
    traj = model(batch.x, generators=member_generators(seeds, "noise"))
    return {k: v.tolist() for k, v in task.performance_by_task(traj.outputs, batch).items()}
