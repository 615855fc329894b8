"""The task interface: a `Task` makes a `Batch` of trials.

Notation: T time steps, B trials, I inputs, O outputs, E ensemble members. Every tensor of a
batch is time-major: `x [T, B, I]`, `y [T, B, O]`, `mask [T, B, O]`. Per-trial facts (stimulus
values, targets, epoch boundaries in steps) live in `Batch.trial` as tensors with a leading
`B` axis, so analyses can sort trials without re-deriving them.

Epochs are declared in milliseconds. A duration is either one number or a tuple of choices,
drawn uniformly per trial. Trials of one batch may have different lengths: `T` is the longest
trial the task can make, and steps after a trial's end have zero input and zero mask.
"""

from __future__ import annotations

import functools
import math
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, fields, replace
from typing import ClassVar, Literal

import torch
from torch import Tensor

from neurodyn.errors import ConfigError, EpochNotFound, ShapeError, excerpt, nearest_names

LossType = Literal["mse", "cross_entropy", "binary_cross_entropy", "poisson"]
Duration = float | tuple[float, ...]

# Far above any cognitive task (10^5 steps of 1 ms is 100 s), far below what exhausts memory.
MAX_TRIAL_STEPS = 100_000


@dataclass(frozen=True)
class Batch:
    """A batch of trials.

    Attributes
    ----------
    x : Tensor [T, B, I]
        Network inputs.
    y : Tensor [T, B, O]
        Targets (for cross-entropy tasks, one-hot class targets).
    mask : Tensor [T, B, O]
        Loss weight of each target entry; zero where nothing is trained.
    trial : dict of str to Tensor [B, ...]
        Per-trial facts. Always holds `<epoch>_start` and `<epoch>_end` (in steps, end
        exclusive) for every epoch name in `epochs`.
    epochs : tuple of str
        Epoch names in the order they occur.
    dt_ms : float
        Duration of one time step.
    parts : mapping of str to Batch, optional
        For a batch of several tasks (see `Multitask`): each task's own batch, in its own
        input and output space (a `LazyParts` where they are views of the batch's rows).
    """

    x: Tensor
    y: Tensor
    mask: Tensor
    trial: dict[str, Tensor]
    epochs: tuple[str, ...]
    dt_ms: float
    parts: Mapping[str, Batch] | None = None

    @property
    def n_steps(self) -> int:
        return self.x.shape[0]

    @property
    def batch_size(self) -> int:
        return self.x.shape[-2]

    def epoch_mask(self, name: str) -> Tensor:
        """Boolean `[T, B]` (or `[T, E, B]` for a stacked batch): trial in epoch `name`."""
        if name not in self.epochs:
            raise EpochNotFound(f"no epoch {name!r} in this batch; its epochs are {self.epochs}")
        return between(self.n_steps, self.trial[f"{name}_start"], self.trial[f"{name}_end"])

    def trial_mask(self) -> Tensor:
        """Boolean `[T, B]`: True for steps inside each trial (before its end)."""
        end = self.trial["end"]
        return between(self.n_steps, torch.zeros_like(end), end)

    def to(self, device: torch.device | str) -> Batch:
        parts = None if self.parts is None else {k: v.to(device) for k, v in self.parts.items()}
        return replace(
            self,
            x=self.x.to(device),
            y=self.y.to(device),
            mask=self.mask.to(device),
            trial={k: v.to(device) for k, v in self.trial.items()},
            parts=parts,
        )


class LazyParts(Mapping[str, Batch]):
    """Each task's own batch of a mixed batch (`Batch.parts`), by task name in the batch's
    order, each made by `make(k)` (k: its place in `names`) when first read and kept.

    A mixed batch of 20 tasks has 20 parts of a dozen views and facts each: made when read,
    a batch whose parts are not all read (trial generation alone, an analysis of one task)
    does not pay for the others.
    """

    def __init__(self, names: tuple[str, ...], make: Callable[[int], Batch]) -> None:
        self._names, self._make = names, make
        self._place = {name: k for k, name in enumerate(names)}
        self._made: dict[str, Batch] = {}

    def __getitem__(self, name: str) -> Batch:
        made = self._made.get(name)
        if made is None:
            made = self._made[name] = self._make(self._place[name])
        return made

    def __iter__(self) -> Iterator[str]:
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, name: object) -> bool:
        return name in self._place

    def __repr__(self) -> str:
        return f"LazyParts({list(self._names)})"


def between(n_steps: int, start: Tensor, end: Tensor) -> Tensor:
    """Boolean `[T, *S]` mask of `start[s] <= t < end[s]` for per-trial bounds of shape `S`."""
    t = _time_index(n_steps, start.device).reshape(-1, *([1] * start.dim()))
    return (t >= start[None]) & (t < end[None])


