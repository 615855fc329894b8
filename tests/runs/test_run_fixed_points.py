import numpy as np
import pytest

from neurodyn.analysis.fixed_points import FixedPointOptions
from neurodyn.cli import main
from neurodyn.errors import ArgumentError, NeurodynError
from neurodyn.runs import Run, parse_config, train_run
from neurodyn.runs import fixedpoints as fp


@pytest.fixture(scope="module")
def flipflop_run(tmp_path_factory):
    config = parse_config(
        {
            "task": "flipflop",
            "model": {
                "n_hidden": 24,
                "tau_ms": 20.0,
                "activation": "tanh",
                "sigma_rec": 0.0,
                "seeds": [1],
            },
            "train": {
                "steps": 600,
                "batch_size": 32,
                "lr": 0.01,
                "checkpoint_every": 300,
                "keep_weights_every": 200,
            },
        }
    )
    return train_run(config, tmp_path_factory.mktemp("runs"), run_id="ff", progress=False)


def test_run_fixed_points_are_the_eight_memories(flipflop_run):
    found = fp.find_run_fixed_points(flipflop_run, n_initial=256)
    assert found.count(0)["stable"] == 8
    # the memory epoch's input is zero (no pulse)
    np.testing.assert_array_equal(found.inputs, 0)
    saved = fp.saved_fixed_points(flipflop_run, "flipflop")
    assert list(saved) == ["memory"] and len(saved["memory"]) == len(found)


def test_weights_are_kept_and_fixed_points_tracked_across_training(flipflop_run):
    assert [step for step, _ in flipflop_run.weight_history()] == [200, 400, 600]
    result = fp.across_training(
        flipflop_run, n_initial=128, options=FixedPointOptions(max_iters=500)
    )
    assert result.steps.tolist() == [200, 400, 600]
    assert result.counts["stable"][-1] == 8
    assert (result.spectral_radius > 0).all()
    assert "flipflop.memory" in fp.saved_across_training(flipflop_run)
    # its wall time is a phase of the report's table, as every other search's
    assert flipflop_run.info().seconds["fixed points flipflop.memory (across training)"] > 0


def test_bad_requests_say_what_to_do(flipflop_run, tmp_path):
    with pytest.raises(NeurodynError, match="needs a run trained on several tasks"):
        fp.interpolate_run(flipflop_run, "flipflop", "pdm")
    with pytest.raises(NeurodynError, match="has no epoch 'delay'"):
        fp.find_run_fixed_points(flipflop_run, epoch="delay")
    with pytest.raises(NeurodynError, match="not trained on task 'pdm'"):
        fp.find_run_fixed_points(flipflop_run, task="pdm")
    plain = train_run(
        parse_config({"task": "flipflop", "model": {"n_hidden": 4}, "train": {"steps": 2}}),
        tmp_path,
        progress=False,
    )
    with pytest.raises(NeurodynError, match="keep_weights_every"):
        fp.across_training(plain)


def test_interpolation_between_two_rules_of_a_multitask_run(tmp_path):
    config = parse_config(
        {
            "task": ["pdm", "dlygo"],
            "model": {"n_hidden": 12, "seeds": [1]},
            "train": {"steps": 5, "batch_size": 8},
        }
    )
    run = train_run(config, tmp_path, progress=False)
    cont = fp.interpolate_run(
        run, "pdm", "dlygo", n_alphas=3, n_initial=16, options=FixedPointOptions(max_iters=200)
    )
    np.testing.assert_allclose(cont.alphas, [0, 0.5, 1])
    # the rule inputs sit at the end of the input vector: pdm's on at alpha 0, dlygo's at 1
    assert cont.input_a[-2:].tolist() == [1, 0] and cont.input_b[-2:].tolist() == [0, 1]
    assert "pdm-dlygo.stimulus-delay" in fp.saved_interpolations(run)
    assert run.info().seconds["fixed points pdm-dlygo.stimulus-delay (interpolation)"] > 0
    # a task to itself has one input at both ends: refused before any search
    with pytest.raises(ArgumentError, match="interpolating pdm to itself gives one input"):
        fp.interpolate_run(run, "pdm", "pdm")


def test_cli_fixedpoints_writes_results_and_report(flipflop_run, capsys):
    path = str(flipflop_run.path)
    assert main(["fixedpoints", path, "--across-training", "--initial-states", "64"]) == 0
    assert "step     600: 8 stable" in capsys.readouterr().out
    assert main(["fixedpoints", path, "--initial-states", "128"]) == 0
    out = capsys.readouterr().out
    assert "member 0: 8 stable" in out
    report = (Run.open(flipflop_run.path).path / "report.html").read_text()
    assert "Fixed and slow points under the constant input of the memory epoch" in report
    assert "Fixed points across training" in report
    assert main(["fixedpoints", str(flipflop_run.path), "--epoch", "nope"]) == 2


@pytest.mark.parametrize("search", [["--across-training"], ["--interpolate", "flipflop", "pdm"]])
def test_cli_fixedpoints_gives_noise_and_member_to_the_searches_along_training_and_inputs(
    flipflop_run, monkeypatch, search
):
    # --noise reached only the search at one input (the other two took their default, 0.1)
    seen = {}

    def spy(run, *args, **kwargs):
        seen.update(kwargs)
        raise NeurodynError("stopped by the test")

    monkeypatch.setattr(fp, "across_training", spy)
    monkeypatch.setattr(fp, "interpolate_run", spy)
    argv = ["fixedpoints", str(flipflop_run.path), *search, "--noise", "0.3", "--member", "0"]
    assert main(argv) == 2
    assert seen["noise"] == 0.3 and seen["member"] == 0
