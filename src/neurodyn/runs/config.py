"""Run configs: YAML files validated into typed dataclasses.

A config has these top-level fields::

    name: demo                 # optional; used in the run directory name
    task: [pdm, dlygo]         # a task name, {name:, params:}, or a list of those
    stream: 3                  # the trial generator's random stream (1, 2 or 3; see below)
    model: {n_hidden: 64, tau_ms: 100, activation: relu, sigma_rec: 0.05, seeds: [1, 2, 3]}
    train: {steps: 2000, batch_size: 64, lr: 0.001, ...}

`stream` is the version of the random stream task sets (`Multitask`, batteries) draw their
trials from (`neurodyn.tasks.multitask`). A new config without it gets the latest (3), and
config.yaml records it, so a run resumes on its own stream whatever the latest; a run's
config.yaml without it was written before streams had versions, and loads as stream 1, which
gives that run's trials bit for bit.

Every field is checked: an unknown field or a value of the wrong type raises `ConfigError`
naming the field (`model.n_hiden`), what it expected, and the nearest valid names.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import re
import types
import typing
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from neurodyn import tasks
from neurodyn._yaml import read_yaml
from neurodyn.errors import ConfigError, excerpt, nearest_names
from neurodyn.models import AdoptedModule, NetworkSpec
from neurodyn.tasks import LATEST_STREAM, STREAMS, Multitask, Task
from neurodyn.train import (
    ElasticWeightConsolidation,
    IntelligentSynapses,
    Penalty,
    RateL2,
    SpeedAtClassCentres,
    SpikeRate,
    TrainOptions,
    WeightL2,
)


def _fields_of(
    source: type, *, without: tuple[str, ...] = (), defaults: Mapping[str, Any] | None = None
) -> list[tuple[str, Any, Any]]:
    """The fields of the dataclass `source` but those `without`, as `make_dataclass` takes
    them: name, type, and a field with the source's default (or the one `defaults` gives)."""
    hints = typing.get_type_hints(source)
    given = dict(defaults or {})
    out = []
    for f in dataclasses.fields(source):
        if f.name in without:
            continue
        if f.name in given:
            default = field(default=given[f.name])
        elif f.default_factory is not dataclasses.MISSING:
            default = field(default_factory=f.default_factory)
        else:
            default = field(default=f.default)
        out.append((f.name, hints[f.name], default))
    return out


# The fields of a network's spec that a config sets: all but what the task gives.
_TASK_SETS = ("n_inputs", "n_outputs", "dt_ms")
# (Any: a type checker cannot read make_dataclass's fields, and the spec's own would need the
# task's sizes; ModelConfig's attributes are then unchecked.)
_NetworkFields: Any = dataclasses.make_dataclass(
    "_NetworkFields",
    _fields_of(NetworkSpec, without=_TASK_SETS, defaults={"n_hidden": 64}),
    frozen=True,
)
_NetworkFields.__module__ = __name__


@dataclass(frozen=True)
class ModelConfig(_NetworkFields):
    """The network: every field of `NetworkSpec` with its default (`n_hidden`: 64) but the
    sizes and `dt_ms`, which come from the task, and where to start from."""

    # Start from the final weights of another run: a path, or the id of a run in the same runs
    # folder (see `neurodyn.runs.training.source_run` and `init_from`).
    init_from: str | None = None
    # A network trained outside neurodyn (`neurodyn.adopt`): its modules' classes by import
    # path and constructor arguments. Such a run is analysed, never trained, here.
    adopted: AdoptedModule | None = None

    def __post_init__(self) -> None:
        if self.adopted is None:
            return
        defaults = ModelConfig()
        own = ("n_hidden", "seeds", "adopted", "sigma_rec", "sigma_in")
        changed = [
            f"model.{f.name}"
            for f in dataclasses.fields(self)
            if f.name not in own and getattr(self, f.name) != getattr(defaults, f.name)
        ]
        if changed:
            raise ConfigError(
                f"{', '.join(changed)} set for an adopted network, which keeps the structure "
                "of its own modules: remove them"
            )
        if self.sigma_rec or self.sigma_in:
            raise ConfigError(
                "an adopted network runs without neurodyn's noise: set model.sigma_rec and "
                "model.sigma_in to 0"
            )

    def spec(self, task: Task | Multitask) -> NetworkSpec:
        """The `NetworkSpec` of this model for `task` (input/output sizes, `dt_ms`);
        `ConfigError` for an adopted network, which neurodyn does not build nor train."""
        if self.adopted is not None:
            raise ConfigError(
                f"model.adopted: this network ({self.adopted.cell}) was trained outside "
                "neurodyn, which analyses it but does not train it; train the module yourself "
                "and adopt it again (neurodyn.adopt)"
            )
        shared = {
            f.name: getattr(self, f.name)
            for f in dataclasses.fields(self)
            if f.name not in ("init_from", "adopted")
        }
        return NetworkSpec(
            n_inputs=task.n_inputs, n_outputs=task.n_outputs, dt_ms=task.dt_ms, **shared
        )


