"""Sweeps: many runs from one base config and a grid of values, trained side by side.

A sweep file names the sweep, gives a base run config (inline under `config:` or a path under
`base:`) and a grid of dotted config fields with the values to try::

    name: pdm-size
    base: configs/pdm_seeds.yaml
    grid:
      model.n_hidden: [32, 64, 128]
      train.lr: [0.001, 0.003]

Every combination is one run, `ROOT/<name>-<field>=<value>-...` (the last part of each
field's name), so `neurodyn compare --sweep pdm-size` and the run index find them all. A run
already finished is reused, an interrupted one resumed. With `workers > 1` runs train in
separate processes, the machine's cores shared among them.

`leave_one_task_out: true` makes one run per task of a multitask config, trained on all the
others (times every grid combination): `ROOT/<name>-without=<task>`. A battery keeps its full
layout, the held-out task's rule input untrained, ready for a transfer run that learns it by
its input weights alone.
"""

from __future__ import annotations

import copy
import itertools
import multiprocessing
import os
import re
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
import yaml

from neurodyn.errors import ConfigError
from neurodyn.runs.config import parse_config
from neurodyn.runs.run import Run, train_or_reuse


@dataclass(frozen=True)
class Sweep:
    """A named grid over a base config. `runs` maps each run id to its config data."""

    name: str
    runs: dict[str, dict[str, Any]]


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    node = data
    *parents, leaf = dotted.split(".")
    for key in parents:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(f"grid field {dotted!r}: {key!r} is not a section of the config")
    node[leaf] = value


def _id_part(dotted: str, value: Any) -> str:
    text = "_".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
    return f"{dotted.rsplit('.', 1)[-1]}={re.sub(r'[^A-Za-z0-9_.+-]', '_', text)}"


def expand_sweep(spec: Mapping[str, Any], *, base_dir: str | Path = ".") -> Sweep:
    """The runs of a sweep file's data (see the module docstring); every config is validated
    here, so a typo in the grid fails before anything trains."""
    unknown = set(spec) - {"name", "base", "config", "grid", "leave_one_task_out"}
    if unknown:
        raise ConfigError(
            "a sweep takes name, base or config, grid and leave_one_task_out; "
            f"got {sorted(unknown)}"
        )
    name = spec.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_.+-]+", name):
        raise ConfigError(f"a sweep needs a `name` usable in folder names, got {name!r}")
    if ("base" in spec) == ("config" in spec):
        raise ConfigError("a sweep needs either `base` (a config file) or `config` (inline)")
    if "base" in spec:
        path = Path(base_dir) / spec["base"]
        if not path.is_file():
            raise ConfigError(f"sweep {name}: base config {path} does not exist")
        base = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    else:
        base = copy.deepcopy(spec["config"])
    grid = spec.get("grid") or {}
    if not isinstance(grid, Mapping) or not all(isinstance(v, list) and v for v in grid.values()):
        raise ConfigError(f"sweep {name}: `grid` maps config fields to non-empty lists of values")
    fields = list(grid)
    held_out: list[str | None] = [None]
    if spec.get("leave_one_task_out"):
        held_out = list(_task_names(base.get("task"), name))
    runs: dict[str, dict[str, Any]] = {}
    for values, left_out in itertools.product(
        itertools.product(*(grid[f] for f in fields)), held_out
    ):
        data = copy.deepcopy(base)
        data["name"] = name
        for field, value in zip(fields, values, strict=True):
            _set(data, field, value)
        parts = [_id_part(f, v) for f, v in zip(fields, values, strict=True)]
        if left_out is not None:
            data["task"] = _without(data["task"], left_out)
            parts.append(f"without={left_out}")
        run_id = "-".join([name, *parts])
        try:
            parse_config(data)
        except ConfigError as err:
            raise ConfigError(f"sweep {name}, run {run_id}: {err}") from None
        runs[run_id] = data
    return Sweep(name, runs)


def _task_names(entry: Any, sweep: str) -> list[str]:
    """The tasks of a multitask entry: a list of entries, or a battery."""
    from neurodyn.tasks import Multitask, make

    task = make(entry) if entry is not None else None
    if not isinstance(task, Multitask):
        raise ConfigError(f"sweep {sweep}: leave_one_task_out needs a config with several tasks")
    return list(task.task_names)


def _without(entry: Any, left_out: str) -> Any:
    """The task entry without `left_out`. A battery keeps its layout (the held-out task's rule
    input stays, untrained: `only` lists the others), so the task can be learned later by its
    input weights alone (`train.train_only: [W_in]`); a list of tasks loses the entry."""
    from neurodyn.tasks import make

    names = list(make(entry).task_names)
    if isinstance(entry, str):  # a battery by name, e.g. "yang19"
        return {"battery": entry, "only": [t for t in names if t != left_out]}
    if isinstance(entry, Mapping) and "battery" in entry:
        kept = [t for t in (entry.get("only") or names) if t != left_out]
        return {**entry, "only": kept}
    return [e for e, n in zip(entry, names, strict=True) if n != left_out]


def load_sweep(path: str | Path) -> Sweep:
    """Read and expand a sweep file (a `base:` path is relative to the sweep file)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"sweep file {path} does not exist")
    return expand_sweep(
        yaml.safe_load(path.read_text(encoding="utf-8")) or {}, base_dir=path.parent
    )


def _train_one(root: str, run_id: str, data: dict[str, Any], threads: int | None) -> str:
    if threads is not None:
        torch.set_num_threads(threads)
    train_or_reuse(parse_config(data), root, run_id, progress=False)
    return run_id


def run_sweep(
    sweep: Sweep, root: str | Path = "runs", *, workers: int = 1, progress: bool = True
) -> list[Run]:
    """Train every run of `sweep` under `root` (reusing finished ones, resuming the others);
    returns them in the sweep's order."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")
    items = list(sweep.runs.items())
    if workers == 1:
        for i, (run_id, data) in enumerate(items):
            if progress:
                print(f"[{i + 1}/{len(items)}] {run_id}", flush=True)
            _train_one(str(root), run_id, data, None)
    else:
        # each process gets its share of the cores, so they do not oversubscribe the machine
        threads = max(1, (os.cpu_count() or 1) // workers)
        # spawn, not fork: forking a process that has started torch's thread pool can hang
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = [
                pool.submit(_train_one, str(root), run_id, data, threads) for run_id, data in items
            ]
            for i, future in enumerate(futures):
                done = future.result()  # re-raises a failed run's error here
                if progress:
                    print(f"[{i + 1}/{len(items)}] {done}", flush=True)
    return [Run.open(root / run_id) for run_id, _ in items]
