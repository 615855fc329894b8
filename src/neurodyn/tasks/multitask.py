"""Several tasks trained on one network, with rule inputs (as Yang et al. 2019).

A one-hot rule input names the task of each trial. By default each task keeps its own input and
output channels: input layout `[task_1 inputs | task_2 inputs | ... | rule_1 .. rule_K]`,
output layout `[task_1 outputs | task_2 outputs | ...]`. With `shared_io` (tasks of one
battery, e.g. Yang et al.'s 20, which all read the same rings and answer on the same ring) the
tasks share their channels: `[shared inputs | rule_1 .. rule_K]` and `[shared outputs]`.

A batch holds a fixed number of trials of each task: `B // K` (the remainder going to the
first tasks), or, with `weights`, counts proportional to the weights (largest remainders
rounded up, at least one trial of each task), padded in time to the longest task sampled;
padded steps have zero mask.

`interleave="batch"` trains as Yang et al.'s code does: each training batch holds trials of one
task, drawn with the weights (`for_step(step)`, which the trainer calls). The draw depends only
on the step number, not on a network's seed, so the members of an ensemble see the same task
sequence (each with its own trials) and an ensemble still equals its members trained alone.
`sample` (evaluation, analyses) always mixes every task.

Random streams (`stream`): how a batch's random values are laid out. Stream 1 draws task by
task (each task's epochs, stimuli and input noise over its own padded length, in order), with
clean one-hot rule inputs; every run made before stream 2 existed trained on it, and it still
gives those runs' trials bit for bit. Stream 2 draws one block of uniforms for every
per-trial value of every task (`BlockDraws`, `BLOCK_ROWS` per trial) and then the input noise
once, over the real steps of the whole batch and every input channel, the rule inputs
included, as the public code of Yang et al. adds noise to all 85 inputs. Stream 3 (the
default) is stream 2 with the noise's normal values from a cheaper sampler
(`neurodyn.tasks._normals`); without noise its batches are stream 2's. Tasks without a
`draw_trials` (those outside the Yang et al. battery) draw their own trials from the same
generator on every stream, and their rule inputs stay clean. On streams 2 and 3 a batch's
`parts` (each task's own batch) are views of its rows of the whole batch, and tasks that offer
`draw_together` (the Yang et al. battery's) draw the stimuli of all their trials in one pass,
the same values as each task's `draw_trials` reading its rows, and paint them in one pass
(`paint_batch`); their parts are made when first read (`LazyParts`).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import torch
from torch import Tensor

from neurodyn.errors import ArgumentError, ConfigError, ShapeError, TaskNotFound
from neurodyn.tasks._base import Batch, BlockDraws, LazyParts, Task, batch_generator, between
from neurodyn.tasks._normals import standard_normal

STREAMS = (1, 2, 3)
LATEST_STREAM = 3
# Uniforms drawn per trial on streams 2 and 3: the most any task of the battery asks for (MultSen Dly
# DM: six epoch durations, two angles and a sign, the strengths' mean, coherence and sign, and
# two splits between the rings with their signs).
BLOCK_ROWS = 16


def _rows_inside(end: np.ndarray, n_steps: int) -> np.ndarray:
    """The steps inside trials (`t < end[b]`, `end [B]` a host array), as rows `t * B + b` of
    a batch's `[T * B, I]` inputs, in order (int64): made on the host, where the trials' ends
    already are (on a GPU, no wait for the device to count them)."""
    return np.flatnonzero(np.arange(n_steps)[:, None] < end[None])


@dataclass(frozen=True)
class _Layout:
    """What a stream-2 batch of given counts reads of its tasks, made once per counts and
    device (`Multitask._layout`)."""

    counts: tuple[int, ...]  # trials of each task (0 for tasks not sampled)
    sampled: tuple[Task, ...]  # the tasks with trials, in order
    sampled_counts: tuple[int, ...]
    rows: dict[str, slice]  # each sampled task's trials
    together: bool  # drawn in one pass (`draw_together`) and painted at once
    n_steps: int
    epochs: dict[str, tuple[str, ...]]
    task_steps: dict[str, int]
    rules: Tensor | None  # [B, K] each trial's rule inputs (one-hot), None without them
    sigmas: list[float]  # the rule inputs' noise of each sampled task
    # the epochs' tables, host arrays (numpy): the epochs are drawn on the host
    epoch_task: np.ndarray  # [B] each trial's task (index into `Multitask.tasks`)
    epoch_columns: np.ndarray  # [B] the block column of each trial's epoch draws
    epoch_choices: np.ndarray  # [E, B] float32 choices of each epoch (1 past a task's epochs)
    epoch_top: np.ndarray  # [E, B] int64: choices - 1
    epoch_index: np.ndarray  # [E, 1] arange


@dataclass(frozen=True)
class Multitask:
    """A set of tasks sharing one network. Behaves like a `Task` for training and analysis."""

    tasks: tuple[Task, ...]
    rule_inputs: bool = True
    shared_io: bool = False
    weights: tuple[float, ...] | None = None
    interleave: str = "trial"
    stream: int = LATEST_STREAM
    # the layouts and tables of stream 2 (`_layout`, `_epoch_tables`); not a parameter
    _tables: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.stream not in STREAMS:
            raise ConfigError(f"stream must be 1, 2 or 3, got {self.stream!r}")
        if self.interleave not in ("trial", "batch"):
            raise ConfigError(f"interleave must be 'trial' or 'batch', got {self.interleave!r}")
        if not self.tasks:
            raise ConfigError("a Multitask needs at least one task")
        names = [t.name for t in self.tasks]
        if len(set(names)) != len(names):
            raise ConfigError(f"each task may appear once in a Multitask, got {names}")
        if self.shared_io:
            sizes = {(t.n_inputs, t.n_outputs) for t in self.tasks}
            if len(sizes) != 1:
                raise ConfigError(
                    f"tasks sharing inputs and outputs must have the same sizes; got {sorted(sizes)}"
                )
        if self.weights is not None and (
            len(self.weights) != len(self.tasks) or min(self.weights) < 0 or max(self.weights) <= 0
        ):
            raise ConfigError(
                f"weights must be {len(self.tasks)} non-negative numbers, one per task, not all "
                f"zero; got {self.weights}"
            )
        dts = {t.dt_ms for t in self.tasks}
        if len(dts) != 1:
            raise ConfigError(
                f"tasks trained together must share dt_ms; got {dict(zip(names, [t.dt_ms for t in self.tasks], strict=True))}"
            )

    @property
    def name(self) -> str:
        return "+".join(self.task_names)

    @property
    def task_names(self) -> tuple[str, ...]:
        return tuple(t.name for t in self.tasks)

    @property
    def dt_ms(self) -> float:
        return self.tasks[0].dt_ms

    @property
    def n_inputs(self) -> int:
        shared = self.tasks[0].n_inputs if self.shared_io else sum(t.n_inputs for t in self.tasks)
        return shared + (len(self.tasks) if self.rule_inputs else 0)

    @property
    def n_outputs(self) -> int:
        return self.tasks[0].n_outputs if self.shared_io else sum(t.n_outputs for t in self.tasks)

    def counts(self, batch_size: int) -> list[int]:
        """Trials of each task in a batch of `batch_size`: at least one of each task with a
        positive weight, none of a task with weight 0 (kept in the layout, not trained)."""
        k = len(self.tasks)
        if self.weights is None:
            return [batch_size // k + (i < batch_size % k) for i in range(k)]
        active = [i for i in range(k) if self.weights[i] > 0]
        total = sum(self.weights)
        share = [batch_size * w / total for w in self.weights]
        counts = [max(1, int(share[i])) if i in active else 0 for i in range(k)]
        by_remainder = sorted(active, key=lambda i: -(share[i] - int(share[i])))
        for i in by_remainder[: max(0, batch_size - sum(counts))]:
            counts[i] += 1
        while sum(counts) > batch_size:  # tiny batches: every active task keeps one trial
            counts[max(range(k), key=lambda i: counts[i])] -= 1
        return counts

    @property
    def n_steps(self) -> int:
        return max(t.n_steps for t in self.tasks)

    def task(self, name: str) -> Task:
        for t in self.tasks:
            if t.name == name:
                return t
        raise TaskNotFound(
            f"{name!r} is not one of this network's tasks {self.task_names}; use one of those"
        )

    def _offsets(self, name: str) -> tuple[slice, slice, int]:
        i_in = i_out = 0
        for k, t in enumerate(self.tasks):
            if t.name == name and self.shared_io:
                return slice(0, t.n_inputs), slice(0, t.n_outputs), k
            if t.name == name:
                return slice(i_in, i_in + t.n_inputs), slice(i_out, i_out + t.n_outputs), k
            i_in += t.n_inputs
            i_out += t.n_outputs
        raise TaskNotFound(
            f"{name!r} is not one of this network's tasks {self.task_names}; use one of those"
        )

    def embed(
        self,
        name: str,
        batch: Batch,
        n_steps: int | None = None,
        *,
        generator: torch.Generator | None = None,
    ) -> Batch:
        """Place a batch of task `name` into this network's input and output space.

        `x [T, B, I_task]` becomes `x [n_steps, B, I]` (default: the task's own length), with
        the task's rule input on while the trial lasts. On streams 2 and 3, given a
        `generator`, the rule inputs carry the task's `input_noise` while the trial lasts,
        drawn from it, as in `sample` (for analyses that feed the network noisy trials as in
        training); without one they are a clean one-hot (for noise-free analyses, and constant inputs such as a
        fixed-point search's). `batch.trial` is kept as it is.
        """
        n_steps = batch.n_steps if n_steps is None else n_steps
        if n_steps < batch.n_steps:
            raise ShapeError(
                f"cannot embed {batch.n_steps} steps into {n_steps}; give n_steps >= {batch.n_steps}"
            )
        x, y, mask = self._zeros(n_steps, batch.batch_size, batch.x.device)
        self._place(x, y, mask, name, batch)
        if self.rule_inputs:
            in_trial = batch.trial_mask()
            x[: batch.n_steps, :, self._rule_channel(name)] = in_trial
            sigma = self._rule_noise(self.task(name))
            if sigma and generator is not None:
                k = len(self.tasks)
                noise = self._normals(batch.n_steps * batch.batch_size, k, generator)
                noise = noise.view(batch.n_steps, batch.batch_size, k)
                x[: batch.n_steps, :, -k:] += sigma * noise * in_trial[..., None]
        return Batch(
            x=x, y=y, mask=mask, trial=dict(batch.trial), epochs=batch.epochs, dt_ms=batch.dt_ms
        )

    def _zeros(
        self, n_steps: int, batch_size: int, device: torch.device
    ) -> tuple[Tensor, Tensor, Tensor]:
        """Zero `x [T, B, I]`, `y [T, B, O]` and `mask [T, B, O]` of this network."""
        return (
            torch.zeros(n_steps, batch_size, self.n_inputs, device=device),
            torch.zeros(n_steps, batch_size, self.n_outputs, device=device),
            torch.zeros(n_steps, batch_size, self.n_outputs, device=device),
        )

    def _place(self, x: Tensor, y: Tensor, mask: Tensor, name: str, batch: Batch) -> None:
        """Copy task `name`'s batch into its channels of `x`, `y` and `mask` (`[T, B, ...]`
        with `T` at least the batch's and `B` its own), from step 0."""
        inputs, outputs, _ = self._offsets(name)
        x[: batch.n_steps, :, inputs] = batch.x
        y[: batch.n_steps, :, outputs] = batch.y
        mask[: batch.n_steps, :, outputs] = batch.mask

    def _rule_channel(self, name: str) -> int:
        return self.n_inputs - len(self.tasks) + self._offsets(name)[2]

    def _rule_noise(self, task: Task) -> float:
        """The input noise on the rule inputs of `task`'s trials: its `input_noise` on stream
        2 (for tasks that make quiet trials, see `sample`), none on stream 1."""
        if self.stream == 1 or not hasattr(task, "draw_trials"):
            return 0.0
        return float(getattr(task, "input_noise", 0.0))

    def sample(
        self, batch_size: int, *, generator: torch.Generator | None = None, seed: int | None = None
    ) -> Batch:
        """Draw about `batch_size / K` trials of each of the K tasks, stacked along B."""
        n_active = sum(w > 0 for w in self.weights) if self.weights else len(self.tasks)
        if batch_size < n_active:
            raise ConfigError(
                f"batch_size {batch_size} is smaller than the number of tasks trained {n_active}"
            )
        generator = batch_generator(batch_size, generator, seed)
        counts = self.counts(batch_size)
        if self.stream == 1:
            parts = {
                t.name: t.sample(n, generator=generator)
                for t, n in zip(self.tasks, counts, strict=True)
                if n > 0
            }
            return self._assemble(parts, counts, batch_size, generator.device)
        return self._sample_stream2(counts, batch_size, generator)

    def _sample_stream2(
        self, counts: list[int], batch_size: int, generator: torch.Generator
    ) -> Batch:
        """Streams 2 and 3: every task's per-trial values from one block of uniforms `[R, B]`,
        the trials of all tasks painted at once where they share their layout, then the input
        noise once over the real steps of the batch (rule inputs included; its normals by
        `_normals`)."""
        device = generator.device
        block = torch.rand(BLOCK_ROWS, batch_size, generator=generator, device=device)
        # the per-trial values come from `[B]`-sized arrays, cheaper on the host (numpy) than
        # as tensor operations, each mostly fixed cost; the batch itself is made on the device
        host = block.cpu().numpy()
        layout = self._layout(tuple(counts), device)
        host_starts, host_ends = self._draw_epoch_table(host, layout)
        starts, ends = (torch.from_numpy(a).to(device) for a in (host_starts, host_ends))
        if layout.together:
            host_draws = (host, host_starts, host_ends)
            together = self._sample_together(host_draws, starts, ends, layout)
            if together is not None:
                inside = _rows_inside(host_ends[-1], layout.n_steps)
                self._add_noise(
                    batch=together,
                    sigmas=layout.sigmas,
                    counts=counts,
                    generator=generator,
                    inside=torch.from_numpy(inside).to(device),
                )
                return together
        epochs = self._epochs_by_task(starts, ends, layout)
        drawn, own, rows = {}, {}, layout.rows
        for task, n in zip(self.tasks, counts, strict=True):
            if n == 0:
                continue
            if hasattr(task, "draw_trials"):
                draws = BlockDraws(block[:, rows[task.name]], first_row=len(task.epochs))
                drawn[task.name] = task.draw_trials(draws, epochs[task.name])
            else:
                own[task.name] = task.sample(n, generator=generator)
        n_steps = max(self.task(name).n_steps for name in rows)
        x, y, mask = self._zeros(n_steps, batch_size, device)
        painters = [self.task(name) for name in drawn]
        keys = {task.paint_key() for task in painters}  # type: ignore[attr-defined]
        if self.shared_io and not own and len(keys) == 1:
            # one layout: every trial painted in one go, the bulk of a mixed batch's work
            plan = painters[0].merge_plans([plan for _, _, plan, _ in drawn.values()])  # type: ignore[attr-defined]
            inputs, outputs, _ = self._offsets(painters[0].name)
            y[..., outputs], mask[..., outputs] = painters[0].paint(  # type: ignore[attr-defined]
                plan, x[..., inputs], noisy=False
            )
        else:
            for task in painters:
                inputs, outputs, _ = self._offsets(task.name)
                at = (slice(0, task.n_steps), rows[task.name])
                y[(*at, outputs)], mask[(*at, outputs)] = task.paint(  # type: ignore[attr-defined]
                    drawn[task.name][2], x[(*at, inputs)], noisy=False
                )
        parts: dict[str, Batch] = {}
        for name in rows:  # each task's own batch: views of its rows, in its own channels
            task = self.task(name)
            if name in own:
                self._place(
                    x[:, rows[name]], y[:, rows[name]], mask[:, rows[name]], name, own[name]
                )
                parts[name] = own[name]
                continue
            inputs, outputs, _ = self._offsets(name)
            at = (slice(0, task.n_steps), rows[name])
            bounds, end, _, facts = drawn[name]
            parts[name] = task._batch(  # type: ignore[attr-defined]
                bounds, end, x[(*at, inputs)], y[(*at, outputs)], mask[(*at, outputs)], facts
            )
        batch = self._with_rules(x, y, mask, parts, counts, device)
        self._add_noise(batch, layout.sigmas, counts, generator)
        return batch

    def _sample_together(
        self,
        host_draws: tuple[np.ndarray, np.ndarray, np.ndarray],
        starts: Tensor,
        ends: Tensor,
        layout: _Layout,
    ) -> Batch | None:
        """Streams 2 and 3 for tasks that draw their trials in one pass (`draw_together`, the Yang
        et al. battery) and share their inputs and outputs: every task's stimuli drawn at
        once, painted at once with the rule inputs (`paint_batch`), each task's batch a view
        of its rows, made when first read; the same trials as drawing task by task. Returns
        the batch, without noise; None when the tasks cannot be drawn in one pass. `host_draws`: the block of uniforms `[R, B]` and the
        epochs' starts and ends `[E, B]` as host arrays; `starts, ends`: the epochs on the
        device."""
        painter = layout.sampled[0]
        counts = layout.sampled_counts
        device = starts.device
        drawn = painter.draw_together(layout.sampled, counts, *host_draws, device=device)  # type: ignore[attr-defined]
        if drawn is None:
            return None
        plan, facts = drawn
        painted = painter.paint_batch(plan, layout.n_steps, layout.rules)  # type: ignore[attr-defined]
        x, y, mask = painted.x, painted.y, painted.mask
        inputs, _, _ = self._offsets(painter.name)

        def part(k: int) -> Batch:
            task, rows = layout.sampled[k], layout.rows[layout.sampled[k].name]
            task_steps = layout.task_steps[task.name]
            epochs = layout.epochs[task.name]
            # `<epoch>_start`, `<epoch>_end` of each of its epochs (rows past them: not its own)
            trial = {}
            for i, epoch in enumerate(epochs):
                trial[f"{epoch}_start"], trial[f"{epoch}_end"] = starts[i, rows], ends[i, rows]
            trial["end"] = plan.end[rows]
            trial.update(facts[k])
            return Batch(
                x=x[:task_steps, rows, inputs],
                y=y[:task_steps, rows],
                mask=mask[:task_steps, rows],
                trial=trial,
                epochs=epochs,
                dt_ms=task.dt_ms,
            )

        parts = LazyParts(tuple(t.name for t in layout.sampled), part)
        _, task_index, _ = self._rule_index(layout.counts, device)
        batch = Batch(
            x=x,
            y=y,
            mask=mask,
            trial={"task_index": task_index.clone(), "end": plan.end},
            epochs=(),
            dt_ms=self.dt_ms,
            parts=parts,
        )
        return batch

    def _layout(self, counts: tuple[int, ...], device: torch.device) -> _Layout:
        """What a stream-2 batch of `counts[k]` trials of each task reads of the tasks, and
        the index tables of its epochs: made once per counts and device."""
        key = ("layout", counts, device)
        cached = self._tables.get(key)
        if cached is not None:
            return cached
        sampled = tuple(t for t, n in zip(self.tasks, counts, strict=True) if n)
        sampled_counts = tuple(n for n in counts if n)
        rows, first = {}, 0
        for task, n in zip(sampled, sampled_counts, strict=True):
            rows[task.name] = slice(first, first + n)
            first += n
        own = [t for t in sampled if not hasattr(t, "draw_trials")]
        keys = {t.paint_key() for t in sampled if hasattr(t, "draw_trials")}  # type: ignore[attr-defined]
        task_index, columns = [], []
        for k, n in enumerate(counts):
            per_batch = getattr(self.tasks[k], "_timing_per_batch", False)
            task_index += [k] * n
            first = sum(counts[:k])
            columns += [first] * n if per_batch else list(range(first, first + n))
        table, n_choices = self._epoch_tables()
        epoch_task = np.array(task_index, dtype=np.int64)
        choices = n_choices[epoch_task].T  # [E, B]
        trial_task = torch.tensor(task_index, device=device, dtype=torch.long)
        layout = _Layout(
            counts=counts,
            sampled=sampled,
            sampled_counts=sampled_counts,
            rows=rows,
            together=(
                self.shared_io
                and not own
                and len(keys) == 1
                and hasattr(sampled[0], "draw_together")
            ),
            n_steps=max(t.n_steps for t in sampled),
            epochs={t.name: t.epochs for t in sampled},
            task_steps={t.name: t.n_steps for t in sampled},
            rules=(
                torch.nn.functional.one_hot(trial_task, len(self.tasks)).float()
                if self.rule_inputs
                else None
            ),
            sigmas=[self._rule_noise(t) for t in sampled],
            epoch_task=epoch_task,
            epoch_columns=np.array(columns, dtype=np.int64),
            epoch_choices=choices,
            epoch_top=choices.astype(np.int64) - 1,
            epoch_index=np.arange(table.shape[1])[:, None],
        )
        self._tables[key] = layout
        return layout

    def _draw_epoch_table(
        self, block: np.ndarray, layout: _Layout
    ) -> tuple[np.ndarray, np.ndarray]:
        """Every trial's epochs at once, as its task would draw them from its rows of `block`
        (`[R, B]`, a host array; epoch e of a trial from row e: `floor(u * choices)`, or the
        first trial's u for the whole task with per-batch timing): `starts, ends [E, B]`
        (int64 steps, host arrays; rows past a task's epochs repeat its end)."""
        table, _ = self._epoch_tables()  # [K, E, C] steps
        u = block[: table.shape[1], layout.epoch_columns]  # [E, B]
        pick = np.minimum((u * layout.epoch_choices).astype(np.int64), layout.epoch_top)
        steps = table[layout.epoch_task[None], layout.epoch_index, pick]
        ends = steps.cumsum(0)
        return ends - steps, ends

    def _epochs_by_task(
        self, starts: Tensor, ends: Tensor, layout: _Layout
    ) -> dict[str, tuple[dict[str, tuple[Tensor, Tensor]], Tensor]]:
        """`{task: (bounds, end)}` for the tasks that draw their trials (`draw_trials`): each
        epoch's `(start, end)` `[B_k]`, views of the table `starts, ends [E, B]`."""
        out = {}
        for task in layout.sampled:
            if not hasattr(task, "draw_trials"):
                continue
            rows, names = layout.rows[task.name], task.epochs
            bounds = {e: (starts[i, rows], ends[i, rows]) for i, e in enumerate(names)}
            out[task.name] = (bounds, ends[len(names) - 1, rows])
        return out

    def _epoch_tables(self) -> tuple[np.ndarray, np.ndarray]:
        """Each task's epoch durations in steps, `[K, E, C]` (int64; C choices at most, 0
        beyond a task's own), and how many choices each epoch has, `[K, E]` (float32; 1
        beyond a task's epochs). Host arrays, made once."""
        cached = self._tables.get("epochs")
        if cached is None:
            steps = [list(getattr(t, "_epoch_steps", {}).values()) for t in self.tasks]
            n_epochs = max(len(s) for s in steps)
            width = max((len(c) for s in steps for c in s), default=1)
            table = np.zeros((len(self.tasks), n_epochs, width), dtype=np.int64)
            n_choices = np.ones((len(self.tasks), n_epochs), dtype=np.float32)
            for k, epochs in enumerate(steps):
                for e, choices in enumerate(epochs):
                    table[k, e, : len(choices)] = choices
                    n_choices[k, e] = len(choices)
            cached = self._tables["epochs"] = (table, n_choices)
        return cached

    def _add_noise(
        self,
        batch: Batch,
        sigmas: list[float],
        counts: list[int],
        generator: torch.Generator,
        inside: Tensor | None = None,
    ) -> None:
        """Add white noise of sd `sigmas[k]` (one per task sampled) to `batch.x`, in place,
        over the real steps of each trial of task k (`inside [n]`, when known: the steps
        inside trials as rows of `x` seen as `[T * B, I]`), on its own input channels and
        every rule input (with shared inputs: every channel). One draw covers all trials and
        channels."""
        if max(sigmas) == 0:
            return
        device = batch.x.device
        if inside is None:
            inside = batch.trial_mask().flatten().nonzero()[:, 0]
        noise = self._normals(inside.shape[0], self.n_inputs, generator)
        if self.shared_io and min(sigmas) == max(sigmas):
            noise *= sigmas[0]
        else:
            scale = torch.zeros(batch.batch_size, self.n_inputs, device=device)  # [B, I]
            row, k = 0, 0
            for task, n in zip(self.tasks, counts, strict=True):
                if n == 0:
                    continue
                inputs, _, _ = self._offsets(task.name)
                scale[row : row + n, inputs] = sigmas[k]
                scale[row : row + n, self.n_inputs - len(self.tasks) :] = sigmas[k]
                row, k = row + n, k + 1
            noise *= scale.repeat(batch.n_steps, 1)[inside]
        batch.x.view(-1, self.n_inputs).index_add_(0, inside, noise)

    def _normals(self, n_rows: int, n_columns: int, generator: torch.Generator) -> Tensor:
        """`[n_rows, n_columns]` standard normal values from `generator`: `torch.randn` on
        streams 1 and 2, the cheaper sampler of `neurodyn.tasks._normals` on stream 3."""
        if self.stream == 3:
            return standard_normal(n_rows, n_columns, generator=generator)
        return torch.randn(n_rows, n_columns, generator=generator, device=generator.device)

    def _assemble(
        self, parts: dict[str, Batch], counts: list[int], batch_size: int, device: torch.device
    ) -> Batch:
        """One batch of this network from each task's own (`parts`, `counts[k]` trials of task
        k), with the rule inputs set."""
        n_steps = max(part.n_steps for part in parts.values())
        # One tensor for the whole batch, each task's trials copied into their rows, and the
        # rule inputs of all trials set at once: a batch of many tasks with a few trials each
        # costs mostly the fixed time of each tensor operation, so the fewer the better.
        x, y, mask = self._zeros(n_steps, batch_size, device)
        row = 0
        for name, part in parts.items():
            rows = slice(row, row + part.batch_size)
            self._place(x[:, rows], y[:, rows], mask[:, rows], name, part)
            row += part.batch_size
        return self._with_rules(x, y, mask, parts, counts, device)

    def _with_rules(
        self,
        x: Tensor,
        y: Tensor,
        mask: Tensor,
        parts: dict[str, Batch],
        counts: list[int],
        device: torch.device,
        end: Tensor | None = None,
        in_trial: Tensor | None = None,
    ) -> Batch:
        """The `Batch` of filled `x`, `y`, `mask` (`[T, B, ...]`, each task's trials in their
        rows), its rule inputs set; `end [B]`, the trials' ends, and `in_trial [T, B]`, the
        steps inside them, when known."""
        n_steps = x.shape[0]
        trials, task_index, rule = self._rule_index(tuple(counts), device)
        if end is None:
            end = torch.cat([p.trial["end"] for p in parts.values()])
        if self.rule_inputs:
            # trial b's rule input is channel `first_rule + task_index[b]`
            if in_trial is None:
                in_trial = between(n_steps, torch.zeros_like(end), end)
            x[:, trials, rule] = in_trial.float()
        return Batch(
            x=x,
            y=y,
            mask=mask,
            trial={"task_index": task_index.clone(), "end": end},
            epochs=(),
            dt_ms=self.dt_ms,
            parts=parts,
        )

    def _rule_index(
        self, counts: tuple[int, ...], device: torch.device
    ) -> tuple[Tensor, Tensor, Tensor]:
        """`[B]` each trial's index, its task's index and its rule input's channel, for
        `counts[k]` trials of task k: made once per counts and device."""
        key = ("rules", counts, device)
        if key not in self._tables:
            task_index = torch.repeat_interleave(
                torch.arange(len(self.tasks), device=device), torch.tensor(counts, device=device)
            )
            trials = torch.arange(sum(counts), device=device)
            rule = self.n_inputs - len(self.tasks) + task_index
            self._tables[key] = (trials, task_index, rule)
        return self._tables[key]

    def for_step(self, step: int) -> Multitask:
        """What training step `step` samples: this multitask (trial interleave), or, with
        `interleave="batch"`, the one task drawn for the step (the others at weight 0: same
        layout, not sampled)."""
        if self.interleave == "trial":
            return self
        weights = np.array(self.weights or (1.0,) * len(self.tasks), dtype=float)
        # a stream of its own per step: the same draw whichever network or ensemble asks
        rng = np.random.default_rng([int(step), 0x7A5C])
        k = int(rng.choice(len(self.tasks), p=weights / weights.sum()))
        return replace(self, weights=tuple(1.0 if i == k else 0.0 for i in range(len(self.tasks))))

    def split(self, outputs: Tensor, batch: Batch) -> list[tuple[Task, Tensor, Batch]]:
        """Per task: (task, its outputs `[T_k, (E,) B_k, O_k]`, its own batch)."""
        if batch.parts is None:
            raise ArgumentError(
                "split needs a batch made by Multitask.sample; sample the batch from this Multitask"
            )
        pieces, row = [], 0
        for task in self.tasks:
            if task.name not in batch.parts:  # a task with weight 0: in the layout, not sampled
                continue
            part = batch.parts[task.name]
            _, out_slice, _ = self._offsets(task.name)
            rows = slice(row, row + part.batch_size)
            pieces.append((task, outputs[: part.n_steps, ..., rows, out_slice], part))
            row += part.batch_size
        return pieces

    def performance_by_task(self, outputs: Tensor, batch: Batch) -> dict[str, Tensor]:
        return {
            task.name: task.performance(out, part) for task, out, part in self.split(outputs, batch)
        }
