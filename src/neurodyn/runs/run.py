"""A run on disk: the directory of one training run, and training/resuming it.

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

Every file is written to a temporary file and renamed, so an interruption at any moment leaves
either the previous file or the new one. A run directory is never overwritten: creating a run
whose directory exists raises `RunExists`.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import json
import re
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cached_property
from pathlib import Path
from typing import Any

import safetensors.torch
import torch
import yaml

from neurodyn._io import (
    atomic_write,
    atomic_write_csv,
    atomic_write_text,
    remove_stray_temporaries,
)
from neurodyn._version import versions
from neurodyn.errors import (
    ConfigError,
    CorruptCheckpoint,
    CorruptFile,
    DiskFull,
    NeurodynError,
    RunExists,
    RunNotFound,
    TrainingDiverged,
    excerpt,
    nearest_names,
)
from neurodyn.models import Network, NetworkSpec, build_model
from neurodyn.runs.config import RunConfig, check_name, load_config
from neurodyn.runs.index import INDEX, RunRecord, remove_from_index, upsert
from neurodyn.tasks import Multitask, Task
from neurodyn.train import TrainState, evaluate, fit

CONFIG = "config.yaml"
INFO = "run.json"
WEIGHTS = "model.safetensors"
CHECKPOINT = "checkpoint.pt"
METRICS = "metrics.csv"
ANALYSIS = "analysis"
HISTORY = "history"
REPORT = "report.html"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class Run:
    """A run directory. Cheap to make; reads files when asked."""

    path: Path

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
            {
                "status": "created",
                "steps_done": 0,
                "created": now,
                "updated": now,
                "versions": versions(),
            }
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

    # -- what a run holds ---------------------------------------------------------------------
    @property
    def id(self) -> str:
        return self.path.name

    @property
    def root(self) -> Path:
        return self.path.parent

    @cached_property
    def config(self) -> RunConfig:
        return load_config(self.path / CONFIG)

    @cached_property
    def task(self) -> Task | Multitask:
        return self.config.make_task()

    def model_spec(self) -> NetworkSpec:
        return self.config.model.spec(self.task)

    def info(self) -> dict[str, Any]:
        """Contents of `run.json`: status, steps_done, created, updated, `versions` (package ->
        version that created the run; absent in runs made before it was recorded), and when
        finished `performance` (task -> mean over members) and `performance_by_member`."""
        path = self.path / INFO
        try:
            info = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as err:
            raise CorruptFile(f"{path} cannot be read: {excerpt(str(err), 80)}") from None
        if not isinstance(info, dict) or not isinstance(info.get("steps_done", 0), int):
            raise CorruptFile(
                f"{path} is not a run's record (a mapping with an integer steps_done): "
                "restore it from a copy of the run"
            )
        return info

    def _write_info(self, info: dict[str, Any]) -> None:
        atomic_write_text(self.path / INFO, json.dumps(info, indent=2))

    def _update_info(self, **changes: Any) -> None:
        info = self.info()
        info.update(changes, updated=_now())
        self._write_info(info)
        upsert(self.root, self.record())

    def record(self) -> RunRecord:
        info = self.info()
        return RunRecord(
            id=self.id,
            path=str(self.path),
            tasks=tuple(self.task.task_names),
            seeds=tuple(self.config.model.seeds),
            steps_done=int(info["steps_done"]),
            steps_total=self.config.train.steps,
            status=info["status"],
            performance=info.get("performance"),
            created=info["created"],
            updated=info["updated"],
        )

    def metrics(self) -> list[dict[str, float]]:
        """Rows of `metrics.csv` (step, member, seed, loss, perf.<task>), as numbers."""
        path = self.path / METRICS
        if not path.exists():
            return []
        try:
            with path.open(newline="", encoding="utf-8") as fh:
                return [
                    {k: float(v) for k, v in row.items() if v != ""} for row in csv.DictReader(fh)
                ]
        except (ValueError, TypeError, csv.Error) as err:
            # a short row gives None (TypeError), a garbled cell ValueError
            raise CorruptFile(
                f"{path} cannot be read as numbers ({excerpt(str(err), 60)}): the next "
                "checkpoint rewrites it (`neurodyn train --resume RUN`), or restore a copy"
            ) from None

    def load_model(self) -> Network:
        """The trained network (all ensemble members) from `model.safetensors`."""
        path = self.path / WEIGHTS
        if not path.exists():
            raise RunNotFound(f"{path} does not exist: run {self.id} has no weights yet")
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

    def weight_history(self) -> list[tuple[int, Network]]:
        """The networks kept during training (`train.keep_weights_every`), by step."""
        found = []
        for path in sorted((self.path / HISTORY).glob("step-*.safetensors")):
            model = build_model(self.model_spec())
            try:
                model.load_state_dict(safetensors.torch.load_file(path))
            except Exception as err:
                raise CorruptCheckpoint(f"{path} cannot be read ({err})") from None
            found.append((int(path.stem.split("-")[1]), model))
        return found

    def check_member(self, member: int, ensemble_size: int) -> None:
        """`NeurodynError` unless `member` indexes one of the run's `ensemble_size` networks."""
        if not 0 <= member < ensemble_size:
            raise NeurodynError(
                f"member {member} does not exist: run {self.id} has {ensemble_size} members "
                f"(0..{ensemble_size - 1})"
            )

    def load_member(self, member: int) -> Network:
        """One trained network of the ensemble, as a single-member CTRNN."""
        model = self.load_model()
        self.check_member(member, model.ensemble_size)
        return model.member(member)

    # -- checkpoints --------------------------------------------------------------------------
    def save_checkpoint(self, state: TrainState) -> None:
        """Write weights, full training state and metrics, each atomically."""

        def save_checkpoint(tmp: Path) -> None:
            torch.save(state.state_dict(), tmp)

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
                f"the last checkpoint (step {self.info()['steps_done']}) is kept"
                if (self.path / CHECKPOINT).exists()
                else "no checkpoint was written yet"
            )
            raise DiskFull(f"{err}; {kept}: free some space, then resume the run") from None
        self._update_info(steps_done=state.step, status="running")

    def load_checkpoint(self, state: TrainState) -> None:
        path = self.path / CHECKPOINT
        if not path.exists():
            raise RunNotFound(f"{path} does not exist: run {self.id} has no checkpoint to resume")
        try:
            saved = torch.load(path, map_location="cpu", weights_only=True)
            state.load_state_dict(saved)
        except Exception as err:
            raise CorruptCheckpoint(
                f"{path} cannot be read ({type(err).__name__}: {err}); the run cannot be resumed"
            ) from None


