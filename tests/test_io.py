"""Files neurodyn writes get the permissions a plain open() would give them."""

import os
import stat
from contextlib import contextmanager

import pytest

from neurodyn import write_report
from neurodyn._io import atomic_write_text
from neurodyn.runs import parse_config, train_run


@contextmanager
def umask(mask):
    previous = os.umask(mask)
    try:
        yield
    finally:
        os.umask(previous)


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("mask, expected", [(0o022, 0o644), (0o077, 0o600)])
def test_every_file_of_a_run_and_its_report_follows_the_umask(mask, expected, tmp_path):
    config = parse_config(
        {
            "task": "flipflop",
            "model": {"n_hidden": 8, "seeds": [1]},
            "train": {"steps": 2, "batch_size": 4, "log_every": 1, "checkpoint_every": 1},
        }
    )
    with umask(mask):
        run = train_run(config, tmp_path, run_id="r", progress=False)
        report = write_report(run)
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert report in files and run.path / "run.json" in files and len(files) >= 6
    assert {p.name: mode(p) for p in files} == {p.name: expected for p in files}


def test_a_rewritten_file_keeps_the_mode_it_was_given(tmp_path):
    target = tmp_path / "shared.txt"
    with umask(0o077):
        atomic_write_text(target, "first")
        assert mode(target) == 0o600
        target.chmod(0o640)
        atomic_write_text(target, "second")
    assert mode(target) == 0o640 and target.read_text() == "second"
