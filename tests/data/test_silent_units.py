"""Synthetic recordings of networks with silent and sparse units (planted states)."""

import math
from types import SimpleNamespace

import pytest
import torch

from neurodyn.data import load_synthetic, silent_units, synthesize
from neurodyn.errors import ArgumentError, UnitsLeftOut


class Planted:
    """A 'network' whose states are given: `[T, 1, B, N]` whatever the inputs."""

    def __init__(self, states: torch.Tensor) -> None:
        self.states = states
        self.spec = SimpleNamespace(dt_ms=20.0)

    def __call__(self, x: torch.Tensor, noise: bool = False) -> SimpleNamespace:
        return SimpleNamespace(states=self.states[:, None])


def planted_states() -> torch.Tensor:
    """Units 0-5 Gaussian, 6 exactly silent, 7 rounding jitter, 8 sparse (at 0 in 98% of the
    bins, at 5 in the others: a ReLU unit that rarely fires)."""
    g = torch.Generator().manual_seed(0)
    states = torch.zeros(50, 40, 9)
    states[..., :6] = torch.randn(50, 40, 6, generator=g)
    states[..., 7] = 1e-7 * torch.randn(50, 40, generator=g)
    states[..., 8] = 5.0 * (torch.rand(50, 40, generator=g) < 0.02)
    return states


def test_silent_units_are_the_planted_ones():
    assert silent_units(planted_states()).tolist() == [6, 7]
    assert silent_units(planted_states(), min_spread=0.0).tolist() == [6]


def test_silent_units_are_left_out_and_named():
    net = Planted(planted_states())
    with pytest.warns(UnitsLeftOut, match=r"2 units \(6, 7\).*7 of 9 units can be recorded"):
        synth = synthesize(net, torch.zeros(50, 40, 1), seed=0)
    assert synth.units.tolist() == [0, 1, 2, 3, 4, 5, 8]
    assert synth.silent.tolist() == [6, 7]
    assert "2 silent left out" in repr(synth)
    # a projection mixes no silent unit either
    with pytest.warns(UnitsLeftOut):
        mixed = synthesize(net, torch.zeros(50, 40, 1), n_observed=4, projection=True, seed=0)
    assert torch.all(mixed.readout[:, [6, 7]] == 0)


def test_more_neurons_than_recordable_units_is_refused():
    net = Planted(planted_states())
    with pytest.raises(ArgumentError, match=r"\[1, 7\].*2 units \(6, 7\) silent.*lower min_spread"):
        synthesize(net, torch.zeros(50, 40, 1), n_observed=9)
    with pytest.raises(ArgumentError, match="every unit"):
        synthesize(Planted(torch.zeros(10, 4, 3)), torch.zeros(10, 4, 1))


def test_a_sparse_unit_swings_its_log_rate_by_at_most_gain_times_max_z():
    states = planted_states()
    with pytest.warns(UnitsLeftOut):
        synth = synthesize(Planted(states), torch.zeros(50, 40, 1), gain=1.0, seed=0)
    log_rate = synth.mean().log()  # [T, B, 7]
    swing = (log_rate - log_rate.reshape(-1, 7).mean(0)).abs().reshape(-1, 7).max(0).values
    sparse = synth.units.tolist().index(8)
    # the sparse unit's excursion (5 - its mean) is floored to 5 standardised units ...
    assert swing[sparse].item() == pytest.approx(5.0, rel=1e-4)
    # ... where its standard deviation (0.7) would put it at 7 and its peak rate at e^2 times
    # higher; the Gaussian units (at most about 4 SD here) keep their standard deviation
    flat = states.reshape(-1, 9)
    assert (flat[:, 8].max() - flat[:, 8].mean()) / flat[:, 8].std() > 6.5
    dense = torch.tensor([synth.units.tolist().index(u) for u in range(6)])
    assert torch.allclose(synth.readout[dense, :6].diagonal(), 1.0 / flat[:, :6].std(0))
    # so no neuron's expected count passes e^(max_z - 1/2) times the asked mean count (20 Hz in
    # 20-ms bins: 0.4 spikes; the 1/2 is the log-normal correction of the offset)
    assert synth.mean().max().item() <= 0.4 * math.exp(4.5) * (1 + 1e-5)


def test_silent_units_survive_a_round_trip(tmp_path):
    net = Planted(planted_states())
    with pytest.warns(UnitsLeftOut):
        synth = synthesize(net, torch.zeros(50, 40, 1), n_observed=5, seed=2)
    back = load_synthetic(synth.save(tmp_path / "planted.npz"), net)
    assert back.silent.tolist() == [6, 7] and torch.equal(back.units, synth.units)
