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
separate processes, the machine's cores shared among them; `backend="ray"` hands them to a Ray
cluster instead (`address="auto"` joins a running one, no address starts a local instance in
this process; the runs folder must then be on a file system every node sees).

Seeds are packed: `seeds: [0, 1, 2, 3]` trains every grid point with these seeds as one
ensemble (one run of E members, one batched computation). Grid points that differ only in
`model.seeds` are merged the same way, so `model.seeds: [[0], [1]]` in the grid also gives one
run of two members. Each member is one trial of the sweep (`neurodyn runs --sweep NAME`).

Random search: `random: {samples: K, seed: S, fields: {...}}` draws K points, each field
either `{low: a, high: b}` (uniform; `log: true` for log-uniform; `integer: true` rounds) or
`{choice: [...]}`; they combine with the grid (every grid point times every sample), and the
run ids number the samples (`<name>-r03-lr=0.0012`).

`run_sweep` writes `ROOT/sweep-<name>.json`, the sweep's manifest (each run's id and the
values of the fields it varies), which the sweep table and report read.

One process runs a sweep at a time: `run_sweep` holds `ROOT/.sweep-<name>.lock` (see
`runs.lock`) and a second run of the same sweep is refused while the first is alive; each run
has its own writer lock besides. Local worker processes die with the process that started
them, however it ends (kill -9 included): on Linux the kernel kills them
(`PR_SET_PDEATHSIG`), elsewhere each polls its parent every second.

