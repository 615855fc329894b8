"""The LIF cell against the discrete-time neuron's exact answers (firing period under a
constant current, refractory period), its surrogate gradient, its regulariser and its bad
inputs; training on tasks is in tests/train/test_lif_training.py."""

import math

import pytest
import torch

from neurodyn.errors import ConfigError
from neurodyn.models import LIFNetwork, NetworkSpec, build_model, spike_function
from neurodyn.train import SpikeRate


def lif(**kw):
    fields = {"n_inputs": 1, "n_hidden": 3, "n_outputs": 1, "cell": "lif", "dt_ms": 1.0}
    return build_model(NetworkSpec(**{**fields, "sigma_rec": 0.0, **kw}))


def steps_to_threshold(current, threshold, a_mem):
    """Steps from V = 0 until I (1 - a^k) first exceeds the threshold."""
    return math.ceil(math.log(1 - threshold / current) / math.log(a_mem) + 1e-12)


@pytest.mark.parametrize("refractory_ms", [0.0, 3.0])
def test_constant_current_fires_at_the_discrete_lif_period(refractory_ms):
    model = lif(tau_ms=20.0, tau_syn_ms=2.0, refractory_ms=refractory_ms)
    assert isinstance(model, LIFNetwork)
    with torch.no_grad():
        model.W_rec.zero_()
        model.W_in.copy_(torch.tensor([[[0.5], [1.0], [2.0]]]))
    x = torch.ones(600, 1, 1)
    with torch.no_grad():
        spikes = model.spikes(model(x, noise=False).states)[300:, 0, 0]  # [T, N], settled
    a_syn, a_mem = math.exp(-1 / 2.0), math.exp(-1 / 20.0)
    for unit, drive in enumerate((0.5, 1.0, 2.0)):
        current = drive / (1 - a_syn)  # the synaptic current's steady state
        period = steps_to_threshold(current, 1.0, a_mem) + round(refractory_ms)
        times = torch.nonzero(spikes[:, unit]).ravel()
        assert set(torch.diff(times).tolist()) == {period}, unit


@pytest.mark.parametrize("refractory_ms", [0.0, 3.0])
def test_the_rate_equivalent_fires_within_a_step_of_the_spiking_period(refractory_ms):
    model = lif(tau_ms=20.0, tau_syn_ms=2.0, refractory_ms=refractory_ms)
    assert isinstance(model, LIFNetwork)
    a_syn, a_mem = math.exp(-1 / 2.0), math.exp(-1 / 20.0)
    equivalent = model.rate_equivalent()
    for drive in (0.5, 1.0, 2.0):
        current = drive / (1 - a_syn)
        period = steps_to_threshold(current, 1.0, a_mem) + round(refractory_ms)
        rate = float(equivalent.steady_rate(torch.tensor(current)))
        # the spiking period is the smooth one rounded up to a whole step (drive 1 lands on
        # a whole step, k = 20 ln(e^0.5) = 10, where the strict threshold takes one more)
        assert period - 1 - 1e-4 <= 1 / rate <= period + 1e-4
    assert float(equivalent.steady_rate(torch.tensor(0.9))) == 0.0  # below threshold


def test_a_subthreshold_current_never_fires():
    # steady current 0.05 / (1 - e^(-1/5)) = 0.28, below the threshold 1
    model = lif(tau_ms=20.0)
    with torch.no_grad():
        model.W_rec.zero_()
        model.W_in.fill_(0.05)
        states = model(torch.ones(300, 2, 1), noise=False).states
    assert float(model.spikes(states).sum()) == 0.0


def test_the_surrogate_passes_gradients_through_spikes():
    v = torch.tensor([-1.0, -0.1, 0.0, 0.2], requires_grad=True)
    spikes = spike_function(v)
    assert spikes.tolist() == [0.0, 0.0, 0.0, 1.0]
    spikes.sum().backward()
    torch.testing.assert_close(v.grad, 1 / (1 + 10 * v.detach().abs()) ** 2)
    model = lif(n_hidden=8, tau_ms=20.0, seeds=(0, 1))
    out = model(torch.ones(50, 4, 1)).outputs
    out.pow(2).mean().backward()
    assert float(model.W_in.grad.abs().sum()) > 0 and float(model.W_rec.grad.abs().sum()) > 0


