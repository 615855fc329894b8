"""A recurrent memory network whose allocation is set by competitive inhibition, after the
engram-allocation account of Ramsaran et al. (Science 2023), "A shift in the mechanisms
controlling hippocampal engram formation during brain maturation".

N excitatory rate units (CA1 pyramidal cells) receive a feedforward drive from a context (an
input pattern of M features through fixed random weights), an intrinsic excitability of their
own (the allocation variable: the more excitable units win) and recurrent excitation, and share
one inhibitory population (PV interneurons) driven by their mean rate:

    tau     dr/dt = -r + clip(d + W r - p, 0, 1)
    tau_pv  dp/dt = -p + g mean(r)
    d = baseline + W_in x + excitability (+ a manipulation's shift)

with rates in [0, 1] (saturating, so strong recurrent excitation cannot run away). The PV
strength g is the maturation axis: weak inhibition lets many units past the shared threshold
(dense allocation), strong inhibition only the most driven ones (sparse allocation).
k-winners-take-all is the hard limit of the competition: the threshold sits exactly at the
(k+1)-th largest input, so k units are active whatever the drive (`KWinnersTakeAll`).

The network is batched: E networks (an ensemble of seeds) side by side, each settled on C
contexts at once. Shapes: `input_weights [E, N, M]`, `excitability [E, N]`,
`recurrent [E, N, N]` (row: to, column: from), contexts `[E, C, M]`, drives and rates
`[E, C, N]`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import Tensor

from neurodyn.errors import ConfigError, ShapeError

__all__ = [
    "EngramNetwork",
    "KWinnersTakeAll",
    "PVInhibition",
    "context_pair",
    "init_engram_network",
    "settle",
]


@dataclass(frozen=True)
class PVInhibition:
    """Feedback inhibition from one PV-like population: `p` follows `strength * mean(r)` with
    time constant `tau_ratio * tau` (PV cells are fast). `strength` is the maturation axis."""

    strength: float
    tau_ratio: float = 0.5

    def __post_init__(self) -> None:
        if self.strength < 0 or not math.isfinite(self.strength):
            raise ConfigError(f"PV inhibition strength must be >= 0, got {self.strength}")
        if self.tau_ratio <= 0:
            raise ConfigError(f"PV tau_ratio must be > 0, got {self.tau_ratio}")


@dataclass(frozen=True)
class KWinnersTakeAll:
    """The limit of strong competition: the k units with the largest input are active, the
    threshold at the (k+1)-th largest input (so exactly k units have a positive rate)."""

    k: int

    def __post_init__(self) -> None:
        if self.k < 1:
            raise ConfigError(f"k-winners-take-all needs k >= 1, got {self.k}")


Allocation = PVInhibition | KWinnersTakeAll


@dataclass(frozen=True)
class EngramNetwork:
    """The network's parameters (see the module docstring): `input_weights [E, N, M]`,
    `excitability [E, N]`, `recurrent [E, N, N]` and the drive's `baseline`."""

    input_weights: Tensor
    excitability: Tensor
    recurrent: Tensor
    baseline: float

    @property
    def n_networks(self) -> int:
        return self.input_weights.shape[0]

    @property
    def n_units(self) -> int:
        return self.input_weights.shape[1]

    @property
    def n_inputs(self) -> int:
        return self.input_weights.shape[2]

    def drive(self, contexts: Tensor, shift: Tensor | None = None) -> Tensor:
        """The feedforward drive `d [E, C, N]` of contexts `[E, C, M]`; `shift [E, N]` (or one
        broadcastable to it) adds to every unit's excitability, as a chemogenetic manipulation
        does (hM4Di lowers it, hM3Dq raises it)."""
        if contexts.ndim != 3 or contexts.shape[0] != self.n_networks:
            raise ShapeError(
                f"contexts must be [E={self.n_networks}, C, M={self.n_inputs}], got "
                f"{list(contexts.shape)}"
            )
        if contexts.shape[2] != self.n_inputs:
            raise ShapeError(
                f"contexts have {contexts.shape[2]} features, the network {self.n_inputs}"
            )
        excitability = self.excitability if shift is None else self.excitability + shift
        feedforward = torch.einsum("enm,ecm->ecn", self.input_weights, contexts)
        return self.baseline + feedforward + excitability[:, None, :]