`leave_one_task_out: true` makes one run per task of a multitask config, trained on all the
others (times every grid combination): `ROOT/<name>-without=<task>`. A battery keeps its full
layout, the held-out task's rule input untrained, ready for a transfer run that learns it by
its input weights alone.
"""

from __future__ import annotations

import contextlib
import copy
import ctypes
import itertools
import json
import math
import multiprocessing
import os
import re
import signal
import sys
import threading
import time
from collections.abc import Mapping
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurodyn._io import atomic_write_text
from neurodyn._progress import stage
from neurodyn._yaml import read_yaml
from neurodyn.analysis.parameter_effect import ParameterEffect, parameter_effect
from neurodyn.errors import ConfigError, CorruptFile, excerpt, install_hint
from neurodyn.runs.config import check_name, parse_config
from neurodyn.runs.lock import hold
from neurodyn.runs.run import Run
from neurodyn.runs.training import train_or_reuse
from neurodyn.tasks import Multitask, make

BACKENDS = ("local", "ray")


@dataclass(frozen=True)
class Sweep:
    """A named grid over a base config. `runs` maps each run id to its config data, `values`
    each run id to the values of the fields the sweep varies (seeds not among them)."""

    name: str
    runs: dict[str, dict[str, Any]]
    values: dict[str, dict[str, Any]]

    @property
    def fields(self) -> list[str]:
        """The varied fields, in the order they first appear."""
        return list(dict.fromkeys(f for v in self.values.values() for f in v))


def _set(data: dict[str, Any], dotted: str, value: Any) -> None:
    node = data
    *parents, leaf = dotted.split(".")
    for key in parents:
        node = node.setdefault(key, {})
        if not isinstance(node, dict):
            raise ConfigError(
                f"grid field {dotted!r}: {excerpt(key)} is not a section of the config"
            )
    node[leaf] = value


def _id_part(dotted: str, value: Any) -> str:
    text = "_".join(map(str, value)) if isinstance(value, list | tuple) else str(value)
    return f"{dotted.rsplit('.', 1)[-1]}={re.sub(r'[^A-Za-z0-9_.+-]', '_', text)}"


def expand_sweep(spec: Mapping[str, Any], *, base_dir: str | Path = ".") -> Sweep:
    """The runs of a sweep file's data (see the module docstring); every config is validated
    here, so a typo in the grid fails before anything trains."""
    unknown = set(spec) - {
        "name",
        "base",
        "config",
        "grid",
        "leave_one_task_out",
        "seeds",
        "random",
    }
    if unknown:
        raise ConfigError(
            "a sweep takes name, base or config, grid, seeds, random and leave_one_task_out; "
            f"got {sorted(unknown)}"
        )
    name = spec.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9_+-][A-Za-z0-9_.+-]{0,99}", name):
        raise ConfigError(f"a sweep needs a `name` usable in folder names, got {excerpt(name)}")
    if ("base" in spec) == ("config" in spec):
        raise ConfigError("a sweep needs either `base` (a config file) or `config` (inline)")
    if "base" in spec:
        path = Path(base_dir) / spec["base"]
        if not path.is_file():
            raise ConfigError(f"sweep {name}: base config {path} does not exist")
        base = read_yaml(path) or {}
    else:
        base = copy.deepcopy(spec["config"])
    grid = spec.get("grid") or {}
    if not isinstance(grid, Mapping) or not all(isinstance(v, list) and v for v in grid.values()):
        raise ConfigError(f"sweep {name}: `grid` maps config fields to non-empty lists of values")
    grid = dict(grid)
    if "seeds" in spec:
        seeds = spec["seeds"]
        if not isinstance(seeds, list) or not seeds or not all(isinstance(x, int) for x in seeds):
            raise ConfigError(f"sweep {name}: `seeds` is a non-empty list of integers")
        if "model.seeds" in grid:
            raise ConfigError(f"sweep {name}: give the seeds once, as `seeds` or in the grid")
        grid["model.seeds"] = [[x] for x in seeds]
    samples = _random_points(spec.get("random"), name)
    fields = list(grid)
    held_out: list[str | None] = [None]
    if spec.get("leave_one_task_out"):
        held_out = list(_task_names(base.get("task"), name))
    points: list[tuple[dict[str, Any], list[str]]] = []  # (field values, id parts)
    for values, (k, sample), left_out in itertools.product(
        itertools.product(*(grid[f] for f in fields)), enumerate(samples), held_out
    ):
        chosen = dict(zip(fields, values, strict=True))
        parts = [_id_part(f, v) for f, v in chosen.items() if f != "model.seeds"]
        if sample:
            parts.append(f"r{k:02d}")
            parts += [_id_part(f, v) for f, v in sample.items()]
            chosen.update(sample)
        if left_out is not None:
            chosen["task"] = left_out
            parts.append(f"without={left_out}")
        points.append((chosen, parts))
    runs: dict[str, dict[str, Any]] = {}
    varied: dict[str, dict[str, Any]] = {}
    for run_id, chosen in _pack_seeds(name, points).items():
        data = copy.deepcopy(base)
        data["name"] = name
        for field, value in chosen.items():
            if field == "task":
                data["task"] = _without(data["task"], value)
            else:
                _set(data, field, value)
        try:
            parse_config(data)
        except ConfigError as err:
            raise ConfigError(f"sweep {name}, run {run_id}: {err}") from None
        runs[run_id] = data
        varied[run_id] = {
            ("without" if f == "task" else f): v for f, v in chosen.items() if f != "model.seeds"
        }
    return Sweep(name, runs, varied)


def _pack_seeds(
    name: str, points: list[tuple[dict[str, Any], list[str]]]
) -> dict[str, dict[str, Any]]:
    """Run id -> field values, points that differ only in `model.seeds` merged into one run
    whose seeds are theirs together (one ensemble)."""
    merged: dict[str, dict[str, Any]] = {}
    for chosen, parts in points:
        run_id = "-".join([name, *parts])
        if run_id not in merged:
            merged[run_id] = dict(chosen)
            continue
        seeds = list(merged[run_id].get("model.seeds", [])) + list(chosen.get("model.seeds", []))
        if len(set(seeds)) != len(seeds):
            raise ConfigError(f"sweep {name}, run {run_id}: a seed appears twice ({seeds})")
        merged[run_id]["model.seeds"] = seeds
    return merged


def _random_points(spec: Any, sweep: str) -> list[dict[str, Any]]:
    """The random search's points (`[{}]`, one empty point, without a `random` section)."""
    if spec is None:
        return [{}]
    import numpy as np

    if not isinstance(spec, Mapping) or set(spec) - {"samples", "seed", "fields"}:
        raise ConfigError(f"sweep {sweep}: `random` takes samples, seed and fields")
    samples, fields = spec.get("samples"), spec.get("fields")
    if not isinstance(samples, int) or samples < 1:
        raise ConfigError(f"sweep {sweep}: random.samples must be a positive integer")
    if not isinstance(fields, Mapping) or not fields:
        raise ConfigError(f"sweep {sweep}: random.fields maps config fields to distributions")
    rng = np.random.default_rng(int(spec.get("seed", 0)))
    points: list[dict[str, Any]] = [{} for _ in range(samples)]
    for field, dist in fields.items():
        where = f"sweep {sweep}, random field {field}"
        if not isinstance(dist, Mapping):
            raise ConfigError(f"{where}: give {{low, high}} or {{choice: [...]}}")
        if "choice" in dist:
            options = dist["choice"]
            if not isinstance(options, list) or not options:
                raise ConfigError(f"{where}: choice must be a non-empty list")
            draws: list[Any] = [options[i] for i in rng.integers(len(options), size=samples)]
        else:
            low, high = dist.get("low"), dist.get("high")
            if not isinstance(low, int | float) or not isinstance(high, int | float) or low >= high:
                raise ConfigError(
                    f"{where}: need numbers low < high, got {excerpt(low)}, {excerpt(high)}"
                )
            if dist.get("log"):
                if low <= 0:
                    raise ConfigError(f"{where}: a log-uniform range needs low > 0")
                raw = np.exp(rng.uniform(math.log(low), math.log(high), size=samples))
            else:
                raw = rng.uniform(low, high, size=samples)
            draws = (
                [round(float(v)) for v in raw]
                if dist.get("integer")
                else [float(f"{v:.4g}") for v in raw]  # 4 significant digits: readable ids
            )
        for point, value in zip(points, draws, strict=True):
            point[field] = value
    return points


