"""Penalties: small objects whose values the trainer adds to each member's task loss.

A penalty is a frozen dataclass of its hyper-parameters (`RateL2(0.01)`), so it can be
compared, written into a config and reused; what it learns while training (anchors,
importances) is a state it makes with `init` and that the trainer keeps and checkpoints
beside the model. The trainer sums a list of them, as optax chains its transformations::

    options = TrainOptions(penalties=(RateL2(0.01), IntelligentSynapses(0.1)))

Each penalty answers the same calls, at fixed points of a training step and of a curriculum:

- `init(model)`: its state before training (empty for the stateless ones);
- `value(state, model, trajectory, batch)`: its term in each member's loss, `[E]`;
- `after_backward(state, model)` (gradients there, not yet clipped) and
  `after_update(state, model)` (the optimiser has stepped and the weights are projected);
- `end_stage(state, model, task, stage=k)`: curriculum stage k on `task` has ended.

In YAML a config names them by their keys under `train:` (`l2_rate`, `l2_weight`,
`intelligent_synapses`, `intelligent_synapses_damping`, `ewc`, `ewc_batches`,
`speed_penalty`); `neurodyn.runs.config` maps those keys to these objects.

Every tensor of a state has the model's leading ensemble axis: each network keeps its own.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
from torch import Tensor

from neurodyn.errors import ConfigError
from neurodyn.train._streams import member_generators, sample_ensemble
from neurodyn.train.losses import rate_l2, speed_at_class_centres, task_loss, weight_l2

if TYPE_CHECKING:
    from neurodyn.models import Network, Trajectory
    from neurodyn.tasks import Batch

# A penalty's state: named tensors or dicts of them (per parameter). Keys starting with "_"
# hold what one training step passes from one call to the next and are not checkpointed.
PenaltyState = dict[str, Any]


class Penalty(ABC):
    """A term of each member's loss, with the hooks a stateful one needs (see the module
    docstring). The hooks do nothing unless a penalty overrides them (hence B027: empty on
    purpose, not forgotten abstract methods)."""

    def init(self, model: Network) -> PenaltyState:
        """The state before training (what `value` and the hooks read and update)."""
        return {}

    @abstractmethod
    def value(
        self, state: PenaltyState, model: Network, trajectory: Trajectory, batch: Batch
    ) -> Tensor:
        """The penalty of each member on this training step: `[E]`."""

    def after_backward(self, state: PenaltyState, model: Network) -> None:  # noqa: B027
        """Gradients of the whole loss are in `model`'s parameters (not yet clipped)."""

    def after_update(self, state: PenaltyState, model: Network) -> None:  # noqa: B027
        """The optimiser has stepped and the weights are back on what the spec allows."""

    def end_stage(self, state: PenaltyState, model: Network, task: Any, *, stage: int) -> None:  # noqa: B027
        """Curriculum stage `stage`, trained on `task`, has ended."""


def _non_negative(name: str, value: float) -> None:
    if value < 0:
        raise ConfigError(f"{name} must be non-negative, got {value}")


@dataclass(frozen=True)
class RateL2(Penalty):
    """`weight` times the mean squared rate of each member (`rate_l2`)."""

    weight: float

    def __post_init__(self) -> None:
        _non_negative("the rate L2 weight", self.weight)

    def value(
        self, state: PenaltyState, model: Network, trajectory: Trajectory, batch: Batch
    ) -> Tensor:
        return self.weight * rate_l2(trajectory.states)