def init_engram_network(
    n_units: int,
    n_inputs: int,
    *,
    n_networks: int = 1,
    seed: int,
    input_scale: float = 0.3,
    excitability_sd: float = 0.3,
    baseline: float = 0.5,
    dtype: torch.dtype = torch.float32,
) -> EngramNetwork:
    """E naive networks (no recurrent weights yet): input weights `N(0, input_scale^2 / M)`
    (so a unit-variance context drives each unit with standard deviation `input_scale`) and
    excitabilities `N(0, excitability_sd^2)`, drawn from `seed`.

    Parameters
    ----------
    n_units, n_inputs : int
        N units, M context features.
    n_networks : int
        E networks side by side.
    seed : int
        Of the weights and excitabilities.
    input_scale, excitability_sd, baseline : float
        The drive's parts (module docstring).
    dtype : torch.dtype
        Of the parameters.

    Returns
    -------
    EngramNetwork
        `input_weights [E, N, M]`, `excitability [E, N]`, `recurrent [E, N, N]` (zeros).

    Example
    -------
    >>> net = init_engram_network(100, 20, n_networks=3, seed=0)
    >>> net.recurrent.shape
    torch.Size([3, 100, 100])
    """
    if n_units < 2 or n_inputs < 1 or n_networks < 1:
        raise ConfigError(
            f"need n_units >= 2, n_inputs >= 1, n_networks >= 1; got {n_units}, {n_inputs}, "
            f"{n_networks}"
        )
    g = torch.Generator().manual_seed(seed)
    weights = torch.randn(n_networks, n_units, n_inputs, generator=g, dtype=dtype)
    excitability = torch.randn(n_networks, n_units, generator=g, dtype=dtype)
    return EngramNetwork(
        input_weights=weights * (input_scale / math.sqrt(n_inputs)),
        excitability=excitability * excitability_sd,
        recurrent=torch.zeros(n_networks, n_units, n_units, dtype=dtype),
        baseline=float(baseline),
    )


def context_pair(
    n_inputs: int,
    similarity: float,
    *,
    n_networks: int = 1,
    seed: int,
    dtype: torch.dtype = torch.float32,
) -> Tensor:
    """Contexts A and B with controlled overlap: `a ~ N(0, I)` and
    `b = s a + sqrt(1 - s^2) xi`, so their features correlate by the `similarity` s.

    Parameters
    ----------
    n_inputs : int
        Features M of a context.
    similarity : float
        s in [-1, 1].
    n_networks : int
        A pair per network (E).
    seed : int
        Of the draws.
    dtype : torch.dtype
        Of the contexts.

    Returns
    -------
    contexts : [E, 2, M], A then B for each network.
    """
    if not -1 <= similarity <= 1:
        raise ConfigError(f"context similarity must be in [-1, 1], got {similarity}")
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n_networks, n_inputs, generator=g, dtype=dtype)
    noise = torch.randn(n_networks, n_inputs, generator=g, dtype=dtype)
    b = similarity * a + math.sqrt(1 - similarity**2) * noise
    return torch.stack([a, b], dim=1)


def _kwta_threshold(x: Tensor, k: int) -> Tensor:
    # the (k+1)-th largest input of each row: exactly k inputs lie above it (ties aside)
    return torch.topk(x, k + 1, dim=-1).values[..., -1:]


def settle(
    network: EngramNetwork,
    drive: Tensor,
    allocation: PVInhibition | KWinnersTakeAll,
    *,
    steps: int = 150,
    dt: float = 0.1,
) -> Tensor:
    """The rates the network settles to: `steps` Euler steps of the module's dynamics from
    rest, then the rate map applied once at the final state, so a unit below threshold has a
    rate of exactly 0.

    Parameters
    ----------
    network : EngramNetwork
        Its recurrent weights act; its drive is given.
    drive : [E, C, N]
        The feedforward drive (`network.drive(contexts)`).
    allocation : PVInhibition or KWinnersTakeAll
        The competition between units.
    steps : int
        Euler steps.
    dt : float
        The step in units of the excitatory time constant tau.

    Returns
    -------
    rates : [E, C, N] in [0, 1].

    Example
    -------
    >>> net = init_engram_network(50, 10, seed=0)
    >>> contexts = context_pair(10, 0.5, seed=1)
    >>> rates = settle(net, net.drive(contexts), KWinnersTakeAll(k=5))
    >>> (rates > 0).sum(-1).tolist()
    [[5, 5]]
    """
    n = network.n_units
    if drive.ndim != 3 or drive.shape[0] != network.n_networks or drive.shape[2] != n:
        raise ShapeError(
            f"drive must be [E={network.n_networks}, C, N={n}], got {list(drive.shape)}"
        )
    if isinstance(allocation, KWinnersTakeAll) and allocation.k >= n:
        raise ConfigError(f"k-winners-take-all needs k < N = {n}, got k = {allocation.k}")
    if steps < 1 or not 0 < dt <= 1:
        raise ConfigError(f"need steps >= 1 and 0 < dt <= 1, got {steps}, {dt}")
    if isinstance(allocation, PVInhibition) and dt > allocation.tau_ratio:
        raise ConfigError(
            f"dt = {dt} exceeds the PV time constant {allocation.tau_ratio}: take a smaller dt"
        )
    recurrent = network.recurrent.to(drive.dtype)
    rates = torch.zeros_like(drive)
    inhibition = torch.zeros((*drive.shape[:-1], 1), dtype=drive.dtype)

    def target(r: Tensor, p: Tensor) -> Tensor:
        x = drive + torch.einsum("eij,ecj->eci", recurrent, r)
        if isinstance(allocation, KWinnersTakeAll):
            return (x - _kwta_threshold(x, allocation.k)).clamp(0, 1)
        return (x - p).clamp(0, 1)

    for _ in range(steps):
        new = target(rates, inhibition)
        if isinstance(allocation, PVInhibition):
            pv_target = allocation.strength * rates.mean(-1, keepdim=True)
            inhibition = inhibition + dt / allocation.tau_ratio * (pv_target - inhibition)
        rates = rates + dt * (new - rates)
    return target(rates, inhibition)
