"""Training metrics sent to TensorBoard and MLflow, read back with each tool's own reader."""

import pytest

from neurodyn.cli import main
from neurodyn.errors import ConfigError
from neurodyn.runs import Run, parse_config, train_run

CONFIG = {
    "task": "pdm",
    "model": {"n_hidden": 8, "seeds": [3, 4]},
    "train": {"steps": 30, "batch_size": 8, "log_every": 10, "checkpoint_every": 30},
}


def _config(**train):
    return parse_config({**CONFIG, "train": {**CONFIG["train"], **train}})


def _logged(run: Run, name: str) -> list[tuple[int, float]]:
    """(step, value) of metric `name` (e.g. loss.seed3) in metrics.csv."""
    member, seed = name.rsplit(".seed", 1)
    return [
        (int(row["step"]), float(row[member]))
        for row in run.metrics()
        if int(row["seed"]) == int(seed) and member in row
    ]


def test_tensorboard_has_every_members_metrics_at_every_logged_step(tmp_path):
    pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    run = train_run(_config(log_to=["tensorboard"]), tmp_path, run_id="tb", progress=False)
    events = EventAccumulator(str(run.path / "tensorboard"))
    events.Reload()
    tags = events.Tags()["scalars"]
    assert {"loss/seed3", "loss/seed4", "perf.pdm/seed3", "perf.pdm/seed4"} <= set(tags)
    read = [(e.step, e.value) for e in events.Scalars("loss/seed4")]
    expected = _logged(run, "loss.seed4")
    assert [s for s, _ in read] == [s for s, _ in expected] == [10, 20, 30]
    assert [v for _, v in read] == pytest.approx([v for _, v in expected], rel=1e-6)


def test_mlflow_file_store_holds_the_run_and_resuming_logs_on(tmp_path, monkeypatch):
    pytest.importorskip("mlflow", reason="the mlflow extra is not installed")
    from mlflow.tracking import MlflowClient

    run = train_run(
        _config(log_to=["mlflow"]), tmp_path, run_id="ml", until_step=20, progress=False
    )
    assert main(["train", "--resume", str(run.path), "--quiet"]) == 0
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # as a user reading it back would
    client = MlflowClient(tracking_uri=(run.path / "mlruns").resolve().as_uri())
    experiment = client.get_experiment_by_name("neurodyn")
    (found,) = client.search_runs([experiment.experiment_id])
    assert found.info.run_name == "ml"
    assert found.data.params["tasks"] == "pdm" and found.data.params["seeds"] == "3,4"
    history = client.get_metric_history(found.info.run_id, "loss.seed3")
    expected = _logged(Run.open(run.path), "loss.seed3")
    assert [m.step for m in history] == [s for s, _ in expected] == [10, 20, 30]
    assert [m.value for m in history] == pytest.approx([v for _, v in expected], rel=1e-6)
    assert {"perf.pdm.seed3", "perf.pdm.seed4", "loss.seed4"} <= set(found.data.metrics)


def test_cli_flag_adds_tensorboard_to_the_config(tmp_path):
    pytest.importorskip("tensorboard", reason="the tensorboard extra is not installed")
    config = tmp_path / "c.yaml"
    config.write_text(
        "task: pdm\nmodel: {n_hidden: 8}\ntrain: {steps: 10, batch_size: 8, log_every: 5}\n"
    )
    args = ["train", str(config), "--runs", str(tmp_path / "runs"), "--name", "r", "--quiet"]
    assert main([*args, "--log-to", "tensorboard"]) == 0
    assert any((tmp_path / "runs" / "r" / "tensorboard").iterdir())


def test_an_unknown_logger_is_refused_with_the_choices():
    with pytest.raises(ConfigError, match="choose from tensorboard, mlflow"):
        _config(log_to=["wandb"])