def _train(run: Run, state: TrainState, until_step: int | None, progress: bool) -> Run:
    options = run.config.train.options()
    try:
        if run.config.curriculum is None:
            fit(
                state,
                run.task,
                options,
                until_step=until_step,
                on_checkpoint=run.save_checkpoint,
                progress=progress,
            )
            done = state.step >= options.steps or state.target_reached
        else:
            done = _fit_curriculum(run, state, until_step, progress)
    except TrainingDiverged as err:
        run._update_info(status="diverged")
        kept = (
            f"the checkpoint of step {run.info()['steps_done']} is kept"
            if (run.path / CHECKPOINT).exists()
            else "no checkpoint was written before it, so the run holds no weights"
        )
        raise TrainingDiverged(f"{err}; {kept}") from None
    except KeyboardInterrupt:
        run._update_info(status="interrupted")
        raise
    if not done:
        run._update_info(status="stopped")
        return run
    evaluation = evaluate(state.model, run.task, batch_size=options.eval_batch_size)
    run._update_info(
        status="finished",
        performance=evaluation.mean,
        performance_by_member={k: list(v) for k, v in evaluation.performance.items()},
    )
    return run


def _fit_curriculum(run: Run, state: TrainState, until_step: int | None, progress: bool) -> bool:
    """Train the curriculum's stages from `state.stage` on; True once the last is done."""
    stages = run.config.curriculum
    assert stages is not None
    while state.stage < len(stages):
        stage = stages[state.stage]
        end = state.stage_start + stage.steps
        options = dataclasses.replace(
            run.config.train.options(), steps=end, target_performance=stage.advance_at
        )
        state.target_reached = False
        fit(
            state,
            run.config.stage_task(state.stage),
            options,
            until_step=until_step,
            on_checkpoint=run.save_checkpoint,
            progress=progress,
        )
        for row in state.metrics:
            row.setdefault("stage", state.stage)
        if not (state.step >= end or state.target_reached):
            return False  # stopped by until_step; resume continues this stage
        # every task learned so far, after this stage: what continual learning keeps
        for j in range(state.stage + 1):
            by_member = evaluate(
                state.model, run.config.stage_task(j), batch_size=run.config.train.eval_batch_size
            ).performance
            for e, seed in enumerate(state.model.spec.seeds):
                evaluation: dict[str, float] = {"step": state.step, "member": e, "seed": seed}
                evaluation.update({"after_stage": state.stage, "stage": j})
                evaluation.update({f"perf.{k}": v[e] for k, v in by_member.items()})
                state.metrics.append(evaluation)
        state.end_stage(run.config.stage_task(state.stage))
        state.stage, state.stage_start = state.stage + 1, state.step
        run.save_checkpoint(state)  # the advance is part of the resumable state
    return True


