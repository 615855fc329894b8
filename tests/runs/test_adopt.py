"""An adopted network as a run on disk: the analyses, fixed points, comparisons, report and
CLI take it as they take a run neurodyn trained, in this process and in a fresh one."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml
from torch import nn

import neurodyn
from neurodyn.cli import main
from neurodyn.errors import ConfigError, CorruptCheckpoint, NeurodynError, RunExists, ShapeError
from neurodyn.models import AdoptedNetwork
from neurodyn.runs import Run, adopt, parse_config, resume_run
from neurodyn.runs.analyze import analyze_run, load_analyses
from neurodyn.runs.compare import compare_runs
from neurodyn.runs.fixedpoints import across_training, find_run_fixed_points
from tests.models.user_cells import LinearCell, OpaqueCell

ROOT = Path(__file__).resolve().parents[2]


def seeded(make, seed):
    torch.manual_seed(seed)
    return make()


@pytest.fixture(scope="module")
def rnn_cell():
    """An nn.RNNCell for pdm (3 inputs, 3 outputs) with no biases, so that under pdm's delay-free
    fixation input (1, 0, 0) ... and with zero input its one fixed point is 0."""
    cell = seeded(lambda: nn.RNNCell(3, 12), 0)
    with torch.no_grad():
        cell.weight_hh.mul_(0.5)
    return cell, seeded(lambda: nn.Linear(12, 3), 1)


@pytest.fixture(scope="module")
def adopted_run(rnn_cell, tmp_path_factory):
    cell, readout = rnn_cell
    return adopt(cell, readout, task="pdm", runs=tmp_path_factory.mktemp("runs"), name="rnn")


def test_the_run_holds_the_module_and_rebuilds_it(adopted_run, rnn_cell):
    cell, readout = rnn_cell
    info = adopted_run.info()
    assert info.status == "adopted" and info.steps_done == 0
    assert 0 <= info.performance["pdm"] <= 1  # scored on fresh trials
    saved = yaml.safe_load((adopted_run.path / "config.yaml").read_text())
    assert saved["model"]["adopted"]["cell"] == "torch.nn.modules.rnn:RNNCell"
    assert saved["model"]["adopted"]["cell_kwargs"] == {"input_size": 3, "hidden_size": 12}
    assert parse_config(saved) == adopted_run.config  # the file says all there is
    model = Run.open(adopted_run.path).load_model()
    assert isinstance(model, AdoptedNetwork) and model.state_size == 12
    x = adopted_run.task.sample(4, seed=0).x
    with torch.no_grad():
        states = model(x).states[:, 0]
        h = torch.zeros(4, 12)
        for t in range(x.shape[0]):
            h = cell(x[t], h)
            torch.testing.assert_close(states[t], h)
        torch.testing.assert_close(model(x).outputs[-1, 0], readout(h))
    assert all(p.requires_grad for p in cell.parameters())  # the caller's module is left as it is
    assert neurodyn.list_runs(adopted_run.root)[0].steps_total == 0


def test_analyses_fixed_points_compare_and_report_take_the_adopted_run(adopted_run, rnn_cell):
    results = analyze_run(adopted_run)
    assert [r.task for r in results] == ["pdm"]
    assert results[0].recurrent_input_ratio is not None  # RNNCell names weight_ih, weight_hh
    np.testing.assert_array_equal(
        load_analyses(adopted_run)[0].pca.explained_variance_ratio,
        results[0].pca.explained_variance_ratio,
    )
    found = find_run_fixed_points(adopted_run, epoch="fixation", n_initial=64)
    # tanh(W_ih u + b + W_hh h) under the fixation input: a contraction, one stable point
    cell = rnn_cell[0]
    assert len(found) == 1 and found.stability.tolist() == ["stable"] and np.isnan(found.dt)
    u = torch.as_tensor(found.inputs[0], dtype=torch.float64)
    point = torch.as_tensor(found.states[0])
    with torch.no_grad():
        stepped = cell.double()(u[None], point[None])[0]
        cell.float()
    np.testing.assert_allclose(stepped.numpy(), found.states[0], atol=1e-10)
    same = compare_runs([adopted_run, adopted_run], "procrustes")
    np.testing.assert_allclose(same.values, 0.0, atol=1e-6)  # a module against itself
    report = neurodyn.write_report(adopted_run).read_text()
    assert "<b>Adopted</b>" in report and "torch.nn.modules.rnn:RNNCell" in report
    assert "Fixed and slow points" in report


def test_the_cli_takes_the_adopted_run(adopted_run, tmp_path, capsys):
    path = str(adopted_run.path)
    assert main(["analyze", path]) == 0
    assert main(["fixedpoints", path, "--initial-states", "32", "--quiet"]) == 0
    assert "member 0: 1 stable" in capsys.readouterr().out
    assert main(["compare", path, path, "--runs", str(tmp_path), "--quiet"]) == 0
    assert main(["report", path]) == 0
    assert main(["train", "--resume", path]) == 2
    assert "trained outside neurodyn" in capsys.readouterr().err


def test_a_user_module_and_an_ensemble_of_them_load_in_a_fresh_process(tmp_path, capsys):
    cells = [seeded(lambda: LinearCell(3, 5, gain=0.4), s) for s in (1, 2)]
    readouts = [seeded(lambda: nn.Linear(5, 3), s) for s in (3, 4)]
    run = adopt(
        nn.ModuleList(cells), readouts, task="pdm", runs=tmp_path, name="linear", seeds=[11, 12]
    )
    assert run.config.model.seeds == (11, 12)
    with torch.no_grad():
        member = run.load_member(1)
        x = run.task.sample(2, seed=1).x
        h = torch.zeros(2, 5)
        for t in range(x.shape[0]):
            h = cells[1](x[t], h)
        torch.testing.assert_close(member(x).states[-1, 0], h)
    found = find_run_fixed_points(run, epoch="fixation", n_initial=64)
    for e, cell in enumerate(cells):  # an affine map's one point: (I - W) h = B u + b
        w, b_in, b = (p.detach().double() for p in (cell.W, cell.B, cell.b))
        u = torch.as_tensor(found.inputs[found.member == e][0], dtype=torch.float64)
        exact = torch.linalg.solve(torch.eye(5, dtype=torch.float64) - w, b_in @ u + b)
        np.testing.assert_allclose(found.states[found.member == e], exact[None].numpy(), atol=1e-9)
    # another process rebuilds the user's module from its import path (cwd: not the repository)
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{ROOT / 'src'}"}
    path, folder = str(run.path), str(tmp_path / "comparisons")
    command = [sys.executable, "-m", "neurodyn.cli", "compare", path, path, "--runs", folder]
    command += ["--metric", "procrustes", "--trials", "4", "--quiet"]
    done = subprocess.run(
        command, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert done.returncode == 0, done.stderr
    assert "4 networks compared with procrustes" in done.stdout
    # a class that cannot be imported (moved, or its package not installed): one line, exit 2
    config = yaml.safe_load((run.path / "config.yaml").read_text())
    config["model"]["adopted"]["cell"] = "moved_away.cells:LinearCell"
    (run.path / "config.yaml").write_text(yaml.safe_dump(config))
    assert main(command[3:]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "'moved_away.cells:LinearCell' cannot be imported" in err
    assert "PYTHONPATH" in err


def test_bad_adoptions_and_broken_adopted_runs_get_one_line_errors(adopted_run, tmp_path):
    readout = nn.Linear(12, 3)
    with pytest.raises(ShapeError, match="the cell takes 5 inputs, task pdm gives 3"):
        adopt(nn.RNNCell(5, 12), readout, task="pdm", runs=tmp_path)
    with pytest.raises(ShapeError, match="the readout gives 2 outputs, task pdm scores 3"):
        adopt(nn.RNNCell(3, 12), nn.Linear(12, 2), task="pdm", runs=tmp_path)
    with pytest.raises(ConfigError, match="pass it in cell_kwargs="):
        adopt(OpaqueCell(12), readout, task="pdm", runs=tmp_path)
    opaque = adopt(OpaqueCell(12), readout, task="pdm", runs=tmp_path, cell_kwargs={"width": 12})
    assert opaque.config.model.adopted.cell_kwargs == {"width": 12}

    class Local(nn.RNNCell):
        pass

    with pytest.raises(ConfigError, match="define it at the top level"):
        adopt(Local(3, 12), readout, task="pdm", runs=tmp_path)
    with pytest.raises(RunExists):
        adopt(nn.RNNCell(3, 12), readout, task="pdm", runs=adopted_run.root, name="rnn")
    assert sorted(p.name for p in tmp_path.iterdir() if Run.is_run(p)) == [opaque.id]
    with pytest.raises(ConfigError, match="trained outside neurodyn"):
        resume_run(adopted_run.path)
    with pytest.raises(NeurodynError, match="holds only its final weights"):
        across_training(adopted_run)
    with pytest.raises(ConfigError, match=r"model.tau_ms set for an adopted network"):
        parse_config(
            {
                **adopted_run.config.to_dict(),
                "model": {**adopted_run.config.to_dict()["model"], "tau_ms": 50.0},
            }
        )

    # the class changed since: the weights no longer load, said in one line
    config = yaml.safe_load((opaque.path / "config.yaml").read_text())
    config["model"]["adopted"]["readout_kwargs"]["bias"] = False
    (opaque.path / "config.yaml").write_text(yaml.safe_dump(config))
    with pytest.raises(CorruptCheckpoint, match=r"does not load into .*OpaqueCell.*adopt it again"):
        Run.open(opaque.path).load_model()
