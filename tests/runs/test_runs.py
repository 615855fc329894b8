import dataclasses
import sqlite3

import numpy as np
import pytest
import torch

from neurodyn.cli import main
from neurodyn.errors import (
    ConfigError,
    CorruptCheckpoint,
    CorruptFile,
    NeurodynError,
    RunExists,
    RunNotFound,
    TaskNotFound,
    TrainingDiverged,
)
from neurodyn.runs import (
    Run,
    list_runs,
    load_config,
    parse_config,
    reindex,
    resume_run,
    train_or_reuse,
    train_run,
)
from neurodyn.runs.run import CHECKPOINT, INFO, WEIGHTS, RunInfo
from neurodyn.train import trainer
from neurodyn.train.losses import task_loss


def small_config(**train):
    return parse_config(
        {
            "name": "small",
            "task": "pdm",
            "model": {"n_hidden": 12, "seeds": [4, 5]},
            "train": {
                "steps": 12,
                "batch_size": 8,
                "log_every": 3,
                "checkpoint_every": 3,
                **train,
            },
        }
    )


def test_resume_gives_the_same_weights_as_training_straight_through(tmp_path):
    straight = train_run(small_config(), tmp_path, run_id="straight", progress=False)
    stopped = train_run(small_config(), tmp_path, run_id="split", until_step=6, progress=False)
    assert stopped.info().status == "stopped" and stopped.info().steps_done == 6
    resumed = resume_run(stopped.path, progress=False)
    assert resumed.info().status == "finished"
    a, b = straight.load_model().state_dict(), resumed.load_model().state_dict()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)
    assert straight.metrics() == resumed.metrics()
    assert straight.info().performance == resumed.info().performance


def test_resume_after_a_stop_between_checkpoints_continues_from_the_checkpoint(tmp_path):
    # stop at 5 with checkpoints every 3: the run is saved at 3 and at the stop (5)
    run = train_run(small_config(), tmp_path, run_id="r", until_step=5, progress=False)
    assert run.info().steps_done == 5
    resume_run(run.path, until_step=9, progress=False)
    assert Run.open(run.path).info().steps_done == 9


def test_a_finished_run_cannot_be_resumed(tmp_path):
    run = train_run(small_config(), tmp_path, run_id="done", progress=False)
    with pytest.raises(NeurodynError, match="already finished"):
        resume_run(run.path, progress=False)


def test_training_a_finished_run_on_equals_training_it_longer_from_the_start(tmp_path):
    longer = train_run(small_config(steps=18), tmp_path, run_id="longer", progress=False)
    short = train_run(small_config(), tmp_path, run_id="short", progress=False)
    assert short.info().steps_done == 12
    extended = resume_run(short.path, steps=18, progress=False)
    assert extended.info().status == "finished" and extended.info().steps_done == 18
    assert Run.open(short.path).config == longer.config
    a, b = longer.load_model().state_dict(), extended.load_model().state_dict()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)
    assert longer.metrics() == extended.metrics()
    with pytest.raises(ConfigError, match="fewer than the 18 steps"):
        resume_run(short.path, steps=6, progress=False)
    with pytest.raises(NeurodynError, match="already finished its 18 steps"):
        resume_run(short.path, steps=18, progress=False)
    # a study asking for the same run with more steps trains it on; any other change is refused
    assert (
        train_or_reuse(small_config(steps=21), tmp_path, "short", progress=False).info().steps_done
        == 21
    )
    assert (
        train_or_reuse(small_config(steps=24), tmp_path, "short", progress=False, train=False)
        .info()
        .steps_done
        == 21
    )
    with pytest.raises(ConfigError, match="another config"):
        train_or_reuse(small_config(steps=24, lr=0.5), tmp_path, "short", progress=False)


