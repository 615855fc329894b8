"""Faults a received or damaged run folder, or a failing machine, can bring: writes through a
symlink out of the run, a full disk, a failed start, a divergence before any checkpoint,
temporary files of a killed writer, an index listing a deleted run."""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import subprocess
import uuid

import numpy as np
import pytest
import torch

from neurodyn.analysis.similarity import SimilarityMatrix
from neurodyn.errors import ConfigError, DiskFull, NeurodynError, TrainingDiverged
from neurodyn.runs import list_runs, parse_config, resume_run, train_run
from neurodyn.runs.analyze import analyze_run
from neurodyn.runs.compare import save_comparison
from neurodyn.runs.run import CHECKPOINT, METRICS

BASE = {
    "task": "pdm",
    "model": {"n_hidden": 16, "seeds": [1]},
    "train": {"steps": 4, "batch_size": 4, "eval_batch_size": 8, "log_every": 1},
}


def config(**train):
    return parse_config({**BASE, "train": {**BASE["train"], **train}})


def test_analyze_refuses_to_write_through_a_symlinked_analysis_folder(tmp_path):
    run = train_run(config(), tmp_path / "runs", run_id="r", progress=False)
    outside = tmp_path / "outside"
    outside.mkdir()
    (run.path / "analysis").symlink_to(outside)
    with pytest.raises(NeurodynError, match="symbolic link out of the run folder"):
        analyze_run(run, batch_size=32)
    assert list(outside.iterdir()) == []


def test_a_failed_start_leaves_no_run_folder_to_block_the_name(tmp_path, monkeypatch):
    with monkeypatch.context() as patch:
        patch.setenv("NEURODYN_ENGINE", "warp")  # fails at the first forward pass
        with pytest.raises(NeurodynError, match="NEURODYN_ENGINE"):
            train_run(config(), tmp_path, run_id="r", progress=False)
    assert list(tmp_path.iterdir()) == []  # no run folder, no index made for it
    assert train_run(config(), tmp_path, run_id="r", progress=False).info().status == "finished"


def test_the_divergence_message_says_whether_a_checkpoint_is_kept(tmp_path):
    # lr 1e30: step 1 is finite and checkpointed (checkpoint_every 1), step 2 diverges, so the
    # checkpoint holds the very weights that diverged (a kept, earlier one:
    # tests/runs/test_runs.py)
    with pytest.raises(TrainingDiverged, match=r"the checkpoint of step 1 holds the weights that"):
        train_run(config(lr=1e30, clip_grad=None, checkpoint_every=1), tmp_path, run_id="a")
    # with the first checkpoint due at step 100 nothing was written: no claim of one, no folder
    with pytest.raises(TrainingDiverged, match=r"no checkpoint was written") as err:
        train_run(config(lr=1e30, clip_grad=None, checkpoint_every=100), tmp_path, run_id="b")
    assert "is kept" not in str(err.value)
    assert not (tmp_path / "b").exists()


def test_stray_temporary_files_are_removed_when_a_run_is_resumed(tmp_path):
    run = train_run(config(), tmp_path, run_id="r", until_step=2, progress=False)
    stray = run.path / f".{CHECKPOINT}.k1ll3d.tmp"
    stray.write_bytes(b"half a checkpoint")
    resume_run(run.path, progress=False)
    assert not stray.exists()
    assert not list(run.path.rglob("*.tmp"))


def test_a_stale_index_row_of_a_deleted_run_is_dropped(tmp_path):
    train_run(config(), tmp_path, run_id="kept", progress=False)
    gone = train_run(config(), tmp_path, run_id="gone", progress=False)
    shutil.rmtree(gone.path)
    assert [r.id for r in list_runs(tmp_path)] == ["kept"]


def test_a_full_disk_is_named_and_the_last_checkpoint_kept(tmp_path, monkeypatch):
    run = train_run(config(checkpoint_every=2), tmp_path, run_id="r", until_step=2, progress=False)
    checkpoint = (run.path / CHECKPOINT).read_bytes()

    def no_space(*args, **kwargs):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(torch, "save", no_space)  # the checkpoint is the first file written
    with pytest.raises(DiskFull, match=r"no space left on device while writing .*checkpoint"):
        resume_run(run.path, progress=False)
    assert (run.path / CHECKPOINT).read_bytes() == checkpoint
    assert not list(run.path.rglob("*.tmp"))


@pytest.fixture
def small_tmpfs(tmp_path):
    """A 2 MiB tmpfs, where the machine lets this process mount one (root, no sandbox)."""
    mount = tmp_path / "tmpfs"
    mount.mkdir()
    if os.geteuid() != 0 or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root")
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", f"hardening-{uuid.uuid4().hex[:8]}", mount],
        capture_output=True,
    )
    if done.returncode != 0:
        pytest.skip("this machine does not allow mounting a tmpfs")
    yield mount
    subprocess.run(["umount", mount], check=False)


def test_a_really_full_disk_is_named_and_resume_works_once_space_is_freed(small_tmpfs):
    run = train_run(
        config(checkpoint_every=2), small_tmpfs, run_id="r", until_step=2, progress=False
    )
    checkpoint = (run.path / CHECKPOINT).read_bytes()
    filler = small_tmpfs / "filler"
    # fill the disk to the last block
    with filler.open("wb", buffering=0) as fh, contextlib.suppress(OSError):
        while True:
            fh.write(b"\0" * 4096)
    with pytest.raises(DiskFull, match=r"no space left .* the last checkpoint \(step 2\) is kept"):
        resume_run(run.path, progress=False)
    assert (run.path / CHECKPOINT).read_bytes() == checkpoint
    filler.unlink()
    resumed = resume_run(run.path, progress=False)
    assert resumed.info().status == "finished" and (run.path / METRICS).exists()


@pytest.mark.parametrize("name", ["../../escaped", "a/b", "..", "x\x1b[2J"])
def test_a_comparison_name_cannot_leave_the_runs_folder(tmp_path, name):
    result = SimilarityMatrix(np.eye(2), metric="cka", kind="similarity", labels=["a/0", "b/0"])
    root = tmp_path / "deep" / "runs"
    with pytest.raises(ConfigError, match="comparison name"):
        save_comparison(result, root, name)
    assert not (tmp_path / "escaped").exists() and not root.exists()
