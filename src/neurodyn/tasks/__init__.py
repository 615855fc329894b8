"""Cognitive tasks: trial generators with their losses and performance metrics.

Reach any task by name: `neurodyn.tasks.get("pdm")`, with parameters as keywords:
`neurodyn.tasks.get("dlygo", delay_ms=(500.0, 1000.0))`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from neurodyn.errors import ArgumentError, ConfigError, TaskNotFound, excerpt, nearest_names
from neurodyn.tasks._base import Batch, Task, between, check_params, stack_batches
from neurodyn.tasks.attractors import AttractorTasks
from neurodyn.tasks.driscoll24 import TASKS as DRISCOLL24_TASKS
from neurodyn.tasks.driscoll24 import battery as driscoll24_battery
from neurodyn.tasks.flipflop import FlipFlop
from neurodyn.tasks.haviv import DelayedClassification
from neurodyn.tasks.latent_classification import LatentClassification
from neurodyn.tasks.markov import MarkovMixture, stationary_distribution
from neurodyn.tasks.memory_kernel import MemoryKernel
from neurodyn.tasks.multitask import LATEST_STREAM, STREAMS, Multitask
from neurodyn.tasks.navigation import (
    Environment,
    PathIntegration,
    PlaceCells,
    Trajectories,
    circle_arena,
    hairpin_maze,
    hairpin_runs,
    random_trajectories,
    square_arena,
)
from neurodyn.tasks.neurogym import NeurogymTask, from_neurogym
from neurodyn.tasks.orientation import OrientationEstimation
from neurodyn.tasks.pdm import PerceptualDecision
from neurodyn.tasks.recording import RecordingTask, from_recording
from neurodyn.tasks.ring import population_vector, ring_bump
from neurodyn.tasks.yang19 import BATTERY as YANG19_TASKS
from neurodyn.tasks.yang19 import DelayedGo
from neurodyn.tasks.yang19 import battery as yang19_battery

_REGISTRY: dict[str, type[Task]] = {}


def register(task_cls: type[Task]) -> type[Task]:
    """Add a task class to the registry under its `name` (usable as a decorator)."""
    if task_cls.name in _REGISTRY and _REGISTRY[task_cls.name] is not task_cls:
        raise ArgumentError(
            f"a different task is already registered as {task_cls.name!r}; give the new task "
            "another `name`"
        )
    _REGISTRY[task_cls.name] = task_cls
    return task_cls


_BUILT_IN: tuple[type[Task], ...] = (
    PerceptualDecision,
    DelayedGo,
    FlipFlop,
    AttractorTasks,
    DelayedClassification,
    LatentClassification,
    PathIntegration,
    OrientationEstimation,
    MarkovMixture,
    MemoryKernel,
    *YANG19_TASKS,
    *DRISCOLL24_TASKS,
)
for _cls in _BUILT_IN:
    register(_cls)

# Task sets trained as one network with shared channels: `task: yang19` (or `driscoll24`) in a
# config, or
# `task: {battery: yang19, tasks: [fdgo, fdanti], weights: {fdgo: 2}, params: {...}}`.
BATTERIES = {"yang19": yang19_battery, "driscoll24": driscoll24_battery}


def names() -> list[str]:
    """Every registered task name, sorted."""
    return sorted(_REGISTRY)


def task_class(name: str) -> type[Task]:
    """The class registered as `name`; `TaskNotFound` with the nearest names otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        hint = nearest_names(name, _REGISTRY)
        did = f" Did you mean {', '.join(repr(h) for h in hint)}?" if hint else ""
        raise TaskNotFound(
            f"unknown task {name!r}.{did} Run `neurodyn tasks` to list all {len(_REGISTRY)} tasks."
        ) from None


def get(name: str, **params: object) -> Task:
    """Make the task registered as `name` with the given parameters.

    Parameters
    ----------
    name : str
        A registered task name (`neurodyn.tasks.names()`), e.g. "pdm" or "yang19.dlygo".
    **params
        The task's own parameters (its dataclass fields), e.g. `coherences`.

    Returns
    -------
    Task
        Its `sample(B, seed=...)` gives a Batch `x: [T, B, I]`, `y: [T, B, O]`,
        `mask: [T, B, O]`.

    Raises
    ------
    TaskNotFound
        For an unknown name; the message suggests the nearest names.

    Example
    -------
    >>> task = get("pdm", coherences=(0.2, 0.4))
    >>> batch = task.sample(8, seed=0)
    >>> tuple(batch.x.shape)
    (50, 8, 3)
    """
    cls = task_class(name)
    check_params(cls, params)
    try:
        return cls(**params)  # type: ignore[arg-type]
    except ConfigError:
        raise
    except (TypeError, ValueError, OverflowError) as err:
        # a parameter of the wrong kind (a string where a duration goes) fails in arithmetic
        raise ConfigError(
            f"task {name!r}: a parameter has the wrong type or value ({excerpt(str(err), 120)}); "
            "see the task's docstring for its parameters"
        ) from None


