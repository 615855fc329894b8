"""A tiny runs folder with everything the explorer shows, and the explorer serving it."""

import socket
import threading
import time

import pytest

pytest.importorskip("starlette", reason="the serve extra is not installed")
pytest.importorskip("uvicorn", reason="the serve extra is not installed")
pytest.importorskip("plotly", reason="the serve extra is not installed")

import uvicorn
import yaml

from neurodyn import studies
from neurodyn.analysis.fixed_points import FixedPointOptions
from neurodyn.runs import Run
from neurodyn.runs.analyze import analyze_run
from neurodyn.runs.compare import compare_runs, save_comparison
from neurodyn.runs.fixedpoints import find_run_fixed_points
from neurodyn.runs.sweep import expand_sweep, run_sweep
from neurodyn.serve import create_app

TRAIN = {"steps": 60, "batch_size": 16, "log_every": 10, "checkpoint_every": 60}
SWEEP = {
    "name": "tiny",
    "config": {
        "task": ["pdm", "dlygo"],
        "model": {"n_hidden": 16, "seeds": [0, 1]},
        "train": TRAIN,
    },
    "grid": {"train.lr": [0.01, 0.003]},
}
# the multitask study on two tasks: it trains the run `yang19` and keeps each member's task
# variance, clusters and lesion effects with it
STUDY = {
    "run": {
        "name": "yang19",
        "task": ["pdm", "dlygo"],
        "model": {"n_hidden": 16, "seeds": [0, 1]},
        "train": {**TRAIN, "lr": 0.01},
    },
    "analysis_trials": 16,
}


@pytest.fixture(scope="session")
def runs_root(tmp_path_factory):
    """A sweep of two runs (two members each) compared by CKA, never analysed; the study's
    run `yang19`, analysed, with the fixed points of both tasks."""
    root = tmp_path_factory.mktemp("runs")
    runs = run_sweep(expand_sweep(SWEEP), root, progress=False)
    save_comparison(compare_runs(runs, "cka", n_trials=8), root, name="tiny")
    config = root.parent / "study.yaml"
    config.write_text(yaml.safe_dump(STUDY))
    studies.run("yang19", root=root, config_path=config, progress=False)
    run = Run.open(root / "yang19")
    analyze_run(run, batch_size=64)
    for task in run.task.task_names:
        find_run_fixed_points(
            run, task=task, n_initial=64, options=FixedPointOptions(max_iters=300)
        )
    return root


@pytest.fixture(scope="session")
def explorer(runs_root):
    """The explorer of `runs_root` served on a free port of 127.0.0.1; its base URL."""
    yield from serving(runs_root)


def serving(root):
    """Serve the explorer of `root` on a free port of 127.0.0.1; yields its base URL."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(root), host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the explorer did not start")
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()
