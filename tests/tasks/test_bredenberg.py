"""Bredenberg et al.'s stimulus process and tasks."""

import math

import numpy as np
import pytest
import torch
from scipy.special import i0, i1

from neurodyn.errors import ConfigError
from neurodyn.tasks.bredenberg import (
    classification_label,
    classification_output,
    classification_reward,
    estimation_reward,
    estimation_target,
    stimulus_path,
    wrap,
)


@pytest.mark.parametrize(("kappa", "mu"), [(0.75, 0.0), (3.0, 1.0)])
def test_the_drifting_stimulus_samples_its_von_mises_prior(kappa, mu):
    g = torch.Generator().manual_seed(0)
    # start every chain at its stationary law (drawn by numpy), run well past the relaxation
    start = np.random.default_rng(0).vonmises(mu, kappa, size=4000)
    path = stimulus_path(
        torch.from_numpy(start), kappa=kappa, mu=mu, sigma_s=0.5, dt=0.05, n_steps=400, generator=g
    )
    theta = path[-1].numpy()
    # E cos(theta - mu) = I1(kappa) / I0(kappa); E sin(theta - mu) = 0
    assert np.cos(theta - mu).mean() == pytest.approx(i1(kappa) / i0(kappa), abs=0.03)
    assert abs(np.sin(theta - mu).mean()) < 0.03
    # and it does get there from a point far from mu (relaxation 2 / (kappa sigma_s^2))
    far = stimulus_path(
        torch.full((4000,), mu + 2.5, dtype=torch.float64),
        kappa=kappa,
        mu=mu,
        sigma_s=0.5,
        dt=0.05,
        n_steps=1500,
        generator=g,
    )[-1].numpy()
    assert np.cos(far - mu).mean() == pytest.approx(i1(kappa) / i0(kappa), abs=0.03)


def test_the_tasks_targets_and_rewards():
    theta = torch.tensor([0.0, math.pi / 2, -math.pi / 2, -math.pi, 3.0])
    torch.testing.assert_close(
        estimation_target(theta[:2]), torch.tensor([[1.0, 0.0], [0.0, 1.0]]), atol=1e-7, rtol=0
    )
    assert estimation_reward(
        torch.tensor([1.0, 0.0]), torch.tensor([0.5, 0.5])
    ).item() == pytest.approx(-0.5)
    assert classification_label(theta).tolist() == [1.0, 1.0, 0.0, 1.0, 1.0]
    out = classification_output(torch.tensor([0.01, -1.0]))
    assert out[0].item() == pytest.approx(1 / (1 + math.exp(-1)))
    assert out[1].item() == pytest.approx(1e-4)
    reward = classification_reward(torch.tensor([1.0, 0.0]), torch.tensor([0.8, 0.8]))
    np.testing.assert_allclose(reward.numpy(), [math.log(0.8), math.log(0.2)], rtol=1e-6)
    assert wrap(torch.tensor(math.pi)).item() == pytest.approx(-math.pi)
    with pytest.raises(ConfigError, match="kappa >= 0"):
        stimulus_path(torch.zeros(2), kappa=-1.0, n_steps=1)
