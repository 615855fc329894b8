"""One writer per run: the faults of issue 17 reproduced (two resumes of one run, a sweep's
workers outliving a killed parent, a lock left by a killed process) and the new behaviour."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import safetensors
import yaml

import neurodyn
from neurodyn.cli import main
from neurodyn.errors import RunLocked, StaleLockTakenOver
from neurodyn.runs import Run, parse_config, resume_run, train_run
from neurodyn.runs.lock import LOCK, hold
from neurodyn.runs.sweep import expand_sweep, run_sweep

SOURCES = str(Path(neurodyn.__file__).parents[1])


def _python(*args: str) -> subprocess.Popen:
    """A Python process running this checkout of neurodyn, one thread, its output kept."""
    env = {**os.environ, "PYTHONPATH": SOURCES, "OMP_NUM_THREADS": "1"}
    return subprocess.Popen(
        [sys.executable, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )


def _holder_pid(lock_file: Path) -> int | None:
    try:
        text = lock_file.read_text()
    except FileNotFoundError:
        return None
    return json.loads(text)["pid"] if text.strip() else None


def _wait_for(condition, timeout: float, what: str, process: subprocess.Popen | None = None):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        if process is not None and process.poll() is not None:
            pytest.fail(
                f"{what}: the process ended first ({process.stderr.read().decode()[-500:]})"
            )
        time.sleep(0.05)
    pytest.fail(f"{what}: not within {timeout} s")


def _config(steps: int, **train):
    return parse_config(
        {
            "task": "flipflop",
            "model": {"n_hidden": 8, "seeds": [1]},
            "train": {"steps": steps, "batch_size": 4, "log_every": 10, **train},
        }
    )


def test_a_second_resume_of_a_run_is_refused_and_the_first_leaves_it_consistent(tmp_path, capsys):
    run = train_run(_config(20), tmp_path, run_id="r", until_step=10, progress=False)
    first = _python("-m", "neurodyn.cli", "train", "--resume", str(run.path), "--steps", "3000")
    try:
        _wait_for(lambda: _holder_pid(run.path / LOCK) == first.pid, 120, "first resume", first)
        # the second writer, while the first trains: one line naming the holder, nothing done
        assert main(["train", "--resume", str(run.path), "--quiet"]) == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1
        assert f"pid {first.pid} on" in err and "train --resume" in err, err
        with pytest.raises(RunLocked, match=f"pid {first.pid}"):
            resume_run(run.path, progress=False)
        assert first.wait(timeout=300) == 0, first.stderr.read().decode()[-500:]
    finally:
        first.kill()
        first.wait()
    # config.yaml, run.json, metrics, checkpoint and weights all say 3000 steps
    run = Run.open(run.path)
    info = run.info()
    assert (info.status, info.steps_done, run.config.train.steps) == ("finished", 3000, 3000)
    assert run.metrics()[-1]["step"] == 3000
    assert run.read_checkpoint()["step"] == 3000
    with safetensors.safe_open(run.path / "model.safetensors", "pt") as weights:
        assert weights.metadata()["steps_done"] == "3000"
    assert not (run.path / LOCK).exists()  # released cleanly


def test_a_lock_left_by_a_killed_process_is_taken_over_with_a_message(tmp_path):
    run = train_run(_config(20), tmp_path, run_id="r", until_step=10, progress=False)
    code = (
        "import os, signal, sys\n"
        "from neurodyn.runs import Run\n"
        "with Run.open(sys.argv[1]).writing():\n"
        "    os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    killed = _python("-c", code, str(run.path))
    assert killed.wait(timeout=120) == -signal.SIGKILL
    assert _holder_pid(run.path / LOCK) == killed.pid  # its name is left; its flock is not
    with pytest.warns(StaleLockTakenOver, match=f"pid {killed.pid} on .* which stopped"):
        resumed = resume_run(run.path, progress=False)
    assert resumed.info().status == "finished" and resumed.info().steps_done == 20


def test_the_lock_is_reentrant_in_one_process_and_released_after(tmp_path):
    lock = tmp_path / "x.lock"
    with hold(lock, "x"), hold(lock, "x"):
        assert _holder_pid(lock) == os.getpid()
    assert not lock.exists()
    with hold(lock, "x"):  # taken again, without a stale-lock warning (pytest errors on one)
        pass


def _descendants(pid: int) -> set[int]:
    """Every process below `pid`, from /proc."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = set(), [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.add(child)
            todo.append(child)
    return found


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"  # a zombie has ended; only its exit status waits to be collected


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs /proc to find workers")
def test_a_rerun_of_a_live_sweep_is_refused_and_a_killed_sweep_leaves_no_worker(tmp_path):
    base = {
        "task": "flipflop",
        "model": {"n_hidden": 8},
        "train": {"steps": 10**6, "batch_size": 4, "log_every": 1000},
    }
    spec = {"name": "long", "config": base, "grid": {"train.lr": [0.001, 0.002]}}
    (tmp_path / "sweep.yaml").write_text(yaml.safe_dump(spec))
    runs = tmp_path / "runs"
    locks = [runs / run_id / LOCK for run_id in expand_sweep(spec).runs]
    assert len(locks) == 2
    parent = _python(
        "-m",
        "neurodyn.cli",
        "sweep",
        str(tmp_path / "sweep.yaml"),
        "--runs",
        str(runs),
        "--workers",
        "2",
        "--quiet",
    )
    below: set[int] = set()
    try:
        # both workers are training (each holds its run's lock)
        _wait_for(lambda: all(_holder_pid(lock) for lock in locks), 180, "workers", parent)
        workers = {_holder_pid(lock) for lock in locks}
        below = _descendants(parent.pid)
        assert workers <= below and parent.pid not in workers
        # a second run of the sweep while the first is alive is refused, naming it
        with pytest.raises(RunLocked, match=f"sweep long in .* pid {parent.pid} on"):
            run_sweep(expand_sweep(spec), runs, progress=False)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait()
        deadline = time.monotonic() + 20
        while any(_alive(p) for p in below) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [p for p in below if _alive(p)], "workers outlived the killed sweep"
    finally:  # whatever failed, no process of this test trains on
        for pid in below | _descendants(parent.pid):
            if _alive(pid):
                os.kill(pid, signal.SIGKILL)
        parent.kill()
        parent.wait()
    # the workers' run locks are free again: the next writer takes each over, and says so
    for lock in locks:
        with pytest.warns(StaleLockTakenOver), hold(lock, "a run"):
            pass