def _task_names(entry: Any, sweep: str) -> list[str]:
    """The tasks of a multitask entry: a list of entries, or a battery."""
    task = make(entry) if entry is not None else None
    if not isinstance(task, Multitask):
        raise ConfigError(f"sweep {sweep}: leave_one_task_out needs a config with several tasks")
    return list(task.task_names)


def _without(entry: Any, left_out: str) -> Any:
    """The task entry without `left_out`. A battery keeps its layout (the held-out task's rule
    input stays, untrained: `only` lists the others), so the task can be learned later by its
    input weights alone (`train.train_only: [W_in]`); a list of tasks loses the entry."""
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
    return expand_sweep(read_yaml(path) or {}, base_dir=path.parent)


def _train_one(
    root: str, run_id: str, data: dict[str, Any], threads: int | None, progress: bool = False
) -> str:
    if threads is not None:
        torch.set_num_threads(threads)
    train_or_reuse(parse_config(data), root, run_id, progress=progress)
    return run_id


_PR_SET_PDEATHSIG = 1  # from <linux/prctl.h>


def _die_with_parent(parent: int) -> None:
    """Make this worker process end when `parent` does (a pool initializer): an orphaned
    worker would train on alone and race a re-run of the sweep for its runs."""
    if sys.platform.startswith("linux"):
        with contextlib.suppress(OSError, AttributeError):
            libc = ctypes.CDLL(None, use_errno=True)
            libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    # the parent may have died before prctl took effect; elsewhere this is the only guard
    if os.getppid() != parent:
        os._exit(1)
    threading.Thread(target=_watch_parent, args=(parent,), daemon=True).start()


def _watch_parent(parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    os._exit(1)


def manifest_path(root: str | Path, name: str) -> Path:
    """Where sweep `name`'s manifest lives: a file directly inside `root` (a name that is a
    path is refused, so `--sweep ../x` cannot read or write outside the runs folder)."""
    return Path(root) / f"sweep-{check_name(name, 'sweep name')}.json"


def read_manifest(root: str | Path, name: str) -> dict[str, Any]:
    """What `run_sweep` wrote about sweep `name`: {name, fields, runs: {id: values}}."""
    path = manifest_path(root, name)
    if not path.is_file():
        known = sorted(p.stem.removeprefix("sweep-") for p in Path(root).glob("sweep-*.json"))
        raise ConfigError(
            f"no sweep {name!r} in {root} (sweeps there: {', '.join(known) or 'none'}); "
            "run it with `neurodyn sweep SWEEP.yaml`"
        )
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, ValueError) as err:
        raise CorruptFile(
            f"the sweep manifest {path} cannot be read ({excerpt(str(err), 60)}): run the "
            "sweep again to rewrite it"
        ) from None
    runs = manifest.get("runs") if isinstance(manifest, dict) else None
    fields = manifest.get("fields") if isinstance(manifest, dict) else None
    if (
        not isinstance(runs, dict)
        or not isinstance(fields, list)
        or not all(isinstance(v, dict) for v in runs.values())
    ):
        raise CorruptFile(
            f"the sweep manifest {path} lacks its `runs` and `fields`: run the sweep again to "
            "rewrite it"
        )
    return manifest


