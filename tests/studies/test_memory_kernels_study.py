"""The memory-kernels study's own pieces (Li, Han, E & Li 2022): the differentiable kernel,
training on the exact loss, and the config's checks."""

import numpy as np
import pytest
import torch

from neurodyn.analysis import find_plateaus, linear_kernel
from neurodyn.errors import ConfigError
from neurodyn.studies import get, load_config
from neurodyn.studies._study import with_defaults
from neurodyn.studies.memory_kernels import (
    KernelsConfig,
    dominant_timescale_ms,
    kernel_by_doubling,
    train_exact,
)
from neurodyn.tasks import MemoryKernel


def test_the_kernel_by_doubling_is_the_sum_of_exponentials():
    g = torch.Generator().manual_seed(0)
    w_rec = torch.randn(3, 5, 5, generator=g, dtype=torch.float64) / 3
    w_in = torch.randn(3, 5, 1, generator=g, dtype=torch.float64)
    w_out = torch.randn(3, 1, 5, generator=g, dtype=torch.float64)
    for n_steps in (1, 7, 64, 100):
        doubled = kernel_by_doubling(w_rec, w_in, w_out, 0.3, n_steps)
        exact = linear_kernel(w_rec, w_in, w_out, alpha=0.3, dt_ms=10.0).values(n_steps)
        np.testing.assert_allclose(doubled.numpy(), exact[:, :, 0, 0], rtol=1e-10, atol=1e-13)


def exponential(memory_ms):
    return MemoryKernel(kernel="exponential", memory_ms=memory_ms, trial_ms=1000.0).weights()


def test_one_unit_trained_on_the_exact_loss_finds_the_exponential():
    # an exponential kernel is one exponential: a width-1 network fits it, at its time constant
    targets = torch.stack([exponential(50.0), exponential(200.0)])
    curves, kernel = train_exact(
        targets, width=1, alpha=0.1, dt_ms=10.0, optimiser="adam", lr=0.01, steps=600, seeds=(1,)
    )
    assert curves.shape == (2, 600) and np.all(curves[:, -1] < 1e-3)
    assert dominant_timescale_ms(kernel, 0) == pytest.approx(50.0, rel=0.05)
    assert dominant_timescale_ms(kernel, 1) == pytest.approx(200.0, rel=0.05)


def test_gradient_descent_from_a_small_start_stalls_longer_for_longer_memory():
    targets = torch.stack([exponential(50.0), exponential(100.0)])
    curves, _ = train_exact(
        targets,
        width=4,
        alpha=1.0,
        dt_ms=10.0,
        optimiser="sgd",
        lr=0.005,
        steps=1500,
        seeds=(1,),
        init_scale=0.01,
    )
    assert np.all(curves[:, 0] == pytest.approx(1.0, abs=0.01))  # a zero network misses all
    plateaus = find_plateaus(curves, band=0.1, min_length=100)
    short, long = plateaus.longest
    assert 300 < short < long
    assert np.all(curves[:, -1] < 0.05)  # both escape
    escape = np.argmax(curves < 0.5, axis=1)
    assert escape[0] < escape[1]


def test_the_config_refuses_what_the_study_cannot_run():
    study = get("memory-kernels")
    defaults = study.defaults()
    assert isinstance(load_config(study), KernelsConfig)
    with pytest.raises(ConfigError, match="does not decay"):
        KernelsConfig.from_dict(
            with_defaults({"kernels": {"flat": {"kernel": [1.0, 1.0]}}}, defaults)
        )
    with pytest.raises(ConfigError, match="not integrable"):
        KernelsConfig.from_dict(
            with_defaults({"kernels": {"p": {"kernel": "power_law", "omega": 0.0}}}, defaults)
        )
    with pytest.raises(ConfigError, match="the networks are linear"):
        KernelsConfig.from_dict({**defaults, "model": {**defaults["model"], "activation": "tanh"}})
    with pytest.raises(ConfigError, match="widths must be distinct"):
        KernelsConfig.from_dict(with_defaults({"widths": [2, 2]}, defaults))
