import itertools
import math

import numpy as np
import pytest
import torch

from neurodyn.analysis.latent import (
    GaussianHMM,
    delay_embed,
    dmd,
    epoch_states,
    fit_hmm,
    hmm_posteriors,
    trials_first,
    viterbi,
)
from neurodyn.errors import ArgumentError

F64 = torch.float64


def test_dmd_recovers_the_eigenvalues_of_a_linear_system():
    g = torch.Generator().manual_seed(0)
    eig = torch.tensor([0.95, 0.8, 0.5, -0.3], dtype=F64)
    basis = torch.randn(4, 4, generator=g, dtype=F64)
    a = basis @ torch.diag(eig) @ torch.linalg.inv(basis)
    x = [torch.randn(4, 5, generator=g, dtype=F64)]  # five trials
    for _ in range(30):
        x.append(a @ x[-1])
    states = torch.stack(x).transpose(1, 2)  # [T, B, D]
    result = dmd(states)
    np.testing.assert_allclose(np.sort(result.eigenvalues.real), np.sort(eig.numpy()), atol=1e-8)
    np.testing.assert_allclose(result.eigenvalues.imag, 0, atol=1e-8)


def test_dmd_with_delays_sees_an_oscillation_in_one_observed_coordinate():
    # a rotation by 0.3 rad per step observed through its first coordinate only
    t = torch.arange(200, dtype=F64)
    observed = torch.cos(0.3 * t)[:, None]
    result = dmd(observed, n_delays=4, rank=2)
    np.testing.assert_allclose(np.sort(np.angle(result.eigenvalues)), [-0.3, 0.3], atol=1e-8)
    np.testing.assert_allclose(np.abs(result.eigenvalues), 1, atol=1e-8)
    assert delay_embed(observed, 4, 2).shape == (194, 1, 4)


def brute_force(model, x):
    """Posterior marginals and the MAP path of one short sequence, by enumeration."""
    pi, a = model.initial, model.transition
    n_states, n_steps = len(pi), len(x)

    def emission(s, v):
        var = model.variances[s]
        return np.prod(np.exp(-0.5 * (v - model.means[s]) ** 2 / var) / np.sqrt(2 * math.pi * var))

    marginals, best, best_p, total = np.zeros((n_steps, n_states)), None, -1.0, 0.0
    for path in itertools.product(range(n_states), repeat=n_steps):
        p = pi[path[0]] * emission(path[0], x[0])
        for t in range(1, n_steps):
            p *= a[path[t - 1], path[t]] * emission(path[t], x[t])
        total += p
        for t, s in enumerate(path):
            marginals[t, s] += p
        if p > best_p:
            best, best_p = path, p
    return marginals / total, best, math.log(total)


def test_forward_backward_and_viterbi_match_brute_force_enumeration():
    model = GaussianHMM(
        initial=np.array([0.6, 0.3, 0.1]),
        transition=np.array([[0.7, 0.2, 0.1], [0.1, 0.8, 0.1], [0.3, 0.3, 0.4]]),
        means=np.array([[0.0, 0.0], [1.0, -1.0], [-1.0, 2.0]]),
        variances=np.array([[0.5, 1.0], [0.3, 0.3], [2.0, 0.5]]),
        log_likelihood=np.array([]),
    )
    x = np.random.default_rng(0).normal(size=(5, 2))
    gamma, log_lik = hmm_posteriors(model, torch.tensor(x))
    marginals, path, total = brute_force(model, x)
    np.testing.assert_allclose(gamma[:, 0].numpy(), marginals, atol=1e-12)
    assert float(log_lik[0]) == pytest.approx(total, abs=1e-10)
    assert viterbi(model, torch.tensor(x))[:, 0].tolist() == list(path)


def test_em_recovers_planted_states_and_increases_the_likelihood():
    rng = np.random.default_rng(1)
    means = np.array([[-3.0, 0.0], [0.0, 3.0], [3.0, 0.0]])
    trans = np.array([[0.95, 0.03, 0.02], [0.02, 0.95, 0.03], [0.03, 0.02, 0.95]])
    trials = []
    for _ in range(20):
        s, seq = rng.integers(3), []
        for _ in range(200):
            seq.append(means[s] + 0.5 * rng.normal(size=2))
            s = rng.choice(3, p=trans[s])
        trials.append(seq)
    model = fit_hmm(torch.tensor(np.array(trials)).transpose(0, 1), 3, seed=0)
    assert np.all(np.diff(model.log_likelihood) >= -1e-8)
    order = [int(np.argmin(np.linalg.norm(model.means - m, axis=1))) for m in means]
    assert sorted(order) == [0, 1, 2]
    np.testing.assert_allclose(model.means[order], means, atol=0.1)
    np.testing.assert_allclose(model.transition[np.ix_(order, order)], trans, atol=0.02)
    np.testing.assert_allclose(model.variances, 0.25, atol=0.03)


