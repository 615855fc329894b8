"""A run's weights are bound to the config that trained them, and a run records the engine
that trained it (issue 17): an edited config.yaml is refused on resume and on reuse, naming the
changed fields; the `--steps` extension and the fields that do not touch the weights stay free;
checkpoints from before the binding still resume; the other engine on resume warns."""

import json

import pytest
import torch
import yaml

from neurodyn.cli import main
from neurodyn.errors import ConfigError, EngineChanged, NeurodynWarning
from neurodyn.runs import Run, parse_config, resume_run, train_or_reuse, train_run
from neurodyn.runs.config import (
    NOT_IN_WEIGHTS,
    VALUE_BEFORE_THE_FIELD_EXISTED,
    TrainConfig,
    changed_fields,
    weight_fields,
    weights_hash,
)
from neurodyn.runs.run import CHECKPOINT, CONFIG, INFO

BASE = {
    "name": "bound",
    "task": "pdm",
    "model": {"n_hidden": 8, "seeds": [1]},
    "train": {"steps": 8, "batch_size": 4, "log_every": 2, "checkpoint_every": 2},
}


def _stopped(tmp_path, until_step=4):
    return train_run(
        parse_config(BASE), tmp_path, run_id="r", until_step=until_step, progress=False
    )


def _edit(run, section, field, value):
    data = yaml.safe_load((run.path / CONFIG).read_text())
    if section is None:
        data[field] = value
    else:
        data[section][field] = value
    (run.path / CONFIG).write_text(yaml.safe_dump(data))


@pytest.mark.parametrize(
    ("section", "field", "value", "named"),
    [
        ("train", "lr", 0.01, "train.lr (0.001 -> 0.01)"),
        ("model", "seeds", [2], "model.seeds ([1] -> [2])"),
        (None, "task", "flipflop", 'task ("pdm" -> "flipflop")'),
        # refused by name, before the checkpoint of another shape is read
        ("model", "n_hidden", 16, "model.n_hidden (8 -> 16)"),
    ],
)
def test_resume_refuses_an_edited_config_naming_the_changed_field(
    tmp_path, section, field, value, named
):
    run = _stopped(tmp_path)
    before = {p.name: p.read_bytes() for p in run.path.iterdir() if p.is_file()}
    _edit(run, section, field, value)
    with pytest.raises(ConfigError, match="differs from the config that trained") as err:
        resume_run(run.path, progress=False)
    assert named in str(err.value) and "\n" not in str(err.value)
    after = {p.name: p.read_bytes() for p in run.path.iterdir() if p.is_file()}
    assert {k: v for k, v in after.items() if k != CONFIG} == {
        k: v for k, v in before.items() if k != CONFIG
    }


