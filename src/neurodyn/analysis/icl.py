"""Algorithmic phases of in-context learning on mixtures of Markov chains.

Park, Lubana, Pres & Tanaka (ICLR 2025), "Competition dynamics shape algorithmic phases of
in-context learning", decompose a sequence model trained on a finite mixture of Markov chains
(`neurodyn.tasks.MarkovMixture`) into four reference algorithms, unigram or bigram statistics
of the context crossed with retrieval (a posterior over the N training chains) or inference
(an estimate from the context alone). After the prefix s_0..s_t, with the training chains'
transition matrices P_n, their stationary distributions pi_n and mixture weights w_n:

- unigram retrieval: posterior w_n prod_tau pi_n(s_tau), prediction sum_n post_n P_n[s_t, :];
- bigram retrieval: posterior w_n pi_n(s_0) prod_tau P_n(s_{tau-1}, s_tau), the same
  prediction;
- bigram inference: the context's transition counts C out of s_t, with a Dirichlet(1) prior:
  (C[s_t, :] + 1) / (sum_j C[s_t, j] + K);
- unigram inference: the stationary distribution of the whole smoothed count matrix (C + 1) /
  (rows + K), whatever s_t is (close to the context's histogram of states).

These are the public code's `bayes_ul_bp`, `bayes_bl_bp`, `icl_u` and `icl_b`
(github.com/cfpark00/markov-mixtures, utils.py). A model is in the phase of the algorithm its
predictions are closest to, by the KL divergence D(model || algorithm) of the next-state
distributions, as the paper's phase diagram colours each (training step, N, context size).

Induction heads (`induction_scores`): a transformer that does bigram inference attends, in a
first layer, to the previous position (a previous-token head) and, in a later layer, from
position t to the positions j whose previous state equals s_t (they hold the states that
followed s_t before: the statistical induction head of Edelman et al. 2024).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from neurodyn.analysis._result import SavableResult
from neurodyn.errors import ArgumentError, ShapeError
from neurodyn.tasks.markov import check_states, stationary_distribution

__all__ = [
    "ALGORITHMS",
    "AlgorithmDistances",
    "InductionScores",
    "algorithm_distances",
    "induction_scores",
    "reference_predictions",
]

ALGORITHMS = ("unigram_retrieval", "bigram_retrieval", "unigram_inference", "bigram_inference")


def _check_chains(transitions: Tensor, weights: Tensor) -> tuple[Tensor, Tensor]:
    transitions = torch.as_tensor(transitions, dtype=torch.float64)
    weights = torch.as_tensor(weights, dtype=torch.float64)
    if transitions.dim() != 3 or transitions.shape[1] != transitions.shape[2]:
        raise ShapeError(f"transitions must be [N, K, K], got {tuple(transitions.shape)}")
    if weights.shape != transitions.shape[:1]:
        raise ShapeError(
            f"weights must be [N] = [{transitions.shape[0]}] (one per chain), got "
            f"{tuple(weights.shape)}"
        )
    if not torch.allclose(transitions.sum(-1), torch.ones((), dtype=torch.float64), atol=1e-6):
        raise ArgumentError("each row of transitions must sum to 1 (a row-stochastic matrix)")
    if torch.any(transitions <= 0):
        raise ArgumentError(
            "transitions must be positive everywhere (Dirichlet draws are): a zero makes the "
            "retrieval posterior undefined on sequences that chain cannot make"
        )
    if torch.any(weights <= 0):
        raise ArgumentError("every mixture weight must be positive")
    return transitions, weights / weights.sum()


def _retrieval(log_likelihood: Tensor, log_weights: Tensor, states: Tensor, P: Tensor) -> Tensor:
    """sum_n posterior_n P_n[s_t, :] for posteriors from cumulative log-likelihoods
    `[T, B, N]`; one matrix product per state value, so no `[N, T, B, K]` tensor is made."""
    posterior = torch.softmax(log_likelihood + log_weights, dim=-1)
    prediction = torch.empty(*states.shape, P.shape[-1], dtype=torch.float64)
    for i in range(P.shape[-1]):
        here = states == i
        prediction[here] = posterior[here] @ P[:, i, :]
    return prediction


def reference_predictions(states: Tensor, transitions: Tensor, weights: Tensor) -> Tensor:
    """The four reference algorithms' next-state distributions after every prefix.

    Parameters
    ----------
    states : Tensor [T, B] of integers 0..K-1
        The sequences (time-major); prediction t follows s_0..s_t.
    transitions : Tensor [N, K, K]
        The training chains' transition matrices, positive and row-stochastic.
    weights : Tensor [N]
        Their mixture weights (normalised here).

    Returns
    -------
    Tensor [4, T, B, K] float64
        In the order of `ALGORITHMS`: unigram retrieval, bigram retrieval, unigram inference,
        bigram inference (see the module docstring; Park et al. 2025, section 3).

    Raises
    ------
    ArgumentError
        For a state outside 0..K-1, or chains that are not positive stochastic matrices.

    Example
    -------
    >>> P = torch.tensor([[[0.9, 0.1], [0.5, 0.5]]], dtype=torch.float64)  # one chain, K = 2
    >>> pred = reference_predictions(torch.tensor([[0], [0], [1]]), P, torch.ones(1))
    >>> pred[1, 2, 0].tolist()  # bigram retrieval after 0, 0, 1: the chain's row of state 1
    [0.5, 0.5]
    >>> pred[3, 2, 0].tolist()  # bigram inference: nothing left state 1 yet, so uniform
    [0.5, 0.5]
    """
    P, w = _check_chains(transitions, weights)
    k = P.shape[-1]
    states = torch.as_tensor(states)
    if states.dim() != 2:
        raise ShapeError(f"states must be [T, B], got {tuple(states.shape)}")
    states = check_states(states, k).cpu()
    log_pi = torch.log(stationary_distribution(P))  # [N, K]
    log_P = torch.log(P)
    log_w = torch.log(w)

    unigram_ll = torch.cumsum(log_pi.T[states], dim=0)  # [T, B, N]
    steps = log_P[:, states[:-1], states[1:]].permute(1, 2, 0)  # [T - 1, B, N]
    bigram_ll = torch.cumsum(torch.cat([log_pi.T[states[:1]], steps]), dim=0)
    uni_ret = _retrieval(unigram_ll, log_w, states, P)
    bi_ret = _retrieval(bigram_ll, log_w, states, P)

    one_hot = torch.nn.functional.one_hot(states, k).double()  # [T, B, K]
    pairs = one_hot[:-1, :, :, None] * one_hot[1:, :, None, :]  # [T - 1, B, K, K]
    counts = torch.cat([torch.zeros_like(pairs[:1]), torch.cumsum(pairs, dim=0)])  # [T, B, K, K]
    smoothed = (counts + 1) / (counts.sum(-1, keepdim=True) + k)
    bi_inf = (smoothed * one_hot[..., None]).sum(-2)  # the row of the current state
    uni_inf = stationary_distribution(smoothed)
    return torch.stack([uni_ret, bi_ret, uni_inf, bi_inf])


@dataclass(frozen=True)
class AlgorithmDistances(SavableResult):
    """How close a model's next-state predictions are to each reference algorithm.

    Attributes
    ----------
    kl : ndarray [E, A, C]
        Mean over sequences of D(model || algorithm) in nats, per ensemble member, algorithm
        (`algorithms`) and context length (`context_lengths`).
    kl_sem : ndarray [E, A, C]
        Its standard error over sequences.
    context_lengths : ndarray [C]
        Number of states seen before the prediction.
    algorithms : tuple of str
        `ALGORITHMS`.
    """

    kl: np.ndarray
    kl_sem: np.ndarray
    context_lengths: np.ndarray
    algorithms: tuple[str, ...] = ALGORITHMS

    @property
    def phase(self) -> np.ndarray:
        """`[E, C]` index into `algorithms` of the closest algorithm (the paper's phase)."""
        return self.kl.argmin(axis=1)

    def phase_names(self, member: int = 0) -> list[str]:
        """The closest algorithm's name at each context length, for one member."""
        return [self.algorithms[i] for i in self.phase[member]]


def algorithm_distances(
    logits: Tensor,
    states: Tensor,
    transitions: Tensor,
    weights: Tensor,
    *,
    context_lengths: Sequence[int] | None = None,
    references: Tensor | None = None,
) -> AlgorithmDistances:
    """The KL divergence of a model's next-state predictions to the four reference algorithms.

    Parameters
    ----------
    logits : Tensor [T, B, K] or [T, E, B, K]
        The model's outputs after each prefix s_0..s_t (log-probabilities up to a constant).
    states : Tensor [T, B]
        The sequences the model read.
    transitions, weights : Tensor [N, K, K], [N]
        The training chains (`MarkovMixture.transitions`, `.weights`).
    context_lengths : sequence of int, optional
        Prefix lengths 1..T to report; all of them by default.
    references : Tensor [4, T, B, K], optional
        `reference_predictions(states, transitions, weights)`, when already computed (it does
        not depend on the model: checkpoints of one training share it).

    Returns
    -------
    AlgorithmDistances
        `kl [E, 4, C]` (E = 1 without an ensemble axis) and the closest algorithm, `phase`.

    Example
    -------
    >>> from neurodyn.tasks import MarkovMixture
    >>> task = MarkovMixture(n_chains=4, length=32)
    >>> states, _, _ = task.sample_states(16, seed=0)
    >>> refs = reference_predictions(states[:-1], task.transitions, task.weights)
    >>> like_bigram_inference = torch.log(refs[3]).float()  # a model that *is* the algorithm
    >>> d = algorithm_distances(like_bigram_inference, states[:-1], task.transitions,
    ...                         task.weights, context_lengths=[32], references=refs)
    >>> d.phase_names()
    ['bigram_inference']
    """
    if logits.dim() == 3:
        logits = logits[:, None]
    if logits.dim() != 4:
        raise ShapeError(f"logits must be [T, B, K] or [T, E, B, K], got {tuple(logits.shape)}")
    n_steps, _, batch_size, k = logits.shape
    if tuple(states.shape) != (n_steps, batch_size):
        raise ShapeError(
            f"states must be [T, B] = [{n_steps}, {batch_size}] like the logits, got "
            f"{tuple(states.shape)}"
        )
    if references is None:
        references = reference_predictions(states, transitions, weights)
    if tuple(references.shape) != (len(ALGORITHMS), n_steps, batch_size, k):
        raise ShapeError(
            f"references must be [4, T, B, K] = [4, {n_steps}, {batch_size}, {k}], got "
            f"{tuple(references.shape)}"
        )
    lengths = list(range(1, n_steps + 1)) if context_lengths is None else list(context_lengths)
    bad = [c for c in lengths if not 1 <= c <= n_steps]
    if bad or not lengths:
        raise ArgumentError(f"context lengths must lie in 1..{n_steps}, got {bad or lengths}")
    index = torch.tensor(lengths) - 1
    log_model = torch.log_softmax(logits.detach().double().cpu()[index], dim=-1)  # [C, E, B, K]
    log_refs = torch.log(references[:, index].clamp_min(1e-300))  # [A, C, B, K]
    per_seq = (log_model.exp()[None] * (log_model[None] - log_refs[:, :, None])).sum(-1)
    kl = per_seq.mean(-1).permute(2, 0, 1)  # [E, A, C]
    sem = (per_seq.std(-1) / np.sqrt(batch_size)).permute(2, 0, 1)
    return AlgorithmDistances(
        kl=kl.numpy(), kl_sem=sem.nan_to_num(0.0).numpy(), context_lengths=np.array(lengths)
    )


@dataclass(frozen=True)
class InductionScores(SavableResult):
    """Attention patterns of a causal transformer against the two heads of bigram inference.

    Attributes
    ----------
    previous_token : ndarray [L, H]
        Mean attention from position t to t - 1, per layer and head.
    induction : ndarray [L, H]
        Mean attention mass from position t on the positions j <= t with s_{j-1} = s_t.
    induction_chance : float
        The induction score of uniform causal attention (what attending anywhere gives).
    """

    previous_token: np.ndarray
    induction: np.ndarray
    induction_chance: float


def induction_scores(attention: Tensor, states: Tensor) -> InductionScores:
    """Previous-token and induction scores of every head.

    Parameters
    ----------
    attention : Tensor [L, H, B, T, T]
        Attention weights per layer and head, queries by keys (rows sum to 1, zero above
        the diagonal), e.g. `CausalTransformer(..., return_attention=True)`.
    states : Tensor [T, B]
        The sequences the model read.

    Returns
    -------
    InductionScores
        A previous-token head scores near 1 in `previous_token`; an induction head near 1 in
        `induction`, against `induction_chance`.

    Example
    -------
    >>> s = torch.tensor([[0], [1], [0], [1]])  # T = 4, B = 1
    >>> previous = torch.zeros(1, 1, 1, 4, 4)
    >>> previous[0, 0, 0, 0, 0] = 1.0
    >>> previous[0, 0, 0, [1, 2, 3], [0, 1, 2]] = 1.0
    >>> float(induction_scores(previous, s).previous_token[0, 0])
    1.0
    """
    if attention.dim() != 5 or attention.shape[-1] != attention.shape[-2]:
        raise ShapeError(f"attention must be [L, H, B, T, T], got {tuple(attention.shape)}")
    n_steps, batch_size = attention.shape[-1], attention.shape[2]
    if tuple(states.shape) != (n_steps, batch_size):
        raise ShapeError(
            f"states must be [T, B] = [{n_steps}, {batch_size}] like the attention, got "
            f"{tuple(states.shape)}"
        )
    if n_steps < 2:
        raise ArgumentError("induction scores need sequences of at least 2 states")
    attention = attention.detach().double().cpu()
    s = states.T.long().cpu()  # [B, T]
    t = torch.arange(n_steps)
    previous = attention[..., t[1:], t[:-1]].mean((-1, -2))  # [L, H]
    # target[b, q, j]: key j (>= 1, <= q) follows an earlier visit of the query's state
    follows = torch.zeros(batch_size, n_steps, n_steps, dtype=torch.bool)
    follows[:, :, 1:] = s[:, None, :-1] == s[:, :, None]
    follows &= t[None, :, None] >= t[None, None, :]
    has_target = follows.any(-1)  # [B, T]
    if not bool(has_target.any()):
        raise ArgumentError("no state recurs in these sequences: nothing to score induction on")
    mass = (attention * follows).sum(-1)  # [L, H, B, T]
    induction = mass[..., has_target].mean(-1)
    uniform = (follows.sum(-1) / (t + 1))[has_target].mean()
    return InductionScores(
        previous_token=previous.numpy(),
        induction=induction.numpy(),
        induction_chance=float(uniform),
    )
