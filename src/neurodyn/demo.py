"""The demo: a small network trained on `pdm` and `dlygo`, analysed, with its report.

A few minutes on two CPU cores. `neurodyn demo` runs it; the config is also in
`configs/demo.yaml`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neurodyn.report import write_report
from neurodyn.runs import Run, parse_config, train_run
from neurodyn.runs.analyze import analyze_run
from neurodyn.runs.fixedpoints import find_run_fixed_points

DEMO_CONFIG: dict[str, Any] = {
    "name": "demo",
    "task": ["pdm", "dlygo"],
    "model": {
        "n_hidden": 64,
        "tau_ms": 100.0,
        "activation": "relu",
        "sigma_rec": 0.05,
        "seeds": [1],
    },
    "train": {
        "steps": 3000,
        "batch_size": 32,
        "lr": 0.003,
        "l2_rate": 0.0001,
        "log_every": 50,
        "checkpoint_every": 500,
    },
}


def run_demo(
    root: str | Path = "runs", *, steps: int | None = None, progress: bool = True
) -> tuple[Run, Path]:
    """Train, analyse (with fixed points) and report the demo network; returns the run and the
    report's path."""
    data = {**DEMO_CONFIG, "train": {**DEMO_CONFIG["train"]}}
    if steps is not None:
        data["train"]["steps"] = steps
        data["train"]["checkpoint_every"] = min(steps, 500)
    run = train_run(parse_config(data), root, progress=progress)
    analyze_run(run, progress=progress)
    for task in run.task.task_names:
        find_run_fixed_points(run, task=task, n_initial=512, progress=progress)
    return run, write_report(run, progress=progress)
