"""Yang et al.'s task variance of any multitask run (`neurodyn analyze RUN --task-variance`):
planted task-selective unit groups recovered as the clusters, a lesion that cannot touch the
other task, the CLI and the report, bad input."""

import numpy as np
import pytest
import safetensors.torch
import torch

from neurodyn.cli import main
from neurodyn.errors import ConfigError
from neurodyn.report import write_report
from neurodyn.runs import parse_config, train_run
from neurodyn.runs.analyze import saved_task_variance
from neurodyn.runs.task_variance import analyze_task_variance

N, HALF = 32, 16


@pytest.fixture(scope="module")
def planted_run(tmp_path_factory):
    """A two-task run whose units 0-15 can fire only in pdm and 16-31 only in dlygo: a bias
    of -20 that only the unit group's own rule input (+21) lifts, stimulus weights in [0, 0.5]
    and no recurrence, so a unit of the other task's group sits at zero rate throughout."""
    config = parse_config(
        {
            "task": ["pdm", "dlygo"],
            "model": {"n_hidden": N, "activation": "relu", "seeds": [3]},
            "train": {"steps": 2, "batch_size": 4, "checkpoint_every": 2},
        }
    )
    run = train_run(config, tmp_path_factory.mktemp("runs"), run_id="tv", progress=False)
    path = run.path / "model.safetensors"
    weights = safetensors.torch.load_file(path)
    n_inputs = weights["W_in"].shape[-1]
    generator = torch.Generator().manual_seed(0)
    w_in = 0.5 * torch.rand(1, N, n_inputs, generator=generator, dtype=torch.float64)
    w_in[..., -2:] = 0.0
    w_in[0, :HALF, -2] = 21.0  # rule input of pdm (the rule inputs are last, in task order)
    w_in[0, HALF:, -1] = 21.0  # rule input of dlygo
    weights["W_in"] = w_in.to(weights["W_in"].dtype)
    weights["W_rec"] = torch.zeros_like(weights["W_rec"])
    weights["b"] = torch.full_like(weights["b"], -20.0)
    safetensors.torch.save_file(weights, path)
    return run


def test_planted_groups_are_the_clusters_and_their_lesions_are_task_specific(planted_run):
    (result,) = analyze_task_variance(planted_run, trials=32)
    variance, clusters, lesions = result.variance, result.clusters, result.lesions
    assert variance.tasks == ["pdm", "dlygo"]
    # each group varies in its own task only: normalised variance exactly (1, 0) and (0, 1)
    # for every active unit (a unit whose stimulus weights are all small stays under the
    # activity threshold, its row NaN, its label -1)
    group_a = np.flatnonzero(variance.active[:HALF])
    group_b = HALF + np.flatnonzero(variance.active[HALF:])
    assert len(group_a) >= 8 and len(group_b) >= 8
    np.testing.assert_array_equal(variance.normalised[group_a], [[1.0, 0.0]] * len(group_a))
    np.testing.assert_array_equal(variance.normalised[group_b], [[0.0, 1.0]] * len(group_b))
    assert clusters.n_clusters == 2
    assert len(set(clusters.labels[group_a])) == 1 and len(set(clusters.labels[group_b])) == 1
    assert clusters.labels[group_a[0]] != clusters.labels[group_b[0]]
    # silencing the pdm group cannot change dlygo (those units are at zero rate there)
    pdm_group = int(clusters.labels[group_a[0]])
    dlygo = lesions.tasks.index("dlygo")
    assert lesions.lesioned[pdm_group, dlygo] == lesions.intact[dlygo]
    # saved with the run, read back equal
    (again,) = saved_task_variance(planted_run)
    np.testing.assert_array_equal(again.clusters.labels, clusters.labels)
    np.testing.assert_array_equal(again.lesions.lesioned, lesions.lesioned)


def test_the_cli_and_the_report(planted_run, capsys):
    assert (
        main(["analyze", str(planted_run.path), "--task-variance", "--trials", "8", "--quiet"]) == 0
    )
    out = capsys.readouterr().out
    assert "member 0: 2 unit clusters" in out
    text = write_report(planted_run).read_text()
    assert "<h2>Task variance</h2>" in text and "member 0: 2 unit clusters" in text


def test_one_task_or_two_analyses_at_once_get_a_one_line_error(tmp_path, capsys, planted_run):
    config = parse_config(
        {"task": "pdm", "model": {"n_hidden": 8}, "train": {"steps": 2, "batch_size": 4}}
    )
    run = train_run(config, tmp_path, run_id="p", progress=False)
    with pytest.raises(ConfigError, match="task variance compares tasks"):
        analyze_task_variance(run)
    assert main(["analyze", str(run.path), "--task-variance"]) == 2
    err = capsys.readouterr().err
    assert "task variance compares tasks" in err and "Traceback" not in err
    assert main(["analyze", str(planted_run.path), "--task-variance", "--motifs"]) == 2
    assert "one at a time" in capsys.readouterr().err
