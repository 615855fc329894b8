"""The motif analysis of a run: every member analysed and saved, the CLI, bad input."""

import numpy as np
import pytest

from neurodyn.cli import main
from neurodyn.errors import ConfigError
from neurodyn.runs import parse_config, train_run
from neurodyn.runs.motifs import analyze_motifs, saved_motifs

TASKS = ["fdgo", "delaygo", "fdanti", "delayanti"]


@pytest.fixture(scope="module")
def motif_run(tmp_path_factory):
    config = parse_config(
        {
            "task": {"battery": "driscoll24", "tasks": TASKS},
            "model": {"n_hidden": 32, "activation": "softplus", "seeds": [0, 1]},
            "train": {"steps": 40, "batch_size": 16, "lr": 0.01, "checkpoint_every": 40},
        }
    )
    return train_run(config, tmp_path_factory.mktemp("runs"), run_id="m", progress=False)


def test_every_member_is_analysed_and_saved(motif_run):
    results = analyze_motifs(motif_run, trials=16, lesion_trials=8)
    assert [r.member for r in results] == [0, 1]
    first = results[0]
    # stimulus, memory (MemoryPro/Anti) and response periods of the four tasks, no context
    assert len(first.variance.labels) == 2 * 2 + 3 * 2
    assert first.clusters.unit_labels.shape == (32,)
    n = first.clusters.n_unit_clusters
    assert first.lesions is not None and first.lesions.performance.shape == (n + 1, 4)
    again = saved_motifs(motif_run)
    np.testing.assert_array_equal(again[1].clusters.unit_labels, results[1].clusters.unit_labels)
    np.testing.assert_allclose(again[1].lesions.cost, results[1].lesions.cost)


def test_the_cli_analyses_motifs(motif_run, capsys):
    assert main(["analyze", str(motif_run.path), "--motifs", "--trials", "8", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "member 1:" in out and "unit clusters" in out


def test_tasks_without_periods_get_a_one_line_error(tmp_path, capsys):
    config = parse_config(
        {"task": "pdm", "model": {"n_hidden": 8}, "train": {"steps": 2, "batch_size": 4}}
    )
    run = train_run(config, tmp_path, run_id="p", progress=False)
    with pytest.raises(ConfigError, match="declare no task periods"):
        analyze_motifs(run)
    assert main(["analyze", str(run.path), "--motifs"]) == 2
    err = capsys.readouterr().err
    assert "declare no task periods" in err and "Traceback" not in err


def test_the_run_report_shows_the_motifs(motif_run):
    from neurodyn.report import write_report

    analyze_motifs(motif_run, trials=16, lesion_trials=8)
    text = write_report(motif_run).read_text()
    assert "Dynamical motifs" in text and "Motif blocks of member 0" in text
    assert text.count("<tr><td>member ") >= 2  # every member's counts


def test_rule_interpolation_from_memory_pro_to_anti(motif_run):
    from neurodyn.analysis.fixed_points import FixedPointOptions
    from neurodyn.runs.motifs import rule_interpolation

    bridge = rule_interpolation(
        motif_run,
        "driscoll24.delaygo",
        "driscoll24.delayanti",
        "delay1",
        n_alphas=3,
        n_initial=16,
        options=FixedPointOptions(max_iters=300),
    )
    assert len(bridge.stable_counts) == 3
    # the two tasks' memory inputs differ only in their rule inputs
    differ = np.flatnonzero(bridge.continuation.input_a != bridge.continuation.input_b)
    assert set(differ) <= set(range(5, 9))
    assert np.isnan(bridge.bridge_readout_angle_deg) or 0 <= bridge.bridge_readout_angle_deg <= 90


def test_interpolation_across_input_layouts_is_refused(tmp_path, capsys):
    from neurodyn.runs.motifs import rule_interpolation

    config = parse_config(
        {"task": ["pdm", "dlygo"], "model": {"n_hidden": 8}, "train": {"steps": 2, "batch_size": 4}}
    )
    run = train_run(config, tmp_path, run_id="two", progress=False)
    with pytest.raises(ConfigError, match="different input layouts"):
        rule_interpolation(run, "pdm", "dlygo", "delay")