def test_epoch_states_find_one_state_per_epoch_of_random_length_and_ignore_padding():
    # 3 epochs of random lengths per trial, each a noisy point in 5-D, padded to 40 steps
    g = torch.Generator().manual_seed(2)
    n_trials, n_steps = 16, 40
    centres = 3.0 * torch.randn(3, 5, generator=g, dtype=F64)
    lengths = torch.randint(5, 12, (3, n_trials), generator=g)
    ends = lengths.cumsum(0)
    starts = ends - lengths
    x = 0.2 * torch.randn(n_steps, n_trials, 5, generator=g, dtype=F64)
    for b in range(n_trials):
        for e in range(3):
            x[starts[e, b] : ends[e, b], b] += centres[e]
        x[ends[2, b] :, b] = 50.0  # padding far away: it must not become a state
    bounds = {name: (starts[e], ends[e]) for e, name in enumerate(["fix", "stim", "resp"])}
    result = epoch_states(x, bounds, n_components=3)
    assert result.information > 0.99
    assert sorted(result.occupancy.argmax(1).tolist()) == [0, 1, 2]
    assert result.occupancy.max(1).min() > 0.99
    for b in range(n_trials):
        assert np.all(result.paths[ends[2, b] :, b] == -1)
        assert np.all(result.paths[: ends[2, b], b] >= 0)
    # the deprecated trials-first order, named, gives the same answer in its own order
    with pytest.warns(DeprecationWarning):
        old = epoch_states(x.transpose(0, 1), bounds, n_components=3, layout="trials-first")
    np.testing.assert_array_equal(old.paths, result.paths.T)
    # states that ignore the epochs tell nothing about them
    noise = torch.randn(n_steps, n_trials, 5, generator=g, dtype=F64)
    assert epoch_states(noise, bounds, n_components=3).information < 0.1


def planted_trials(rng, means, trans, emit, n_trials=10, n_steps=150):
    """Time-major `[T, B, D]` trials of a planted HMM whose state s emits `means[s] + emit[s](z)`."""
    trials = []
    for _ in range(n_trials):
        s, seq = rng.integers(len(means)), []
        for _ in range(n_steps):
            seq.append(means[s] + emit[s](rng.normal(size=means.shape[1])))
            s = rng.choice(len(means), p=trans[s])
        trials.append(seq)
    return torch.tensor(np.array(trials)).transpose(0, 1)


def test_restarts_never_lower_the_final_log_likelihood():
    rng = np.random.default_rng(3)
    means = np.array([[-1.0, 0.0], [0.0, 1.0], [1.0, 0.0], [0.0, -1.0]])
    trans = np.full((4, 4), 0.05) + 0.8 * np.eye(4)
    x = planted_trials(rng, means, trans, [lambda z: 0.6 * z] * 4)
    finals = [fit_hmm(x, 4, n_restarts=r, seed=5).log_likelihood[-1] for r in (1, 2, 4)]
    assert finals[0] <= finals[1] <= finals[2]


def test_full_covariances_recover_a_planted_correlated_emission_covariance():
    rng = np.random.default_rng(4)
    covs = np.array([[[1.0, 0.8], [0.8, 1.0]], [[0.5, -0.3], [-0.3, 0.4]]])
    chols = np.linalg.cholesky(covs)
    means = np.array([[-4.0, 0.0], [4.0, 0.0]])
    trans = np.array([[0.95, 0.05], [0.05, 0.95]])
    x = planted_trials(rng, means, trans, [lambda z, c=c: c @ z for c in chols], n_steps=300)
    model = fit_hmm(x, 2, covariance="full", n_restarts=2)
    order = [int(np.argmin(np.linalg.norm(model.means - m, axis=1))) for m in means]
    assert sorted(order) == [0, 1]
    np.testing.assert_allclose(model.covariances[order], covs, atol=0.06)
    np.testing.assert_allclose(model.variances, np.diagonal(model.covariances, 0, 1, 2))
    # a diagonal model of the same data cannot hold the correlation; its likelihood is lower
    diagonal = fit_hmm(x, 2, n_restarts=2)
    assert diagonal.covariances is None
    assert diagonal.log_likelihood[-1] < model.log_likelihood[-1] - 100
    # decoding under the full model finds the planted states
    gamma, _ = hmm_posteriors(model, x)
    assert gamma.shape == (300, 10, 2)
    assert float(gamma.max(-1).values.mean()) > 0.99


def test_the_old_trials_first_helper_still_works_and_warns():
    x = torch.zeros(3, 7, 2)
    with pytest.warns(DeprecationWarning, match="time-major"):
        assert trials_first(x).shape == (3, 7, 2) and trials_first(x[0]).dtype == F64


def test_dmd_of_states_with_silent_units_keeps_only_the_directions_they_take():
    # a rotation in two units, three units that never move (a silent spiking neuron's
    # filtered spikes): a rank above the data's must not divide by zero singular values
    a = torch.tensor([[0.9, -0.2], [0.2, 0.9]], dtype=torch.float64)
    x = [torch.tensor([1.0, 0.0], dtype=torch.float64)]
    for _ in range(30):
        x.append(a @ x[-1])
    states = torch.cat([torch.stack(x), torch.zeros(31, 3, dtype=torch.float64)], dim=1)
    result = dmd(states, rank=5)
    assert np.round(np.sort_complex(result.eigenvalues), 6).tolist() == [0.9 - 0.2j, 0.9 + 0.2j]
    with pytest.raises(ArgumentError, match="never change from zero"):
        dmd(torch.zeros(10, 4), rank=2)
