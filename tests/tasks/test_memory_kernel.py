"""The memory-kernel task (Li, Han, E & Li 2022): targets are the kernel's convolution with
the white-noise input."""

import numpy as np
import pytest
import torch

from neurodyn import tasks
from neurodyn.errors import ConfigError
from neurodyn.tasks import MemoryKernel


@pytest.mark.parametrize(
    "params",
    [
        {"kernel": "exponential", "memory_ms": 50.0},
        {"kernel": "power_law", "memory_ms": 20.0, "omega": 0.5},
        {"kernel": [1.0, 0.5, -0.25, 0.0]},
    ],
)
def test_the_target_is_the_convolution_of_the_input_with_the_kernel(params):
    task = tasks.make({"name": "memory_kernel", "params": {**params, "trial_ms": 300.0}})
    batch = task.sample(5, seed=3)
    x = batch.x[..., 0].double().numpy()  # [T, B]
    w = task.weights().numpy()
    expected = np.stack([np.convolve(x[:, b], w)[: len(x)] for b in range(5)], axis=1)
    np.testing.assert_allclose(batch.y[..., 0].numpy(), expected, rtol=1e-5, atol=1e-6)
    assert float(np.sum(w**2)) == pytest.approx(1.0)
    assert batch.mask.min() == 1


def test_the_kernels_have_their_closed_forms():
    lags = np.arange(30) * 10.0
    exponential = MemoryKernel(memory_ms=40.0, trial_ms=300.0).weights().numpy()
    np.testing.assert_allclose(exponential / exponential[0], np.exp(-lags / 40.0), rtol=1e-12)
    power = MemoryKernel(kernel="power_law", memory_ms=40.0, omega=0.25, trial_ms=300.0)
    w = power.weights().numpy()
    np.testing.assert_allclose(w / w[0], (1 + lags / 40.0) ** -1.25, rtol=1e-12)
    given = MemoryKernel(kernel=(3.0, 4.0, 0.0), trial_ms=300.0).weights().numpy()
    np.testing.assert_allclose(given[:3], [0.6, 0.8, 0.0])
    assert not given[3:].any()


def test_white_noise_inputs_and_unit_variance_targets():
    task = MemoryKernel(kernel="power_law", memory_ms=10.0, omega=1.0, trial_ms=2000.0)
    batch = task.sample(256, seed=0)
    x = batch.x.double()
    assert float(x.mean()) == pytest.approx(0.0, abs=0.01)
    assert float(x.std()) == pytest.approx(1.0, abs=0.01)
    lag1 = float((x[1:] * x[:-1]).mean())  # white: no correlation between steps
    assert abs(lag1) < 0.01
    # the stationary part of the trial: the target's variance is the sum of w^2 = 1
    assert float(batch.y[100:].double().var()) == pytest.approx(1.0, rel=0.05)


def test_performance_is_the_explained_variance():
    task = MemoryKernel(trial_ms=200.0)
    batch = task.sample(8, seed=1)
    assert float(task.performance(batch.y, batch)) == pytest.approx(1.0)
    assert float(task.performance(torch.zeros_like(batch.y), batch)) == pytest.approx(0.0)
    assert float(task.performance(0.5 * batch.y, batch)) == pytest.approx(0.75)
    both = torch.stack([batch.y, 0.5 * batch.y], dim=1)  # [T, E, B, O]
    np.testing.assert_allclose(task.performance(both, batch).numpy(), [1.0, 0.75], rtol=1e-6)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"kernel": "power_law", "omega": 0.0}, "not integrable for omega <= 0"),
        ({"kernel": "power_law", "omega": -0.5}, "not integrable"),
        ({"memory_ms": float("inf")}, "memory_ms must be a finite positive"),
        ({"memory_ms": 0.0}, "memory_ms must be a finite positive"),
        ({"kernel": (1.0, 1.0, 1.0)}, "does not decay"),
        ({"kernel": (0.0, 0.0)}, "zero at every lag"),
        ({"kernel": ("a",)}, "list of finite numbers"),
        ({"kernel": "gaussian"}, "kernel must be one of exponential, power_law"),
    ],
)
def test_kernels_that_do_not_decay_are_refused(params, message):
    with pytest.raises(ConfigError, match=message):
        tasks.get("memory_kernel", **params)
