import pytest
import yaml

from neurodyn.cli import main
from neurodyn.errors import ConfigError
from neurodyn.runs import Run
from neurodyn.runs.sweep import expand_sweep, load_sweep, run_sweep

BASE = {
    "task": "flipflop",
    "model": {"n_hidden": 8, "seeds": [1]},
    "train": {"steps": 4, "batch_size": 4, "log_every": 2, "checkpoint_every": 4},
}


def test_a_grid_expands_to_every_combination_with_readable_ids():
    sweep = expand_sweep(
        {"name": "s", "config": BASE, "grid": {"model.n_hidden": [4, 8], "train.lr": [0.1, 0.2]}}
    )
    assert list(sweep.runs) == [
        "s-n_hidden=4-lr=0.1",
        "s-n_hidden=4-lr=0.2",
        "s-n_hidden=8-lr=0.1",
        "s-n_hidden=8-lr=0.2",
    ]
    assert sweep.runs["s-n_hidden=8-lr=0.1"]["model"]["n_hidden"] == 8
    assert sweep.runs["s-n_hidden=8-lr=0.1"]["name"] == "s"
    assert BASE["model"]["n_hidden"] == 8  # the base is not changed
    with pytest.raises(ConfigError, match=r"run s-n_hiden=4.*n_hidden"):
        expand_sweep({"name": "s", "config": BASE, "grid": {"model.n_hiden": [4]}})
    with pytest.raises(ConfigError, match="either `base`"):
        expand_sweep({"name": "s", "grid": {}})
    with pytest.raises(ConfigError, match="non-empty lists"):
        expand_sweep({"name": "s", "config": BASE, "grid": {"train.lr": 0.1}})


def test_the_example_sweep_file_expands(tmp_path):
    from pathlib import Path

    sweep = load_sweep(Path(__file__).parents[2] / "configs" / "sweeps" / "pdm_size.yaml")
    assert len(sweep.runs) == 4 and all(r.startswith("pdm-size-n_hidden=") for r in sweep.runs)


def test_a_sweep_trains_reuses_and_runs_in_worker_processes(tmp_path, capsys):
    spec = {"name": "s", "config": BASE, "grid": {"model.seeds": [[1], [2]]}}
    runs = run_sweep(expand_sweep(spec), tmp_path, progress=False)
    assert [r.id for r in runs] == ["s-seeds=1", "s-seeds=2"]
    assert all(r.info()["status"] == "finished" for r in runs)
    stamp = (tmp_path / "s-seeds=1" / "run.json").read_text()
    run_sweep(expand_sweep(spec), tmp_path, progress=False)  # reused, not retrained
    assert (tmp_path / "s-seeds=1" / "run.json").read_text() == stamp
    # two worker processes give the same networks as one process
    other = tmp_path / "parallel"
    again = run_sweep(expand_sweep(spec), other, workers=2, progress=False)
    for a, b in zip(runs, again, strict=True):
        assert (a.path / "model.safetensors").read_bytes() == (
            b.path / "model.safetensors"
        ).read_bytes()
    # the command line, then compare picks the sweep up by its name
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec))
    assert main(["sweep", str(path), "--runs", str(tmp_path), "--quiet"]) == 0
    assert "s-seeds=2: finished" in capsys.readouterr().out
    assert main(["compare", "--sweep", "s", "--runs", str(tmp_path), "--name", "sw"]) == 0
    assert Run.is_run(tmp_path / "s-seeds=1")


def test_leave_one_task_out_makes_one_run_per_held_out_task():
    spec = {
        "name": "loo",
        "config": {**BASE, "task": ["pdm", "dlygo", "fdgo"]},
        "leave_one_task_out": True,
    }
    sweep = expand_sweep(spec)
    assert list(sweep.runs) == ["loo-without=pdm", "loo-without=dlygo", "loo-without=fdgo"]
    assert sweep.runs["loo-without=dlygo"]["task"] == ["pdm", "fdgo"]
    # a battery keeps its layout: the held-out task is only left out of the sampling
    battery = {"battery": "yang19", "tasks": ["fdgo", "fdanti", "delaygo"]}
    spec = {"name": "b", "config": {**BASE, "task": battery}, "leave_one_task_out": True}
    entry = expand_sweep(spec).runs["b-without=fdanti"]["task"]
    assert entry == {**battery, "only": ["fdgo", "delaygo"]}
    with pytest.raises(ConfigError, match="needs a config with several tasks"):
        expand_sweep({"name": "x", "config": BASE, "leave_one_task_out": True})
