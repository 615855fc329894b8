"""The four reference algorithms of Park et al. (2025) on hand-made sequences, their KL to a
model, and the induction scores on planted attention patterns."""

import numpy as np
import pytest
import torch

from neurodyn.analysis.icl import (
    ALGORITHMS,
    algorithm_distances,
    induction_scores,
    reference_predictions,
)
from neurodyn.errors import ArgumentError, ShapeError
from neurodyn.tasks import MarkovMixture

D = torch.float64
# two chains over K = 2 states, [[1 - a, a], [b, 1 - b]]: stationary (b, a) / (a + b)
P1 = torch.tensor([[0.9, 0.1], [0.5, 0.5]], dtype=D)  # pi = (5/6, 1/6)
P2 = torch.tensor([[0.2, 0.8], [0.6, 0.4]], dtype=D)  # pi = (3/7, 4/7)
PI1, PI2 = (5 / 6, 1 / 6), (3 / 7, 4 / 7)
CHAINS = torch.stack([P1, P2])
WEIGHTS = torch.tensor([0.25, 0.75], dtype=D)


def seq(*states):
    return torch.tensor(states)[:, None]  # [T, B = 1]


def test_retrieval_posteriors_by_hand():
    """After 0, 1: unigram weights w_n pi_n(0) pi_n(1); bigram weights w_n pi_n(0) P_n(0, 1);
    both predict the posterior mix of the chains' rows for state 1."""
    pred = reference_predictions(seq(0, 1), CHAINS, WEIGHTS)
    uni = np.array([0.25 * PI1[0] * PI1[1], 0.75 * PI2[0] * PI2[1]])
    bi = np.array([0.25 * PI1[0] * 0.1, 0.75 * PI2[0] * 0.8])
    for row, post in ((0, uni / uni.sum()), (1, bi / bi.sum())):
        expected = post[0] * P1[1].numpy() + post[1] * P2[1].numpy()
        assert np.allclose(pred[row, 1, 0].numpy(), expected)
    # after the first state alone, both posteriors are w_n pi_n(s_0)
    first = np.array([0.25 * PI1[0], 0.75 * PI2[0]])
    first /= first.sum()
    expected = first[0] * P1[0].numpy() + first[1] * P2[0].numpy()
    assert np.allclose(pred[0, 0, 0].numpy(), expected)
    assert np.allclose(pred[1, 0, 0].numpy(), expected)


def test_inference_from_counts_by_hand():
    """Context 0, 0, 1, 0: transitions 0->0, 0->1, 1->0. Bigram inference out of 0 is
    (1 + 1, 1 + 1) / (2 + 2); the smoothed matrix [[1/2, 1/2], [2/3, 1/3]] has stationary
    distribution (4/7, 3/7), which is unigram inference."""
    pred = reference_predictions(seq(0, 0, 1, 0), CHAINS, WEIGHTS)
    assert np.allclose(pred[3, 3, 0].numpy(), [0.5, 0.5])
    assert np.allclose(pred[2, 3, 0].numpy(), [4 / 7, 3 / 7])
    # after 0, 0, 1 the row of state 1 has no transitions yet: uniform
    assert np.allclose(pred[3, 2, 0].numpy(), [0.5, 0.5])
    # after 0, 0 the row of 0 has one 0 -> 0: (2, 1) / 3
    assert np.allclose(pred[3, 1, 0].numpy(), [2 / 3, 1 / 3])


def test_three_state_bigram_inference_counts_only_the_current_row():
    chains = torch.full((1, 3, 3), 1 / 3, dtype=D)
    pred = reference_predictions(seq(0, 1, 0, 1, 0), chains, torch.ones(1))
    assert np.allclose(pred[3, 4, 0].numpy(), [1 / 5, 3 / 5, 1 / 5])  # 0->1 twice