def test_run_directory_and_index(tmp_path):
    run = train_run(small_config(), tmp_path, progress=False)
    for name in ("config.yaml", "run.json", WEIGHTS, CHECKPOINT, "metrics.csv"):
        assert (run.path / name).is_file(), name
    assert run.id.endswith("-small")
    rows = run.metrics()
    assert [r["step"] for r in rows if r["member"] == 1] == [3, 6, 9, 12]
    assert {"loss", "perf.pdm", "seed"} <= set(rows[0])
    (record,) = list_runs(tmp_path)
    assert record.id == run.id and record.tasks == ("pdm",) and record.seeds == (4, 5)
    assert record.steps_done == 12 and record.status == "finished"
    assert set(record.performance) == {"pdm"}
    # the index is plain SQLite, queryable by users
    with sqlite3.connect(tmp_path / "index.sqlite") as conn:
        assert conn.execute("select status from runs").fetchall() == [("finished",)]
    # and it can be rebuilt from the run directories
    (tmp_path / "index.sqlite").unlink()
    assert reindex(tmp_path) == 1 and list_runs(tmp_path)[0].id == run.id


def test_config_round_trips_through_the_run_directory(tmp_path):
    config = small_config()
    run = train_run(config, tmp_path, progress=False)
    assert Run.open(run.path).config == config
    assert load_config(run.path / "config.yaml") == config


def test_a_run_is_never_overwritten(tmp_path):
    run = train_run(small_config(), tmp_path, run_id="same", progress=False)
    before = (run.path / WEIGHTS).read_bytes()
    with pytest.raises(RunExists, match="never overwritten"):
        train_run(small_config(), tmp_path, run_id="same", progress=False)
    assert (run.path / WEIGHTS).read_bytes() == before


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            {"task": "pdm", "model": {"n_hiden": 3}},
            # the one close name alone (it also offered `model.mask_in`)
            r"`model.n_hiden`.*Did you mean `model.n_hidden`\? Valid",
        ),
        ({"task": "pdm", "train": {"steps": "many"}}, r"`train.steps` expects an integer, got str"),
        ({"task": "pdm", "train": {"steps": True}}, r"`train.steps` expects an integer"),
        ({"task": "pdm", "model": {"seeds": [1, "x"]}}, r"`model.seeds\[1\]` expects an integer"),
        ({"task": "pdm", "modle": {}}, r"unknown config field `modle`.*Did you mean `model`"),
        ({"model": {}}, r"`task` is required"),
        ({"task": "pdm", "model": {"activation": "sigmoid"}}, r"activation must be one of"),
        ({"task": "pdm", "train": {"lr": -1}}, r"train.lr must be a finite positive"),
        ({"task": {"name": "pdm", "params": {"coherense": [0.1]}}}, r"coherense"),
    ],
)
def test_config_errors_name_the_field(data, message):
    with pytest.raises(ConfigError, match=message):
        parse_config(data)


def test_unknown_task_lists_the_nearest_names():
    with pytest.raises(TaskNotFound, match=r"unknown task 'pdn'.*'pdm'"):
        parse_config({"task": "pdn"})