def run_sweep(
    sweep: Sweep,
    root: str | Path = "runs",
    *,
    workers: int = 1,
    progress: bool = True,
    backend: str = "local",
    address: str | None = None,
) -> list[Run]:
    """Train every run of `sweep` under `root` (reusing finished ones, resuming the others);
    returns them in the sweep's order.

    backend : 'local' (this machine; `workers` processes) or 'ray' (one Ray task per run, each
        asking for `max(1, cores // workers)` CPUs; `address` as `ray.init` takes it: None
        starts a local instance in this process, 'auto' joins a running cluster)."""
    root = Path(root)
    if workers < 1:
        raise ConfigError(f"workers must be at least 1, got {workers}")
    if backend not in BACKENDS:
        raise ConfigError(f"backend must be one of {BACKENDS}, got {backend!r}")
    root.mkdir(parents=True, exist_ok=True)
    with hold(root / f".sweep-{sweep.name}.lock", f"sweep {sweep.name} in {root}"):
        _run_sweep(sweep, root, workers, progress, backend, address)
    return [Run.open(root / run_id) for run_id in sweep.runs]


def _run_sweep(
    sweep: Sweep, root: Path, workers: int, progress: bool, backend: str, address: str | None
) -> None:
    path = manifest_path(root, sweep.name)
    known = read_manifest(root, sweep.name) if path.is_file() else {"fields": [], "runs": {}}
    # a sweep's name is its identity: re-running it may add runs, not change old ones
    changed = [r for r, v in known["runs"].items() if r in sweep.values and v != sweep.values[r]]
    if changed:
        raise ConfigError(f"sweep {sweep.name} in {root} has other values for runs {changed}")
    manifest = {
        "name": sweep.name,
        "fields": list(dict.fromkeys([*known["fields"], *sweep.fields])),
        "runs": {**known["runs"], **sweep.values},
    }
    fresh = not path.is_file()
    atomic_write_text(path, json.dumps(manifest, indent=1))
    items = list(sweep.runs.items())
    try:
        _train_all(items, root, workers, progress, backend, address)
    except BaseException:
        # a new sweep none of whose runs started leaves no manifest to hold its name
        if fresh and not any(Run.is_run(root / run_id) for run_id, _ in items):
            path.unlink(missing_ok=True)
        raise