def test_the_cli_refuses_an_edited_config_in_one_line(tmp_path, capsys):
    run = _stopped(tmp_path)
    _edit(run, "train", "lr", 0.01)
    assert main(["train", "--resume", str(run.path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "train.lr (0.001 -> 0.01)" in err


def test_steps_and_the_fields_that_do_not_touch_the_weights_stay_free(tmp_path):
    straight = train_run(
        parse_config({**BASE, "train": {**BASE["train"], "steps": 12}}),
        tmp_path,
        run_id="straight",
        progress=False,
    )
    run = _stopped(tmp_path)
    _edit(run, "train", "log_every", 4)
    _edit(run, "train", "eval_batch_size", 32)
    _edit(run, None, "name", "renamed")
    extended = resume_run(run.path, steps=12, progress=False)  # the --steps extension
    assert extended.info().status == "finished" and extended.config.train.steps == 12
    # the same weights as the run trained to 12 steps from the start
    a, b = straight.load_model().state_dict(), extended.load_model().state_dict()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)


def test_the_binding_is_every_field_but_the_listed_ones_and_its_hash_ignores_order():
    config = parse_config(BASE)
    fields = weight_fields(config)
    assert "train.lr" in fields and "model.seeds" in fields and "task" in fields
    assert "curriculum" in fields and "model.init_from" in fields
    assert not set(NOT_IN_WEIGHTS) & set(fields)
    assert weights_hash(dict(reversed(fields.items()))) == weights_hash(fields)
    other = parse_config({**BASE, "train": {**BASE["train"], "lr": 0.002}})
    assert weights_hash(weight_fields(other)) != weights_hash(fields)
    longer = parse_config({**BASE, "train": {**BASE["train"], "steps": 99, "log_every": 3}})
    assert weights_hash(weight_fields(longer)) == weights_hash(fields)


def test_train_or_reuse_refuses_a_finished_run_whose_config_was_edited_to_match(tmp_path):
    run = train_run(parse_config(BASE), tmp_path, run_id="r", progress=False)
    _edit(run, "train", "lr", 0.01)
    edited = parse_config({**BASE, "train": {**BASE["train"], "lr": 0.01}})
    with pytest.raises(ConfigError, match=r"train\.lr \(0.001 -> 0.01\)"):
        train_or_reuse(edited, tmp_path, "r", progress=False)
    with pytest.raises(ConfigError, match=r"train\.lr"):
        train_or_reuse(edited, tmp_path, "r", progress=False, train=False)
    # and a stopped one, through its resume
    stopped = train_run(parse_config(BASE), tmp_path, run_id="s", until_step=4, progress=False)
    _edit(stopped, "model", "n_hidden", 16)
    wider = parse_config({**BASE, "model": {**BASE["model"], "n_hidden": 16}})
    with pytest.raises(ConfigError, match=r"model\.n_hidden \(8 -> 16\)"):
        train_or_reuse(wider, tmp_path, "s", progress=False)


def test_a_checkpoint_from_before_the_binding_resumes_with_a_warning_and_is_bound_after(
    tmp_path,
):
    run = _stopped(tmp_path)
    saved = torch.load(run.path / CHECKPOINT, weights_only=True)
    del saved["config"]
    torch.save(saved, run.path / CHECKPOINT)
    with pytest.warns(NeurodynWarning, match="predates the config binding"):
        resumed = resume_run(run.path, progress=False)
    assert resumed.info().status == "finished"
    bound = resumed.read_checkpoint()["config"]
    assert bound["sha256"] == weights_hash(weight_fields(resumed.config))


def test_a_run_records_its_engine_and_resuming_on_another_warns(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURODYN_ENGINE", "reference")
    run = _stopped(tmp_path)
    assert run.info().engine == "reference"
    assert json.loads((run.path / INFO).read_text())["engine"] == "reference"
    monkeypatch.setenv("NEURODYN_ENGINE", "python")
    with pytest.warns(EngineChanged, match="trained by the reference loop and resumes on the py"):
        resumed = resume_run(run.path, progress=False)
    assert Run.open(resumed.path).info().engine == "reference+python"


def test_a_field_added_after_a_checkpoint_is_unchanged_at_the_value_it_had_before(monkeypatch):
    fields = weight_fields(parse_config(BASE))
    older = {k: v for k, v in fields.items() if k != "train.clip_grad"}
    # a checkpoint from before train.clip_grad existed, with the field now at its default
    assert fields["train.clip_grad"] == TrainConfig().clip_grad
    assert changed_fields(older, fields) == []
    # at any other value it was edited
    clipped = {**fields, "train.clip_grad": 0.5}
    assert changed_fields(older, clipped) == ["train.clip_grad"]
    # a field whose old behaviour is not its default names that value
    monkeypatch.setitem(VALUE_BEFORE_THE_FIELD_EXISTED, "train.clip_grad", 0.5)
    assert changed_fields(older, clipped) == []
    assert changed_fields(older, fields) == ["train.clip_grad"]
    # a field the checkpoint records is compared as it is, whatever its default
    assert changed_fields(fields, clipped) == ["train.clip_grad"]
    # and an unknown new key (a task parameter, say) always counts
    assert changed_fields(fields, {**fields, "surprise": 1}) == ["surprise"]
