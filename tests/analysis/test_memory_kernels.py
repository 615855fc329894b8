"""Kernels of linear RNNs (Li, Han, E & Li 2022), their approximation error, and plateaus."""

import math

import numpy as np
import pytest
import torch

from neurodyn.analysis import (
    Plateaus,
    approximation_error,
    find_plateaus,
    impulse_response,
    linear_kernel,
    model_linear_kernel,
)
from neurodyn.errors import ConfigError, ShapeError
from neurodyn.models import CTRNN, NetworkSpec
from neurodyn.tasks import MemoryKernel


def linear_network(n_inputs=2, n_outputs=3):
    spec = NetworkSpec(
        n_inputs=n_inputs,
        n_hidden=6,
        n_outputs=n_outputs,
        activation="linear",
        dt_ms=20.0,
        tau_ms=100.0,
        sigma_rec=0.0,
        seeds=(3, 4),
    )
    model = CTRNN(spec).double()
    with torch.no_grad():  # biases shift the output, never the kernel
        model.b.normal_(generator=torch.Generator().manual_seed(0))
        model.b_out.normal_(generator=torch.Generator().manual_seed(1))
    return model


def test_the_sum_of_exponentials_equals_the_simulated_impulse_response():
    model = linear_network()
    kernel = model_linear_kernel(model)
    assert kernel.eigenvalues.shape == (2, 6) and kernel.amplitudes.shape == (2, 6, 3, 2)
    simulated = impulse_response(model, 40)  # [E, K, O, I]
    np.testing.assert_allclose(kernel.values(40), simulated, rtol=1e-10, atol=1e-13)
    # and the closed form alpha c^T A^k U, power by power
    alpha = model.spec.alpha
    w_rec, w_in, w_out = (p.detach().numpy() for p in (model.W_rec, model.W_in, model.W_out))
    for e in range(2):
        a = (1 - alpha) * np.eye(6) + alpha * w_rec[e]
        for k in (0, 1, 7, 39):
            expected = alpha * w_out[e] @ np.linalg.matrix_power(a, k) @ w_in[e]
            np.testing.assert_allclose(kernel.values(40)[e, k], expected, rtol=1e-10, atol=1e-13)


def test_the_rates_are_the_eigenvalues_of_w_rec_in_continuous_time():
    # W_rec = diag(mu): A = diag(1 - alpha + alpha mu), rates log(.)/dt, close to (mu - 1)/tau
    mu = np.array([0.9, 0.5, -0.5])
    kernel = linear_kernel(np.diag(mu), np.ones((3, 1)), np.ones((1, 3)), alpha=0.1, dt_ms=10.0)
    rates = np.sort(kernel.rates_per_ms[0].real)
    np.testing.assert_allclose(rates, np.sort(np.log(0.9 + 0.1 * mu) / 10.0), rtol=1e-12)
    np.testing.assert_allclose(rates, np.sort((mu - 1) / 100.0), rtol=0.1)
    np.testing.assert_allclose(np.sort(kernel.timescales_ms[0]), np.sort(-1 / rates))


def test_one_unit_holds_an_exponential_kernel_exactly():
    # A = exp(-dt / memory) reproduces rho(s) = exp(-s / memory): error zero at width 1
    task = MemoryKernel(kernel="exponential", memory_ms=80.0, dt_ms=10.0, trial_ms=1000.0)
    target = task.weights().numpy()
    alpha = 0.5
    decay = math.exp(-10.0 / 80.0)
    w_rec = np.array([[1 - (1 - decay) / alpha]])
    kernel = linear_kernel(w_rec, [[target[0] / alpha]], [[1.0]], alpha=alpha, dt_ms=10.0)
    learned = kernel.values(len(target))[:, :, 0, 0]
    assert approximation_error(learned, target)[0] == pytest.approx(0.0, abs=1e-20)
    np.testing.assert_allclose(kernel.timescales_ms[0], [80.0])
    # a power law is not one exponential: the best single exponential misses some of it
    power = MemoryKernel(kernel="power_law", memory_ms=10.0, omega=0.5, trial_ms=1000.0)
    assert approximation_error(learned, power.weights().numpy())[0] > 0.05


def test_approximation_error_is_the_stationary_mse_on_white_noise():
    task = MemoryKernel(kernel="power_law", memory_ms=20.0, omega=1.0, trial_ms=500.0)
    model = linear_network(n_inputs=1, n_outputs=1)
    with torch.no_grad():
        model.b.zero_()
        model.b_out.zero_()
    learned = model_linear_kernel(model).values(task.n_steps)[:, :, 0, 0]
    predicted = approximation_error(learned, task.weights().numpy())
    batch = task.sample(2000, seed=0)
    with torch.no_grad():
        outputs = model(batch.x.double(), noise=False).outputs
    last = ((outputs[-1] - batch.y[-1].double()) ** 2).mean(dim=(1, 2)).numpy()  # [E]
    np.testing.assert_allclose(last, predicted, rtol=0.1)


def test_only_linear_ctrnns_have_a_sum_of_exponentials():
    model = CTRNN(NetworkSpec(n_inputs=1, n_hidden=4, n_outputs=1, activation="tanh"))
    with pytest.raises(ConfigError, match="activation: linear"):
        model_linear_kernel(model)
    with pytest.raises(ShapeError, match="one N"):
        linear_kernel(np.eye(3), np.ones((4, 1)), np.ones((1, 3)), alpha=1.0, dt_ms=1.0)
    with pytest.raises(ShapeError, match="lags"):
        approximation_error(np.ones((2, 5)), np.ones(4))


def planted_curve(drops, n_steps=3000, width=20.0):
    """A loss that falls by a factor of 10 around each step of `drops`, flat in between."""
    t = np.arange(n_steps, dtype=float)
    log_loss = -sum(1 / (1 + np.exp(-(t - d) / width)) for d in drops) * math.log(10)
    return np.exp(log_loss)


def test_planted_plateaus_are_found_with_their_lengths():
    curves = np.stack([planted_curve([500, 2000]), planted_curve([1200])])
    rng = np.random.default_rng(0)
    noisy = curves * np.exp(0.02 * rng.standard_normal(curves.shape))
    steps = np.arange(3000) * 10.0  # logged every 10 training steps
    found = find_plateaus(noisy, steps, band=0.2, min_length=1000, smooth=5)
    assert isinstance(found, Plateaus)
    assert found.member.tolist() == [0, 0, 1]
    # within 20% of a level until the fall has |log10| 0.079 left: 200 ln(1 / 0.079 - 1) = 491
    # steps (of the curve's 10 per point) from each drop's centre
    edge = 200 * math.log(1 / math.log10(1.2) - 1)
    np.testing.assert_allclose(found.start_step, [0, 5000 + edge, 0], atol=150)
    np.testing.assert_allclose(found.end_step, [5000 - edge, 20000 - edge, 12000 - edge], atol=150)
    np.testing.assert_allclose(found.level, [1.0, 0.1, 1.0], rtol=0.05)
    np.testing.assert_allclose(found.longest, [15000 - 2 * edge, 12000 - edge], atol=300)
    assert found.length.tolist() == (found.end_step - found.start_step).tolist()


def test_a_curve_that_converges_steadily_has_no_plateau():
    t = np.arange(2000.0)
    found = find_plateaus(np.exp(-t / 50) + 1e-3, min_length=100)
    assert found.longest.tolist() == [0.0] and len(found.member) == 0
    with pytest.raises(ConfigError, match="positive"):
        find_plateaus(np.array([1.0, 0.0]))
