"""Reproducible held-out neurons and trials, as the Neural Latents Benchmark splits its data.

A model is fitted on the held-in neurons of the training trials; on the test trials it sees the
held-in neurons only and predicts the held-out ones (co-smoothing,
`neurodyn.analysis.recovery.co_smoothing`).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from neurodyn.errors import ArgumentError


@dataclass(frozen=True)
class Split:
    """Which trials and neurons are held out.

    Attributes
    ----------
    train_trials, test_trials : Tensor [B_train], [B_test]
        Trial indices, sorted; together every trial once.
    heldin_neurons, heldout_neurons : Tensor [N_in], [N_out]
        Neuron indices, sorted; together every neuron once.
    seed : int
        The seed that drew them.
    """

    train_trials: Tensor
    test_trials: Tensor
    heldin_neurons: Tensor
    heldout_neurons: Tensor
    seed: int

    def __repr__(self) -> str:
        return (
            f"Split(trials {len(self.train_trials)} train / {len(self.test_trials)} test, "
            f"neurons {len(self.heldin_neurons)} held in / {len(self.heldout_neurons)} held out, "
            f"seed={self.seed})"
        )


def _part(
    size: int, fraction: float, what: str, generator: torch.Generator
) -> tuple[Tensor, Tensor]:
    if not 0 <= fraction < 1:
        raise ArgumentError(f"heldout_{what}s must lie in [0, 1), got {fraction}")
    n_out = round(fraction * size)
    if fraction > 0 and n_out == 0:
        n_out = 1
    if size - n_out < 1:
        raise ArgumentError(
            f"holding out {fraction:g} of {size} {what}s leaves none to fit; hold out fewer"
        )
    order = torch.randperm(size, generator=generator)
    return order[n_out:].sort().values, order[:n_out].sort().values


def split(
    n_trials: int,
    n_neurons: int,
    *,
    heldout_trials: float = 0.2,
    heldout_neurons: float = 0.25,
    seed: int = 0,
) -> Split:
    """Held-out trials and neurons drawn from `seed` (the same seed, the same split).

    Parameters
    ----------
    n_trials, n_neurons : int
        The recording's B and N_obs.
    heldout_trials, heldout_neurons : float
        Fractions held out, in [0, 1) (at least one when positive).
    seed : int

    Returns
    -------
    Split

    Example
    -------
    >>> s = split(10, 8, heldout_trials=0.2, heldout_neurons=0.25, seed=1)
    >>> len(s.test_trials), len(s.heldout_neurons)
    (2, 2)
    """
    generator = torch.Generator().manual_seed(int(seed))
    train, test = _part(n_trials, heldout_trials, "trial", generator)
    heldin, heldout = _part(n_neurons, heldout_neurons, "neuron", generator)
    return Split(train, test, heldin, heldout, int(seed))
