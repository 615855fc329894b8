"""The stochastic circuit (Bredenberg et al. 2020): its energy, and Langevin sampling from it."""

import numpy as np
import pytest
import torch

from neurodyn.errors import ConfigError
from neurodyn.models.stochastic import (
    CircuitSpec,
    drift,
    energy,
    inverse_rate,
    rate_function,
    simulate,
    tuning,
)

SPEC = CircuitSpec()


def symmetric_circuit(n=4, seed=0):
    g = np.random.default_rng(seed)
    a = g.normal(size=(n, n)) * 0.15
    w = (a + a.T) / 2  # symmetric, eigenvalues well below 1
    c = g.uniform(0, 1, size=(n, 12))
    b = np.full(n, 2.0)
    return w, c, b


def test_the_rate_function_and_its_inverse_agree_and_the_tuning_is_a_rectified_cosine():
    r = torch.tensor([0.002, 0.05, 0.5, 3.0, 40.0], dtype=torch.float64)
    torch.testing.assert_close(rate_function(inverse_rate(r, SPEC), SPEC), r)
    theta = torch.tensor([0.0, np.pi / 2], dtype=torch.float64)
    s = tuning(theta)
    assert s.shape == (2, 12) and torch.all(s >= 0)
    assert float(s[0, 6]) == pytest.approx(1.0)  # phi_6 = 0 prefers theta = 0
    assert float(s[0, 0]) == 0.0  # phi_0 = -pi: cos = -1, rectified


def test_with_symmetric_weights_the_drift_is_minus_the_energy_gradient():
    w, c, b = symmetric_circuit()
    g = np.random.default_rng(1)
    r = g.uniform(0.05, 5.0, size=(3, 4))
    s = tuning(torch.tensor([0.3, -1.0, 2.0], dtype=torch.float64)).numpy()
    h = 1e-6
    grad = np.stack(
        [
            (energy(r + h * e, s, w, c, b, SPEC) - energy(r - h * e, s, w, c, b, SPEC)) / (2 * h)
            for e in np.eye(4)
        ],
        axis=-1,
    )
    d = drift(*(torch.from_numpy(v) for v in (r, s, w, c, b)), SPEC).numpy()
    np.testing.assert_allclose(-grad, d, rtol=1e-5, atol=1e-6)


def test_the_dynamics_sample_the_energys_gaussian_in_the_linear_regime():
    # rates far from zero: f^{-1}(r) = r there, so exp(-2E / sigma^2) is a Gaussian with mean
    # (I - W)^{-1} (C s + b) and covariance sigma^2 / 2 (I - W)^{-1}
    w, c, b = symmetric_circuit(n=3, seed=2)
    s = tuning(torch.tensor(0.4, dtype=torch.float64)).numpy()
    a = np.eye(3) - w
    mean = np.linalg.solve(a, c @ s + b)
    cov = SPEC.sigma**2 / 2 * np.linalg.inv(a)
    torch_args = [torch.from_numpy(v) for v in (w, c, b)]
    r0 = torch.from_numpy(np.tile(mean, (4000, 1)))
    states = simulate(
        r0,
        torch.from_numpy(np.tile(s, (4000, 1))),
        *torch_args,
        SPEC,
        n_steps=600,
        generator=torch.Generator().manual_seed(0),
        record_every=600,
    )[-1].numpy()  # 6 time units (the slowest mode relaxes in about 1.3) after the start
    np.testing.assert_allclose(states.mean(0), mean, atol=0.01)
    np.testing.assert_allclose(np.cov(states.T), cov, atol=0.1 * np.abs(cov).max())


def test_bad_constants_and_shapes_are_named():
    with pytest.raises(ConfigError, match="r_min < r_max"):
        CircuitSpec(r_min=1.0, r_max=0.5)
    w, c, b = (torch.from_numpy(v) for v in symmetric_circuit())
    with pytest.raises(ConfigError, match="r0 must be"):
        simulate(torch.ones(3), torch.ones(3, 12), w, c, b, SPEC, n_steps=1)


def test_a_two_unit_circuit_samples_its_boltzmann_density_near_zero_rates():
    # low drive: the rates spend much of their time near zero, where the rectification (the
    # softplus leak and the floor r_min) makes the density far from the linear regime's
    # Gaussian; simulated moments and the share of time below 0.1 against exp(-2E/sigma^2) by
    # quadrature
    w = np.array([[0.0, 0.3], [0.3, 0.0]])
    c = np.zeros((2, 12))
    b = np.array([0.15, 0.05])
    s = np.zeros(12)
    axis = np.linspace(SPEC.r_min, 1.6, 800)
    grid = np.stack(np.meshgrid(axis, axis, indexing="ij"), -1).reshape(-1, 2)
    log_p = -2 * energy(grid, s, w, c, b, SPEC) / SPEC.sigma**2
    p = np.exp(log_p - log_p.max())
    p /= p.sum()
    mean = p @ grid
    cov = (grid - mean).T @ ((grid - mean) * p[:, None])
    low = p @ (grid[:, 0] < 0.1)
    torch_args = [torch.from_numpy(v) for v in (w, c, b)]
    chains = 3000
    states = (
        simulate(
            torch.full((chains, 2), 0.2, dtype=torch.float64),
            torch.zeros(chains, 12, dtype=torch.float64),
            *torch_args,
            SPEC,
            n_steps=2000,
            generator=torch.Generator().manual_seed(0),
            record_every=200,
        )[3:]
        .reshape(-1, 2)
        .numpy()
    )  # from 8 time units on, every 2 (the slowest mode: ~1.4)
    gaussian_mean = np.linalg.solve(np.eye(2) - w, b)
    assert low > 0.15 and np.abs(gaussian_mean - mean).min() > 0.03  # far from the Gaussian
    np.testing.assert_allclose(states.mean(0), mean, atol=0.006)
    np.testing.assert_allclose(np.cov(states.T), cov, atol=0.05 * np.abs(cov).max())
    assert np.mean(states[:, 0] < 0.1) == pytest.approx(low, abs=0.02)