def test_spike_rate_penalty_is_the_squared_distance_of_rates_from_target():
    model = lif(n_hidden=2, tau_ms=20.0)
    with torch.no_grad():
        model.W_rec.zero_()
        model.W_in.copy_(torch.tensor([[[0.0], [5.0]]]))
    traj = model(torch.ones(400, 1, 1), noise=False)
    rate_hz = model.spikes(traj.states).mean(dim=(0, 2))[0] * 1000.0
    assert float(rate_hz[0]) == 0.0 and float(rate_hz[1]) > 50
    penalty = SpikeRate(2.0, target_hz=10.0).value(None, model, traj, None)  # type: ignore[arg-type]
    expected = 2.0 * ((rate_hz - 10.0) ** 2).mean()
    torch.testing.assert_close(penalty[0], expected)


def test_filtered_spikes_are_the_exponential_filter_of_the_spikes():
    model = lif(tau_ms=20.0, tau_readout_ms=10.0)
    states = model(torch.ones(200, 2, 1) * 3, noise=False).states
    spikes, rates = model.spikes(states), model.filtered_spikes(states)
    a = math.exp(-1 / 10.0)
    expected = torch.zeros_like(rates[0])
    for t in range(200):
        expected = a * expected + (1 - a) * spikes[t]
        torch.testing.assert_close(rates[t], expected)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"threshold": 0.0, "reset": 0.0}, "must lie above reset"),
        ({"threshold": 1.0, "reset": 2.0}, "must lie above reset"),
        ({"tau_syn_ms": -5.0}, "tau_syn_ms must be a positive time constant"),
        ({"tau_readout_ms": 0.0}, "tau_readout_ms must be a positive time constant"),
        ({"tau_ms": -20.0}, "tau_ms"),
        ({"refractory_ms": 0.5, "dt_ms": 1.0}, "longer than refractory_ms"),
        ({"refractory_ms": -1.0}, "refractory_ms must be non-negative"),
    ],
)
def test_bad_neuron_parameters_are_refused(fields, message):
    with pytest.raises(ConfigError, match=message):
        lif(**fields)


def test_rate_cells_refuse_the_spiking_options():
    with pytest.raises(ConfigError, match="threshold apply to spiking cells"):
        NetworkSpec(n_inputs=1, n_hidden=3, n_outputs=1, threshold=2.0)
    with pytest.raises(ConfigError, match="l2_spike_rate applies to spiking cells"):
        ctrnn = build_model(NetworkSpec(n_inputs=1, n_hidden=3, n_outputs=1))
        SpikeRate(1.0).value(None, ctrnn, ctrnn(torch.ones(3, 1, 1)), None)  # type: ignore[arg-type]


def test_the_config_key_adds_the_spike_rate_penalty():
    from neurodyn.runs.config import TrainConfig

    penalties = TrainConfig(l2_spike_rate=0.01, target_rate_hz=5.0).options().penalties
    assert penalties == (SpikeRate(0.01, 5.0),) or list(penalties) == [SpikeRate(0.01, 5.0)]


def test_a_lif_network_learns_perceptual_decision_making(tmp_path):
    # surrogate-gradient BPTT through neurodyn's trainer, as any cell: 0.93 on this seed
    from neurodyn.runs import train_run
    from neurodyn.runs.config import parse_config

    config = parse_config(
        {
            "task": "pdm",
            "model": {"n_hidden": 64, "cell": "lif", "sigma_rec": 0.0, "seeds": [1]},
            "train": {"steps": 200, "batch_size": 32, "lr": 0.005, "log_every": 100},
        }
    )
    run = train_run(config, tmp_path, run_id="lif", progress=False)
    assert run.info().performance["pdm"] > 0.9


def test_a_lif_network_learns_the_flipflop(tmp_path):
    # every bit's sign right at 0.72 of the steps on this seed (chance: 1/8 for three bits)
    from neurodyn.runs import train_run
    from neurodyn.runs.config import parse_config

    config = parse_config(
        {
            "task": "flipflop",
            "model": {
                "n_hidden": 64,
                "cell": "lif",
                "tau_ms": 20.0,
                "sigma_rec": 0.0,
                "seeds": [1],
            },
            "train": {"steps": 200, "batch_size": 32, "lr": 0.01, "log_every": 100},
        }
    )
    run = train_run(config, tmp_path, run_id="lif", progress=False)
    assert run.info().performance["flipflop"] > 0.65


def test_dale_law_holds_for_spiking_neurons_too():
    model = lif(n_hidden=10, tau_ms=20.0, excitatory_fraction=0.8, seeds=(0, 1))
    w = model.W_rec.detach()
    assert bool((w[:, :, :8] >= 0).all()) and bool((w[:, :, 8:] <= 0).all())
