import dataclasses
import math

import pytest
import torch
import yaml

from neurodyn import tasks
from neurodyn.analysis.recovery import bits_per_spike, co_smoothing, state_r2
from neurodyn.cli import main
from neurodyn.data import synthesize
from neurodyn.errors import ArgumentError, ConfigError
from neurodyn.fit import fit_config, fit_latent, fitted_split, fitted_trajectories
from neurodyn.models import CTRNN, NetworkSpec
from neurodyn.runs import Run


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory):
    task = tasks.get("pdm")
    truth = CTRNN(
        NetworkSpec(task.n_inputs, 24, task.n_outputs, seeds=(3,), rec_gain=1.2, activation="tanh")
    )
    batch = task.sample(120, seed=0)
    synth = synthesize(
        truth, batch.x, n_observed=20, mean_rate_hz=30.0, seed=0, conditions=batch.trial
    )
    path = synth.recording.save(tmp_path_factory.mktemp("data") / "rec.npz")
    return synth, path


@pytest.fixture(scope="module")
def fitted(synthetic, tmp_path_factory):
    _, path = synthetic
    config = {
        "recording": {"heldout_neurons": 0.25, "heldout_trials": 0.25, "warmup_bins": 3},
        "model": {"n_hidden": 16, "seeds": [1]},
        "train": {"steps": 150, "batch_size": 32, "lr": 0.01, "log_every": 50},
    }
    return fit_latent(path, config, runs=tmp_path_factory.mktemp("runs"), progress=False)


def test_a_fit_is_a_run_of_the_held_in_neurons_and_training_trials(fitted, synthetic):
    _synth, _ = synthetic
    split = fitted_split(fitted)
    assert (len(split.heldin_neurons), len(split.heldout_neurons)) == (15, 5)
    assert (len(split.train_trials), len(split.test_trials)) == (90, 30)
    model = Run.open(fitted.path).load_model()
    assert model.spec.n_outputs == 15 and model.spec.n_inputs == 3 + 15  # inputs, then warm-up
    assert fitted.info().status == "finished"
    assert fitted.info().performance["recording"] > 0.05  # deviance explained on fresh trials


def test_bits_per_spike_true_above_fitted_above_zero_on_held_out_neurons(fitted, synthetic):
    synth, _ = synthetic
    split = fitted_split(fitted)
    counts = synth.recording.activity[:, :, split.heldout_neurons]
    train, test = split.train_trials, split.test_trials
    true_bits = bits_per_spike(synth.mean()[:, test][:, :, split.heldout_neurons], counts[:, test])
    states, _ = fitted_trajectories(fitted)
    latents = states[:, 0]
    smoothed = co_smoothing(latents[:, train], counts[:, train], latents[:, test], counts[:, test])
    assert float(true_bits) > smoothed.bits_per_spike > 0
    # the fitted latents carry part of the true states
    assert 0.2 < state_r2(latents[3:], synth.states[3:]) < 1.0


def test_fit_config_refuses_a_task_and_unknown_options(synthetic):
    _, path = synthetic
    with pytest.raises(ConfigError, match="no `task`"):
        fit_config(path, {"task": "pdm"})
    with pytest.raises(ConfigError, match="unknown options"):
        fit_config(path, {"recording": {"held_out": 0.2}})
    with pytest.raises(ConfigError, match="leaves none"):
        fit_config(path, {"recording": {"heldout_trials": 0.999}})


def test_cli_fits_a_recording_and_refuses_a_bad_one(synthetic, tmp_path, capsys):
    _, path = synthetic
    config = tmp_path / "fit.yaml"
    config.write_text(
        yaml.safe_dump({"model": {"n_hidden": 8}, "train": {"steps": 5, "log_every": 5}})
    )
    assert (
        main(
            [
                "fit",
                str(path),
                "--config",
                str(config),
                "--runs",
                str(tmp_path / "runs"),
                "--name",
                "f",
                "--quiet",
            ]
        )
        == 0
    )
    run = Run.open(tmp_path / "runs" / "f")
    assert run.load_model().W_rec.shape == (1, 8, 8)
    assert "deviance explained" in capsys.readouterr().out
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"no")
    assert main(["fit", str(junk), "--runs", str(tmp_path / "runs")]) == 2
    assert "junk.npz is not a readable .npz archive" in capsys.readouterr().err
    assert not torch.any(torch.isnan(run.load_model().W_rec))


def test_recovery_row_scores_a_fit_against_the_truth(fitted, synthetic):
    from neurodyn.analysis import recovery_table
    from neurodyn.fit import recovery

    synth, _ = synthetic
    row = recovery(fitted, synth, n_starts=64)
    assert row.true_bits_per_spike > row.bits_per_spike > 0
    assert 0.2 < row.state_r2 < 1.0
    assert row.n_fixed_true >= 1 and row.n_fixed_fitted >= 1
    assert 0 <= row.stability_agreement <= 1 and row.dsa_distance >= 0
    assert -1 < row.psth_r2 <= 1  # pdm's coherences: trials averaged per coherence
    # the slowest timescales at the matched points: the truth's from its own Jacobian's leading
    # eigenvalue (steps of one 20-ms bin), the fit's somewhere in time, the error in decades
    assert row.true_slowest_timescale_ms > 0 and math.isfinite(row.slowest_timescale_ms)
    assert 0 <= row.timescale_error < 3
    assert f"| {fitted.id} | 0 |" in recovery_table([row])
    assert "PSTH R^2 nan" not in recovery_table([row])
    # a recording without conditions: its nan is explained under the table, not left bare
    undefined = dataclasses.replace(row, psth_r2=float("nan"))
    assert "| nan |" in recovery_table([undefined])
    assert "PSTH R^2 nan: the test trials carry no condition" in recovery_table([undefined])
    other = synthesize(synth.network, synth.recording.inputs, n_observed=20, seed=5)
    with pytest.raises(ArgumentError, match="not to this synthetic recording"):
        recovery(fitted, other)
