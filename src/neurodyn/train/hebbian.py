"""Storing a context in the engram network (`neurodyn.models.engram`) with a local Hebbian
rule: the units active during encoding (the c-Fos-tagged engram) strengthen their mutual
synapses.

The rule is the clipped, presynaptic-and-postsynaptic one of tagging accounts of engram
formation: with `a_i = 1` when unit i's rate exceeds `threshold` during encoding,

    W_ij <- W_ij + (lr / N) a_i a_j    (i != j)

Each unit of an engram then receives `lr` times the fraction of the network that shares its
engram and is active, so a larger engram stores a stronger attractor: the recurrent drive that
completes a partial cue grows with the engram's density.
"""

from __future__ import annotations

import dataclasses

import torch
from torch import Tensor

from neurodyn.errors import ConfigError, ShapeError
from neurodyn.models.engram import EngramNetwork

__all__ = ["store_engram"]


def store_engram(
    network: EngramNetwork, rates: Tensor, *, lr: float, threshold: float = 0.0
) -> EngramNetwork:
    """The network after storing an activity with the module's Hebbian rule; the network
    given is left as it was.

    Parameters
    ----------
    network : EngramNetwork
        Its recurrent weights `[E, N, N]` are added to.
    rates : [E, N]
        The activity at encoding, one context per network.
    lr : float
        The Hebbian rate.
    threshold : float
        A unit above it is in the engram.

    Returns
    -------
    EngramNetwork
        The same network with `recurrent + (lr / N) a a^T` (zero diagonal).

    Example
    -------
    >>> from neurodyn.models.engram import init_engram_network
    >>> net = init_engram_network(4, 2, seed=0)
    >>> stored = store_engram(net, torch.tensor([[1.0, 0.5, 0.0, 0.0]]), lr=4.0)
    >>> stored.recurrent[0].tolist()
    [[0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0], [0.0, 0.0, 0.0, 0.0]]
    """
    if rates.shape != (network.n_networks, network.n_units):
        raise ShapeError(
            f"rates must be [E={network.n_networks}, N={network.n_units}], got {list(rates.shape)}"
        )
    if lr < 0:
        raise ConfigError(f"the Hebbian rate lr must be >= 0, got {lr}")
    active = (rates > threshold).to(network.recurrent.dtype)
    update = torch.einsum("ei,ej->eij", active, active) * (lr / network.n_units)
    update = update - torch.diag_embed(torch.diagonal(update, dim1=1, dim2=2))
    return dataclasses.replace(network, recurrent=network.recurrent + update)
