"""The orientation-estimation task: its prior against scipy's von Mises, its inputs, targets
and mask, the probe grid, and the performance on hand-made outputs."""

import math

import numpy as np
import pytest
import torch
from scipy import stats

from neurodyn import tasks
from neurodyn.errors import ConfigError
from neurodyn.tasks import OrientationEstimation
from neurodyn.tasks.bredenberg import StimulusTask


@pytest.mark.parametrize(("kappa", "mu"), [(1.5, 0.0), (6.0, 0.0), (1.5, 1.0), (0.0, 0.0)])
def test_angles_follow_the_prior(kappa, mu):
    """wide, narrow, shifted and flat priors, against scipy's von Mises distribution."""
    task = OrientationEstimation(kappa=kappa, mu=mu)
    theta = task.sample(20000, seed=0).trial["theta"].double().numpy()
    assert np.all((theta >= -math.pi) & (theta < math.pi))
    law = stats.vonmises(kappa, loc=mu) if kappa else stats.uniform(-math.pi, 2 * math.pi)
    # the law's mass on [-pi, pi) from its own cdf, starting at -pi
    shifted = (theta - mu + math.pi) % (2 * math.pi) - math.pi + mu
    assert stats.kstest(shifted, law.cdf).statistic < 0.015
    np.testing.assert_allclose(
        task.prior_density(np.array([0.3])),
        StimulusTask("estimation", kappa, mu).prior_density(0.3),
    )


def test_inputs_targets_and_mask():
    task = OrientationEstimation(input_noise=0.3, input_gain=2.0)
    assert (task.n_inputs, task.n_outputs, task.n_steps) == (12, 2, 30)  # 400 + 200 ms of 20
    batch = task.sample(3000, seed=1)
    theta = batch.trial["theta"]
    clean = task.channels(theta)
    phi = -math.pi + 2 * math.pi * torch.arange(12) / 12
    torch.testing.assert_close(clean, 2.0 * torch.relu(torch.cos(theta[:, None] - phi)))
    noise = batch.x - clean[None]
    assert abs(noise.std().item() - 0.3) < 0.003 and abs(noise.mean().item()) < 0.003
    target = torch.stack([torch.cos(theta), torch.sin(theta)], -1)
    assert torch.equal(batch.y[-1], target)
    assert torch.all(batch.mask[:20] == 0) and torch.all(batch.mask[20:] == 1)


def test_a_grid_of_angles_replaces_the_prior_in_order():
    grid = (-1.0, 0.0, 2.0)
    batch = OrientationEstimation(angles=grid).sample(6, seed=0)
    np.testing.assert_allclose(batch.trial["theta"].numpy(), [-1, 0, 2, -1, 0, 2])


def test_performance_counts_estimates_within_a_fifth_of_pi():
    task = OrientationEstimation()
    batch = task.sample(100, seed=2)
    perfect = batch.y.clone()
    assert task.performance(perfect, batch).item() == 1.0
    theta = batch.trial["theta"] + math.pi / 2  # a quarter turn off
    off = torch.stack([torch.cos(theta), torch.sin(theta)], -1)[None].expand_as(perfect)
    assert task.performance(off, batch).item() == 0.0
    both = torch.stack([perfect, off], dim=1)  # [T, E, B, 2]
    assert task.performance(both, batch).tolist() == [1.0, 0.0]


def test_registered_and_checked():
    task = tasks.get("orientation_estimation", kappa=6.0, mu=1.0)
    assert isinstance(task, OrientationEstimation) and task.kappa == 6.0
    with pytest.raises(ConfigError, match="kappa"):
        OrientationEstimation(kappa=-1.0)
    with pytest.raises(ConfigError, match="angles"):
        OrientationEstimation(angles=(float("nan"),))
