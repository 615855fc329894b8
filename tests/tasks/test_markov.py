import pytest
import torch

from neurodyn import tasks
from neurodyn.errors import ArgumentError, ConfigError, ShapeError
from neurodyn.tasks.markov import MarkovMixture, check_states, stationary_distribution


def test_stationary_distribution_of_a_two_state_chain_is_closed_form():
    a, b = 0.2, 0.6
    p = torch.tensor([[1 - a, a], [b, 1 - b]], dtype=torch.float64)
    pi = stationary_distribution(p)
    assert torch.allclose(pi, torch.tensor([b, a], dtype=torch.float64) / (a + b))


def test_training_chains_are_row_stochastic_and_fixed_by_their_seed():
    task = MarkovMixture(n_chains=8, chain_seed=3)
    assert task.transitions.shape == (8, 10, 10)
    assert torch.allclose(task.transitions.sum(-1), torch.ones(8, 10, dtype=torch.float64))
    assert torch.isclose(task.weights.sum(), torch.tensor(1.0, dtype=torch.float64))
    assert torch.equal(task.transitions, MarkovMixture(n_chains=8, chain_seed=3).transitions)
    assert not torch.equal(task.transitions, MarkovMixture(n_chains=8, chain_seed=4).transitions)


def test_sequences_follow_their_chain():
    """The empirical transition frequencies of many sequences of one chain approach its
    matrix, and the chains are picked in proportion to their weights."""
    task = MarkovMixture(n_chains=2, length=200, chain_seed=1)
    states, chain, per_seq = task.sample_states(2000, seed=0)
    assert states.shape == (201, 2000)
    share = (chain == 0).double().mean()
    assert abs(float(share - task.weights[0])) < 0.04
    for c in (0, 1):
        seqs = states[:, chain == c]
        counts = torch.zeros(10, 10, dtype=torch.float64)
        counts.index_put_(
            (seqs[:-1].flatten(), seqs[1:].flatten()),
            torch.ones(seqs[:-1].numel(), dtype=torch.float64),
            accumulate=True,
        )
        empirical = counts / counts.sum(1, keepdim=True)
        assert (empirical - task.transitions[c]).abs().max() < 0.02
        assert torch.equal(per_seq[chain == c][0], task.transitions[c])


def test_fresh_chains_differ_per_sequence_and_are_marked():
    task = MarkovMixture(n_chains=None, length=16)
    _, chain, per_seq = task.sample_states(4, seed=0)
    assert torch.all(chain == -1)
    assert not torch.equal(per_seq[0], per_seq[1])
    assert torch.allclose(per_seq.sum(-1), torch.ones(4, 10, dtype=torch.float64))


def test_batch_is_next_state_prediction():
    task = tasks.get("markov_mixture", n_chains=4, length=12)
    batch = task.sample(5, seed=2)
    states = batch.trial["states"].T  # [T + 1, B]
    assert torch.equal(batch.x.argmax(-1), states[:-1])
    assert torch.equal(batch.y.argmax(-1), states[1:])
    assert torch.all(batch.mask == 1)
    assert task.loss == "cross_entropy"


def test_states_outside_the_chain_are_refused():
    with pytest.raises(ArgumentError, match="state 12 is outside the chain's 10 states"):
        check_states(torch.tensor([0, 3, 12]), 10)
    with pytest.raises(ArgumentError, match="outside"):
        MarkovMixture(length=2).batch_of(torch.tensor([[0], [1], [-1]]))
    with pytest.raises(ShapeError, match="T \\+ 1"):
        MarkovMixture(length=2).batch_of(torch.tensor([[0], [1]]))


@pytest.mark.parametrize(
    "params", [{"n_chains": 0}, {"length": 0}, {"alpha": 0.0}, {"n_chains": 2.5}]
)
def test_bad_parameters_are_named(params):
    with pytest.raises(ConfigError, match="markov_mixture: " + next(iter(params))):
        tasks.get("markov_mixture", **params)