if TYPE_CHECKING:  # a type checker cannot read make_dataclass's fields: the options have them
    _TrainFields = TrainOptions
else:
    _TrainFields = dataclasses.make_dataclass(
        "_TrainFields", _fields_of(TrainOptions, without=("penalties",)), frozen=True
    )
    _TrainFields.__module__ = __name__


@dataclass(frozen=True)
class TrainConfig(_TrainFields):
    """How to train: every field of `TrainOptions` with its default but `penalties`, which
    these keys give (`options()` makes them `neurodyn.train.penalties` objects)."""

    # Rate and weight L2 (RateL2, WeightL2); 0: off.
    l2_rate: float = 0.0
    l2_weight: float = 0.0
    # Spiking cells: the firing-rate regulariser (SpikeRate) towards target_rate_hz; 0: off.
    l2_spike_rate: float = 0.0
    target_rate_hz: float = 0.0
    # Continual learning over a curriculum's stages: the intelligent-synapses penalty's
    # strength c and damping xi (Yang et al. 2019 use c = 0.1, xi = 0.01); None: off.
    intelligent_synapses: float | None = None
    intelligent_synapses_damping: float = 0.01
    # ... or elastic weight consolidation: its strength lambda, the Fisher information from
    # `ewc_batches` batches of one trial per task.
    ewc: float | None = None
    ewc_batches: int = 32
    # Haviv et al.'s speed regulariser (tasks with `shown`, `query` and `label` facts, e.g.
    # delayed_classification): its weight on the speed at the classes' centres of mass.
    speed_penalty: float | None = None
    # Where else the training metrics go as they are logged: tensorboard, mlflow (see
    # neurodyn.runs.loggers); metrics.csv is always written.
    log_to: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in (
            "l2_rate",
            "l2_weight",
            "l2_spike_rate",
            "target_rate_hz",
            "speed_penalty",
            "intelligent_synapses",
            "ewc",
        ):
            value = getattr(self, name)
            if value is not None and not 0 <= value < math.inf:
                raise ConfigError(f"train.{name} must be a finite non-negative number, got {value}")
        unknown = [name for name in self.log_to if name not in ("tensorboard", "mlflow")]
        if unknown:
            raise ConfigError(
                f"train.log_to names unknown loggers {unknown}; choose from tensorboard, mlflow"
            )
        if self.intelligent_synapses is not None and self.intelligent_synapses < 0:
            raise ConfigError(
                f"train.intelligent_synapses must be non-negative, got {self.intelligent_synapses}"
            )
        if self.ewc is not None and self.ewc < 0:
            raise ConfigError(f"train.ewc must be non-negative, got {self.ewc}")
        if self.ewc is not None and self.intelligent_synapses is not None:
            raise ConfigError("choose one of train.intelligent_synapses and train.ewc")
        if self.ewc_batches < 1:
            raise ConfigError("train.ewc_batches must be at least 1")
        if self.intelligent_synapses_damping <= 0:
            raise ConfigError("train.intelligent_synapses_damping must be positive")
        self.options()  # and every other field, as TrainOptions checks them

    def options(self) -> TrainOptions:
        """The trainer's options: these fields, and the penalties their keys ask for as
        objects, in the order their terms join the loss."""
        out: list[Penalty] = []
        if self.l2_rate:
            out.append(RateL2(self.l2_rate))
        if self.l2_weight:
            out.append(WeightL2(self.l2_weight))
        if self.l2_spike_rate:
            out.append(SpikeRate(self.l2_spike_rate, self.target_rate_hz))
        if self.intelligent_synapses is not None:
            out.append(
                IntelligentSynapses(self.intelligent_synapses, self.intelligent_synapses_damping)
            )
        if self.ewc is not None:
            out.append(ElasticWeightConsolidation(self.ewc, self.ewc_batches))
        if self.speed_penalty:
            out.append(SpeedAtClassCentres(self.speed_penalty))
        shared = {f.name: getattr(self, f.name) for f in dataclasses.fields(_TrainFields)}
        return TrainOptions(**shared, penalties=tuple(out))


