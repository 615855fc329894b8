"""The trial generator's random stream in run configs: new runs record the latest, a run's
config.yaml without one (written before streams had versions) loads as stream 1 and resumes on
it, its checkpoint binding unchanged."""

import json

import pytest
import torch
import yaml

from neurodyn.errors import ConfigError
from neurodyn.runs import Run, parse_config, resume_run, train_run
from neurodyn.runs.config import weight_fields, weights_hash
from neurodyn.runs.run import CHECKPOINT, CONFIG

BATTERY = {
    "name": "mixed",
    "task": {"battery": "yang19", "tasks": ["fdgo", "dmsgo"]},
    "model": {"n_hidden": 8, "seeds": [1]},
    "train": {"steps": 4, "batch_size": 4, "log_every": 2, "checkpoint_every": 2},
}


def test_a_new_config_takes_the_latest_stream_and_the_run_records_it(tmp_path):
    config = parse_config(BATTERY)
    assert config.stream == 3 and config.make_task().stream == 3
    run = train_run(config, tmp_path, run_id="new", until_step=2, progress=False)
    assert yaml.safe_load((run.path / CONFIG).read_text())["stream"] == 3
    assert Run.open(run.path).config.stream == 3
    assert weight_fields(config)["stream"] == 3
    with pytest.raises(ConfigError, match=r"stream must be one of \[1, 2, 3\]"):
        parse_config({**BATTERY, "stream": 4})


def test_a_run_from_before_streams_loads_as_stream_1_and_resumes_on_it(tmp_path, capsys):
    old = parse_config({**BATTERY, "stream": 1})
    straight = train_run(old, tmp_path, run_id="straight", progress=False)
    stopped = train_run(old, tmp_path, run_id="old", until_step=2, progress=False)
    # config.yaml and the checkpoint's binding as runs made before streams had versions wrote
    # them: neither names a stream
    data = yaml.safe_load((stopped.path / CONFIG).read_text())
    del data["stream"]
    (stopped.path / CONFIG).write_text(yaml.safe_dump(data))
    saved = torch.load(stopped.path / CHECKPOINT, weights_only=True)
    fields = json.loads(saved["config"]["fields"])
    del fields["stream"]
    saved["config"] = {"sha256": weights_hash(fields), "fields": json.dumps(fields, sort_keys=True)}
    torch.save(saved, stopped.path / CHECKPOINT)
    assert Run.open(stopped.path).config.stream == 1
    capsys.readouterr()
    resumed = resume_run(stopped.path, progress=True)
    assert "trials from random stream 1" in capsys.readouterr().err
    a, b = straight.load_model().state_dict(), resumed.load_model().state_dict()
    for name in a:  # the same trials as a stream-1 run trained straight through
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)


def test_a_run_whose_stream_was_edited_is_refused_on_resume(tmp_path):
    run = train_run(parse_config(BATTERY), tmp_path, run_id="r", until_step=2, progress=False)
    data = yaml.safe_load((run.path / CONFIG).read_text())
    data["stream"] = 1
    (run.path / CONFIG).write_text(yaml.safe_dump(data))
    with pytest.raises(ConfigError, match="stream"):
        resume_run(run.path, progress=False)


def test_a_single_task_run_from_before_streams_is_reused_by_a_new_config(tmp_path):
    from neurodyn.runs import train_or_reuse

    single = {**BATTERY, "task": "fdgo"}
    run = train_run(parse_config({**single, "stream": 1}), tmp_path, run_id="r", progress=False)
    data = yaml.safe_load((run.path / CONFIG).read_text())
    del data["stream"]
    (run.path / CONFIG).write_text(yaml.safe_dump(data))
    # one task's trials are the same on any stream: the old run is the new config's run
    assert train_or_reuse(parse_config(single), tmp_path, "r", progress=False).path == run.path
    # a task set's are not
    mixed = train_run(parse_config({**BATTERY, "stream": 1}), tmp_path, run_id="m", progress=False)
    with pytest.raises(ConfigError, match="another config"):
        train_or_reuse(parse_config(BATTERY), tmp_path, mixed.id, progress=False)


def test_a_run_that_recorded_stream_2_resumes_on_it_after_the_default_moved_on(tmp_path, capsys):
    from neurodyn.runs import train_or_reuse

    older = parse_config({**BATTERY, "stream": 2})
    straight = train_run(older, tmp_path, run_id="straight", progress=False)
    stopped = train_run(older, tmp_path, run_id="stopped", until_step=2, progress=False)
    capsys.readouterr()
    resumed = resume_run(stopped.path, progress=True)
    assert "trials from random stream 2" in capsys.readouterr().err
    a, b = straight.load_model().state_dict(), resumed.load_model().state_dict()
    for name in a:
        torch.testing.assert_close(a[name], b[name], rtol=0, atol=0)
    # a study's config that names its stream reuses the run; one on the new default does not
    assert train_or_reuse(older, tmp_path, "straight", progress=False).path == straight.path
    with pytest.raises(ConfigError, match="another config"):
        train_or_reuse(parse_config(BATTERY), tmp_path, "straight", progress=False)
