"""Sequences from a finite mixture of Markov chains: next-state prediction in context.

Park, Lubana, Pres & Tanaka (ICLR 2025), "Competition dynamics shape algorithmic phases of
in-context learning". A set of N transition matrices over K states (K = 10 in the paper) is
drawn once, each row from a Dirichlet(alpha) prior (alpha = 1: uniform on the simplex), with
mixture weights uniform on [0, 1] and normalised (as the paper's public code draws them). Each
sequence picks one chain by its weight, starts from that chain's stationary distribution and
runs for `length` transitions; the network sees state s_t and predicts s_{t+1}. With
`n_chains: null` every sequence has a fresh chain from the prior instead: the
out-of-distribution sequences the paper's "inference" algorithms are judged on.

Inputs are one-hot states `x [T, B, K]`, targets the one-hot next states `y [T, B, K]` under a
cross-entropy loss on every step; `trial["states"] [B, T + 1]` holds the sequence itself and
`trial["chain"] [B]` the chain each came from (-1 for a fresh chain), so the analyses of
`neurodyn.analysis.icl` can replay the reference algorithms on the same sequences.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from neurodyn.errors import ArgumentError, ConfigError, ShapeError
from neurodyn.tasks._base import Batch, Duration, Task, batch_generator, ensemble_view

__all__ = ["MarkovMixture", "check_states", "stationary_distribution"]


def check_states(states: Tensor, n_states: int) -> Tensor:
    """`states` as a long tensor, refused (`ArgumentError`) when any lies outside 0..K-1.

    Parameters
    ----------
    states : Tensor [...] of integers
    n_states : int
        K, the number of states of the chain.
    """
    if states.is_floating_point() or states.is_complex() or states.dtype == torch.bool:
        raise ArgumentError(f"states must be integers 0..{n_states - 1}, got dtype {states.dtype}")
    states = states.long()
    if states.numel() and (int(states.min()) < 0 or int(states.max()) >= n_states):
        bad = int(states[(states < 0) | (states >= n_states)][0])
        raise ArgumentError(
            f"state {bad} is outside the chain's {n_states} states (0..{n_states - 1}); "
            "give sequences of the chain's own states"
        )
    return states


def stationary_distribution(transitions: Tensor) -> Tensor:
    """The stationary distribution pi of each transition matrix: `pi P = pi`, `sum(pi) = 1`.

    Parameters
    ----------
    transitions : Tensor [..., K, K]
        Row-stochastic matrices, `P[i, j]` the probability of i -> j.

    Returns
    -------
    Tensor [..., K]
        Solved as the linear system `(P^T - I) pi = 0` with one equation replaced by the
        normalisation, exact for an irreducible chain (every matrix with positive entries).

    Example
    -------
    >>> p = torch.tensor([[0.9, 0.1], [0.3, 0.7]], dtype=torch.float64)
    >>> [round(v, 6) for v in stationary_distribution(p).tolist()]  # (b, a) / (a + b), a = 0.1, b = 0.3
    [0.75, 0.25]
    """
    k = transitions.shape[-1]
    eye = torch.eye(k, dtype=transitions.dtype, device=transitions.device)
    system = transitions.transpose(-1, -2) - eye
    system = torch.cat([system[..., :-1, :], torch.ones_like(system[..., :1, :])], dim=-2)
    rhs = torch.zeros(*transitions.shape[:-1], dtype=transitions.dtype, device=transitions.device)
    rhs[..., -1] = 1.0
    return torch.linalg.solve(system, rhs)


def _dirichlet_rows(rng: np.random.Generator, alpha: float, n: int, k: int) -> np.ndarray:
    """`n` transition matrices `[n, K, K]`, each row Dirichlet(alpha) (by normalised gammas)."""
    gammas = rng.gamma(alpha, size=(n, k, k))
    # a row of underflowed gammas (tiny alpha) has no direction: give it the uniform row
    sums = gammas.sum(-1, keepdims=True)
    return np.where(sums > 0, gammas / np.where(sums > 0, sums, 1.0), 1.0 / k)


@dataclass(frozen=True)
class MarkovMixture(Task):
    """Next-state prediction on sequences from a finite mixture of Markov chains.

    Parameters
    ----------
    n_chains : int or None
        N, the number of training chains (the paper's data diversity, 2^2 .. 2^11); None: a
        fresh chain from the prior for every sequence.
    length : int
        Transitions per sequence, the T of a batch (the paper trains on 512 states; shorter
        sequences train faster on a CPU).
    alpha : float
        Concentration of the Dirichlet prior of every row (1 in the paper).
    chain_seed : int
        Seed of the N chains and their mixture weights: the same seed, the same training set.
    dt_ms : float
        One step per state; only the time axis of figures reads it.

    Performance: the fraction of steps at which the most likely output is the state that came
    next (the chains are random, so even the true chain scores well below 1).
    """

    name: ClassVar[str] = "markov_mixture"
    description: ClassVar[str] = (
        "predict the next state of sequences from a mixture of N random Markov chains"
    )
    n_inputs: ClassVar[int] = 10
    n_outputs: ClassVar[int] = 10
    loss: ClassVar = "cross_entropy"

    dt_ms: float = 1.0
    n_chains: int | None = 64
    length: int = 128
    alpha: float = 1.0
    chain_seed: int = 0

    def __post_init__(self) -> None:
        if self.n_chains is not None and (not isinstance(self.n_chains, int) or self.n_chains < 1):
            raise ConfigError(
                f"markov_mixture: n_chains must be a positive integer or null, got {self.n_chains!r}"
            )
        if not isinstance(self.length, int) or self.length < 1:
            raise ConfigError(
                f"markov_mixture: length must be a positive integer, got {self.length!r}"
            )
        if not isinstance(self.alpha, int | float) or not self.alpha > 0:
            raise ConfigError(
                f"markov_mixture: alpha must be a positive number, got {self.alpha!r}"
            )
        super().__post_init__()

    @property
    def n_states(self) -> int:
        """K, the number of states: 10, as in the paper (the input and output widths)."""
        return self.n_inputs

    def epoch_durations_ms(self) -> dict[str, Duration]:
        return {"sequence": self.length * self.dt_ms}

    @functools.cached_property
    def _chains(self) -> tuple[Tensor, Tensor]:
        rng = np.random.default_rng(self.chain_seed)
        n = self.n_chains or 0
        transitions = torch.from_numpy(_dirichlet_rows(rng, self.alpha, n, self.n_states))
        weights = torch.from_numpy(rng.uniform(size=n))
        return transitions, weights / weights.sum()

    @property
    def transitions(self) -> Tensor:
        """The N training chains' transition matrices `[N, K, K]` (float64); `[0, K, K]` for
        fresh chains."""
        return self._chains[0]

    @property
    def weights(self) -> Tensor:
        """The mixture weight of each training chain `[N]` (float64, summing to 1)."""
        return self._chains[1]

    def sample_states(
        self, batch_size: int, *, generator: torch.Generator | None = None, seed: int | None = None
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Draw `batch_size` sequences.

        Returns
        -------
        states : Tensor [T + 1, B] long
            The sequences, time-major.
        chain : Tensor [B] long
            The training chain each was drawn from; -1 for a fresh chain.
        transitions : Tensor [B, K, K] float64
            Each sequence's transition matrix.
        """
        generator = batch_generator(batch_size, generator, seed)
        device = generator.device
        if self.n_chains is None:
            chain = torch.full((batch_size,), -1, dtype=torch.long)
            # numpy draws the gammas, from a seed taken off the batch's own generator
            draw = int(torch.randint(2**62, (1,), generator=generator, device=device))
            rng = np.random.default_rng(draw)
            per_seq = torch.from_numpy(_dirichlet_rows(rng, self.alpha, batch_size, self.n_states))
        else:
            chain = torch.multinomial(
                self.weights.to(device), batch_size, replacement=True, generator=generator
            ).cpu()
            per_seq = self.transitions[chain]
        per_seq = per_seq.to(device)
        start = stationary_distribution(per_seq)
        uniforms = torch.rand(self.length + 1, batch_size, 1, generator=generator, device=device)
        cumulative = torch.cumsum(per_seq, dim=-1)  # [B, K, K]
        rows = torch.arange(batch_size, device=device)
        states = torch.empty(self.length + 1, batch_size, dtype=torch.long, device=device)
        current = _inverse_cdf(torch.cumsum(start, -1), uniforms[0], self.n_states)
        states[0] = current
        for t in range(1, self.length + 1):
            current = _inverse_cdf(cumulative[rows, current], uniforms[t], self.n_states)
            states[t] = current
        return states, chain.to(device), per_seq

    def encode(self, states: Tensor) -> Tensor:
        """One-hot inputs `[T, B, K]` float32 of states `[T, B]`; states outside 0..K-1 are
        refused."""
        states = check_states(states, self.n_states)
        return torch.nn.functional.one_hot(states, self.n_states).float()

    def batch_of(self, states: Tensor, chain: Tensor | None = None) -> Batch:
        """The batch that trains next-state prediction on given sequences `states [T + 1, B]`:
        inputs the first T states, targets the last T."""
        states = check_states(states, self.n_states)
        if states.dim() != 2 or states.shape[0] != self.length + 1:
            raise ShapeError(
                f"states must be [T + 1, B] = [{self.length + 1}, B] for sequences of "
                f"length {self.length}, got {tuple(states.shape)}"
            )
        batch_size = states.shape[1]
        x, y = self.encode(states[:-1]), self.encode(states[1:])
        end = torch.full((batch_size,), self.length, dtype=torch.long, device=states.device)
        chain = torch.full_like(end, -1) if chain is None else chain.to(states.device)
        facts = {"states": states.T.contiguous(), "chain": chain}
        zero = torch.zeros_like(end)
        return self._batch({"sequence": (zero, end)}, end, x, y, torch.ones_like(x), facts)

    def sample(
        self,
        batch_size: int,
        *,
        generator: torch.Generator | None = None,
        seed: int | None = None,
    ) -> Batch:
        """Draw `batch_size` sequences as a batch (see `batch_of`)."""
        states, chain, _ = self.sample_states(batch_size, generator=generator, seed=seed)
        return self.batch_of(states, chain)

    def _fill(self, bounds, end, generator):  # sample() is overridden: one epoch, no timing
        raise NotImplementedError("MarkovMixture draws whole sequences in sample()")

    def performance(self, outputs: Tensor, batch: Batch) -> Tensor:
        outputs, _, squeeze = ensemble_view(outputs, batch)
        targets = batch.y if batch.y.dim() == 4 else batch.y[:, None]
        right = outputs.argmax(-1) == targets.argmax(-1)  # [T, E, B]
        perf = right.float().mean((0, 2))
        return perf[0] if squeeze else perf


def _inverse_cdf(cumulative: Tensor, uniform: Tensor, n_states: int) -> Tensor:
    """The state whose cumulative probability first exceeds `uniform`: `[B, K]`, `[B, 1]` ->
    `[B]` (clamped, as rounding can leave the last cumulative just under 1)."""
    return (
        torch.searchsorted(cumulative, uniform.to(cumulative.dtype))
        .squeeze(-1)
        .clamp_max(n_states - 1)
    )
