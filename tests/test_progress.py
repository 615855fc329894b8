"""Every long command shows its progress on stderr, and nothing there with --quiet."""

import pytest
import yaml

from neurodyn import _progress
from neurodyn.cli import main
from neurodyn.runs import parse_config, resume_run, train_run

CONFIG = {
    "task": "pdm",
    "model": {"n_hidden": 12, "seeds": [1, 2]},
    "train": {"steps": 40, "batch_size": 16, "log_every": 20, "checkpoint_every": 40},
}


@pytest.fixture(scope="module")
def run(tmp_path_factory):
    return train_run(
        parse_config(CONFIG), tmp_path_factory.mktemp("runs"), run_id="small", progress=False
    )


@pytest.fixture
def config_file(tmp_path):
    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(CONFIG))
    return path


def _commands(run, config_file, tmp_path):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(
        yaml.safe_dump({"name": "sw", "base": str(config_file), "grid": {"train.lr": [0.01]}})
    )
    runs = str(tmp_path / "runs")
    path = str(run.path)
    return {
        "train": ["train", str(config_file), "--runs", runs],
        "analyze": ["analyze", path],
        "report": ["report", path],
        "fixedpoints": ["fixedpoints", path, "--initial-states", "16"],
        "compare": ["compare", path, "--runs", runs, "--trials", "8"],
        "sweep": ["sweep", str(sweep), "--runs", runs],
    }


@pytest.mark.parametrize(
    "command", ["train", "analyze", "report", "fixedpoints", "compare", "sweep"]
)
def test_progress_goes_to_stderr_and_quiet_silences_it(command, run, config_file, tmp_path, capsys):
    args = _commands(run, config_file, tmp_path)[command]
    # a new run each time: two trainings in one second would want the same run name
    named = ["--name", "shown"] if command == "train" else []
    assert main([*args, *named]) == 0
    shown = capsys.readouterr()
    assert shown.err.strip(), f"{command} showed no progress"
    named = ["--name", "quiet"] if command == "train" else []
    assert main([*args, *named, "--quiet"]) == 0
    quiet = capsys.readouterr()
    assert quiet.err == ""
    assert quiet.out.strip()  # the results still print


def test_in_a_log_a_step_writes_plain_lines_not_a_bar(capsys, monkeypatch):
    monkeypatch.setattr(_progress, "_LOG_EVERY_S", 0.0)
    for _ in _progress.progress(range(3), "things"):
        pass
    lines = capsys.readouterr().err.splitlines()
    assert lines == [
        "neurodyn: things 0/3",
        "neurodyn: things 1/3",
        "neurodyn: things 2/3",
        "neurodyn: things 3/3: done",  # the last part's line is the closing one
    ]


def test_a_quiet_step_writes_nothing(capsys):
    with _progress.Progress("things", 2, enabled=False) as bar:
        bar.advance(note="one")
    _progress.stage("a stage", enabled=False)
    assert capsys.readouterr().err == ""


def test_training_in_a_log_writes_a_few_lines_not_a_bar_per_step(tmp_path, capsys):
    config = parse_config({**CONFIG, "train": {**CONFIG["train"], "steps": 30, "log_every": 10}})
    run = train_run(config, tmp_path, run_id="logged", until_step=10, progress=False)
    capsys.readouterr()
    resume_run(run.path, progress=True)  # resumed: the count starts where the run stopped
    err = capsys.readouterr().err
    assert "\r" not in err
    lines = [line for line in err.splitlines() if line.startswith("neurodyn: train")]
    assert lines[0] == "neurodyn: train 10/30"
    assert lines[-1].startswith("neurodyn: train 30/30: loss=") and lines[-1].endswith("done")
    assert len(lines) < 6  # a line every few seconds, not one per step