@functools.lru_cache(maxsize=256)
def constant_tensor(values: tuple[float, ...], dtype: torch.dtype, device: torch.device) -> Tensor:
    """`values` as a tensor of `dtype` on `device`, made once and shared: trial generators ask
    for the same few tables (duration choices, angle grids) every batch and only read them.
    The dtype is part of the key, as `(1, 2)` and `(1.0, 2.0)` are equal keys to the cache."""
    return torch.tensor(values, dtype=dtype, device=device)


@functools.lru_cache(maxsize=64)
def _time_index(n_steps: int, device: torch.device) -> Tensor:
    """`arange(n_steps)`, made once per length and device: trial generation asks for it
    dozens of times a batch, and only reads it."""
    return torch.arange(n_steps, device=device)


def stack_batches(batches: list[Batch]) -> Batch:
    """Stack E batches of the same task along a new axis 1: `x [T, E, B, I]`.

    Used to give each ensemble member its own data stream. `trial` tensors become `[E, B]`.
    """
    first = batches[0]
    parts = None
    if first.parts is not None:
        parts = {k: stack_batches([b.parts[k] for b in batches]) for k in first.parts}  # type: ignore[index]
    return Batch(
        x=torch.stack([b.x for b in batches], dim=1),
        y=torch.stack([b.y for b in batches], dim=1),
        mask=torch.stack([b.mask for b in batches], dim=1),
        trial={k: torch.stack([b.trial[k] for b in batches]) for k in first.trial},
        epochs=first.epochs,
        dt_ms=first.dt_ms,
        parts=parts,
    )


