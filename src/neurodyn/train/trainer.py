"""Backpropagation through time with Adam, for an ensemble of networks at once.

Every member of the ensemble is trained exactly as if it were alone: its own data stream and
noise (from its own seed), its own loss, its own gradient clipping. Adam is elementwise, so
the ensemble's optimiser is E independent optimisers. This is what makes an E=3 ensemble equal
three single runs, and resuming from a checkpoint equal an uninterrupted run.
"""

from __future__ import annotations

import math
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from neurodyn._malloc import keep_freed_memory
from neurodyn._progress import Progress
from neurodyn.errors import ConfigError, TrainingDiverged
from neurodyn.models import Network
from neurodyn.models.recurrence import requested_engine
from neurodyn.train._streams import member_generators, sample_ensemble
from neurodyn.train.losses import task_loss
from neurodyn.train.penalties import Penalty, PenaltyState

# Trials in one batch: far above what trains well on any machine, below what exhausts memory.
MAX_BATCH = 1_000_000


@dataclass(frozen=True)
class TrainOptions:
    """How to train. Units: steps are optimiser steps; rates are per step."""

    steps: int = 2000
    batch_size: int = 64
    lr: float = 1e-3
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
    # Terms added to each member's loss, in this order (neurodyn.train.penalties): rate and
    # weight L2, intelligent synapses, EWC, Haviv et al.'s speed regulariser, your own.
    penalties: tuple[Penalty, ...] = ()

    def __post_init__(self) -> None:
        for name in ("steps", "batch_size", "log_every", "checkpoint_every", "eval_batch_size"):
            if getattr(self, name) < 1:
                raise ConfigError(f"train.{name} must be at least 1, got {getattr(self, name)}")
        if self.keep_weights_every is not None and self.keep_weights_every < 1:
            raise ConfigError(
                f"train.keep_weights_every must be at least 1 or null, got {self.keep_weights_every}"
            )
        for name in ("batch_size", "eval_batch_size"):
            if getattr(self, name) > MAX_BATCH:
                raise ConfigError(
                    f"train.{name} must be at most {MAX_BATCH} trials, got {getattr(self, name)}"
                )
        if not 0 < self.lr < math.inf:
            raise ConfigError(f"train.lr must be a finite positive number, got {self.lr}")
        if self.target_performance is not None and not 0 <= self.target_performance <= 1:
            raise ConfigError(
                f"train.target_performance must lie in [0, 1] or be null, got {self.target_performance}"
            )
        bad = [p for p in self.penalties if not isinstance(p, Penalty)]
        if bad:
            raise ConfigError(
                f"train.penalties must be Penalty objects (neurodyn.train.penalties), got {bad}"
            )
        if self.train_only is not None and self.freeze is not None:
            raise ConfigError("give train.train_only or train.freeze, not both")
        if self.clip_grad is not None and not 0 < self.clip_grad < math.inf:
            raise ConfigError(
                f"train.clip_grad must be a finite positive number or null, got {self.clip_grad}"
            )


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
    # the penalties trained with (`options.penalties` when made) and the state of each
    penalties: tuple[Penalty, ...] = ()
    penalty_states: list[PenaltyState] = field(default_factory=list)

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
            penalties=options.penalties,
            penalty_states=[penalty.init(model) for penalty in options.penalties],
        )

    def end_stage(self, task) -> None:
        """Curriculum stage `self.stage`, trained on `task`, has ended: each penalty updates
        its state (intelligent synapses and EWC consolidate what the stage learned)."""
        for penalty, penalty_state in zip(self.penalties, self.penalty_states, strict=True):
            penalty.end_stage(penalty_state, self.model, task, stage=self.stage)

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
            "penalties": [
                {k: v for k, v in s.items() if not k.startswith("_")} for s in self.penalty_states
            ],
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
        saved = state.get("penalties")
        if saved is None and "synapses" in state:
            # a checkpoint from when the one stateful penalty was saved as "synapses"
            saved = [state["synapses"] if s else {} for s in self.penalty_states]
        if saved is not None:
            if len(saved) != len(self.penalty_states):
                raise ConfigError(
                    f"the checkpoint holds {len(saved)} penalty states, the training has "
                    f"{len(self.penalty_states)} penalties: resume with the run's own config"
                )
            for penalty_state, own in zip(self.penalty_states, saved, strict=True):
                penalty_state.update({k: _cloned(v) for k, v in own.items()})


def _cloned(value: Any) -> Any:
    """A checkpoint's tensors (or dicts of them) copied, so the state owns its memory."""
    if isinstance(value, dict):
        return {k: _cloned(v) for k, v in value.items()}
    return value.clone() if isinstance(value, torch.Tensor) else value


