"""The engram network: its steady states under PV inhibition against the analytic and the
self-consistent solution, and k-winners-take-all's exact density."""

import numpy as np
import pytest
import torch

from neurodyn.errors import ConfigError, ShapeError
from neurodyn.models.engram import (
    KWinnersTakeAll,
    PVInhibition,
    context_pair,
    init_engram_network,
    settle,
)


def test_uniform_drive_settles_to_the_analytic_rate():
    # every unit driven by d: r = d - g r at the steady state, so r = d / (1 + g)
    net = init_engram_network(20, 5, seed=0)
    drive = torch.full((1, 1, 20), 0.9, dtype=torch.float64)
    rates = settle(net, drive, PVInhibition(strength=2.0), steps=400)
    assert rates.numpy() == pytest.approx(np.full((1, 1, 20), 0.3), abs=1e-6)


def test_pv_steady_state_is_the_self_consistent_threshold():
    # r_i = clip(d_i - theta, 0, 1) with theta = g mean(r): solved here by bisection
    net = init_engram_network(300, 50, n_networks=2, seed=1)
    drive = net.drive(context_pair(50, 0.5, n_networks=2, seed=2)).double()
    strength = 8.0
    rates = settle(net, drive, PVInhibition(strength), steps=400).numpy()
    d = drive.numpy()
    lo, hi = np.full(d.shape[:-1], -5.0), np.full(d.shape[:-1], 5.0)
    for _ in range(100):
        theta = (lo + hi) / 2
        excess = theta - strength * np.clip(d - theta[..., None], 0, 1).mean(-1)
        lo, hi = np.where(excess < 0, theta, lo), np.where(excess < 0, hi, theta)
    expected = np.clip(d - theta[..., None], 0, 1)
    assert rates == pytest.approx(expected, abs=1e-5)
    # stronger inhibition allocates fewer units
    sparse = settle(net, drive, PVInhibition(4 * strength), steps=400).numpy()
    assert ((sparse > 0).mean(-1) < (rates > 0).mean(-1)).all()


@pytest.mark.parametrize("k", [1, 20, 99])
def test_kwta_density_is_k_over_n(k):
    net = init_engram_network(100, 30, n_networks=3, seed=3)
    rates = settle(net, net.drive(context_pair(30, 0.8, n_networks=3, seed=4)), KWinnersTakeAll(k))
    assert ((rates > 0).float().mean(-1) == k / 100).all()


def test_context_pair_has_the_similarity_asked():
    contexts = context_pair(20000, 0.7, seed=5)
    a, b = contexts[0, 0].double(), contexts[0, 1].double()
    assert torch.corrcoef(torch.stack([a, b]))[0, 1].item() == pytest.approx(0.7, abs=0.02)


def test_shift_moves_every_units_drive():
    net = init_engram_network(10, 4, n_networks=2, seed=6)
    contexts = context_pair(4, 0.0, n_networks=2, seed=7)
    shifted = net.drive(contexts, shift=torch.full((2, 10), -0.25))
    assert (shifted - net.drive(contexts)).numpy() == pytest.approx(np.full((2, 2, 10), -0.25))


def test_bad_inputs_are_refused():
    net = init_engram_network(10, 4, seed=0)
    with pytest.raises(ShapeError, match="features"):
        net.drive(torch.zeros(1, 2, 5))
    with pytest.raises(ConfigError, match="k < N"):
        settle(net, torch.zeros(1, 1, 10), KWinnersTakeAll(10))
    with pytest.raises(ConfigError, match="strength"):
        PVInhibition(-1.0)
    with pytest.raises(ConfigError, match="similarity"):
        context_pair(4, 1.5, seed=0)