def train_run(
    config: RunConfig,
    root: str | Path = "runs",
    *,
    run_id: str | None = None,
    until_step: int | None = None,
    progress: bool = True,
) -> Run:
    """Create a run under `root` and train it (to `config.train.steps`, or `until_step`).

    A finished run has its final performance (fresh trials, each member's own seed) in
    `run.info()["performance"]`. A run stopped by `until_step` or interrupted can be continued
    with `resume_run`, which gives the same weights as training straight through.
    """
    # the network first: a bad init_from or train_only fails before a run folder is made
    model = build_model(config.model.spec(config.make_task()))
    if config.model.init_from is not None:
        init_from(model, Run.open(config.model.init_from).load_model())
        model.constrain_()  # this run's structure, whatever the source's
    state = TrainState.new(model, config.train.options())
    root = Path(root)
    made = [p for p in (root, root / INDEX) if not p.exists()]
    run = Run.create(root, config, run_id)
    try:
        return _train(run, state, until_step, progress)
    except BaseException:
        # a run that failed before its first checkpoint holds nothing to resume: leave no
        # half-made folder to block its name, nor an index or runs folder made just for it
        if not (run.path / CHECKPOINT).exists():
            shutil.rmtree(run.path, ignore_errors=True)
            remove_from_index(root, run.id)
            for path in reversed(made):
                if path.is_dir():
                    with contextlib.suppress(OSError):
                        path.rmdir()  # only if empty
                else:
                    path.unlink(missing_ok=True)
        raise


def init_from(model: Network, source: Network) -> list[str]:
    """Copy `source`'s weights into `model` (in place); returns the names copied.

    Parameters of equal shape are copied. `W_in` may have more inputs than the source's: its
    leading columns are copied and the new ones keep their fresh initialisation (a task added
    to a battery brings one more rule input, at the end). The ensembles must have the same
    size, or the source one network, which every member then starts from.
    """
    mine, theirs = dict(model.named_parameters()), dict(source.named_parameters())
    if source.ensemble_size not in (1, model.ensemble_size):
        raise ConfigError(
            f"model.init_from has {source.ensemble_size} networks, this run {model.ensemble_size}: "
            "give as many seeds, or start from a one-network run"
        )
    with torch.no_grad():
        for name, p in mine.items():
            if name not in theirs:  # e.g. a learned h0 the source run did not have
                continue
            q = theirs[name].expand(p.shape[0], *theirs[name].shape[1:])
            if q.shape == p.shape:
                p.copy_(q)
            elif name == "W_in" and q.shape[:2] == p.shape[:2] and q.shape[2] < p.shape[2]:
                p[:, :, : q.shape[2]] = q
            else:
                raise ConfigError(
                    f"model.init_from: {name} is {tuple(q.shape[1:])} in the source run and "
                    f"{tuple(p.shape[1:])} here; only W_in may grow (new inputs at the end)"
                )
    return [name for name in mine if name in theirs]


