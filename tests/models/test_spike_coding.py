"""The efficient spike-coding network (Boerlin, Machens & Denève 2013) against what its
derivation fixes: the population rate that holds a constant signal, one spike per step without
a delay, volleys of similar neurons with one, and an ensemble that is its members side by side."""

import pytest
import torch

from neurodyn.errors import ArgumentError, ShapeError
from neurodyn.models.spike_coding import (
    SpikeCodingNetwork,
    leaky_signal,
    random_command,
    simulate_spike_coding,
    spike_coding_network,
)


def _identical(n_neurons: int, *, delay_steps: int, n_members: int = 1) -> SpikeCodingNetwork:
    """N neurons with the same decoder 0.1 on one signal."""
    decoder = torch.full((n_members, 1, n_neurons), 0.1, dtype=torch.float64)
    return SpikeCodingNetwork(
        decoder=decoder, tau_ms=20.0, cost_l2=0.0, delay_steps=delay_steps, dt_ms=0.1
    )


def test_the_readout_holds_a_constant_signal_at_the_rate_the_leak_demands():
    # x -> 1: the readout leaks lambda x = 1/20 per ms, and each spike adds |D| = 0.1, so
    # the population must fire 0.5 spikes per ms (500 Hz)
    net = _identical(20, delay_steps=0)
    command = torch.full((20_000, 1, 1), 0.05, dtype=torch.float64)
    trace = simulate_spike_coding(net, command)
    late = trace.spikes[10_000:].sum() / (10_000 * 0.1)  # spikes per ms, once x has settled
    assert float(late) == pytest.approx(0.5, rel=0.02)
    # the error stays within one spike's jump of the signal
    error = (trace.readout[10_000:, 0] - trace.signal[10_000:]).abs()
    assert float(error.max()) <= 0.1 + 1e-9
    assert float(trace.coding_error[0]) < 0.01


def test_without_delay_at_most_one_neuron_fires_per_step():
    net = spike_coding_network(60, 3, delay_steps=0, seed=1)
    trace = simulate_spike_coding(net, random_command(3000, 2, 3, seed=2), noise_std=0.3)
    per_step = trace.spikes.sum(dim=-1)
    assert int(per_step.max()) == 1 and int(per_step.sum()) > 100


def test_a_delay_makes_similar_neurons_fire_in_volleys_that_noise_breaks_up():
    # identical neurons cross threshold together; none feels the others before it fires
    net = _identical(10, delay_steps=1, n_members=3)
    command = torch.full((4000, 1, 1), 0.05, dtype=torch.float64)
    trace = simulate_spike_coding(net, command, noise_std=torch.tensor([0.0, 0.3, 10.0]))
    counts = trace.population_counts[:, :, 0]
    quiet, moderate = counts[:, 0], counts[:, 1]
    assert set(quiet[quiet > 0].tolist()) == {10}  # every volley: all ten at once
    assert float(moderate[moderate > 0].double().mean()) < 1.2
    # volleys overshoot by ten spikes' worth, strong noise makes spikes the error does not
    # call for: the coding error is lowest in between (Chalk et al. 2016)
    error = trace.coding_error
    assert float(error[1]) < float(error[0]) / 10 and float(error[1]) < float(error[2]) / 10


def test_an_ensemble_runs_its_members_side_by_side():
    net = spike_coding_network(30, 2, n_members=3, delay_steps=1, seed=3)
    command = random_command(1500, 2, 2, seed=4)
    together = simulate_spike_coding(net, command)
    for e in range(3):
        alone = SpikeCodingNetwork(
            decoder=net.decoder[e : e + 1],
            tau_ms=net.tau_ms,
            cost_l2=net.cost_l2,
            delay_steps=1,
            dt_ms=net.dt_ms,
        )
        single = simulate_spike_coding(alone, command)
        torch.testing.assert_close(together.spikes[:, e], single.spikes[:, 0])
        torch.testing.assert_close(together.readout[:, e], single.readout[:, 0])


def test_costs_set_thresholds_and_recurrence_as_derived():
    net = spike_coding_network(5, 2, cost_l2=2.0, cost_l1=0.4, tau_ms=10.0, seed=0)
    gram = net.decoder[0].T @ net.decoder[0]
    leak = 0.1
    torch.testing.assert_close(net.recurrent[0], -(gram + 2.0 * leak**2 * torch.eye(5)).double())
    torch.testing.assert_close(
        net.thresholds[0], 0.5 * (gram.diagonal() + 2.0 * leak**2 + 0.4 * leak)
    )


def test_the_signal_is_the_leaky_integral_of_the_command():
    command = random_command(2000, 3, 2, amplitude=1.5, seed=5)
    x = leaky_signal(command, tau_ms=20.0, dt_ms=0.1)
    assert float(x[500:].std()) == pytest.approx(1.5, rel=0.3)


def test_bad_inputs_get_clear_errors():
    with pytest.raises(ArgumentError, match="positive time constants"):
        spike_coding_network(10, 1, tau_ms=-5.0)
    with pytest.raises(ArgumentError, match="smaller step"):
        spike_coding_network(10, 1, tau_ms=1.0, dt_ms=2.0)
    with pytest.raises(ShapeError, match="J = 2"):
        simulate_spike_coding(spike_coding_network(10, 2), torch.zeros(10, 1, 3))
    with pytest.raises(ArgumentError, match="unknown noise_model"):
        simulate_spike_coding(
            spike_coding_network(10, 1),
            torch.zeros(10, 1, 1),
            noise_model="shot",  # type: ignore[arg-type]
        )
    with pytest.raises(ArgumentError, match="one per member"):
        simulate_spike_coding(
            spike_coding_network(10, 1, n_members=2), torch.zeros(10, 1, 1), noise_std=[1, 2, 3]
        )
