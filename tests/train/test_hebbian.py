"""The Hebbian storage of an engram: the planted weights, and completion of a partial cue."""

import pytest
import torch

from neurodyn.errors import ShapeError
from neurodyn.models.engram import KWinnersTakeAll, init_engram_network, settle
from neurodyn.train.hebbian import store_engram


def test_weights_join_exactly_the_active_units():
    net = init_engram_network(50, 5, n_networks=2, seed=0)
    rates = torch.zeros(2, 50)
    rates[0, :10] = 0.4
    rates[1, 20:45] = 1.0
    stored = store_engram(net, rates, lr=5.0)
    for e, units in enumerate([range(10), range(20, 45)]):
        expected = torch.zeros(50, 50)
        idx = torch.tensor(list(units))
        expected[idx[:, None], idx[None, :]] = 5.0 / 50
        expected.fill_diagonal_(0)
        assert torch.equal(stored.recurrent[e], expected)
    assert torch.equal(net.recurrent, torch.zeros(2, 50, 50))  # the given network is unchanged


def test_a_stored_engram_completes_half_a_cue():
    net = init_engram_network(100, 5, seed=1)
    engram = torch.zeros(1, 100)
    engram[0, :20] = 1.0
    stored = store_engram(net, engram, lr=20.0)
    # the cue drives half the engram and ten other units a little more strongly
    drive = torch.zeros(1, 1, 100)
    drive[0, 0, :10] = 0.5
    drive[0, 0, 50:60] = 0.6
    naive = settle(net, drive, KWinnersTakeAll(20), steps=300)
    recalled = settle(stored, drive, KWinnersTakeAll(20), steps=300)
    assert (naive[0, 0, :20] > 0).sum() == 10
    assert torch.equal((recalled[0, 0] > 0).nonzero().flatten(), torch.arange(20))


def test_rates_of_the_wrong_shape_are_refused():
    net = init_engram_network(10, 2, seed=0)
    with pytest.raises(ShapeError, match="rates"):
        store_engram(net, torch.zeros(10), lr=1.0)