def make(spec: str | Mapping | Sequence, *, stream: int = LATEST_STREAM) -> Task | Multitask:
    """A task or a `Multitask` from a config entry.

    `spec` is a name (`"pdm"`), a mapping `{"name": "dlygo", "params": {...}}`, or a list of
    those (several tasks trained together, with rule inputs); a battery (`"yang19"` or
    `{"battery": "yang19", "tasks": [...], "weights": {...}}`); or a neurogym environment
    (`{"neurogym": "PerceptualDecisionMaking-v0", "params": {"dt_ms": 100}}`); or a recording
    (`{"recording": "data.npz", "params": {"warmup_bins": 5}}`, `RecordingTask`). `stream` is the
    random stream of a `Multitask` (1 or 2; see `neurodyn.tasks.multitask`); a single task's
    trials are the same on both.
    """
    if stream not in STREAMS:
        raise ConfigError(f"stream must be 1, 2 or 3, got {excerpt(stream)}")
    if isinstance(spec, str) and spec in BATTERIES:
        return BATTERIES[spec](stream=stream)
    if isinstance(spec, Mapping) and "battery" in spec:
        return _make_battery(spec, stream)
    if isinstance(spec, Mapping) and "neurogym" in spec:
        return _make_neurogym(spec)
    if isinstance(spec, Mapping) and "recording" in spec:
        return _make_recording(spec)
    if isinstance(spec, str | Mapping):
        return _make_one(spec)
    if not isinstance(spec, list | tuple) or not spec:
        raise ConfigError(
            f"task must be a task name, a mapping {{name:, params:}} or a non-empty list of "
            f"those, got {excerpt(spec)}"
        )
    for entry in spec:
        if not isinstance(entry, str | Mapping):
            raise ConfigError(
                f"each task in the list must be a name or {{name:, params:}}, got {excerpt(entry)}"
            )
    tasks = [_make_one(s) for s in spec]
    return tasks[0] if len(tasks) == 1 else Multitask(tuple(tasks), stream=stream)


def _make_battery(spec: Mapping, stream: int) -> Multitask:
    unknown = set(spec) - {"battery", "tasks", "weights", "only", "params", "interleave", "easy"}
    if unknown:
        raise ConfigError(
            "a battery entry takes `battery`, `tasks`, `weights`, `only`, `interleave`, `easy` "
            "and `params`; "
            f"got {sorted(unknown)}"
        )
    name = spec["battery"]
    if name not in BATTERIES:
        raise ConfigError(f"unknown battery {name!r}; batteries: {sorted(BATTERIES)}")
    params = _params(spec, f"battery {name!r}")
    return BATTERIES[name](
        spec.get("tasks"),
        spec.get("weights"),
        spec.get("only"),
        easy=bool(spec.get("easy", False)),
        interleave=spec.get("interleave", "trial"),
        stream=stream,
        **params,
    )


def _make_neurogym(spec: Mapping) -> NeurogymTask:
    unknown = set(spec) - {"neurogym", "params"}
    if unknown:
        raise ConfigError(
            f"a neurogym entry takes `neurogym` (the id) and `params`; got {sorted(unknown)}"
        )
    return from_neurogym(spec["neurogym"], **_params(spec, "the neurogym entry"))


def _make_recording(spec: Mapping) -> RecordingTask:
    unknown = set(spec) - {"recording", "params"}
    if unknown or not isinstance(spec["recording"], str):
        raise ConfigError(
            f"a recording entry takes `recording` (the file's path) and `params`; got keys "
            f"{sorted(spec)}"
        )
    return from_recording(spec["recording"], **_params(spec, "the recording entry"))


def _params(spec: Mapping, where: str) -> dict[str, Any]:
    """The `params` of a task entry, which must be a mapping of parameter names to values."""
    params = spec.get("params") or {}
    if not isinstance(params, Mapping) or not all(isinstance(k, str) for k in params):
        raise ConfigError(
            f"{where}: `params` must be a mapping of parameter names to values, "
            f"got {excerpt(params)}"
        )
    return dict(params)


def _make_one(spec: str | Mapping) -> Task:
    if isinstance(spec, str):
        return get(spec)
    unknown = set(spec) - {"name", "params"}
    if unknown or not isinstance(spec.get("name"), str):
        raise ConfigError(
            f"a task entry needs `name` and optional `params`, got keys {sorted(spec)}"
        )
    params = _params(spec, f"task {excerpt(spec['name'])}")
    # YAML gives lists; tasks take tuples (they are frozen and hashable).
    params = {k: tuple(v) if isinstance(v, list) else v for k, v in params.items()}
    return get(spec["name"], **params)


__all__ = [
    "LATEST_STREAM",
    "STREAMS",
    "AttractorTasks",
    "Batch",
    "DelayedGo",
    "Environment",
    "FlipFlop",
    "LatentClassification",
    "MarkovMixture",
    "MemoryKernel",
    "Multitask",
    "NeurogymTask",
    "OrientationEstimation",
    "PathIntegration",
    "PerceptualDecision",
    "PlaceCells",
    "RecordingTask",
    "Task",
    "Trajectories",
    "between",
    "circle_arena",
    "from_neurogym",
    "from_recording",
    "get",
    "hairpin_maze",
    "hairpin_runs",
    "make",
    "names",
    "population_vector",
    "random_trajectories",
    "register",
    "ring_bump",
    "square_arena",
    "stack_batches",
    "stationary_distribution",
    "task_class",
]
