import numpy as np
import pytest
import torch

from neurodyn.data import (
    from_arrays,
    from_spike_times,
    load_npz,
    load_recording,
    split,
    synthesize,
)
from neurodyn.errors import ArgumentError, CorruptFile, ShapeError
from neurodyn.models import CTRNN, NetworkSpec


def test_npz_round_trip_keeps_everything(tmp_path):
    rng = np.random.default_rng(0)
    rec = from_arrays(
        rng.poisson(2.0, (12, 5, 4)),
        bin_ms=25.0,
        inputs=rng.normal(size=(12, 5, 2)),
        conditions={"coherence": [0.1, 0.2, 0.3, 0.4, 0.5]},
        epochs={"stim_start": [2, 2, 3, 3, 4]},
    )
    back = load_npz(rec.save(tmp_path / "rec.npz"))
    assert torch.equal(back.activity, rec.activity)
    assert torch.equal(back.inputs, rec.inputs)
    assert back.bin_ms == 25.0 and back.kind == "counts"
    assert back.conditions["coherence"].tolist() == pytest.approx([0.1, 0.2, 0.3, 0.4, 0.5])
    assert back.epochs["stim_start"].tolist() == [2, 2, 3, 3, 4]
    assert back.neuron_ids == ("0", "1", "2", "3")


def test_select_keeps_trials_and_neurons_in_order():
    activity = torch.arange(2 * 3 * 4, dtype=torch.float32).reshape(2, 3, 4)
    rec = from_arrays(activity, bin_ms=10.0, conditions={"c": [7, 8, 9]})
    part = rec.select(trials=[2, 0], neurons=[3, 1])
    assert torch.equal(part.activity, activity[:, [2, 0]][:, :, [3, 1]])
    assert part.conditions["c"].tolist() == [9, 7]
    assert part.neuron_ids == ("3", "1")


def test_spike_times_are_binned_per_trial_and_neuron():
    rec = from_spike_times(
        [[[0.0, 5.0, 19.9], [10.0]], [[], [39.0]]], duration_ms=40.0, bin_ms=20.0
    )
    assert rec.activity[:, 0].tolist() == [[3.0, 1.0], [0.0, 0.0]]
    assert rec.activity[:, 1].tolist() == [[0.0, 0.0], [0.0, 1.0]]


@pytest.mark.parametrize(
    "make, error, words",
    [
        (
            lambda: from_arrays([np.zeros((5, 2)), np.zeros((4, 2))], bin_ms=10),
            ShapeError,
            "trial 1",
        ),
        (lambda: from_arrays(np.array([[[0.0, np.nan]]]), bin_ms=10), ArgumentError, "trial 0"),
        (lambda: from_arrays(-np.ones((2, 2, 2)), bin_ms=10), ArgumentError, "non-negative"),
        (lambda: from_arrays(np.ones((2, 2)), bin_ms=10), ShapeError, "[T, B, N_obs]"),
        (lambda: from_arrays(np.ones((2, 2, 2)), bin_ms=0), ArgumentError, "bin_ms"),
        (
            lambda: from_spike_times([[[1.0]], [[45.0]]], duration_ms=40.0, bin_ms=10.0),
            ArgumentError,
            "trial 1 neuron 0",
        ),
        (
            lambda: from_arrays(np.ones((3, 2, 1)), bin_ms=10, conditions={"c": [1, 2, 3]}),
            ShapeError,
            "'c'",
        ),
    ],
)
def test_bad_input_names_what_is_wrong(make, error, words):
    with pytest.raises(error, match=None) as info:
        make()
    assert words in str(info.value)


def test_bad_files_are_named(tmp_path):
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip")
    with pytest.raises(CorruptFile, match=r"junk\.npz"):
        load_npz(junk)
    np.savez(tmp_path / "plain.npz", counts=np.ones((2, 2, 2)))
    with pytest.raises(CorruptFile, match="no 'activity'"):
        load_npz(tmp_path / "plain.npz")
    with pytest.raises(ArgumentError, match="does not exist"):
        load_recording(tmp_path / "missing.npz")
    with pytest.raises(ArgumentError, match=r"\.npz or \.nwb"):
        load_recording(tmp_path / "data.mat")


def test_split_is_reproducible_and_a_partition():
    a = split(50, 20, heldout_trials=0.2, heldout_neurons=0.25, seed=3)
    b = split(50, 20, heldout_trials=0.2, heldout_neurons=0.25, seed=3)
    c = split(50, 20, heldout_trials=0.2, heldout_neurons=0.25, seed=4)
    assert torch.equal(a.test_trials, b.test_trials) and torch.equal(
        a.heldout_neurons, b.heldout_neurons
    )
    assert not torch.equal(a.heldout_neurons, c.heldout_neurons)
    assert sorted(torch.cat([a.train_trials, a.test_trials]).tolist()) == list(range(50))
    assert sorted(torch.cat([a.heldin_neurons, a.heldout_neurons]).tolist()) == list(range(20))
    assert (len(a.test_trials), len(a.heldout_neurons)) == (10, 5)
    with pytest.raises(ArgumentError, match="leaves none"):
        split(1, 5, heldout_trials=0.5)


def test_synthetic_poisson_has_the_asked_rate_and_keeps_the_truth():
    net = CTRNN(NetworkSpec(n_inputs=1, n_hidden=32, n_outputs=1, seeds=(2,), rec_gain=1.2))
    x = torch.randn(60, 40, 1, generator=torch.Generator().manual_seed(0))
    synth = synthesize(net, x, n_observed=10, mean_rate_hz=25.0, gain=0.5, seed=1)
    rec = synth.recording
    assert rec.kind == "counts" and rec.bin_ms == net.spec.dt_ms
    # counts average to the asked rate (25 Hz in 20 ms bins: 0.5 spikes), within sampling noise
    assert rec.activity.mean().item() == pytest.approx(0.5, rel=0.1)
    # the truth: the observed units' states map through the readout to the Poisson means
    states = net(x, noise=False).states[:, 0]
    assert torch.allclose(synth.states, states)
    mean = synth.mean()
    assert torch.allclose(
        mean,
        (states[..., synth.units] * synth.readout[:, synth.units].diagonal() + synth.offset).exp(),
    )
    assert synth.network.spec.seeds == (2,)
    # the same seed, the same recording
    again = synthesize(net, x, n_observed=10, mean_rate_hz=25.0, gain=0.5, seed=1)
    assert torch.equal(again.recording.activity, rec.activity)


def test_synthetic_gaussian_noise_has_the_asked_spread():
    net = CTRNN(NetworkSpec(n_inputs=1, n_hidden=16, n_outputs=1, seeds=(1,)))
    x = torch.randn(50, 30, 1, generator=torch.Generator().manual_seed(0))
    synth = synthesize(net, x, observation="gaussian", noise_std=0.3, projection=True, n_observed=8)
    residual = synth.recording.activity - synth.mean()
    assert residual.std().item() == pytest.approx(0.3, rel=0.05)
    assert synth.units.numel() == 0 and synth.recording.kind == "rates"