def resume_run(
    path: str | Path,
    *,
    until_step: int | None = None,
    steps: int | None = None,
    progress: bool = True,
) -> Run:
    """Continue a run from its last checkpoint (exactly as if it had never stopped).

    `steps` trains on to that many steps in all, past the config's `train.steps`, a finished
    run included (e.g. towards a paper's budget after a first look). Nothing in training
    depends on the total, so the result is the run that `steps` in its config would have
    given from the start; config.yaml is rewritten to say so.
    """
    run = Run.open(path)
    remove_stray_temporaries(run.path)  # left by a process killed mid-write
    if steps is not None:
        run = _extend(run, steps)
    info = run.info()
    if info["status"] == "finished" and (
        steps is None or info["steps_done"] >= run.config.train.steps
    ):
        raise NeurodynError(
            f"run {run.path} already finished its {run.config.train.steps} steps; nothing to "
            "resume (train on past them with `neurodyn train --resume RUN --steps N`)"
        )
    model = build_model(run.model_spec())
    if not (run.path / CHECKPOINT).exists() and run.config.model.init_from is not None:
        init_from(model, Run.open(run.config.model.init_from).load_model())
        model.constrain_()
    state = TrainState.new(model, run.config.train.options())
    if (run.path / CHECKPOINT).exists():
        run.load_checkpoint(state)
    return _train(run, state, until_step, progress)


def _write_config(path: Path, config: RunConfig) -> None:
    """A run's config.yaml, as `Run.config` reads it back."""
    atomic_write_text(path / CONFIG, yaml.safe_dump(config.to_dict(), sort_keys=False))


def _extend(run: Run, steps: int) -> Run:
    """`run` with its config's `train.steps` raised to `steps` (config.yaml rewritten)."""
    config = run.config
    if config.curriculum is not None:
        raise ConfigError(
            f"{run.path} trains a curriculum, whose steps are set per stage; --steps cannot "
            "extend it"
        )
    if steps < config.train.steps:
        raise ConfigError(
            f"--steps {steps} is fewer than the {config.train.steps} steps {run.path} is "
            "configured for; a run can be trained on, not shortened (use --stop-at to stop early)"
        )
    if steps == config.train.steps:
        return run
    if run.info()["steps_done"] > 0 and not (run.path / CHECKPOINT).exists():
        raise NeurodynError(f"{run.path} has no checkpoint to train on from")
    longer = dataclasses.replace(config, train=dataclasses.replace(config.train, steps=steps))
    _write_config(run.path, longer)
    return Run.open(run.path)


def _only_more_steps(old: RunConfig, new: RunConfig) -> bool:
    """Whether `new` is `old` trained for longer, and nothing else changed."""
    if new.curriculum is not None or new.train.steps <= old.train.steps:
        return False
    return (
        dataclasses.replace(old, train=dataclasses.replace(old.train, steps=new.train.steps)) == new
    )


def train_or_reuse(
    config: RunConfig,
    root: str | Path,
    run_id: str,
    *,
    progress: bool = True,
    train: bool = True,
) -> Run:
    """The run `root/run_id` of `config`, as studies and sweeps need it: a finished run is
    reused, a stopped or interrupted one resumed, a missing one trained. With `train=False`
    an existing run is returned as it is (an unfinished one at its last checkpoint).

    A run already there with the same config but fewer `train.steps` is trained on to the new
    count (with `train=False`, returned as it is); one with any other difference is refused
    (and left as it is on disk).
    """
    path = Path(root) / run_id
    if not Run.is_run(path):
        if not train:
            raise NeurodynError(f"no run {path} to analyse; train it first")
        return train_run(config, root, run_id=run_id, progress=progress)
    run = Run.open(path)
    if _only_more_steps(run.config, config):
        return resume_run(path, steps=config.train.steps, progress=progress) if train else run
    if run.config != config:
        raise ConfigError(
            f"{path} holds a run trained with another config; move it away or choose another "
            "runs folder (--runs)"
        )
    if train and run.info()["status"] != "finished":
        run = resume_run(path, progress=progress)
    return run
