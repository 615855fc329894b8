"""Masked task losses and regularisers, one value per ensemble member."""

from __future__ import annotations

import torch
from torch import Tensor

from neurodyn.tasks import Batch
from neurodyn.tasks.haviv import class_centres


def masked_mse(outputs: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    """Weighted mean squared error per member.

    Parameters
    ----------
    outputs, targets, mask : Tensor [T, E, B, O]

    Returns
    -------
    Tensor [E]
        `sum(mask * (out - y)**2) / count(mask > 0)` over T, B, O.
    """
    dims = (0, 2, 3)
    count = (mask > 0).sum(dims).clamp(min=1)
    return (mask * (outputs - targets) ** 2).sum(dims) / count


def masked_cross_entropy(outputs: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    """Weighted cross-entropy per member, over the classes on the last axis.

    Parameters
    ----------
    outputs : Tensor [T, E, B, O]
        Logits.
    targets : Tensor [T, E, B, O]
        One-hot classes.
    mask : Tensor [T, E, B, O]
        Step weights (the same on every class; the largest is used).

    Returns
    -------
    Tensor [E]
    """
    weight = mask.amax(-1)
    nll = -(targets * torch.log_softmax(outputs, dim=-1)).sum(-1)
    count = (weight > 0).sum((0, 2)).clamp(min=1)
    return (weight * nll).sum((0, 2)) / count


def masked_binary_cross_entropy(outputs: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    """Weighted binary cross-entropy per member, each output its own yes/no report.

    Parameters
    ----------
    outputs : Tensor [T, E, B, O]
        Logits, one per report.
    targets : Tensor [T, E, B, O]
        The probability of "yes" each report is trained towards (0, 1, or between).
    mask : Tensor [T, E, B, O]
        Weight of each entry.

    Returns
    -------
    Tensor [E]
        `sum(mask * bce) / count(mask > 0)` over T, B, O.
    """
    bce = torch.nn.functional.binary_cross_entropy_with_logits(
        outputs, targets.expand_as(outputs), reduction="none"
    )
    dims = (0, 2, 3)
    count = (mask > 0).sum(dims).clamp(min=1)
    return (mask * bce).sum(dims) / count


def masked_poisson(outputs: Tensor, targets: Tensor, mask: Tensor) -> Tensor:
    """Weighted Poisson negative log-likelihood per member, outputs read as log-rates.

    Parameters
    ----------
    outputs : Tensor [T, E, B, O]
        Log of the expected count of each bin.
    targets : Tensor [T, E, B, O]
        Observed counts.
    mask : Tensor [T, E, B, O]

    Returns
    -------
    Tensor [E]
        `sum(mask * (exp(out) - y out + log y!)) / count(mask > 0)` over T, B, O: the
        negative log-likelihood per entry (the `log y!` term does not depend on the outputs).
    """
    nll = outputs.exp() - targets * outputs + torch.lgamma(targets + 1)
    dims = (0, 2, 3)
    count = (mask > 0).sum(dims).clamp(min=1)
    return (mask * nll).sum(dims) / count


LOSSES = {
    "mse": masked_mse,
    "poisson": masked_poisson,
    "cross_entropy": masked_cross_entropy,
    "binary_cross_entropy": masked_binary_cross_entropy,
}


def task_loss(task, outputs: Tensor, batch: Batch) -> Tensor:
    """The loss each task declares, averaged over the tasks of a `Multitask`.

    Parameters
    ----------
    task : Task or Multitask
    outputs : Tensor [T, E, B, O]
    batch : Batch with `x [T, E, B, I]` (one stream per member) or `[T, B, I]` (shared)

    Returns
    -------
    Tensor [E]
    """
    losses = []
    for piece_task, piece_out, piece in task.split(outputs, batch):
        y, mask = piece.y, piece.mask
        if y.dim() == 3:
            y, mask = y[:, None], mask[:, None]
        losses.append(LOSSES[piece_task.loss](piece_out, y, mask))
    return torch.stack(losses).mean(0)


def rate_l2(states: Tensor) -> Tensor:
    """Mean squared rate per member: `states [T, E, B, N]` -> `[E]`."""
    return (states**2).mean((0, 2, 3))


def weight_l2(model) -> Tensor:
    """Mean squared weight per member, summed over the input, recurrent and output matrices."""
    return sum((w**2).mean((1, 2)) for w in (model.W_in, model.W_rec, model.W_out))


def speed_at_class_centres(
    model, states: Tensor, inputs: Tensor, trial: dict[str, Tensor]
) -> Tensor:
    """Haviv et al.'s speed regulariser: the mean squared speed `|F(c, x) - c|^2` of the
    network at each class's centre of mass over the memory period (x the mean input there),
    per member `[E]`. Penalising it makes the classes' memories sit at slow points, which
    hold them for longer than trained."""
    n_classes = int(trial["label"].max()) + 1
    found = class_centres(states, inputs, trial, n_classes)
    centres, present = found.centres, found.present
    speed = ((model.step(centres, found.mean_input) - centres) ** 2).sum(-1)  # [E, C]
    return (speed * present).sum(1) / present.sum(1).clamp(min=1)
