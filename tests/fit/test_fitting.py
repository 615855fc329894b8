"""`neurodyn fit` end to end: the fast rate fit written as a run, a synthetic recording saved
with its truth, the fit scored against the network that made it, and the report's table."""

import pytest
import torch

from neurodyn import tasks
from neurodyn.cli import main
from neurodyn.data import load_npz, load_synthetic, synthesize
from neurodyn.errors import ArgumentError, ConfigError
from neurodyn.fit import fit_record, fit_recording
from neurodyn.report import write_report
from neurodyn.runs import Run, parse_config, train_run
from neurodyn.runs.recovery import saved_recovery


@pytest.fixture(scope="module")
def truth(tmp_path_factory):
    """A small tanh network as the truth (its weights barely trained: any network will do)."""
    config = parse_config(
        {
            "task": "pdm",
            "name": "truth",
            "model": {"n_hidden": 12, "activation": "tanh", "sigma_rec": 0.0, "rec_gain": 1.3},
            "train": {"steps": 2, "batch_size": 8, "log_every": 1},
        }
    )
    return train_run(config, tmp_path_factory.mktemp("truth"), run_id="truth", progress=False)


@pytest.fixture(scope="module")
def recording(truth, tmp_path_factory):
    """Every unit of the truth observed as rates with a little noise, saved with its truth."""
    batch = tasks.get("pdm").sample(60, seed=0)
    synth = synthesize(
        truth.load_model(), batch.x, observation="gaussian", noise_std=0.05, gain=0.3, seed=0
    )
    return synth, synth.save(tmp_path_factory.mktemp("data") / "rec.npz")


def test_a_synthetic_recording_keeps_its_truth_and_refuses_another_network(truth, recording):
    synth, path = recording
    back = load_synthetic(path, truth.load_model())
    assert torch.equal(back.states, synth.states) and torch.equal(back.readout, synth.readout)
    assert torch.equal(back.recording.activity, synth.recording.activity)
    assert back.observation == "gaussian"
    assert torch.equal(load_npz(path).activity, synth.recording.activity)  # a plain recording too
    other = truth.load_model()
    with torch.no_grad():
        other.W_rec.mul_(0.5)
    with pytest.raises(ArgumentError, match="did not make"):
        load_synthetic(path, other)
    plain = synth.recording.save(path.parent / "plain.npz")
    with pytest.raises(ArgumentError, match="holds no truth"):
        load_synthetic(plain, truth.load_model())


def test_the_rate_fit_is_a_run_scored_against_its_truth(truth, recording, tmp_path):
    _, path = recording
    config = {
        "method": "rates",
        "rates": {"ridge": [1e-4, 1e-1]},
        "recording": {"heldout_neurons": 0.0, "heldout_trials": 0.25, "warmup_bins": 0},
        "model": {"tau_ms": truth.model_spec().tau_ms},
    }
    run = fit_recording(path, config, runs=tmp_path, name="rates", truth=truth.path, n_starts=16)
    model = run.load_model()
    assert run.info().status == "fitted" and model.W_rec.shape == (2, 12, 12)  # a unit a neuron
    assert fit_record(run)["method"] == "rates"
    assert fit_record(run)["truth"]["run"] == str(truth.path.resolve())
    rows = saved_recovery(run)
    assert [r.member for r in rows] == [0, 1]
    # every true unit is observed as an affine image of its rate: the fitted units follow the
    # true states closely, the weakly regularised fit best
    assert rows[0].state_r2 > 0.8 and rows[0].state_r2 >= rows[1].state_r2 - 0.05
    assert run.info().performance["recording"] > 0.5  # variance explained, training trials
    report = write_report(run).read_text()
    assert "Recovery of the true dynamics" in report
    # the report says what was done and measured: no training, and no share of trials correct
    assert "<b>Fitted</b>: 2 ctrnn networks of 12 units (one per ridge strength)" in report
    assert "training trials, share of the variance explained)" in report
    assert "share correct" not in report and "steps: 0 /" not in report


def test_cli_fits_rates_with_a_truth_and_refuses_bad_input(truth, recording, tmp_path, capsys):
    _, path = recording
    runs = str(tmp_path / "runs")
    args = ["fit", str(path), "--rates", "--runs", runs, "--name", "r", "--quiet"]
    assert main([*args, "--truth", str(truth.path)]) == 0
    out = capsys.readouterr().out
    assert (
        "| model | member |" in out and Run.open(tmp_path / "runs" / "r").info().status == "fitted"
    )
    other = tmp_path / "other.yaml"
    other.write_text("method: rates\nrates: {activation: relu}\n")
    assert main(["fit", str(path), "--config", str(other), "--runs", runs]) == 2
    assert "activation must be one of ('tanh', 'softplus')" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="trains nothing"):
        fit_recording(path, {"method": "rates", "train": {"steps": 5}}, runs=runs)
    with pytest.raises(ConfigError, match="method must be one of"):
        fit_recording(path, {"method": "em"}, runs=runs)


def test_psth_conditions_pick_the_coarsest_label_with_a_few_trials_each():
    from neurodyn.fit.truth import psth_conditions

    trials = torch.arange(8)
    conditions = {
        "trial_id": torch.arange(8.0),  # one value a trial: no average
        "coherence": torch.tensor([0.1, 0.2, 0.1, 0.2, 0.1, 0.2, 0.1, 0.2]),
        "constant": torch.ones(8),  # one value: nothing to tell apart
    }
    assert psth_conditions(conditions, trials).tolist() == [0, 1, 0, 1, 0, 1, 0, 1]
    assert psth_conditions({"trial_id": torch.arange(8.0)}, trials) is None


def test_a_truth_that_is_neither_a_run_nor_a_zoo_network_says_both(
    recording, tmp_path, monkeypatch, capsys
):
    # `--truth runs/typo` said only "the zoo has no network 'runs/typo'", as if --truth took
    # zoo names alone
    _, path = recording
    monkeypatch.chdir(tmp_path)
    args = ["fit", str(path), "--rates", "--runs", "runs", "--quiet"]
    assert main([*args, "--truth", "runs/truht"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(
        "neurodyn: error: --truth 'runs/truht': no run at that path, and the zoo has no network"
    )
    assert err.endswith("`neurodyn zoo list` lists them")
    assert not (tmp_path / "runs").exists()
