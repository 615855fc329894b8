"""`neurodyn dynamics RUN`: limit cycles, Lyapunov spectra and Koopman modes of a run, saved
under its analysis folder and drawn in its report; the bad inputs of issue 22 as one-line
errors or results that say why they are empty."""

import numpy as np
import pytest
import torch
from torch import nn

from neurodyn.analysis import LimitCycles, LyapunovSpectrum
from neurodyn.cli import main
from neurodyn.runs import adopt, parse_config, train_run
from neurodyn.runs import dynamics as dyn


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    config = parse_config(
        {
            "task": "flipflop",
            "model": {"n_hidden": 12, "activation": "tanh", "sigma_rec": 0.0, "seeds": [1, 2]},
            "train": {"steps": 20, "batch_size": 16, "log_every": 10},
        }
    )
    return train_run(config, tmp_path_factory.mktemp("runs"), run_id="tiny", progress=False)


def test_dynamics_command_saves_every_result_and_reports_them(tiny_run, capsys):
    argv = ["dynamics", str(tiny_run.path), "--cycles", "--lyapunov", "--koopman", "--quiet"]
    assert main([*argv, "--steps", "200", "--initial-states", "4"]) == 0
    out = capsys.readouterr().out
    # a barely trained flip-flop settles on fixed points: no cycle, and it says why
    assert "limit cycles: none (all 8 starts settled on fixed points)" in out
    assert "member 1: Lyapunov exponents" in out and "Koopman eigenvalues" in out
    folder = tiny_run.path / "analysis"
    cycles = LimitCycles.load(folder / "flipflop.memory.limit_cycles.npz")
    assert len(cycles) == 0 and cycles.outcomes()["fixed point"] == 8
    spectrum = LyapunovSpectrum.load(folder / "flipflop.memory.lyapunov.npz")
    assert spectrum.exponents.shape == (8, 10) and (spectrum.exponents < 0).all()
    [saved] = dyn.saved_dynamics(tiny_run, "flipflop")
    assert saved.epoch == "memory" and saved.koopman is not None and saved.poincare is None
    # trajectories settling on stable points: nothing grows (eigenvalue 1 is each basin's
    # indicator function, as many as there are attractors, up to the fit's accuracy)
    assert np.abs(saved.koopman.eigenvalues).max() < 1.01
    report = (tiny_run.path / "report.html").read_text()
    assert "No limit cycle under the constant input of the memory epoch" in report
    assert "Lyapunov spectrum under the constant input" in report
    assert "Koopman eigenvalues by extended DMD" in report
    assert "no limit cycle under the memory input (all 8 starts settled" in report  # summary


@pytest.mark.parametrize(
    "extra, message",
    [
        ([], "name what to compute: --cycles, --lyapunov, --koopman"),
        (
            ["--lyapunov", "--exponents", "13"],
            "n_exponents must be from 1 to the state's dimension 12",
        ),
        (["--lyapunov", "--exponents", "0"], "--exponents must be at least 1"),
        (["--cycles", "--epoch", "delay"], "has no epoch 'delay'"),
        (["--koopman", "--member", "2"], "member"),
        # an option none of the asked analyses uses is refused, not dropped
        (["--cycles", "--member", "1"], "--member steers --koopman, not --cycles"),
        (["--cycles", "--lyapunov", "--sigma", "0.1"], "--sigma steers --escape"),
        (["--koopman", "--trajectories", "4"], "--trajectories steers --escape"),
        (["--koopman", "--exponents", "4"], "--exponents steers --lyapunov"),
        (["--cycles", "--steps", "300"], "--steps steers --lyapunov, --koopman, --escape"),
    ],
)
def test_bad_requests_are_one_line_errors(tiny_run, capsys, extra, message):
    assert main(["dynamics", str(tiny_run.path), "--quiet", *extra]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err and err.count("\n") == 1


def test_an_adopted_torch_cell_gets_the_dynamics_too(tmp_path, capsys):
    torch.manual_seed(0)
    cell = nn.RNNCell(3, 8)
    with torch.no_grad():
        cell.weight_hh.mul_(0.5)  # contracting: a single stable point
    run = adopt(cell, nn.Linear(8, 3), task="pdm", runs=tmp_path, name="rnn")
    argv = ["dynamics", str(run.path), "--cycles", "--lyapunov", "--koopman", "--quiet"]
    assert main([*argv, "--steps", "100", "--initial-states", "4"]) == 0
    out = capsys.readouterr().out
    assert "limit cycles: none" in out and "member 0: Lyapunov exponents -" in out