@dataclass(frozen=True)
class Task(ABC):
    """A cognitive task: a trial generator plus its loss and performance metric.

    Subclasses are frozen dataclasses whose fields are the task's parameters, so a config can
    set any of them and two tasks with the same parameters are equal.
    """

    name: ClassVar[str]
    description: ClassVar[str]
    n_inputs: ClassVar[int]
    n_outputs: ClassVar[int]
    loss: ClassVar[LossType]
    # Each epoch's task period (Driscoll et al. 2024: context, stimulus, memory, response), for
    # the motif analyses (`neurodyn.analysis.motifs`); None: the task declares none.
    periods: ClassVar[dict[str, str] | None] = None

    dt_ms: float = 20.0

    def __post_init__(self) -> None:
        if not _is_number(self.dt_ms) or not 0 < self.dt_ms < math.inf:
            raise ConfigError(f"{self.name}: dt_ms must be a positive number, got {self.dt_ms!r}")
        for epoch, duration in self.epoch_durations_ms().items():
            choices = duration if isinstance(duration, tuple | list) else (duration,)
            if not choices or not all(_is_number(d) and math.isfinite(d) for d in choices):
                raise ConfigError(
                    f"{self.name}: epoch {epoch!r} duration must be a number of ms or a list of "
                    f"them, got {excerpt(duration)}"
                )
            for d in _choices(duration):
                if d < 0 or not math.isclose(d / self.dt_ms, round(d / self.dt_ms), abs_tol=1e-6):
                    raise ConfigError(
                        f"{self.name}: epoch {epoch!r} duration {d} ms is not a non-negative "
                        f"multiple of dt_ms={self.dt_ms}"
                    )

        if self.n_steps < 1:
            raise ConfigError(
                f"{self.name}: its epochs last 0 steps in all, so a trial would be empty: give "
                "some epoch a positive duration"
            )
        if self.n_steps > MAX_TRIAL_STEPS:
            raise ConfigError(
                f"{self.name}: a trial of {self.n_steps} steps is over the {MAX_TRIAL_STEPS} "
                "allowed: shorten the epochs or raise dt_ms"
            )

    # -- what a subclass declares -------------------------------------------------------------
    @abstractmethod
    def epoch_durations_ms(self) -> dict[str, Duration]:
        """Epoch names in order, each with its duration (ms) or tuple of duration choices."""

    @abstractmethod
    def _fill(
        self, bounds: dict[str, tuple[Tensor, Tensor]], end: Tensor, generator: torch.Generator
    ) -> tuple[Tensor, Tensor, Tensor, dict[str, Tensor]]:
        """Make `x [T,B,I]`, `y [T,B,O]`, `mask [T,B,O]` and per-trial facts for given epochs."""

    @abstractmethod
    def performance(self, outputs: Tensor, batch: Batch) -> Tensor:
        """Fraction of trials done right.

        Parameters
        ----------
        outputs : Tensor [T, B, O] or [T, E, B, O]
            Network outputs for `batch` (with an ensemble axis, `batch` is stacked the same
            way, or shared by all members).

        Returns
        -------
        Tensor [] or [E]
        """

    # -- shared machinery ---------------------------------------------------------------------
    @property
    def epochs(self) -> tuple[str, ...]:
        return tuple(self.epoch_durations_ms())

    @property
    def n_steps(self) -> int:
        """The longest trial this task can make, in steps (the `T` of every batch)."""
        return sum(max(steps) for steps in self._epoch_steps.values())

    @functools.cached_property
    def _epoch_steps(self) -> dict[str, tuple[int, ...]]:
        """Each epoch's duration choices in steps. Cached: a task's fields never change, and
        `sample` would otherwise re-derive them for every batch."""
        return {
            epoch: tuple(self._steps(d) for d in _choices(duration))
            for epoch, duration in self.epoch_durations_ms().items()
        }

    @property
    def task_names(self) -> tuple[str, ...]:
        return (self.name,)

    def params(self) -> dict[str, object]:
        """The task's parameters, as a config would set them."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def _steps(self, duration_ms: float) -> int:
        return round(duration_ms / self.dt_ms)

    def sample(
        self,
        batch_size: int,
        *,
        generator: torch.Generator | None = None,
        seed: int | None = None,
    ) -> Batch:
        """Draw `batch_size` trials.

        Randomness comes only from `generator` (or a new one seeded with `seed`); tensors are
        made on the generator's device, so a CUDA generator makes the batch on the GPU.
        """
        generator = batch_generator(batch_size, generator, seed)
        bounds, end = self._draw_epochs(GeneratorDraws(generator, batch_size))
        x, y, mask, facts = self._fill(bounds, end, generator)
        return self._batch(bounds, end, x, y, mask, facts)

    @property
    def _timing_per_batch(self) -> bool:
        """Whether one set of epoch durations serves the whole batch (else one per trial)."""
        return False

    def _draw_epochs(self, draws: Draws) -> tuple[dict[str, tuple[Tensor, Tensor]], Tensor]:
        """Each epoch's `(start, end)` (`[B]` steps, end exclusive) and the trials' ends."""
        device = draws.device
        bounds: dict[str, tuple[Tensor, Tensor]] = {}
        start = torch.zeros(draws.batch_size, dtype=torch.long, device=device)
        for epoch, choices in self._epoch_steps.items():
            drawn = draws.integers(len(choices), per_batch=self._timing_per_batch)
            if (
                len(choices) == 1
            ):  # (drawn all the same: the draws after it need the generator moved on)
                end = start + choices[0]
            else:
                end = start + constant_tensor(choices, torch.long, device)[drawn]
            bounds[epoch] = (start, end)
            start = end
        return bounds, start

    def _batch(
        self,
        bounds: dict[str, tuple[Tensor, Tensor]],
        start: Tensor,
        x: Tensor,
        y: Tensor,
        mask: Tensor,
        facts: dict[str, Tensor],
    ) -> Batch:
        """The `Batch` of filled tensors, its shapes checked, with the epochs among its facts."""
        batch_size = start.shape[0]
        trial = {
            f"{k}_{side}": v
            for k, (s, e) in bounds.items()
            for side, v in (("start", s), ("end", e))
        }
        trial["end"] = start
        trial.update(facts)
        expected = (self.n_steps, batch_size)
        for what, tensor, width in (
            ("x", x, self.n_inputs),
            ("y", y, self.n_outputs),
            ("mask", mask, self.n_outputs),
        ):
            if tuple(tensor.shape) != (*expected, width):
                raise ShapeError(
                    f"{self.name} made {what} of shape {tuple(tensor.shape)}, expected {(*expected, width)}"
                )
        return Batch(x=x, y=y, mask=mask, trial=trial, epochs=self.epochs, dt_ms=self.dt_ms)

    def split(self, outputs: Tensor, batch: Batch) -> list[tuple[Task, Tensor, Batch]]:
        """Pieces of (task, its outputs, its batch); one piece for a single task."""
        return [(self, outputs, batch)]

    def performance_by_task(self, outputs: Tensor, batch: Batch) -> dict[str, Tensor]:
        """Performance per task name (one entry for a single task)."""
        return {
            task.name: task.performance(out, part) for task, out, part in self.split(outputs, batch)
        }


class Draws(ABC):
    """Where a batch's per-trial random values come from: `integers(n)` and `uniform(low,
    high)`, each `[B]` (one value per trial, or with `per_batch=True` one value for the whole
    batch, repeated).

    `GeneratorDraws` asks a `torch.Generator` for each draw as it comes (random stream 1);
    `BlockDraws` reads the rows of a uniform block drawn once for a whole mixed batch (stream
    2, see `Multitask`).
    """

    batch_size: int
    device: torch.device

    @abstractmethod
    def uniform(self, low: float, high: float, *, per_batch: bool = False) -> Tensor:
        """`[B]` float32 values uniform on [low, high)."""

    @abstractmethod
    def integers(self, n: int, *, per_batch: bool = False) -> Tensor:
        """`[B]` long values uniform on 0 .. n - 1."""


class GeneratorDraws(Draws):
    """Each draw from `generator` as it is asked for: `torch.rand` and `torch.randint` over the
    batch (over one element with `per_batch`)."""

    def __init__(self, generator: torch.Generator, batch_size: int) -> None:
        self.generator, self.batch_size, self.device = generator, batch_size, generator.device

    def _size(self, per_batch: bool) -> tuple[int]:
        return (1,) if per_batch else (self.batch_size,)

    def _expand(self, values: Tensor, per_batch: bool) -> Tensor:
        return values.expand(self.batch_size) if per_batch else values

    def uniform(self, low: float, high: float, *, per_batch: bool = False) -> Tensor:
        u = torch.rand(self._size(per_batch), generator=self.generator, device=self.device)
        return self._expand(low + (high - low) * u, per_batch)

    def integers(self, n: int, *, per_batch: bool = False) -> Tensor:
        size = self._size(per_batch)
        k = torch.randint(n, size, generator=self.generator, device=self.device)
        return self._expand(k, per_batch)


class BlockDraws(Draws):
    """Draws read from a block of uniforms `u [R, B]` drawn beforehand, one row per draw in
    the order they are asked for, from `first_row` on (with `per_batch`, the row's first
    value for every trial). `integers(n)` is `floor(u * n)`."""

    def __init__(self, block: Tensor, first_row: int = 0) -> None:
        self.block, self.batch_size, self.device = block, block.shape[1], block.device
        self._next = first_row

    def _row(self, per_batch: bool) -> Tensor:
        if self._next == self.block.shape[0]:
            raise ConfigError(
                f"a task drew more than the {self.block.shape[0]} random values per trial that "
                "random stream 2 holds; train it on stream 1 (`stream: 1`)"
            )
        row = self.block[self._next]
        self._next += 1
        return row[:1].expand(self.batch_size) if per_batch else row

    def uniform(self, low: float, high: float, *, per_batch: bool = False) -> Tensor:
        return low + (high - low) * self._row(per_batch)

    def integers(self, n: int, *, per_batch: bool = False) -> Tensor:
        # u < 1, but u * n can round up to n in float32 when u is within 2^-24 of 1
        return (self._row(per_batch) * n).long().clamp_max(n - 1)


def batch_generator(
    batch_size: int, generator: torch.Generator | None, seed: int | None
) -> torch.Generator:
    """The generator a batch is drawn with: `generator`, or a new one seeded with `seed` (0
    when neither is given). Checks `batch_size` on the way."""
    if batch_size < 1:
        raise ConfigError(f"batch_size must be at least 1, got {batch_size}")
    if generator is None:
        generator = torch.Generator()
        generator.manual_seed(0 if seed is None else seed)
    return generator


def _is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _choices(duration: Duration) -> tuple[float, ...]:
    return tuple(duration) if isinstance(duration, tuple | list) else (float(duration),)


def at_step(values: Tensor, step: Tensor) -> Tensor:
    """Each trial's value at its own step.

    Parameters
    ----------
    values : Tensor [T, E, B, ...]
    step : Tensor [E, B] of step indices

    Returns
    -------
    Tensor [E, B, ...]
    """
    extra = values.shape[3:]
    index = step.reshape(1, *step.shape, *([1] * len(extra))).expand(1, *step.shape, *extra)
    return values.gather(0, index)[0]


def ensemble_view(outputs: Tensor, batch: Batch) -> tuple[Tensor, dict[str, Tensor], bool]:
    """Normalise outputs and trial facts to carry an ensemble axis.

    Returns outputs `[T, E, B, O]`, trial facts `[E, B, ...]` and whether the caller passed
    no ensemble axis (so the result should be squeezed back).
    """
    squeeze = outputs.dim() == 3
    if squeeze:
        outputs = outputs[:, None]
    n_members = outputs.shape[1]
    stacked = batch.x.dim() == 4
    trial = {
        k: v if stacked else v[None].expand(n_members, *v.shape) for k, v in batch.trial.items()
    }
    return outputs, trial, squeeze


def check_params(task_cls: type[Task], params: Mapping[str, object]) -> None:
    """Raise `ConfigError` naming any parameter `task_cls` does not have."""
    known = {f.name for f in fields(task_cls)}
    for key in params:
        if key not in known:
            hint = nearest_names(key, known)
            did = f"; did you mean {' or '.join(hint)}?" if hint else ""
            raise ConfigError(
                f"task {task_cls.name!r} has no parameter {key!r}{did} Its parameters: {sorted(known)}"
            )


__all__ = ["Batch", "Duration", "LossType", "Task", "field", "stack_batches"]
