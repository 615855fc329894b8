import numpy as np
import pytest
import yaml

from neurodyn.cli import main
from neurodyn.errors import ConfigError
from neurodyn.runs import Run
from neurodyn.runs.sweep import expand_sweep, load_sweep, run_sweep, sweep_effect, sweep_table

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
    spec = {"name": "s", "config": BASE, "grid": {"model.n_hidden": [4, 8]}, "seeds": [1, 2]}
    runs = run_sweep(expand_sweep(spec), tmp_path, progress=False)
    assert [r.id for r in runs] == ["s-n_hidden=4", "s-n_hidden=8"]
    # the seeds of a grid point are packed into one ensemble
    assert [r.config.model.seeds for r in runs] == [(1, 2), (1, 2)]
    assert all(r.info().status == "finished" for r in runs)
    stamp = (tmp_path / "s-n_hidden=4" / "run.json").read_text()
    run_sweep(expand_sweep(spec), tmp_path, progress=False)  # reused, not retrained
    assert (tmp_path / "s-n_hidden=4" / "run.json").read_text() == stamp
    # two worker processes give the same networks as one process
    other = tmp_path / "parallel"
    again = run_sweep(expand_sweep(spec), other, workers=2, progress=False)
    for a, b in zip(runs, again, strict=True):
        assert (a.path / "model.safetensors").read_bytes() == (
            b.path / "model.safetensors"
        ).read_bytes()
    # the command line, then the table, the report and compare pick the sweep up by its name
    path = tmp_path / "sweep.yaml"
    path.write_text(yaml.safe_dump(spec))
    assert main(["sweep", str(path), "--runs", str(tmp_path), "--quiet"]) == 0
    assert "s-n_hidden=8: finished" in capsys.readouterr().out
    assert main(["runs", "--sweep", "s", "--runs", str(tmp_path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split()[:4] == ["run", "seed", "n_hidden", "status"]
    assert len(lines) == 5  # a row per trial: 2 runs x 2 seeds
    assert lines[4].split()[:4] == ["s-n_hidden=8", "2", "8", "finished"]
    assert main(["report", "--sweep", "s", "--runs", str(tmp_path)]) == 0
    assert "<img" in (tmp_path / "sweep-s.html").read_text()
    assert main(["compare", "--sweep", "s", "--runs", str(tmp_path), "--name", "sw"]) == 0


def test_packed_seeds_train_as_the_runs_of_single_seeds_would(tmp_path):
    import torch

    packed = run_sweep(expand_sweep({"name": "p", "config": BASE, "seeds": [1, 2]}), tmp_path)
    single = run_sweep(
        expand_sweep({"name": "q", "config": BASE, "grid": {"train.lr": [0.001]}, "seeds": [2]}),
        tmp_path,
    )
    assert [r.id for r in packed] == ["p"]
    member = packed[0].load_member(1)
    alone = single[0].load_model()
    for name, p in alone.named_parameters():
        torch.testing.assert_close(getattr(member, name), p, rtol=1e-5, atol=1e-6)


def test_the_sweep_table_lists_every_trial_with_its_latest_metrics(tmp_path):
    from neurodyn.runs import train_run
    from neurodyn.runs.config import parse_config

    spec = {"name": "t", "config": BASE, "grid": {"train.lr": [0.01, 0.02]}, "seeds": [3, 4]}
    sweep = expand_sweep(spec)
    # one run interrupted halfway: the table shows it, a re-run of the sweep resumes it
    train_run(
        parse_config(sweep.runs["t-lr=0.01"]),
        tmp_path,
        run_id="t-lr=0.01",
        until_step=2,
        progress=False,
    )
    run_sweep(sweep, tmp_path, progress=False)
    table = sweep_table(tmp_path, "t")
    assert table.fields == ["train.lr"]
    assert [(r["run"], r["seed"], r["train.lr"]) for r in table.rows] == [
        ("t-lr=0.01", 3, 0.01),
        ("t-lr=0.01", 4, 0.01),
        ("t-lr=0.02", 3, 0.02),
        ("t-lr=0.02", 4, 0.02),
    ]
    metrics = Run.open(tmp_path / "t-lr=0.02").metrics()
    last = [m for m in metrics if m["member"] == 1][-1]
    assert table.rows[3]["loss"] == last["loss"] and table.rows[3]["step"] == 4
    assert all(r["status"] == "finished" for r in table.rows)
    # what the report draws: each trial's loss against the rate, the mean per rate
    effect = sweep_effect(table, "train.lr")
    losses = [r["loss"] for r in table.rows]
    np.testing.assert_array_equal(effect.measures["loss"], losses)
    np.testing.assert_allclose(
        effect.means["loss"], [np.mean(losses[:2]), np.mean(losses[2:])], rtol=1e-12
    )
    np.testing.assert_array_equal(effect.levels, [0.01, 0.02])
    with pytest.raises(ConfigError, match=r"no sweep 'u'.*sweeps there: t"):
        sweep_table(tmp_path, "u")


def test_random_search_draws_reproducible_points_in_their_ranges():
    spec = {
        "name": "r",
        "config": BASE,
        "random": {
            "samples": 6,
            "seed": 3,
            "fields": {
                "train.lr": {"low": 1e-4, "high": 1e-1, "log": True},
                "model.n_hidden": {"low": 4, "high": 16, "integer": True},
                "model.activation": {"choice": ["tanh", "relu"]},
            },
        },
        "seeds": [0, 1],
    }
    sweep = expand_sweep(spec)
    assert sweep.values == expand_sweep(spec).values  # the same seed, the same points
    assert len(sweep.runs) == 6 and all(r.startswith("r-r0") for r in sweep.runs)
    for run_id, values in sweep.values.items():
        assert 1e-4 <= values["train.lr"] <= 1e-1
        assert 4 <= values["model.n_hidden"] <= 16
        assert values["model.activation"] in ("tanh", "relu")
        assert sweep.runs[run_id]["model"]["seeds"] == [0, 1]
    lrs = [v["train.lr"] for v in sweep.values.values()]
    assert len(set(lrs)) == 6
    with pytest.raises(ConfigError, match="low < high"):
        expand_sweep(
            {**spec, "random": {"samples": 2, "fields": {"train.lr": {"low": 1, "high": 0}}}}
        )


def test_a_sweep_runs_on_a_local_ray_instance_and_resumes(tmp_path):
    pytest.importorskip("ray")
    spec = {"name": "ray", "config": BASE, "grid": {"model.n_hidden": [4, 6]}, "seeds": [1]}
    sweep = expand_sweep(spec)
    from neurodyn.runs import train_run
    from neurodyn.runs.config import parse_config

    train_run(
        parse_config(sweep.runs["ray-n_hidden=6"]),
        tmp_path,
        run_id="ray-n_hidden=6",
        until_step=2,
        progress=False,
    )
    runs = run_sweep(sweep, tmp_path, backend="ray", workers=2, progress=False)
    assert all(r.info().status == "finished" for r in runs)
    # the same networks as the local backend trains
    local = run_sweep(sweep, tmp_path / "local", progress=False)
    for a, b in zip(runs, local, strict=True):
        assert (a.path / "model.safetensors").read_bytes() == (
            b.path / "model.safetensors"
        ).read_bytes()


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


def test_the_sweep_table_shows_a_finished_runs_final_evaluation(tmp_path):
    # the table and the sweep report showed the last logged training batch's performance,
    # labelled as the final one and different from `neurodyn runs` (0.21 there, 0.139 here)
    spec = {"name": "f", "config": BASE, "grid": {"train.lr": [0.01]}, "seeds": [3, 4]}
    run_sweep(expand_sweep(spec), tmp_path, progress=False)
    run = Run.open(tmp_path / "f-lr=0.01")
    final = run.info().performance_by_member
    assert final is not None
    table = sweep_table(tmp_path, "f")
    for member, row in enumerate(table.rows):
        for task, values in final.items():
            assert row[f"perf.{task}"] == values[member]
    effect = sweep_effect(table, "train.lr")
    np.testing.assert_allclose(
        effect.measures["performance (mean over tasks)"],
        [np.mean([v[m] for v in final.values()]) for m in range(2)],
    )