TaskEntry = str | dict[str, Any]


@dataclass(frozen=True)
class Stage:
    """One stage of a curriculum: train on `task` (default: the run's task, e.g. with other
    parameters) for at most `steps` steps, moving on early once every network does at least
    `advance_at` on every task of the stage (checked on fresh trials at each log step)."""

    steps: int
    task: TaskEntry | list[TaskEntry] | None = None
    advance_at: float | None = None

    def __post_init__(self) -> None:
        if self.steps < 1:
            raise ConfigError(f"a curriculum stage needs at least 1 step, got {self.steps}")
        if self.advance_at is not None and not 0 <= self.advance_at <= 1:
            raise ConfigError(f"advance_at must lie in [0, 1] or be null, got {self.advance_at}")


@dataclass(frozen=True)
class RunConfig:
    """Everything needed to reproduce a run."""

    task: TaskEntry | list[TaskEntry]
    name: str | None = None
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    # Stages trained in order (the network's inputs and outputs stay the same); `task` is then
    # what the final evaluation and the analyses use.
    curriculum: tuple[Stage, ...] | None = None
    # The random stream task sets draw their trials from (`neurodyn.tasks.multitask`).
    stream: int = LATEST_STREAM

    def __post_init__(self) -> None:
        if self.name is not None:
            check_name(self.name, "name")
        if self.stream not in STREAMS:
            raise ConfigError(
                f"stream must be one of {list(STREAMS)} (the trial generator's random stream), "
                f"got {excerpt(self.stream)}"
            )

    def make_task(self) -> Task | Multitask:
        return tasks.make(self.task, stream=self.stream)

    def stage_task(self, index: int) -> Task | Multitask:
        """The task of curriculum stage `index`."""
        assert self.curriculum is not None
        entry = self.curriculum[index].task
        return tasks.make(self.task if entry is None else entry, stream=self.stream)

    def to_dict(self) -> dict[str, Any]:
        """Plain data (lists, not tuples) that `parse_config` reads back to an equal config.

        An adopted network's config leaves out what only neurodyn's training and cells use
        (all at their defaults, as `ModelConfig` requires): it says what the network is."""
        data = _plain(asdict(self))
        if self.model.adopted is not None:
            own = ("n_hidden", "seeds", "sigma_rec", "sigma_in", "adopted")
            data["model"] = {k: v for k, v in data["model"].items() if k in own}
            data = {k: v for k, v in data.items() if k in ("task", "name", "model", "stream")}
        return data


# What a run, sweep or comparison name may hold: it becomes a folder name, a line of
# `neurodyn runs` and a page title, so no path separators, control codes or leading dot.
# ('=' for the ids a sweep gives its runs, `pdm-size-n_hidden=64`; 200 characters leave room
# under the usual 255 of a file name for the prefixes and suffixes added to it.)
_NAME = re.compile(r"[A-Za-z0-9_+=-][A-Za-z0-9_.+=-]*")
MAX_NAME = 200


def check_name(name: object, what: str) -> str:
    """`name` if it is usable as a folder name inside the runs folder; `ConfigError` naming
    `what` (the field or option) otherwise."""
    if not isinstance(name, str) or not _NAME.fullmatch(name) or len(name) > MAX_NAME:
        raise ConfigError(
            f"{what} {excerpt(name)} is not a usable name: use up to {MAX_NAME} letters, digits "
            "and _ . + = - (no path separators, spaces or control characters)"
        )
    return name


# The fields that decide where training stops or what it records, never the weights at a given
# step: the run's name, its length (`--steps` trains a run on), how often it logs, checkpoints
# and keeps weights, and the batch size of the evaluations (fresh trials from their own
# generator). Every other field (task, model, seeds, init_from, lr, batch_size, clip_grad,
# penalties, target_performance, train_only/freeze, curriculum) changes the weights.
NOT_IN_WEIGHTS = (
    "name",
    "train.steps",
    "train.log_every",
    "train.checkpoint_every",
    "train.keep_weights_every",
    "train.eval_batch_size",
    "train.log_to",  # where metrics are also written (tensorboard, mlflow)
)


