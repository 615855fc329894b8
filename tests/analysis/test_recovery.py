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


def test_a_linear_system_against_itself_in_another_basis_has_the_same_timescales():
    from neurodyn.analysis import compare_timescales, find_fixed_points, time_constants

    # h' = A h with eigenvalues 0.99, 0.9, 0.5 (tau = 995, 95, 14 ms at 10-ms steps), and
    # the same system in the coordinates x = M h + o: its Jacobian is M A M^-1
    g = torch.Generator().manual_seed(3)
    q = torch.linalg.qr(torch.randn(3, 3, generator=g, dtype=torch.float64)).Q
    a = q @ torch.diag(torch.tensor([0.99, 0.9, 0.5], dtype=torch.float64)) @ q.T
    m = torch.randn(3, 3, generator=g, dtype=torch.float64) + 2 * torch.eye(3, dtype=torch.float64)
    o = torch.tensor([1.0, 2.0, 3.0], dtype=torch.float64)
    m_inv = torch.linalg.inv(m)

    def original(h, u):
        return h @ a.T

    def changed(x, u):
        return original((x - o) @ m_inv.T, u) @ m.T + o

    starts = torch.randn(4, 3, generator=g, dtype=torch.float64)
    u = torch.zeros(1, dtype=torch.float64)  # no input: the maps ignore it
    true = find_fixed_points(original, starts, u, dt=None)
    fitted = find_fixed_points(changed, starts @ m.T + o, u, dt=None)
    assert len(true.states) == len(fitted.states) == 1
    same = compare_timescales(true.eigenvalues, fitted.eigenvalues, dt_ms=10.0)
    assert same.error == pytest.approx(0.0, abs=1e-8)
    expected = -10.0 / np.log([0.99, 0.9, 0.5])
    assert same.true_ms[0] == pytest.approx(expected, rel=1e-8)
    assert same.slowest_fitted_ms == pytest.approx(expected[0], rel=1e-8)
    # a fit whose memory decays ten times faster (0.99 -> 0.99^10), with an extra fast mode:
    # its slowest mode is a decade off, the others exact
    forgetful = np.array([[0.99**10, 0.9, 0.5, 0.1]])
    off = compare_timescales(true.eigenvalues, forgetful, dt_ms=10.0)
    assert off.error_decades[0] == pytest.approx([1.0, 0.0, 0.0], abs=1e-8)
    assert off.error == pytest.approx(1 / 3)
    # a growing mode has a negative time constant; a marginal one an infinite one
    assert time_constants(np.array([1.1, 1.0]), dt_ms=10.0).tolist() == pytest.approx(
        [-10.0 / np.log(1.1), np.inf]
    )
    nothing = compare_timescales(np.zeros((0, 3)), np.zeros((0, 5)), dt_ms=10.0)
    assert math.isnan(nothing.error) and math.isnan(nothing.slowest_true_ms)
    with pytest.raises(ShapeError, match="matched pairs"):
        compare_timescales(true.eigenvalues, np.zeros((2, 3)), dt_ms=10.0)