def _train_all(
    items: list[tuple[str, dict[str, Any]]],
    root: Path,
    workers: int,
    progress: bool,
    backend: str,
    address: str | None,
) -> None:
    if backend == "ray":
        _run_on_ray(items, root, workers, progress, address)
    elif workers == 1:
        for i, (run_id, data) in enumerate(items):
            stage(f"sweep: run {i + 1}/{len(items)} {run_id}", enabled=progress)
            # one run at a time: its own training bar shows where it is
            _train_one(str(root), run_id, data, None, progress)
    else:
        # each process gets its share of the cores, so they do not oversubscribe the machine
        threads = max(1, (os.cpu_count() or 1) // workers)
        # spawn, not fork: forking a process that has started torch's thread pool can hang
        context = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(
            max_workers=workers,
            mp_context=context,
            initializer=_die_with_parent,
            initargs=(os.getpid(),),
        ) as pool:
            futures = [
                pool.submit(_train_one, str(root), run_id, data, threads) for run_id, data in items
            ]
            for i, future in enumerate(futures):
                done = future.result()  # re-raises a failed run's error here
                stage(f"sweep: {i + 1}/{len(items)} runs done ({done})", enabled=progress)


def _run_on_ray(
    items: list[tuple[str, dict[str, Any]]],
    root: Path,
    workers: int,
    progress: bool,
    address: str | None,
) -> None:
    try:
        import ray
    except ImportError:
        raise ConfigError(
            f"the ray backend needs Ray: {install_hint('ray')} (or use --backend local)"
        ) from None
    started_here = not ray.is_initialized()
    if started_here:
        ray.init(address=address, include_dashboard=False, log_to_driver=False)
    try:
        cores = int(ray.cluster_resources().get("CPU", 1))
        threads = max(1, cores // workers)
        remote = ray.remote(num_cpus=threads, max_retries=0)(_train_one)
        pending = {
            remote.remote(str(root.resolve()), run_id, data, threads): run_id
            for run_id, data in items
        }
        done_count = 0
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            run_id = pending.pop(ready[0])
            ray.get(ready[0])  # re-raises a failed run's error here
            done_count += 1
            stage(f"sweep: {done_count}/{len(items)} runs done ({run_id})", enabled=progress)
    finally:
        if started_here:
            ray.shutdown()


@dataclass(frozen=True)
class SweepTable:
    """One row per trial of a sweep: a member of one of its runs.

    Attributes
    ----------
    name : the sweep's name
    fields : the fields the sweep varies
    rows : list of dicts with `run`, `member`, `seed`, each field's value, `status`, `step`,
        `steps`, `loss` (last logged, NaN before the first log) and `perf.<task>` (last logged)
    """

    name: str
    fields: list[str]
    rows: list[dict[str, Any]]

    @property
    def tasks(self) -> list[str]:
        return list(dict.fromkeys(k[5:] for r in self.rows for k in r if k.startswith("perf.")))

    @property
    def columns(self) -> list[str]:
        """The columns a table of the trials shows, in order."""
        return ["run", "seed", *self.fields, "status", "step", "loss"] + [
            f"perf.{t}" for t in self.tasks
        ]

    def cells(self) -> list[list[str]]:
        """Every row's `columns` as text: numbers to 4 significant digits, '-' for missing."""

        def text(value: Any) -> str:
            if isinstance(value, float):
                return "-" if math.isnan(value) else f"{value:.4g}"
            return "-" if value is None else str(value)

        return [[text(r.get(c)) for c in self.columns] for r in self.rows]


def sweep_table(root: str | Path, name: str) -> SweepTable:
    """The trials of sweep `name` in the runs folder `root`, with their latest loss and their
    performance: a finished run's final evaluation, else what training last logged (runs not
    started yet are listed with status 'missing')."""
    manifest = read_manifest(root, name)
    rows: list[dict[str, Any]] = []
    for run_id, values in manifest["runs"].items():
        path = Path(root) / run_id
        if not Run.is_run(path):
            rows.append(
                {"run": run_id, "member": None, "seed": None, **values, "status": "missing"}
            )
            continue
        run = Run.open(path)
        info = run.info()
        last: dict[int, dict[str, float]] = {}
        for row in run.metrics():
            if "loss" in row:
                last[int(row["member"])] = row
        # a finished run's performance is its final evaluation (what `neurodyn runs` and the
        # run's report show), not the last logged training batch's few trials
        final = info.performance_by_member or {}
        for member, seed in enumerate(run.config.model.seeds):
            metrics = {
                **last.get(member, {}),
                **{f"perf.{task}": values[member] for task, values in final.items()},
            }
            rows.append(
                {
                    "run": run_id,
                    "member": member,
                    "seed": seed,
                    **values,
                    "status": info.status,
                    "step": info.steps_done,
                    "steps": run.config.train.steps,
                    "loss": metrics.get("loss", math.nan),
                    **{k: v for k, v in metrics.items() if k.startswith("perf.")},
                }
            )
    return SweepTable(name, list(manifest["fields"]), rows)


def sweep_effect(table: SweepTable, field: str) -> ParameterEffect:
    """Each trial's final performance (mean over tasks) and loss against `field`, with the
    means per value (what the sweep report draws); trials not started are left out."""
    rows = [r for r in table.rows if r.get("member") is not None and field in r]
    performance = [
        float(np.mean(known))
        if (known := [r[f"perf.{t}"] for t in table.tasks if f"perf.{t}" in r])
        else math.nan
        for r in rows
    ]
    return parameter_effect(
        field,
        [r[field] for r in rows],
        {"performance (mean over tasks)": performance, "loss": [r["loss"] for r in rows]},
    )