def adam(params: list[torch.nn.Parameter], lr: float) -> torch.optim.Optimizer:
    """torch's Adam, fused (one kernel for all parameters) where torch has it for the device
    and dtype: on CPU it is 3x faster than the per-parameter loop, and the same algorithm.
    Under the inductor engine (NEURODYN_ENGINE=inductor) its step is compiled by
    `torch.compile` instead, as the rest of the training step."""
    # (only named, never chosen by `engine`: asking `engine` here would build the C++ loops
    # before the trainer's signal handlers are in place)
    if params and requested_engine() == "inductor":
        optimizer = torch.optim.Adam(params, lr=lr, foreach=False)
        # the step is one graph per parameter set; an instance attribute, so the class and
        # other optimisers are untouched (state_dict and load_state_dict are the class's)
        optimizer.step = torch.compile(optimizer.step, dynamic=False)  # type: ignore[method-assign]
        return optimizer
    try:
        return torch.optim.Adam(params, lr=lr, fused=True)
    except RuntimeError:  # a device or dtype without a fused kernel
        return torch.optim.Adam(params, lr=lr)


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
    on_log: Callable[[TrainState], None] | None = None,
) -> TrainState:
    """Train `state.model` on `task` from `state.step` to `options.steps` (or `until_step`).

    Parameters
    ----------
    state : TrainState
        Modified in place and returned.
    task : Task or Multitask
    options : TrainOptions
        Its penalties must be the state's (`TrainState.new` made their states).
    until_step : int, optional
        Stop early at this step (the run stays resumable).
    on_checkpoint : callable, optional
        Called with the state every `options.checkpoint_every` (and `keep_weights_every`)
        steps and at the end.
    progress : bool
        Show a progress bar with loss and performance.
    on_log : callable, optional
        Called with the state every `options.log_every` steps, once that step's rows (one per
        member) are the last of `state.metrics` (e.g. to send them to TensorBoard).

    Returns
    -------
    TrainState
        `state` itself, trained up to `options.steps` (or `until_step`).

    Raises
    ------
    TrainingDiverged
        When a loss is NaN or infinite. The state is left at the last finished step; nothing is
        checkpointed from the diverged step.
    """
    keep_freed_memory()  # with NEURODYN_MALLOC=keep (the CLI sets it): reuse large blocks
    model = state.model
    last = options.steps if until_step is None else min(until_step, options.steps)
    # a bar on a terminal, a line every few seconds in a log (not one per step)
    bar = Progress("train", last, enabled=progress, initial=state.step)
    seeds = model.spec.seeds
    if options.penalties != state.penalties:
        raise ConfigError(
            "fit's options have other penalties than the state was made with; make the state "
            "with TrainState.new(model, options)"
        )
    # the penalties the state was made with: they own its penalty states
    penalties = list(zip(state.penalties, state.penalty_states, strict=True))
    stop = _StopOnSignal()
    try:
        while state.step < last:
            batch = sample_ensemble(
                task, options.batch_size, state.data_generators, step=state.step
            )
            traj = model(batch.x, generators=state.noise_generators)
            loss_task = task_loss(task, traj.outputs, batch)  # [E]
            loss = loss_task
            for penalty, penalty_state in penalties:
                loss = loss + penalty.value(penalty_state, model, traj, batch)
            if not torch.isfinite(loss).all():
                bad = [seeds[e] for e in torch.nonzero(~torch.isfinite(loss)).flatten().tolist()]
                raise TrainingDiverged(
                    f"the loss became {loss.detach().tolist()} at step {state.step + 1} "
                    f"(seeds {bad}). Lower train.lr or set train.clip_grad"
                )
            state.optimizer.zero_grad(set_to_none=True)
            # Members are independent, so the sum's gradient is each member's own gradient.
            loss.sum().backward()
            for penalty, penalty_state in penalties:
                penalty.after_backward(penalty_state, model)
            if options.clip_grad is not None:
                clip_per_member(model, options.clip_grad)
            state.optimizer.step()
            model.constrain_()  # Dale's law, masks: back onto the allowed weights
            for penalty, penalty_state in penalties:
                penalty.after_update(penalty_state, model)
            state.step += 1
            bar.advance()

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
                if on_log is not None:
                    on_log(state)
                mean_perf = {k: float(v.mean()) for k, v in perf.items()}
                bar.note(
                    f"loss={float(loss_task.detach().mean()):.4f}, "
                    + ", ".join(f"{k}={v:.2f}" for k, v in mean_perf.items())
                )
                if options.target_performance is not None:
                    worst = evaluate(model, task, batch_size=options.eval_batch_size).worst
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
        bar.close(ok=state.step >= last or state.target_reached)
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


@dataclass(frozen=True)
class Evaluation:
    """Performance on fresh trials, per task and ensemble member.

    Attributes
    ----------
    performance : dict of task name to a tuple of E performances (one per member, in order)
    seeds : tuple of E ints
        The members' seeds.
    """

    performance: dict[str, tuple[float, ...]]
    seeds: tuple[int, ...]

    @property
    def mean(self) -> dict[str, float]:
        """Performance per task, averaged over the members."""
        return {k: sum(v) / len(v) for k, v in self.performance.items()}

    @property
    def worst(self) -> float:
        """The lowest performance of any member on any task."""
        return min(min(v) for v in self.performance.values())


@torch.no_grad()
def evaluate(
    model: Network, task, *, batch_size: int = 256, seed_stream: str = "eval"
) -> Evaluation:
    """Performance per task and member on fresh trials (with the network's noise).

    Uses generators derived from each member's seed and the stream name, so the numbers are
    reproducible and independent of training's random streams.

    Parameters
    ----------
    model : Network
        The E networks to evaluate.
    task : Task or Multitask
        Its trials `x: [T, B, I]`; a Multitask is scored per task.
    batch_size : int
        Trials B per task.
    seed_stream : str
        Name of the random stream derived from each member's seed.

    Returns
    -------
    Evaluation
        `performance[task]`: a tuple of E scores, one per member.

    Example
    -------
    >>> from neurodyn import tasks
    >>> from neurodyn.models import CTRNN, NetworkSpec
    >>> task = tasks.get("pdm")
    >>> model = CTRNN(NetworkSpec(task.n_inputs, 8, task.n_outputs, seeds=(1, 2)))
    >>> result = evaluate(model, task, batch_size=16)
    >>> list(result.performance), len(result.performance["pdm"])
    (['pdm'], 2)
    """
    seeds = model.spec.seeds
    batch = sample_ensemble(task, batch_size, member_generators(seeds, seed_stream))
    traj = model(batch.x, generators=member_generators(seeds, "noise"))
    by_task = task.performance_by_task(traj.outputs, batch)
    return Evaluation(
        performance={k: tuple(v.tolist()) for k, v in by_task.items()}, seeds=tuple(seeds)
    )