@dataclass(frozen=True)
class SpikeRate(Penalty):
    """`weight` times the mean over neurons of (rate - target)^2 per member, each neuron's rate
    in Hz over the batch's steps and trials (`l2_spike_rate`, `target_rate_hz`): the firing-rate
    regulariser of spiking cells (Zenke & Vogels 2021 use a quadratic rate penalty). Gradients
    reach the spikes through the cell's surrogate."""

    weight: float
    target_hz: float = 0.0

    def __post_init__(self) -> None:
        _non_negative("the spike-rate weight", self.weight)
        _non_negative("the target rate", self.target_hz)

    def value(
        self, state: PenaltyState, model: Network, trajectory: Trajectory, batch: Batch
    ) -> Tensor:
        spikes_of = getattr(model, "spikes", None)
        if spikes_of is None:
            raise ConfigError(
                f"l2_spike_rate applies to spiking cells (lif), not to {model.spec.cell}: "
                "use l2_rate"
            )
        rate_hz = spikes_of(trajectory.states).mean(dim=(0, 2)) * (1000.0 / model.spec.dt_ms)
        return self.weight * ((rate_hz - self.target_hz) ** 2).mean(dim=-1)


@dataclass(frozen=True)
class WeightL2(Penalty):
    """`weight` times the mean squared input, recurrent and output weight (`weight_l2`)."""

    weight: float

    def __post_init__(self) -> None:
        _non_negative("the weight L2 weight", self.weight)

    def value(
        self, state: PenaltyState, model: Network, trajectory: Trajectory, batch: Batch
    ) -> Tensor:
        return self.weight * weight_l2(model)


@dataclass(frozen=True)
class SpeedAtClassCentres(Penalty):
    """Haviv et al.'s (2019) speed regulariser: `weight` times the network's mean squared speed
    at the classes' centres of mass over the memory period (`speed_at_class_centres`), for
    tasks whose trials carry `shown`, `query` and `label` (e.g. delayed_classification)."""

    weight: float

    def __post_init__(self) -> None:
        _non_negative("the speed penalty's weight", self.weight)

    def value(
        self, state: PenaltyState, model: Network, trajectory: Trajectory, batch: Batch
    ) -> Tensor:
        return self.weight * speed_at_class_centres(model, trajectory.states, batch.x, batch.trial)


def _anchored_sum(state: PenaltyState, model: Network) -> Tensor:
    """`sum importance (theta - anchor)^2` over every parameter, per member: `[E]`."""
    total: Tensor | int = 0
    for k, p in model.named_parameters():
        term = state["importance"][k] * (p - state["anchor"][k]) ** 2
        total = total + term.reshape(term.shape[0], -1).sum(1)
    return total  # type: ignore[return-value]


@dataclass(frozen=True)
class IntelligentSynapses(Penalty):
    """The intelligent-synapses penalty (Zenke, Poole & Ganguli 2017) as Yang et al. (2019)
    use it to learn task groups one after another (gyyang/multitask `train.py`,
    `train_sequential`).

    While a group is trained, each parameter accumulates its contribution to the fall of the
    task loss, `omega -= (theta_new - theta_old) * grad` (the gradient of the task loss alone,
    without this penalty's). When the group ends, its importance joins the others',
    `Omega <- relu(Omega + omega / (delta^2 + xi))` with `delta` the parameter's change over
    the group, the anchor moves to the current weights and `omega` restarts. Later groups pay
    `c * sum Omega (theta - anchor)^2` per network, so important weights stay near where the
    earlier tasks need them.

    Parameters
    ----------
    strength : float
        `c`, the penalty's weight (Yang et al. use 0.1).
    damping : float
        `xi`, keeps the importance finite for parameters that barely moved (0.01).

    Notes
    -----
    Its state holds `anchor`, `importance` (Omega) and `path` (omega), each a dict of parameter
    name to a tensor of that parameter's shape.
    """

    strength: float
    damping: float = 0.01

    def __post_init__(self) -> None:
        _non_negative("the intelligent synapses' strength", self.strength)
        if self.damping <= 0:
            raise ConfigError(
                f"the intelligent synapses' damping must be positive, got {self.damping}"
            )

    def init(self, model: Network) -> PenaltyState:
        params = dict(model.named_parameters())
        return {
            "anchor": {k: p.detach().clone() for k, p in params.items()},
            "importance": {k: torch.zeros_like(p) for k, p in params.items()},
            "path": {k: torch.zeros_like(p) for k, p in params.items()},
        }

    def value(
        self, state: PenaltyState, model: Network, trajectory: Trajectory, batch: Batch
    ) -> Tensor:
        return self.strength * _anchored_sum(state, model)

    @torch.no_grad()
    def after_backward(self, state: PenaltyState, model: Network) -> None:
        """Keep the weights and the gradient of the task loss alone (this penalty's own
        gradient, `2 c Omega (theta - anchor)`, removed)."""
        before, grads = state.setdefault("_before", {}), state.setdefault("_grad", {})
        for k, p in model.named_parameters():
            before[k] = p.detach().clone()
            grad = torch.zeros_like(p) if p.grad is None else p.grad.detach().clone()
            grads[k] = grad - 2 * self.strength * state["importance"][k] * (p - state["anchor"][k])

    @torch.no_grad()
    def after_update(self, state: PenaltyState, model: Network) -> None:
        """`omega -= (theta_new - theta_old) * grad`."""
        for k, p in model.named_parameters():
            state["path"][k] -= (p.detach() - state["_before"][k]) * state["_grad"][k]

    @torch.no_grad()
    def end_stage(self, state: PenaltyState, model: Network, task: Any, *, stage: int) -> None:
        """Fold the group's path integral into the importance, move the anchor to the current
        weights and restart the path integral."""
        for k, p in model.named_parameters():
            delta = p.detach() - state["anchor"][k]
            state["importance"][k] = torch.relu(
                state["importance"][k] + state["path"][k] / (delta**2 + self.damping)
            )
            state["anchor"][k] = p.detach().clone()
            state["path"][k] = torch.zeros_like(p)


