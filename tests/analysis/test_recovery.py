import math

import numpy as np
import pytest
import torch

from neurodyn.analysis import (
    affine_map,
    bits_per_spike,
    co_smoothing,
    fit_poisson_glm,
    match_fixed_points,
    psth_r2,
    state_r2,
)
from neurodyn.errors import ArgumentError, ShapeError


def test_bits_per_spike_matches_its_definition_and_orders_models():
    g = torch.Generator().manual_seed(0)
    true = 0.2 + 2.0 * torch.rand(30, 40, 6, generator=g)
    counts = torch.poisson(true, generator=g)
    # the definition by hand: log-likelihood gain over each neuron's mean, per spike, in bits
    mean = counts.mean((0, 1), keepdim=True)
    ll = lambda r: (counts * r.log() - r).sum()  # noqa: E731 - the lgamma terms cancel
    by_hand = (ll(true) - ll(mean.expand_as(counts))) / (counts.sum() * math.log(2))
    assert float(bits_per_spike(true, counts)) == pytest.approx(float(by_hand), rel=1e-5)
    # the null model scores 0; a blurred truth scores between it and the truth
    blurred = 0.5 * true + 0.5 * mean
    both = bits_per_spike(torch.stack([true, blurred], 1), counts)
    assert float(bits_per_spike(mean.expand_as(counts), counts)) == pytest.approx(0.0, abs=1e-6)
    assert both[0] > both[1] > 0
    with pytest.raises(ArgumentError, match="no spike"):
        bits_per_spike(true, torch.zeros_like(counts))
    with pytest.raises(ShapeError):
        bits_per_spike(true[:, :3], counts)


def test_poisson_glm_recovers_planted_weights():
    g = torch.Generator().manual_seed(1)
    x = torch.randn(4000, 3, generator=g, dtype=torch.float64)
    w = torch.tensor([[0.5, -0.3], [0.2, 0.4], [-0.4, 0.1], [0.3, -0.5]], dtype=torch.float64)
    counts = torch.poisson(
        torch.cat([x, torch.ones(4000, 1, dtype=torch.float64)], 1).matmul(w).exp(), generator=g
    )
    found = fit_poisson_glm(x, counts, l2=0.0)
    assert torch.allclose(found, w, atol=0.05)


def test_co_smoothing_from_the_true_latents_beats_shuffled_ones():
    g = torch.Generator().manual_seed(2)
    latents = torch.randn(20, 60, 3, generator=g)
    readout = 0.6 * torch.randn(3, 4, generator=g)
    counts = torch.poisson((latents @ readout).exp(), generator=g)
    good = co_smoothing(latents[:, :40], counts[:, :40], latents[:, 40:], counts[:, 40:])
    shuffled = latents[:, torch.randperm(60, generator=g)]
    bad = co_smoothing(shuffled[:, :40], counts[:, :40], shuffled[:, 40:], counts[:, 40:])
    assert good.bits_per_spike > 0.1 > bad.bits_per_spike
    assert good.rates.shape == (20, 20, 4)


def test_state_r2_is_one_for_an_affine_image_and_low_for_noise():
    g = torch.Generator().manual_seed(3)
    true = torch.randn(30, 10, 4, generator=g)
    assert state_r2(true @ torch.randn(4, 6, generator=g) - 2.0, true) == pytest.approx(
        1.0, abs=1e-6
    )
    assert state_r2(torch.randn(30, 10, 2, generator=g), true) < 0.1


def test_psth_r2_averages_per_condition():
    g = torch.Generator().manual_seed(4)
    conditions = torch.tensor([0, 1] * 20)
    psth = torch.stack(
        [torch.sin(torch.linspace(0, 3, 25)), torch.cos(torch.linspace(0, 3, 25))], 0
    )
    observed = psth[conditions].T[..., None] + 0.3 * torch.randn(
        25, 40, 1, generator=g
    )  # [T, B, 1]
    perfect = psth[conditions].T[..., None]
    assert psth_r2(perfect, observed, conditions) > 0.9
    assert psth_r2(torch.zeros_like(observed), observed, conditions) < 0.0


def test_fixed_points_are_matched_after_the_affine_alignment():
    true_points = torch.tensor([[1.0, 0.0], [-1.0, 0.0], [0.0, 0.0]])
    transform = torch.tensor([[2.0, 1.0, 0.0], [0.0, 1.0, 3.0]])  # fitted = true @ transform + 1
    fitted_points = (true_points @ transform + 1.0)[[2, 0, 1]]  # in another order
    states = torch.randn(50, 2, generator=torch.Generator().manual_seed(5))
    mapping = affine_map(states @ transform + 1.0, states)
    match = match_fixed_points(
        true_points,
        ["stable", "stable", "saddle"],
        fitted_points,
        ["saddle", "stable", "unstable"],
        mapping,
        true_spread=1.0,
    )
    assert (match.n_true, match.n_fitted) == (3, 3)
    assert np.allclose(match.distances, 0.0, atol=1e-5)
    assert {tuple(p) for p in match.pairs.tolist()} == {(0, 1), (1, 2), (2, 0)}
    assert match.stability_agreement == pytest.approx(2 / 3)