def weight_fields(config: RunConfig) -> dict[str, Any]:
    """The config fields that determine a run's weights, by dotted name (`model.n_hidden`,
    `train.lr`, `task`, ...), as plain data; every field but those in `NOT_IN_WEIGHTS`."""
    flat: dict[str, Any] = {}
    for key, value in config.to_dict().items():
        if key in ("model", "train"):
            flat.update({f"{key}.{k}": v for k, v in value.items()})
        else:
            flat[key] = value
    return {k: v for k, v in flat.items() if k not in NOT_IN_WEIGHTS}


def weights_hash(fields: Mapping[str, Any]) -> str:
    """SHA-256 (hex) of `weight_fields`' answer, independent of the order of the fields."""
    text = json.dumps(fields, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# Fields added to the config after some checkpoints were saved, and the value that gives the
# behaviour from before each existed, where that is not the field's default (a new field whose
# default keeps the old behaviour needs no entry). A checkpoint that does not record such a
# field was trained with this value.
VALUE_BEFORE_THE_FIELD_EXISTED: dict[str, Any] = {
    # every run made before trial streams had versions drew stream 1 (new configs default to the latest)
    "stream": 1,
}


def _field_defaults() -> dict[str, Any]:
    """`weight_fields`' names for the model and train fields, at their defaults."""
    model = {f"model.{k}": v for k, v in _plain(asdict(ModelConfig())).items()}
    train = {f"train.{k}": v for k, v in _plain(asdict(TrainConfig())).items()}
    return {**model, **train, "curriculum": None, **VALUE_BEFORE_THE_FIELD_EXISTED}


def changed_fields(before: Mapping[str, Any], after: Mapping[str, Any]) -> list[str]:
    """The dotted names whose values differ between two `weight_fields` answers (`before`: as
    a checkpoint recorded them, `after`: now), sorted.

    A field that `before` lacks because it was added to the config after the checkpoint was
    saved counts as unchanged while `after` holds the value that reproduces the behaviour from
    before it existed (its default, or its entry in `VALUE_BEFORE_THE_FIELD_EXISTED`): adding a
    config field must not make every older run look edited.
    """
    defaults = _field_defaults()
    missing = object()

    def differs(key: str) -> bool:
        then = before.get(key, missing)
        if then is missing:
            return key not in defaults or after.get(key) != defaults[key]
        return then != after.get(key, missing)

    return sorted(k for k in set(before) | set(after) if differs(k))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _type_name(tp: Any) -> str:
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        return " or ".join(_type_name(a) for a in typing.get_args(tp))
    if typing.get_origin(tp) is tuple:
        return f"a list of {_type_name(typing.get_args(tp)[0])}"
    if typing.get_origin(tp) is list:
        return f"a list of {_type_name(typing.get_args(tp)[0])}"
    if typing.get_origin(tp) is dict:
        return "a mapping"
    return {type(None): "null", float: "a number", int: "an integer", str: "a string"}.get(
        tp, getattr(tp, "__name__", str(tp))
    )


def _coerce(value: Any, tp: Any, where: str) -> Any:
    """`value` checked against the annotation `tp` (YAML lists become tuples where declared)."""
    origin = typing.get_origin(tp)
    if origin in (typing.Union, types.UnionType):
        options = typing.get_args(tp)
        real = [o for o in options if o is not type(None)]
        if value is not None and len(real) == 1:
            # `X | None` given an X: its own error (e.g. a bad field inside) says more
            return _coerce(value, real[0], where)
        for option in options:
            try:
                return _coerce(value, option, where)
            except ConfigError:
                continue
        raise _wrong_type(value, tp, where)
    if tp is type(None):
        if value is None:
            return None
        raise _wrong_type(value, tp, where)
    if tp is Any:
        return value
    if origin in (tuple, list):
        if not isinstance(value, list | tuple):
            raise _wrong_type(value, tp, where)
        item = typing.get_args(tp)[0]
        items = [_coerce(v, item, f"{where}[{i}]") for i, v in enumerate(value)]
        return tuple(items) if origin is tuple else items
    if origin is dict:
        if not isinstance(value, Mapping):
            raise _wrong_type(value, tp, where)
        return dict(value)
    if isinstance(tp, type) and dataclasses.is_dataclass(tp):
        if not isinstance(value, Mapping):
            raise _wrong_type(value, tp, where)
        return _build(tp, value, where)
    # bool is an int in Python; a config `steps: true` is a mistake, not 1.
    if isinstance(value, bool) and tp is not bool:
        raise _wrong_type(value, tp, where)
    if tp is float and isinstance(value, int):
        return float(value)
    if isinstance(value, tp):
        return value
    raise _wrong_type(value, tp, where)


def _wrong_type(value: Any, tp: Any, where: str) -> ConfigError:
    return ConfigError(
        f"config field `{where}` expects {_type_name(tp)}, "
        f"got {type(value).__name__} {excerpt(value)}"
    )


def _build(cls: type, data: Mapping[str, Any], where: str = "") -> Any:
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls) if f.init]
    prefix = f"{where}." if where else ""
    for key in data:
        if key not in names:
            hint = nearest_names(str(key), names)
            did = f" Did you mean {', '.join(f'`{prefix}{h}`' for h in hint)}?" if hint else ""
            raise ConfigError(
                f"unknown config field `{prefix}{key}`.{did} Valid fields here: {', '.join(names)}."
            )
    required = [
        f.name
        for f in dataclasses.fields(cls)
        if f.init and f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    for name in required:
        if name not in data:
            raise ConfigError(f"config field `{prefix}{name}` is required")
    values = {k: _coerce(v, hints[k], f"{prefix}{k}") for k, v in data.items()}
    try:
        return cls(**values)
    except ConfigError as err:
        raise ConfigError(f"{where or 'config'}: {err}") from None


def parse_config(data: Mapping[str, Any], *, stream: int = LATEST_STREAM) -> RunConfig:
    """Validate plain data (as from YAML) into a `RunConfig`.

    `stream` is the random stream when `data` names none: the latest for a new run; 1 for a
    run's own config.yaml written before streams had versions (`load_config(...,
    stream=1)`, as `Run.config` reads it).

    Raises
    ------
    ConfigError
        Unknown or missing field, wrong type, or an invalid value (naming the field).
    TaskNotFound
        An unknown task name, with the nearest names.
    """
    if not isinstance(data, Mapping):
        raise ConfigError(f"a config is a mapping of fields, got {type(data).__name__}")
    config = _build(RunConfig, {"stream": stream, **data})
    task = config.make_task()  # unknown tasks and bad task params fail here, before training
    if config.model.adopted is None:  # (an adopted network has no spec: its modules check it)
        config.model.spec(task)  # and so do model values that only make sense with the task
    if config.curriculum is not None:
        config = _check_curriculum(config, task, "steps" in (data.get("train") or {}))
    elif config.train.intelligent_synapses is not None or config.train.ewc is not None:
        raise ConfigError(
            "train.intelligent_synapses and train.ewc need a curriculum: task groups learned "
            "one after another"
        )
    return config


def _check_curriculum(config: RunConfig, task: Task | Multitask, steps_given: bool) -> RunConfig:
    """Every stage's task fits the network; `train.steps` is the stages' total (set to it
    when the config leaves it out)."""
    assert config.curriculum is not None
    if not config.curriculum:
        raise ConfigError("curriculum is empty: give at least one stage, or leave it out")
    for k in range(len(config.curriculum)):
        stage = config.stage_task(k)
        sizes = (stage.n_inputs, stage.n_outputs, stage.dt_ms)
        if sizes != (task.n_inputs, task.n_outputs, task.dt_ms):
            raise ConfigError(
                f"curriculum stage {k}: its task has (inputs, outputs, dt_ms) {sizes}, the run's "
                f"{(task.n_inputs, task.n_outputs, task.dt_ms)}; one network trains every stage"
            )
    total = sum(stage.steps for stage in config.curriculum)
    if steps_given and config.train.steps != total:
        raise ConfigError(
            f"train.steps is {config.train.steps} but the curriculum's stages add up to {total}; "
            "leave train.steps out or make them agree"
        )
    return dataclasses.replace(config, train=dataclasses.replace(config.train, steps=total))


def _config_hint(path: Path) -> str:
    """What a config path that is no file was likely meant as: a run folder (to resume) or a
    task's name (which needs a config around it)."""
    if (path / "config.yaml").is_file():
        return f"; {path} is a run: continue it with `neurodyn train --resume {path}`"
    if str(path) in tasks.names() or str(path) in tasks.BATTERIES:
        return (
            f"; {path} is a task: train it from a YAML file with `task: {path}` "
            "(configs/ in the repository has examples)"
        )
    return ""


def load_config(path: str | Path, *, stream: int = LATEST_STREAM) -> RunConfig:
    """Read and validate a YAML config file (`stream`: as `parse_config`'s)."""
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {path} does not exist{_config_hint(path)}")
    data = read_yaml(path)
    try:
        return parse_config(data or {}, stream=stream)
    except ConfigError as err:
        raise ConfigError(f"{path}: {err}") from None