@dataclass(frozen=True)
class ElasticWeightConsolidation(Penalty):
    """The EWC penalty (Kirkpatrick et al. 2017), the alternative to intelligent synapses: when
    a group ends, each weight's importance grows by the diagonal of the Fisher information on
    that group's tasks (the mean squared gradient of the task loss over `n_batches` batches of
    one trial per task), the anchor moves to the current weights, and later groups pay
    `strength / 2 * sum importance (theta - anchor)^2` per network.

    State: `anchor` and `importance`, dicts of parameter name to tensor.
    """

    strength: float
    n_batches: int = 32

    def __post_init__(self) -> None:
        _non_negative("the EWC strength", self.strength)
        if self.n_batches < 1:
            raise ConfigError(f"EWC needs at least 1 batch for its Fisher, got {self.n_batches}")

    def init(self, model: Network) -> PenaltyState:
        params = dict(model.named_parameters())
        return {
            "anchor": {k: p.detach().clone() for k, p in params.items()},
            "importance": {k: torch.zeros_like(p) for k, p in params.items()},
        }

    def value(
        self, state: PenaltyState, model: Network, trajectory: Trajectory, batch: Batch
    ) -> Tensor:
        return 0.5 * self.strength * _anchored_sum(state, model)

    def end_stage(self, state: PenaltyState, model: Network, task: Any, *, stage: int) -> None:
        # the Fisher from the smallest batches the stage's task allows (one trial per task
        # trained): batch-mean gradients would average most of it away
        weights = getattr(task, "weights", None) or (1.0,) * len(task.task_names)
        smallest = sum(w > 0 for w in weights)
        self.consolidate(state, model, task_gradients(model, task, smallest, self.n_batches, stage))

    @torch.no_grad()
    def consolidate(
        self, state: PenaltyState, model: Network, gradients: list[dict[str, Tensor]]
    ) -> None:
        """Add the Fisher diagonal of `gradients` (the task loss's gradients on a few batches,
        one dict of parameter gradients per batch) to the importance; anchor the weights."""
        for k, p in model.named_parameters():
            fisher = torch.stack([g[k] ** 2 for g in gradients]).mean(0)
            state["importance"][k] = state["importance"][k] + fisher
            state["anchor"][k] = p.detach().clone()


def task_gradients(
    model: Network, task: Any, batch_size: int, n_batches: int, stage: int
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