def test_long_sequences_of_one_chain_make_all_four_agree_with_it():
    """On a long sequence of training chain 0 the bigram posterior concentrates on it and
    the counts converge to its matrix: every algorithm but unigram inference predicts its row,
    unigram inference its stationary distribution."""
    task = MarkovMixture(n_chains=3, length=3000, chain_seed=2)
    states, _, per_seq = task.sample_states(1, seed=0)
    pred = reference_predictions(states[:-1], task.transitions, task.weights)
    true_row = per_seq[0, states[-2, 0]]
    assert np.allclose(pred[1, -1, 0].numpy(), true_row.numpy(), atol=1e-6)
    assert np.allclose(pred[3, -1, 0].numpy(), true_row.numpy(), atol=0.06)


def test_a_model_equal_to_an_algorithm_is_in_its_phase_with_zero_kl():
    task = MarkovMixture(n_chains=8, length=64)
    states, _, _ = task.sample_states(32, seed=1)
    refs = reference_predictions(states[:-1], task.transitions, task.weights)
    logits = torch.log(refs).permute(1, 0, 2, 3)  # [T, E = 4, B, K]: each member one algorithm
    d = algorithm_distances(logits, states[:-1], task.transitions, task.weights, references=refs)
    assert d.kl.shape == (4, 4, 64)
    for member in range(4):
        assert np.allclose(d.kl[member, member], 0.0, atol=1e-9)
    long = d.context_lengths >= 32
    assert np.all(d.phase[:, long] == np.arange(4)[:, None])
    assert d.phase_names(3)[-1] == "bigram_inference"
    assert np.all(d.kl >= -1e-12)


def test_kl_matches_a_direct_computation():
    task = MarkovMixture(n_chains=2, length=8)
    states, _, _ = task.sample_states(4, seed=2)
    logits = torch.randn(8, 4, 10, generator=torch.Generator().manual_seed(0))
    d = algorithm_distances(
        logits, states[:-1], task.transitions, task.weights, context_lengths=[3]
    )
    refs = reference_predictions(states[:-1], task.transitions, task.weights)
    p = torch.softmax(logits[2].double(), -1)
    for a in range(4):
        direct = (p * (p.log() - refs[a, 2].log())).sum(-1).mean()
        assert np.isclose(d.kl[0, a, 0], float(direct))
    assert d.algorithms == ALGORITHMS


def test_bad_inputs_are_named():
    with pytest.raises(ArgumentError, match="state 5 is outside the chain's 2 states"):
        reference_predictions(seq(0, 5), CHAINS, WEIGHTS)
    with pytest.raises(ShapeError, match="weights must be \\[N\\]"):
        reference_predictions(seq(0, 1), CHAINS, torch.ones(3))
    with pytest.raises(ArgumentError, match="positive everywhere"):
        reference_predictions(seq(0, 1), torch.tensor([[[1.0, 0.0], [0.5, 0.5]]]), torch.ones(1))
    with pytest.raises(ArgumentError, match=r"context lengths must lie in 1\.\.2"):
        algorithm_distances(torch.zeros(2, 1, 2), seq(0, 1), CHAINS, WEIGHTS, context_lengths=[3])


def test_induction_scores_on_planted_heads():
    """A head that attends exactly to the positions after earlier visits of the current state
    scores 1; uniform causal attention scores chance; a previous-token head scores 1 there."""
    states = torch.tensor([[0, 1, 2, 0, 1, 2, 1, 0, 2, 1]]).T  # [T = 10, B = 1]
    n = states.shape[0]
    s = states[:, 0]
    induction = torch.zeros(n, n)
    previous = torch.zeros(n, n)
    previous[0, 0] = 1.0
    for q in range(n):
        if q:
            previous[q, q - 1] = 1.0
        keys = [j for j in range(1, q + 1) if s[j - 1] == s[q]]
        if keys:
            induction[q, keys] = 1.0 / len(keys)
        else:
            induction[q, q] = 1.0
    uniform = torch.tril(torch.ones(n, n)) / torch.arange(1, n + 1)[:, None]
    attention = torch.stack([torch.stack([previous, uniform]), torch.stack([uniform, induction])])
    scores = induction_scores(attention[:, :, None], states)  # [L = 2, H = 2, B = 1, T, T]
    assert scores.previous_token[0, 0] == pytest.approx(1.0)
    assert scores.induction[1, 1] == pytest.approx(1.0)
    assert scores.induction[0, 1] == pytest.approx(scores.induction_chance)
    assert scores.induction_chance < 0.5
