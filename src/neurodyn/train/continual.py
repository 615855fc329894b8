"""Continual learning: the intelligent-synapses penalty (Zenke, Poole & Ganguli 2017) as Yang et
al. (2019) use it to learn task groups one after another.

While a group is trained, each parameter accumulates its contribution to the fall of the task
loss, `omega -= (theta_new - theta_old) * grad` (the gradient of the task loss alone, without
the penalty). When the group ends, its importance joins the others',
`Omega <- relu(Omega + omega / (delta^2 + xi))` with `delta` the parameter's change over the
group, the anchor moves to the current weights and `omega` restarts. Later groups pay
`c * sum Omega (theta - anchor)^2` (per network), so important weights stay near where the
earlier tasks need them. (As gyyang/multitask `train.py`, `train_sequential`.)

Every tensor has the model's leading ensemble axis: each network keeps its own importances.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class SynapticIntelligence:
    """Importance bookkeeping and penalty for the parameters of one model.

    Parameters
    ----------
    model : nn.Module whose parameters have a leading ensemble axis E
    strength : float
        `c`, the penalty's weight.
    damping : float
        `xi`, keeps the importance finite for parameters that barely moved.
    """

    def __init__(self, model: nn.Module, strength: float, damping: float = 0.01) -> None:
        self.strength = strength
        self.damping = damping
        params = dict(model.named_parameters())
        self.anchor = {k: p.detach().clone() for k, p in params.items()}
        self.importance = {k: torch.zeros_like(p) for k, p in params.items()}  # Omega
        self.path = {k: torch.zeros_like(p) for k, p in params.items()}  # omega
        self._before: dict[str, Tensor] = {}
        self._grad: dict[str, Tensor] = {}

    def penalty(self, model: nn.Module) -> Tensor:
        """`c * sum Omega (theta - anchor)^2` per network: `[E]`."""
        total: Tensor | int = 0
        for k, p in model.named_parameters():
            term = self.importance[k] * (p - self.anchor[k]) ** 2
            total = total + term.reshape(term.shape[0], -1).sum(1)
        return self.strength * total  # type: ignore[return-value]

    @torch.no_grad()
    def before_step(self, model: nn.Module) -> None:
        """Call after `backward()` (before clipping): keep the weights and the gradient of the
        task loss alone (the penalty's own gradient, `2 c Omega (theta - anchor)`, removed)."""
        for k, p in model.named_parameters():
            self._before[k] = p.detach().clone()
            grad = torch.zeros_like(p) if p.grad is None else p.grad.detach().clone()
            self._grad[k] = grad - 2 * self.strength * self.importance[k] * (p - self.anchor[k])

    @torch.no_grad()
    def after_step(self, model: nn.Module) -> None:
        """Call after the optimiser's step: `omega -= (theta_new - theta_old) * grad`."""
        for k, p in model.named_parameters():
            self.path[k] -= (p.detach() - self._before[k]) * self._grad[k]

    @torch.no_grad()
    def consolidate(self, model: nn.Module) -> None:
        """End of a task group: fold its path integral into the importance, move the anchor
        to the current weights and restart the path integral."""
        for k, p in model.named_parameters():
            delta = p.detach() - self.anchor[k]
            self.importance[k] = torch.relu(
                self.importance[k] + self.path[k] / (delta**2 + self.damping)
            )
            self.anchor[k] = p.detach().clone()
            self.path[k] = torch.zeros_like(p)

    def state_dict(self) -> dict[str, dict[str, Tensor]]:
        return {"anchor": self.anchor, "importance": self.importance, "path": self.path}

    def load_state_dict(self, state: dict[str, dict[str, Tensor]]) -> None:
        self.anchor = {k: v.clone() for k, v in state["anchor"].items()}
        self.importance = {k: v.clone() for k, v in state["importance"].items()}
        self.path = {k: v.clone() for k, v in state["path"].items()}


class ElasticWeightConsolidation:
    """The EWC penalty (Kirkpatrick et al. 2017), the alternative to intelligent synapses: when
    a group ends, each weight's importance grows by the diagonal of the Fisher information on
    that group's tasks (the mean squared gradient of the task loss over a few batches), the
    anchor moves to the current weights, and later groups pay
    `strength / 2 * sum importance (theta - anchor)^2` per network."""

    def __init__(self, model: nn.Module, strength: float) -> None:
        self.strength = strength
        params = dict(model.named_parameters())
        self.anchor = {k: p.detach().clone() for k, p in params.items()}
        self.importance = {k: torch.zeros_like(p) for k, p in params.items()}

    def penalty(self, model: nn.Module) -> Tensor:
        """`strength / 2 * sum F (theta - anchor)^2` per network: `[E]`."""
        total: Tensor | int = 0
        for k, p in model.named_parameters():
            term = self.importance[k] * (p - self.anchor[k]) ** 2
            total = total + term.reshape(term.shape[0], -1).sum(1)
        return 0.5 * self.strength * total  # type: ignore[return-value]

    def before_step(self, model: nn.Module) -> None:
        """Nothing to record during a group."""

    def after_step(self, model: nn.Module) -> None:
        """Nothing to record during a group."""

    @torch.no_grad()
    def consolidate(self, model: nn.Module, gradients: list[dict[str, Tensor]]) -> None:
        """End of a group: `gradients` are the task loss's gradients on a few of its batches."""
        for k, p in model.named_parameters():
            fisher = torch.stack([g[k] ** 2 for g in gradients]).mean(0)
            self.importance[k] = self.importance[k] + fisher
            self.anchor[k] = p.detach().clone()

    def state_dict(self) -> dict[str, dict[str, Tensor]]:
        return {"anchor": self.anchor, "importance": self.importance}

    def load_state_dict(self, state: dict[str, dict[str, Tensor]]) -> None:
        self.anchor = {k: v.clone() for k, v in state["anchor"].items()}
        self.importance = {k: v.clone() for k, v in state["importance"].items()}
