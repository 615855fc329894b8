"""A run on disk: the directory of one training run (training it is `runs.training`).

Layout of `runs/<id>/`::

    config.yaml          everything needed to reproduce the run (validated RunConfig)
    run.json             status, steps done, dates, final performance, versions of neurodyn,
                         torch and numpy that created it
    model.safetensors    the latest weights (`W_in [E,N,I]`, `W_rec [E,N,N]`, ...)
    checkpoint.pt        weights + Adam state + random-generator states + metrics, to resume
    metrics.csv          step, member, seed, loss, perf.<task> (one row per member per log)
    history/             step-000500.safetensors, ... (with train.keep_weights_every)
    analysis/            one .npz per analysis result
    report.html          the self-contained report
    .lock                who is writing the run now (`Run.writing`, `runs.lock`)

Every file is written to a temporary file and renamed, so an interruption at any moment leaves
either the previous file or the new one. A run directory is never overwritten: creating a run
whose directory exists raises `RunExists`. The run index (`index.sqlite`, see `runs.index`)
caches every run's `run.json`; `list_runs` reads it and `reindex` rebuilds it from the
directories.

One process at a time writes a run: every command that does holds `Run.writing()`, and a
second one is refused (`RunLocked`) with the name of the first.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import re
import warnings
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
import yaml

from neurodyn._io import atomic_write, atomic_write_csv, atomic_write_text
from neurodyn._version import versions
from neurodyn.errors import (
    ConfigError,
    CorruptCheckpoint,
    CorruptFile,
    DiskFull,
    NeurodynError,
    NeurodynWarning,
    RunExists,
    RunNotFound,
    excerpt,
    nearest_names,
)
from neurodyn.models import AdoptedModule, AdoptedNetwork, Network, NetworkSpec, build_model
from neurodyn.runs._metrics import METRICS, logged_performance, read_metrics
from neurodyn.runs._summary import run_summary_html
from neurodyn.runs.config import (
    RunConfig,
    changed_fields,
    check_name,
    load_config,
    weight_fields,
    weights_hash,
)
from neurodyn.runs.index import INDEX, RunRecord, clear_index, read_index, upsert
from neurodyn.runs.lock import LOCK, hold
from neurodyn.tasks import Multitask, Task
from neurodyn.train import TrainState

CONFIG = "config.yaml"
INFO = "run.json"
WEIGHTS = "model.safetensors"
CHECKPOINT = "checkpoint.pt"
ANALYSIS = "analysis"
HISTORY = "history"
REPORT = "report.html"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class RunInfo:
    """What a run's `run.json` says of it.

    Attributes
    ----------
    status : str            created, running, stopped, interrupted, diverged or finished;
                            adopted for a network trained outside neurodyn (`neurodyn.adopt`)
    steps_done : int        training steps taken (the last checkpoint's)
    created, updated : str  ISO 8601 dates (UTC)
    performance : dict[str, float] | None
        task -> final performance, mean over the members; None until the run finishes
    performance_by_member : dict[str, list[float]] | None
        task -> final performance of each member `[E]`; None until the run finishes
    versions : dict[str, str] | None
        package -> version that created the run (neurodyn, torch, numpy); None in runs made
        before versions were recorded
    seconds : dict[str, float] | None
        phase -> wall time in seconds of its last run ("training", summed over resumes;
        "analyses"; "fixed points <task>.<epoch>"); None before any was recorded
    engine : str | None
        the implementation of the recurrent loop that trained the run
        (`neurodyn.models.recurrence.engine`: compiled, python or reference), or the ones that
        did in turn, joined by '+' (`compiled+python`); None until the first checkpoint, and
        in runs made before engines were recorded. The engines agree per pass to float
        rounding, not bitwise over a training, so this says which numbers the weights are.
    """

    status: str
    steps_done: int
    created: str
    updated: str
    performance: dict[str, float] | None = None
    performance_by_member: dict[str, list[float]] | None = None
    versions: dict[str, str] | None = None
    seconds: dict[str, float] | None = None
    engine: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunInfo:
        """The info from the contents of `run.json`; `KeyError`/`TypeError` if it lacks a field."""
        names = {f.name for f in dataclasses.fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    def to_dict(self) -> dict[str, Any]:
        """The contents of `run.json` (the fields still None are left out)."""
        return {k: v for k, v in dataclasses.asdict(self).items() if v is not None}

    # `run.info()` was a dict until 0.1; these keep `info["status"]` working for a while
    def __getitem__(self, key: str) -> Any:
        warnings.warn(
            f"run.info()[{key!r}] is deprecated: run.info() is a RunInfo, read run.info().{key}",
            DeprecationWarning,
            stacklevel=2,
        )
        if key not in {f.name for f in dataclasses.fields(self)} or getattr(self, key) is None:
            raise KeyError(key)
        return getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        warnings.warn(
            f"run.info().get({key!r}) is deprecated: run.info() is a RunInfo, read "
            f"run.info().{key}",
            DeprecationWarning,
            stacklevel=2,
        )
        value = getattr(self, key, None)
        return default if value is None else value


@dataclass(frozen=True)
class Run:
    """A run directory. Cheap to make; reads files when asked. `Run.open(path)` checks that
    there is one; `Run(path)` does not."""

    path: Path

    def __post_init__(self) -> None:
        # `Run("runs/x")` is a natural guess: a str would fail only later, at `path / FILE`
        object.__setattr__(self, "path", Path(self.path))

    # -- finding and making runs --------------------------------------------------------------
    @staticmethod
    def is_run(path: str | Path) -> bool:
        return (Path(path) / CONFIG).is_file() and (Path(path) / INFO).is_file()

    @classmethod
    def open(cls, path: str | Path) -> Run:
        """The run at `path`; `RunNotFound` (with nearby run names) if there is none."""
        path = Path(path)
        if not cls.is_run(path):
            siblings = (
                [p.name for p in path.parent.iterdir() if cls.is_run(p)]
                if path.parent.is_dir()
                else []
            )
            inside = (
                sorted(p.name for p in path.iterdir() if cls.is_run(p)) if path.is_dir() else []
            )
            if inside:
                # `neurodyn report runs`: the runs folder given for a run
                raise RunNotFound(
                    f"{path} is a folder of runs, not a run: name "
                    + (
                        f"its run, {path / inside[0]}"
                        if len(inside) == 1
                        else f"one of its {len(inside)} runs (e.g. {path / inside[0]})"
                    )
                    + f"; `neurodyn runs --runs {path}` lists them"
                )
            hint = nearest_names(path.name, siblings)
            did = f" Did you mean {', '.join(str(path.parent / h) for h in hint)}?" if hint else ""
            what = "is not a run (no config.yaml/run.json)" if path.is_dir() else "does not exist"
            raise RunNotFound(f"run {path} {what}.{did} `neurodyn runs` lists the runs.")
        return cls(path)

    @classmethod
    def create(cls, root: str | Path, config: RunConfig, run_id: str | None = None) -> Run:
        """Make a new run directory under `root` holding `config` (never overwrites one)."""
        root = Path(root)
        if run_id is None:
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            label = config.name or "+".join(config.make_task().task_names)
            run_id = f"{stamp}-{re.sub(r'[^A-Za-z0-9_.+-]', '_', label)}"
        else:
            check_name(run_id, "run name")
        path = root / run_id
        root.mkdir(parents=True, exist_ok=True)
        try:
            path.mkdir()
        except FileExistsError:
            raise RunExists(
                f"{path} already exists; runs are never overwritten. Pick another --name, "
                f"continue it with `neurodyn train --resume {path}`, or delete it yourself."
            ) from None
        _write_config(path, config)
        run = cls(path)
        now = _now()
        run._write_info(
            RunInfo(status="created", steps_done=0, created=now, updated=now, versions=versions())
        )
        upsert(root, run.record())
        return run

    def writable(self, relative: str) -> Path:
        """`RUN/relative`, to be written, once it is sure to stay inside the run folder: a
        received run could hold a symlink (`analysis -> /somewhere`) that would make a write
        land outside it. Such a link is refused with `NeurodynError`."""
        path = self.path / relative
        inside = self.path.resolve()
        for part in [path, *path.parents]:
            if part == self.path:
                break
            if part.is_symlink() or not part.resolve().is_relative_to(inside):
                raise NeurodynError(
                    f"{part} is a symbolic link out of the run folder; refusing to write "
                    "through it: replace it with a plain folder"
                )
        return path

    def _repr_html_(self) -> str:
        return run_summary_html(self)

    def writing(self) -> contextlib.AbstractContextManager[None]:
        """Hold the run's writer lock for a `with` block: `RunLocked`, naming the holder, if
        another live process is writing the run (see `neurodyn.runs.lock`)."""
        return hold(self.path / LOCK, f"run {self.path}")

    # -- what a run holds ---------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self.path.name

    @property
    def root(self) -> Path:
        return self.path.parent

    @cached_property
    def config(self) -> RunConfig:
        # a config.yaml without `stream` predates the versioned streams: its run drew stream 1
        return load_config(self.path / CONFIG, stream=1)

    @cached_property
    def task(self) -> Task | Multitask:
        return self.config.make_task()

    def model_spec(self) -> NetworkSpec:
        return self.config.model.spec(self.task)

    def info(self) -> RunInfo:
        """The run's status, steps done, dates, the versions that made it and, once finished,
        final performance (`run.json`)."""
        path = self.path / INFO
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise CorruptFile(f"{path} cannot be read: {excerpt(str(err), 80)}") from None
        if not isinstance(data, dict) or not isinstance(data.get("steps_done", 0), int):
            raise CorruptFile(
                f"{path} is not a run's record (a mapping with an integer steps_done): "
                "restore it from a copy of the run"
            )
        try:
            return RunInfo.from_dict(data)
        except (TypeError, AttributeError) as err:
            raise CorruptFile(
                f"{path} lacks a field of a run's record ({excerpt(str(err), 80)}): restore it "
                "from a copy of the run"
            ) from None

    def _write_info(self, info: RunInfo) -> None:
        atomic_write_text(self.path / INFO, json.dumps(info.to_dict(), indent=2))

    def _update_info(self, **changes: Any) -> None:
        """Change fields of `run.json` (and its row in the index); `updated` becomes now."""
        self._write_info(dataclasses.replace(self.info(), **changes, updated=_now()))
        upsert(self.root, self.record())

    def record_seconds(self, phase: str, seconds: float, *, add: bool = False) -> None:
        """Keep the wall time of a phase in `run.json` (`add`: to what it took before)."""
        timings = dict(self.info().seconds or {})
        before = timings.get(phase, 0.0) if add else 0.0
        timings[phase] = round(before + seconds, 2)
        self._update_info(seconds=timings)

    def record(self) -> RunRecord:
        info = self.info()
        return RunRecord(
            id=self.id,
            path=str(self.path),
            tasks=tuple(self.task.task_names),
            seeds=tuple(self.config.model.seeds),
            steps_done=int(info.steps_done),
            # an adopted network was trained elsewhere: no step of it is neurodyn's
            steps_total=0 if self.config.model.adopted is not None else self.config.train.steps,
            status=info.status,
            performance=info.performance,
            created=info.created,
            updated=info.updated,
        )

    def logged_performance(self) -> tuple[int, dict[str, float]] | None:
        """The performance last logged during training: its step and, per task, the mean over
        members (`perf.<task>` of `metrics.csv`); None before the first log.

        What a run that has not finished (so has no final evaluation in `run.json`) has
        reached, as `neurodyn runs` shows it. Logged on `train.log_every`'s small batches, it
        is noisier than the final evaluation.

        Returns
        -------
        (step, {task: performance}) or None
        """
        return logged_performance(self.metrics())

    def metrics(self) -> list[dict[str, float]]:
        """Rows of `metrics.csv` (step, member, seed, loss, perf.<task>), as numbers."""
        return read_metrics(self.path / METRICS)

    def load_model(self) -> Network:
        """The trained network (all ensemble members) from `model.safetensors`; for an adopted
        run (`neurodyn.adopt`), its modules rebuilt from their import paths."""
        path = self.path / WEIGHTS
        if not path.exists():
            if self.info().status == "finished":
                raise RunNotFound(
                    f"{path} does not exist, though run {self.id} finished (deleted or moved?): "
                    "put it back, or train the run again from its config.yaml"
                )
            raise RunNotFound(
                f"{path} does not exist: run {self.id} has no weights yet; "
                f"`neurodyn train --resume {self.path}` trains it on"
            )
        if self.config.model.adopted is not None:
            return self._load_adopted(path, self.config.model.adopted)
        try:
            weights = safetensors.torch.load_file(path)
            model = build_model(self.model_spec())
            model.load_state_dict(weights)
        except Exception as err:  # safetensors raises its own error types
            raise CorruptCheckpoint(
                f"{path} cannot be read ({type(err).__name__}: {err}). The file is damaged; "
                f"resume from {self.path / CHECKPOINT} with `neurodyn train --resume "
                f"{self.path}` or retrain."
            ) from None
        return model

    def _load_adopted(self, path: Path, adopted: AdoptedModule) -> AdoptedNetwork:
        # import failures and modules that no longer fit raise their own one-line errors
        model = AdoptedNetwork.from_module(
            adopted,
            n_inputs=self.task.n_inputs,
            n_hidden=self.config.model.n_hidden,
            dt_ms=self.task.dt_ms,
            seeds=self.config.model.seeds,
        )
        try:
            weights = safetensors.torch.load_file(path)
        except Exception as err:
            raise CorruptCheckpoint(
                f"{path} cannot be read ({type(err).__name__}: {excerpt(str(err), 80)}): the "
                "file is damaged; adopt the network again"
            ) from None
        try:
            model.load_state_dict(weights)
        except Exception as err:
            raise CorruptCheckpoint(
                f"{path} does not load into {adopted.cell} built with "
                f"{excerpt(adopted.cell_kwargs, 80)} ({excerpt(' '.join(str(err).split()), 120)}): "
                "the class changed since the network was adopted; adopt it again"
            ) from None
        return model

    def history_steps(self) -> list[int]:
        """The steps at which training kept the weights (`train.keep_weights_every`), sorted."""
        return sorted(
            int(path.stem.split("-")[1])
            for path in (self.path / HISTORY).glob("step-*.safetensors")
        )

    def weight_history(self, steps: Collection[int] | None = None) -> list[tuple[int, Network]]:
        """The networks kept during training (`train.keep_weights_every`), by step: all of
        them, or those of `steps` (`NeurodynError` naming a step that was not kept)."""
        kept = self.history_steps()
        if steps is not None:
            missing = sorted(set(steps) - set(kept))
            if missing:
                have = f"{len(kept)}, steps {kept[0]}-{kept[-1]}" if kept else "none"
                raise NeurodynError(
                    f"run {self.path} kept no weights at step(s) {missing} (it kept {have}): "
                    "train it with a train.keep_weights_every that keeps them"
                )
            kept = sorted(set(steps))
        found = []
        for step in kept:
            path = self.path / HISTORY / f"step-{step:07d}.safetensors"
            model = build_model(self.model_spec())
            try:
                model.load_state_dict(safetensors.torch.load_file(path))
            except Exception as err:
                raise CorruptCheckpoint(f"{path} cannot be read ({err})") from None
            found.append((step, model))
        return found

    def check_member(self, member: int, ensemble_size: int) -> None:
        """`NeurodynError` unless `member` indexes one of the run's `ensemble_size` networks."""
        if not 0 <= member < ensemble_size:
            members = (
                "one network: member 0"
                if ensemble_size == 1
                else f"{ensemble_size} members (0..{ensemble_size - 1})"
            )
            raise NeurodynError(f"member {member} does not exist: run {self.id} has {members}")

    def load_member(self, member: int) -> Network:
        """One trained network of the ensemble, as a single-member CTRNN."""
        model = self.load_model()
        self.check_member(member, model.ensemble_size)
        return model.member(member)

    # -- checkpoints --------------------------------------------------------------------------
    def save_checkpoint(self, state: TrainState) -> None:
        """Write weights, full training state and metrics, each atomically. The checkpoint
        records the config fields that determined the weights (`weight_fields`) and their
        hash, which `check_config` compares with config.yaml."""
        fields = json.dumps(weight_fields(self.config), sort_keys=True)
        bound = {"sha256": weights_hash(json.loads(fields)), "fields": fields}

        def save_checkpoint(tmp: Path) -> None:
            torch.save({**state.state_dict(), "config": bound}, tmp)

        # (one metadata key: safetensors writes several in no fixed order, and the same
        # training must give the same bytes)
        def save_weights(tmp: Path) -> None:
            weights = {k: v.detach().contiguous() for k, v in state.model.state_dict().items()}
            safetensors.torch.save_file(weights, tmp, metadata={"steps_done": str(state.step)})

        try:
            # Checkpoint first: if we stop between the two files, resuming still works.
            atomic_write(self.path / CHECKPOINT, save_checkpoint)
            atomic_write(self.path / WEIGHTS, save_weights)
            keep = self.config.train.keep_weights_every
            if keep is not None and state.step % keep == 0:
                history = self.path / HISTORY / f"step-{state.step:07d}.safetensors"
                atomic_write(history, save_weights)
            atomic_write_csv(self.path / METRICS, state.metrics)
        except DiskFull as err:
            kept = (
                f"the last checkpoint (step {self.info().steps_done}) is kept"
                if (self.path / CHECKPOINT).exists()
                else "no checkpoint was written yet"
            )
            raise DiskFull(f"{err}; {kept}: free some space, then resume the run") from None
        self._update_info(steps_done=state.step, status="running")

    def read_checkpoint(self) -> dict[str, Any]:
        """The contents of `checkpoint.pt` (`TrainState.state_dict()` and the config binding)."""
        path = self.path / CHECKPOINT
        if not path.exists():
            raise RunNotFound(f"{path} does not exist: run {self.id} has no checkpoint to resume")
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as err:
            raise CorruptCheckpoint(
                f"{path} cannot be read ({type(err).__name__}: {err}); the run cannot be resumed"
            ) from None
        if not isinstance(saved, dict):
            raise CorruptCheckpoint(f"{path} holds no training state; the run cannot be resumed")
        return saved

    def load_checkpoint(self, state: TrainState, saved: Mapping[str, Any] | None = None) -> None:
        """Load the checkpoint (`saved`, as `read_checkpoint` gives it, or read now) into
        `state`."""
        saved = self.read_checkpoint() if saved is None else saved
        try:
            state.load_state_dict(dict(saved))
        except Exception as err:
            raise CorruptCheckpoint(
                f"{self.path / CHECKPOINT} cannot be read ({type(err).__name__}: {err}); the run "
                "cannot be resumed"
            ) from None

    def check_config(self, saved: Mapping[str, Any] | None = None) -> None:
        """`ConfigError` naming the changed fields unless config.yaml is, in every field that
        determines weights (`runs.config.weight_fields`), the config the run's weights were
        trained with, as its checkpoint (`saved`, as `read_checkpoint` gives it, or read now)
        records it.

        A run without a checkpoint has nothing to check. A checkpoint saved before the binding
        was recorded (neurodyn 0.1) is accepted with a warning: config.yaml cannot be checked
        against it, and the next checkpoint records it.
        """
        source = self.path / CHECKPOINT
        if saved is None:
            if not source.exists():
                return
            saved = self.read_checkpoint()
        binding = saved.get("config")
        recorded = binding.get("fields") if isinstance(binding, Mapping) else None
        if recorded is None:
            warnings.warn(
                NeurodynWarning(
                    f"{source} predates the config binding: config.yaml is taken as it is, "
                    "unchecked (the next checkpoint records it)"
                ),
                stacklevel=3,
            )
            return
        try:
            before = json.loads(recorded)
        except (TypeError, ValueError):
            raise CorruptCheckpoint(f"{source} has an unreadable config binding") from None
        now = json.loads(json.dumps(weight_fields(self.config), sort_keys=True))
        changed = [
            f"{k} ({_excerpt(before.get(k))} -> {_excerpt(now.get(k))})"
            for k in changed_fields(before, now)
        ]
        if changed:
            raise ConfigError(
                f"{self.path / CONFIG} differs from the config that trained the run's weights in "
                f"{', '.join(changed)}; undo the edit, or train a new run with it "
                "(only --steps may change on resume)"
            )


def _excerpt(value: Any, limit: int = 40) -> str:
    """`value` as JSON, cut to `limit` characters (a task list can be long)."""
    text = json.dumps(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _write_config(path: Path, config: RunConfig) -> None:
    """A run's config.yaml, as `Run.config` reads it back."""
    atomic_write_text(path / CONFIG, yaml.safe_dump(config.to_dict(), sort_keys=False))


def list_runs(root: str | Path = "runs") -> list[RunRecord]:
    """Every run under `root`, oldest first (from the index, rebuilt if missing). An empty
    list if there is no runs folder."""
    root = Path(root)
    if not root.is_dir():
        return []
    if not (root / INDEX).exists():
        reindex(root)
    return read_index(root)


def reindex(root: str | Path = "runs") -> int:
    """Rebuild the index from the run directories under `root`; returns the number of runs."""
    root = Path(root)
    clear_index(root)
    count = 0
    for path in sorted(p for p in root.iterdir() if p.is_dir()):
        if Run.is_run(path):
            upsert(root, Run.open(path).record())
            count += 1
    return count