def test_config_file_errors(tmp_path):
    with pytest.raises(ConfigError, match="does not exist"):
        load_config(tmp_path / "missing.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("task: [pdm\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(bad)
    typo = tmp_path / "typo.yaml"
    typo.write_text("task: pdm\ntrain:\n  stpes: 3\n")
    with pytest.raises(ConfigError, match=r"typo.yaml.*`train.stpes`.*`train.steps`"):
        load_config(typo)


def test_missing_run_suggests_nearby_runs(tmp_path):
    train_run(small_config(), tmp_path, run_id="alpha", progress=False)
    with pytest.raises(RunNotFound, match=r"does not exist.*alpha"):
        Run.open(tmp_path / "alpah")


def test_corrupt_weights_are_reported_and_the_checkpoint_survives(tmp_path):
    run = train_run(small_config(), tmp_path, run_id="c", progress=False)
    checkpoint = (run.path / CHECKPOINT).read_bytes()
    (run.path / WEIGHTS).write_bytes(b"not a safetensors file")
    with pytest.raises(CorruptCheckpoint, match=r"model.safetensors cannot be read"):
        run.load_model()
    assert (run.path / CHECKPOINT).read_bytes() == checkpoint


def test_nan_loss_stops_training_and_keeps_the_last_good_checkpoint(tmp_path):
    # lr 1e30: step 1 has a finite loss (and is checkpointed), its update blows the weights up
    config = small_config(lr=1e30, clip_grad=None, checkpoint_every=1)
    with pytest.raises(TrainingDiverged, match=r"loss became .* at step 2"):
        train_run(config, tmp_path, run_id="nan", progress=False)
    run = Run.open(tmp_path / "nan")
    info = run.info()
    assert info.status == "diverged" and info.steps_done == 1
    weights = run.load_model().state_dict()  # the last good weights still load
    assert all(torch.isfinite(w).all() for w in weights.values())
    assert torch.load(run.path / CHECKPOINT, weights_only=True)["step"] == 1


def test_a_diverged_run_goes_on_as_a_new_run_from_its_weights(tmp_path, monkeypatch):
    # a loss planted non-finite at step 5, after the good checkpoint of step 3
    losses = []

    def diverging(task, outputs, batch):
        loss = task_loss(task, outputs, batch)
        losses.append(loss)
        return loss * float("nan") if len(losses) == 5 else loss

    monkeypatch.setattr(trainer, "task_loss", diverging)
    with pytest.raises(TrainingDiverged, match=r"step 3 is kept: .*`model.init_from: nan`"):
        train_run(small_config(), tmp_path, run_id="nan", progress=False)
    monkeypatch.undo()
    kept = Run.open(tmp_path / "nan").load_model().state_dict()
    # the way the message names: a new run from its weights, here with a rate too small to
    # move them
    calmer = small_config(lr=1e-9)
    calmer = dataclasses.replace(calmer, model=dataclasses.replace(calmer.model, init_from="nan"))
    on = train_run(calmer, tmp_path, run_id="on", progress=False)
    assert on.info().status == "finished"
    for name, weight in on.load_model().state_dict().items():
        torch.testing.assert_close(weight, kept[name], atol=1e-6, rtol=0)


class PowerCut(Exception):
    """The writer's own failure, which atomic_write passes on unchanged."""


def test_interrupted_write_leaves_the_old_file(tmp_path):
    from neurodyn._io import atomic_write

    target = tmp_path / "file.txt"
    target.write_text("old")

    def crash(tmp):
        tmp.write_text("half")
        raise PowerCut("power cut")

    with pytest.raises(PowerCut):
        atomic_write(target, crash)
    assert target.read_text() == "old"
    assert list(tmp_path.iterdir()) == [target]


def test_cli_train_stop_resume_and_list(tmp_path, capsys):
    config = tmp_path / "c.yaml"
    config.write_text(
        "task: flipflop\nmodel: {n_hidden: 8, seeds: [1]}\n"
        "train: {steps: 6, batch_size: 4, log_every: 2, checkpoint_every: 2}\n"
    )
    runs = str(tmp_path / "runs")
    assert (
        main(["train", str(config), "--runs", runs, "--name", "r", "--stop-at", "4", "--quiet"])
        == 0
    )
    assert "[stopped]" in capsys.readouterr().out
    # a stopped run has no final evaluation: the list shows what training last logged
    assert main(["runs", "--runs", runs]) == 0
    logged = Run.open(f"{runs}/r").logged_performance()
    assert logged is not None and logged[0] == 4
    expected = f"flipflop {logged[1]['flipflop']:.2f} (logged at step 4)"
    assert expected in capsys.readouterr().out
    assert main(["train", "--resume", f"{runs}/r", "--quiet"]) == 0
    assert "[finished]" in capsys.readouterr().out
    assert main(["runs", "--runs", runs]) == 0
    out = capsys.readouterr().out
    assert "r " in out and "6/6" in out and "flipflop" in out and "logged" not in out
    assert main(["train", "--resume", f"{runs}/r", "--steps", "8", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "[finished]" in out and Run.open(f"{runs}/r").info().steps_done == 8
    assert f"look at it: neurodyn report {runs}/r;" in out  # what to do next
    # errors are one line, exit code 2
    assert main(["train", str(config), "--runs", runs, "--steps", "8", "--quiet"]) == 2
    assert "--steps trains a run on with --resume" in capsys.readouterr().err
    assert main(["train", str(config), "--runs", runs, "--name", "r", "--quiet"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["analyze", f"{runs}/nope"]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_training_stops_when_every_member_reaches_the_target(tmp_path):
    # target 0: reached at the first check (step 3), and the run counts as finished
    run = train_run(small_config(target_performance=0.0), tmp_path, run_id="t", progress=False)
    info = run.info()
    assert (info.status, info.steps_done) == ("finished", 3)
    assert set(info.performance) == {"pdm"}
    assert run.metrics()[-1]["eval_min_performance"] >= 0.0
    # an unreachable target trains every step
    run = train_run(small_config(target_performance=1.0), tmp_path, run_id="u", progress=False)
    assert run.info().steps_done == 12
    with pytest.raises(ConfigError, match="target_performance must lie in"):
        small_config(target_performance=1.5)


def test_transfer_trains_only_the_named_weights_of_a_pretrained_network(tmp_path):
    # a network trained on two tasks of the battery, then given a third task: its new rule
    # input is the only new weight, and only the input weights are trained (Driscoll et al.)
    def config(tasks, **extra):
        model = {"n_hidden": 16, "seeds": [1, 2], **extra.pop("model", {})}
        return parse_config(
            {
                "task": {"battery": "yang19", "tasks": tasks},
                "model": model,
                "train": {
                    "steps": 4,
                    "batch_size": 8,
                    "log_every": 2,
                    "checkpoint_every": 4,
                    **extra,
                },
            }
        )

    base = train_run(config(["fdgo", "fdanti"]), tmp_path, run_id="base", progress=False)
    before = base.load_model()
    new = config(
        ["fdgo", "fdanti", "delaygo"],
        model={"init_from": str(base.path)},
        train_only=["W_in"],
    )
    after = train_run(new, tmp_path, run_id="transfer", progress=False).load_model()
    for name in ("W_rec", "b", "W_out", "b_out"):
        assert torch.equal(getattr(after, name), getattr(before, name)), name
    assert after.W_in.shape[-1] == before.W_in.shape[-1] + 1  # one more rule input
    assert not torch.equal(after.W_in[..., :67], before.W_in)  # trained
    # a run of the same runs folder named by its id starts the same way
    by_id = config(["fdgo", "fdanti", "delaygo"], model={"init_from": "base"}, train_only=["W_in"])
    again = train_run(by_id, tmp_path, run_id="transfer-by-id", progress=False).load_model()
    assert torch.equal(again.W_in, after.W_in) and torch.equal(again.W_rec, before.W_rec)
    # the run that named its start by path is the run of the config that names it by id
    # (studies made their fine-tunings so before): reused, not refused as another config
    reused = train_or_reuse(by_id, tmp_path, "transfer", progress=False)
    assert reused.config.model.init_from == str(base.path)
    with pytest.raises(ConfigError, match=r"train_only must name parameters.*W_rec"):
        train_run(config(["fdgo"], train_only=["W_recurrent"]), tmp_path, run_id="bad")
    assert not (tmp_path / "bad").exists()  # refused before a run folder was made
    with pytest.raises(ConfigError, match="only W_in may grow"):
        train_run(config(["fdgo"], model={"n_hidden": 8, "init_from": str(base.path)}), tmp_path)
    # freeze: everything trains but the named weights (a fixed recurrent reservoir)
    reservoir = train_run(
        config(["fdgo", "fdanti"], model={"init_from": str(base.path)}, freeze=["W_rec"]),
        tmp_path,
        run_id="reservoir",
        progress=False,
    ).load_model()
    assert torch.equal(reservoir.W_rec, before.W_rec)
    assert not torch.equal(reservoir.W_out, before.W_out)
    with pytest.raises(ConfigError, match=r"train_only or train\.freeze, not both"):
        config(["fdgo"], train_only=["W_in"], freeze=["W_rec"])


def curriculum_config(**extra):
    data = {
        "task": "dlygo",
        "model": {"n_hidden": 12, "seeds": [1, 2]},
        "train": {"batch_size": 8, "log_every": 2, "checkpoint_every": 2},
        "curriculum": [
            {"task": {"name": "dlygo", "params": {"delay_ms": 200.0}}, "steps": 4},
            {"steps": 4},  # the run's task: delays up to 800 ms
        ],
    }
    for key, value in extra.items():
        data[key] = value
    return parse_config(data)


def test_a_curriculum_trains_its_stages_in_order_and_resumes_mid_stage(tmp_path):
    config = curriculum_config()
    assert config.train.steps == 8  # the stages' total
    straight = train_run(config, tmp_path, run_id="straight", progress=False)
    rows = straight.metrics()
    stages = [(int(r["step"]), int(r["stage"])) for r in rows if r["member"] == 0 and "loss" in r]
    assert stages == [(2, 0), (4, 0), (6, 1), (8, 1)]
    # after each stage, every task learned so far is evaluated
    after = [(int(r["after_stage"]), int(r["stage"])) for r in rows if "after_stage" in r]
    assert sorted(set(after)) == [(0, 0), (1, 0), (1, 1)]
    assert straight.info().status == "finished"
    # stopped in the middle of each stage and resumed: the same network as straight through
    run = train_run(config, tmp_path, run_id="split", until_step=3, progress=False)
    assert run.info().status == "stopped"
    resume_run(run.path, until_step=6, progress=False)
    resume_run(run.path, progress=False)
    assert torch.equal(Run.open(run.path).load_model().W_rec, straight.load_model().W_rec)


def test_a_curriculum_stage_ends_early_at_its_performance_and_checks_its_tasks(tmp_path):
    early = curriculum_config(
        curriculum=[
            {
                "task": {"name": "dlygo", "params": {"delay_ms": 200.0}},
                "steps": 6,
                "advance_at": 0.0,
            },
            {"steps": 4},
        ]
    )
    run = train_run(early, tmp_path, progress=False)
    assert run.info().steps_done == 2 + 4 and run.info().status == "finished"
    with pytest.raises(ConfigError, match="stages add up to 8"):
        curriculum_config(train={"steps": 5, "batch_size": 8})
    with pytest.raises(ConfigError, match="curriculum stage 0: its task has"):
        curriculum_config(curriculum=[{"task": "pdm", "steps": 2}])
    with pytest.raises(ConfigError, match="at least 1 step"):
        curriculum_config(curriculum=[{"steps": 0}])


def test_a_signal_stops_training_at_a_step_boundary_with_a_checkpoint(tmp_path):
    import os
    import signal

    from neurodyn.runs import run as run_module

    config = small_config(checkpoint_every=5)
    # (what the process had before: Ray, once imported by another test, installs its own)
    handler_before = signal.getsignal(signal.SIGTERM)
    original = run_module.Run.save_checkpoint
    calls = []

    def save_and_signal(self, state):
        calls.append(state.step)
        original(self, state)
        if len(calls) == 1:  # first periodic checkpoint, at step 5: now `kill` the process
            os.kill(os.getpid(), signal.SIGTERM)

    run_module.Run.save_checkpoint = save_and_signal
    try:
        with pytest.raises(KeyboardInterrupt):
            train_run(config, tmp_path, run_id="sig", progress=False)
    finally:
        run_module.Run.save_checkpoint = original
    run = Run.open(tmp_path / "sig")
    assert run.info().status == "interrupted" and run.info().steps_done == 5
    assert signal.getsignal(signal.SIGTERM) is handler_before  # handlers given back
    resume_run(run.path, progress=False)
    straight = train_run(config, tmp_path, run_id="straight", progress=False)
    assert torch.equal(Run.open(run.path).load_model().W_rec, straight.load_model().W_rec)


def test_train_or_reuse_trains_reuses_resumes_and_refuses_another_config(tmp_path):
    from neurodyn.runs import train_or_reuse

    with pytest.raises(NeurodynError, match=r"no run .* to analyse"):
        train_or_reuse(small_config(), tmp_path, "r", train=False)
    stopped = train_run(small_config(), tmp_path, run_id="r", until_step=6, progress=False)
    assert train_or_reuse(small_config(), tmp_path, "r", train=False).info().steps_done == 6
    run = train_or_reuse(small_config(), tmp_path, "r", progress=False)
    assert run.info().status == "finished" and run.path == stopped.path
    weights = (run.path / "model.safetensors").read_bytes()
    with pytest.raises(ConfigError, match="another config"):
        train_or_reuse(small_config(lr=0.5), tmp_path, "r", progress=False)
    assert (run.path / "model.safetensors").read_bytes() == weights  # left as it was


def test_run_info_is_a_frozen_record_and_dict_access_warns(tmp_path):
    run = train_run(small_config(steps=4), tmp_path, run_id="i", progress=False)
    info = run.info()
    assert isinstance(info, RunInfo) and (info.status, info.steps_done) == ("finished", 4)
    assert set(info.performance) == {"pdm"} and len(info.performance_by_member["pdm"]) == 2
    assert info.performance["pdm"] == pytest.approx(
        sum(info.performance_by_member["pdm"]) / 2, rel=1e-12
    )
    with pytest.raises(AttributeError):
        info.status = "running"  # type: ignore[misc]
    # the dict the studies still read, one release long
    with pytest.warns(DeprecationWarning, match=r"run.info\(\).status"):
        assert info["status"] == "finished"
    with pytest.warns(DeprecationWarning):
        assert info.get("steps_done") == 4
    created = RunInfo("created", 0, "2026-01-01T00:00:00+00:00", "2026-01-01T00:00:00+00:00")
    with pytest.warns(DeprecationWarning):
        assert created.get("performance", {}) == {}
    with (
        pytest.warns(DeprecationWarning),
        pytest.raises(KeyError),
    ):  # the Mapping protocol's own error
        created["performance"]
    # run.json holds the fields set, and a damaged one says so
    assert (
        RunInfo.from_dict(created.to_dict()) == created and "performance" not in created.to_dict()
    )
    (run.path / INFO).write_text('{"status": "finished"}')
    with pytest.raises(CorruptFile, match=r"run\.json lacks a field of a run's record"):
        run.info()


def test_ctrl_c_in_neurodyn_train_names_the_run_to_resume(tmp_path, monkeypatch, capsys):
    import yaml

    from neurodyn.runs import run as run_module

    original = run_module.Run.save_checkpoint

    def save_then_interrupt(self, state):
        original(self, state)
        raise KeyboardInterrupt  # Ctrl-C right after the first checkpoint

    monkeypatch.setattr(run_module.Run, "save_checkpoint", save_then_interrupt)
    config = tmp_path / "small.yaml"
    config.write_text(yaml.safe_dump(small_config().to_dict()))
    root = tmp_path / "runs"
    assert main(["train", str(config), "--runs", str(root), "--quiet"]) == 130
    (made,) = [p for p in root.iterdir() if p.is_dir()]  # its name made inside training
    assert f"neurodyn train --resume {made}`" in capsys.readouterr().err
    assert Run.open(made).info().status == "interrupted"
    # a Run made from a str path works like one from a Path
    assert Run(str(made)).info().status == "interrupted"


def test_an_unknown_option_is_named_with_its_subcommands_help(capsys):
    # `10` is taken for CONFIG, so argparse alone would call the config file unrecognized too
    assert main(["train", "--stepz", "10", "configs/demo.yaml"]) == 2
    err = capsys.readouterr().err.strip()
    assert err == (
        "neurodyn: error: neurodyn train: unknown argument(s) --stepz (see neurodyn train --help)"
    )
    assert main(["zoo", "list", "--foo"]) == 2
    assert "neurodyn zoo list: unknown argument(s) --foo (see neurodyn zoo list --help)" in (
        capsys.readouterr().err
    )


def test_input_errors_come_before_the_work(tmp_path, capsys):
    # a run trained without recurrent noise, escape asked without --sigma: refused before the
    # limit cycles are searched; one network to compare: refused before it is run
    from neurodyn import zoo

    run = zoo.get("flipflop", tmp_path)
    analysis = run.path / "analysis"
    before = sorted(p.name for p in analysis.iterdir()) if analysis.exists() else []
    assert main(["dynamics", str(run.path), "--cycles", "--escape"]) == 2
    err = capsys.readouterr().err
    assert "trained without recurrent noise" in err and err.count("\n") == 1
    after = sorted(p.name for p in analysis.iterdir()) if analysis.exists() else []
    assert after == before
    assert main(["compare", str(run.path), "--runs", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "at least two networks" in err and "running the networks" not in err


def test_a_one_epoch_task_gets_no_hmm_of_its_epochs(tmp_path):
    # the flip-flop has one epoch: states cannot tell epochs apart, so none are fitted (the
    # report said "the state tells the epoch to 0%"); the demo's tasks have several
    from neurodyn import zoo
    from neurodyn.runs.analyze import analyze_run

    flipflop = zoo.get("flipflop", tmp_path)
    (result,) = analyze_run(flipflop, batch_size=32)
    assert result.epoch_states is None
    assert not list((flipflop.path / "analysis").glob("*.epoch_states.npz"))
    demo = analyze_run(zoo.get("demo", tmp_path), batch_size=32)
    assert all(r.epoch_states is not None for r in demo)


def test_a_runs_folder_given_for_a_run_is_named_as_such(tmp_path, capsys):
    train_run(small_config(), tmp_path, run_id="only", progress=False)
    assert main(["report", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "is a folder of runs, not a run" in err and f"{tmp_path / 'only'}" in err


def test_logged_performance_is_the_member_mean_at_the_last_logged_step(tmp_path):
    run = train_run(small_config(), tmp_path, run_id="t", progress=False)
    rows = [row for row in run.metrics() if "perf.pdm" in row]
    last = max(row["step"] for row in rows)
    mean = np.mean([row["perf.pdm"] for row in rows if row["step"] == last])
    assert run.logged_performance() == (int(last), {"pdm": pytest.approx(mean)})


def test_runs_table_shows_a_battery_by_its_mean_and_worst_task():
    from neurodyn.cli import _performance_text

    four = {"a": 0.9, "b": 0.5, "c": 1.0, "d": 0.6}
    assert _performance_text(four, None) == "mean 0.75, min 0.50"
    assert _performance_text({"a": 0.9}, 40) == "a 0.90 (logged at step 40)"
    assert _performance_text(None, None) == "-"


def test_listing_runs_imports_no_torch(tmp_path):
    # `neurodyn runs` read the index through neurodyn.runs, which imported torch: 2-3 s
    # before a table of a few lines; now the index and the metrics files only
    import subprocess
    import sys

    runs = tmp_path / "runs"
    train_run(small_config(), runs, run_id="t", until_step=6, progress=False)
    code = (
        "import sys; from neurodyn.cli import main; code = main(['runs', '--runs', sys.argv[1]]); "
        "print(sorted(m for m in ('torch', 'scipy', 'matplotlib.pyplot') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code, str(runs)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.strip().splitlines()
    assert lines[-1] == "[]" and "(logged at step 6)" in lines[-2], done.stdout
    # and the package's names still come when read
    code = "from neurodyn.runs import Run, train_run; import neurodyn.runs as r; print(r.RunInfo.__name__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "RunInfo", done.stderr


def test_ctrl_c_while_the_libraries_import_is_one_line(tmp_path, monkeypatch, capsys):
    # Ctrl-C before `import torch` finished: the handler imported neurodyn.runs again, which
    # failed on the half-imported torch with a page of traceback instead of the one line
    import sys

    from neurodyn import cli

    def interrupted_import(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_cmd_train", interrupted_import)
    monkeypatch.setitem(sys.modules, "neurodyn.runs", None)  # its import never finished
    assert main(["train", str(tmp_path / "small.yaml"), "--runs", str(tmp_path)]) == 130
    assert capsys.readouterr().err.strip() == (
        "neurodyn: interrupted; a training run can be continued with `neurodyn train --resume RUN`"
    )


def test_ctrl_c_in_an_analysis_does_not_speak_of_training(tmp_path, monkeypatch, capsys):
    # a Ctrl-C in `neurodyn fixedpoints` said "a training run can be continued with
    # `neurodyn train --resume RUN`", as if the search had been training
    from neurodyn import cli

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "_cmd_fixedpoints", interrupted)
    assert main(["fixedpoints", str(tmp_path / "run")]) == 130
    assert capsys.readouterr().err.strip() == "neurodyn: interrupted"


def test_train_given_a_task_or_a_run_instead_of_a_config_says_what_to_do(
    tmp_path, monkeypatch, capsys
):
    # `neurodyn train pdm` and `neurodyn train runs/tiny` said only "config file ... does not
    # exist"
    monkeypatch.chdir(tmp_path)
    assert main(["train", "pdm", "--runs", "runs"]) == 2
    assert capsys.readouterr().err.strip() == (
        "neurodyn: error: config file pdm does not exist; pdm is a task: train it from a YAML "
        "file with `task: pdm` (configs/ in the repository has examples)"
    )
    run = Run.create(tmp_path / "runs", small_config(), run_id="tiny")
    assert main(["train", str(run.path), "--runs", "runs"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"neurodyn: error: config file {run.path} does not exist; {run.path} is a run: "
        f"continue it with `neurodyn train --resume {run.path}`"
    )
    assert main(["train", "nothing.yaml"]) == 2
    assert (
        capsys.readouterr().err.strip()
        == "neurodyn: error: config file nothing.yaml does not exist"
    )


def test_training_a_run_on_drops_the_analyses_of_its_old_weights(tmp_path):
    # `analyze`, then `train --resume RUN --steps N`, then `report`: the report showed the
    # trajectories and fixed points of the old weights beside the new step's performance
    from neurodyn.runs.analyze import analyze_run, load_analyses

    run = train_run(small_config(), tmp_path, run_id="r", progress=False)
    analyze_run(run, batch_size=16, progress=False)
    assert load_analyses(run)
    before = (run.path / "analysis" / "pdm.pca.npz").read_bytes()
    resume_run(run.path, steps=15, progress=False)
    assert not load_analyses(run)
    analyze_run(run, batch_size=16, progress=False)
    assert (run.path / "analysis" / "pdm.pca.npz").read_bytes() != before  # the new weights'


def test_analyze_refuses_trials_without_the_analysis_they_set(tmp_path, capsys):
    # `neurodyn analyze RUN --trials 5` ran the plain analyses on 256 trials, silently
    run = Run.create(tmp_path, small_config(), run_id="r")
    assert main(["analyze", str(run.path), "--trials", "5"]) == 2
    assert capsys.readouterr().err.strip() == (
        "neurodyn: error: --trials sets the trials of --motifs or --task-variance; the plain "
        "analyses take 256: leave --trials out, or add one of those two"
    )
    assert not (run.path / "analysis").exists()


@pytest.mark.parametrize("analysis", ["--motifs", "--task-variance"])
def test_analyze_refuses_a_member_for_the_analyses_of_every_member(tmp_path, capsys, analysis):
    # `--member 1` beside either was ignored: both analyse every member
    run = Run.create(tmp_path, small_config(), run_id="r")
    assert main(["analyze", str(run.path), analysis, "--member", "1"]) == 2
    assert capsys.readouterr().err.strip() == (
        "neurodyn: error: --member picks the network of the plain analyses; --motifs and "
        "--task-variance cover every member: leave it out"
    )
    assert not (run.path / "analysis").exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (
            ["--interpolate", "pdm", "pdm", "--across-training"],
            "--interpolate and --across-training are two searches: ask for one at a time",
        ),
        (
            ["--across-training", "--saddle-starts"],
            "--saddle-starts applies to the search at one input, not to --interpolate or "
            "--across-training: leave it out, or run it on its own",
        ),
        (
            ["--member", "1"],
            "--member picks the network for --interpolate or --across-training; the search "
            "at one input covers every member: leave it out",
        ),
        (
            ["--task", "dlygo", "--interpolate", "pdm", "dlygo"],
            "--task picks the task of one search; --interpolate names its two tasks (A B): "
            "leave --task out",
        ),
        (
            ["--interpolate", "pdm", "pdm"],
            "--interpolate pdm pdm: a task to itself gives one input at every alpha; name two "
            "of the run's tasks",
        ),
    ],
)
def test_fixedpoints_refuses_options_it_would_ignore(tmp_path, capsys, extra, message):
    # both searches given ran the interpolation alone; --saddle-starts with either was dropped;
    # --task beside --interpolate was dropped, and a task to itself ran 21 searches of one input
    run = Run.create(tmp_path, small_config(), run_id="r")
    assert main(["fixedpoints", str(run.path), *extra]) == 2
    assert capsys.readouterr().err.strip() == f"neurodyn: error: {message}"
    assert not (run.path / "analysis").exists()


def test_a_run_without_weights_says_how_to_get_them(tmp_path):
    # a finished run whose weights were deleted said "no weights yet", as if it could train on
    run = Run.create(tmp_path, small_config(), run_id="r")
    with pytest.raises(RunNotFound, match=r"has no weights yet; `neurodyn train --resume .*r`"):
        run.load_model()
    trained = train_run(small_config(), tmp_path, run_id="t", progress=False)
    (trained.path / WEIGHTS).unlink()
    with pytest.raises(RunNotFound, match=r"though run t finished \(deleted or moved\?\)"):
        trained.load_model()
