"""Stream 2's one pass over a mixed batch: the stimuli of every trial of every task drawn at
once from the batch's block of uniforms, the task families' rules held as per-trial tables.

A batch of the battery holds twenty tasks of a few trials each; drawing them task by task
(`Yang19Task.draw_trials`) costs a dozen small tensor operations per task, each mostly fixed
overhead. Here every trial reads the rows its own task would read (`BlockDraws`: its epochs
first, then one row per draw in the order the task draws), each row is turned into values by
the same float operations as the task's own draw (`low + (high - low) * u`, `floor(u * n)`
capped at `n - 1`, a table lookup), and the family rules (Go, Anti and their React and Delay
versions; the decisions; the matching tasks) are computed for every trial and picked per trial
with `where`. Element by element these are the operations of the task-by-task pass, so the
trials are the same bit for bit (tests/tasks/test_yang19_fidelity.py pins them). They run on
the host, in numpy, whatever the batch's device: a hundred operations on `[B]` arrays, each
far cheaper there than a tensor operation's fixed cost; the plan and facts then move to the
device (on a CPU, sharing the arrays' memory).

Rows of a trial's draws, counted from its first row after the epochs:

- Go family (`_SingleStimulus`): 0 angle U(0, 2 pi); 1 ring (per batch with `per_batch`
  timing; none on a single ring);
- decisions (`_DecisionFamily`): 0 first angle U(0, 2 pi); 1 distance U(pi/2, 3 pi/2); 2 its
  sign; 3 mean strength U(0.8, 1.2); 4 coherence; 5 its sign; then MultSen: 6 split U(0.2, 0.8),
  7 sign, 8 split, 9 sign; Ctx: 6 mean, 7 coherence, 8 sign (the second ring's strengths);
- matching (`_MatchFamily`): 0, 1 rings (per batch with `per_batch` timing); DMC, DNMC: 2, 3
  angles from the ten-angle grid; DMS, DNMS: 2 match, 3 sample angle U(0, 2 pi), 4 distance
  U(pi/9, 17 pi/9), 5 its sign.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np
import torch
from torch import Tensor

from neurodyn.tasks.yang19._decision import _DecisionFamily
from neurodyn.tasks.yang19._go import _DelayedResponse, _GoFamily, _ReactFamily, _SingleStimulus
from neurodyn.tasks.yang19._matching import _MatchFamily
from neurodyn.tasks.yang19._trial import TWO_PI, Stimuli, TrialPlan, Yang19Task

# the most draws of a family after its epochs (MultSen DM)
N_DRAWS = 10
# the ring stimuli each family shows: one (Go family), four (decisions: two angles on two
# rings), two (matching: sample and test)
N_STIMULI = {"single": 1, "decision": 4, "match": 2}
# DMC's sample and test angles: 0.1 pi .. 1.9 pi (`_MatchFamily._show`)
CATEGORY_GRID = tuple(k * math.pi / 10 for k in range(1, 20, 2))


@dataclass(frozen=True)
class _Tables:
    """The per-trial tables of one batch layout: which task each trial is, its family's flags,
    where its draws lie in the block and how they turn into values. Host arrays (numpy),
    `[B]` unless said."""

    families: tuple[str, ...]  # each task's
    n_stimuli: int
    rows_read: int  # the most rows of the block a trial reads
    rows: np.ndarray  # [N_DRAWS, B] block row of each draw (past the trial's last: any row)
    columns: np.ndarray  # [N_DRAWS, B] block column (the task's first trial for per-batch rings)
    low: np.ndarray  # [N_DRAWS, B] float32: `low` of a uniform draw
    span: np.ndarray  # [N_DRAWS, B] float32: `high - low` (as the task computes it, in double)
    choices: np.ndarray  # [N_DRAWS, B] float32: `n` of an integer draw (1 for other draws)
    top: np.ndarray  # [N_DRAWS, B] int64: n - 1
    coherences: np.ndarray  # [K, C] float32, each decision task's coherences (0-padded)
    task: np.ndarray  # index of the trial's task among those drawn
    go_at: np.ndarray  # int64: where the trial's go cue (the start of its last epoch) lies in
    # its epochs' starts `[E, B]` seen flat
    grid: np.ndarray  # [10] float32, CATEGORY_GRID
    single: np.ndarray
    decision: np.ndarray
    always: np.ndarray  # the trial asks for a saccade whatever it shows (all but matching)
    holds: np.ndarray  # the fixation input stays on to the end (RT Go, RT Anti, matching)
    react: np.ndarray  # RT Go, RT Anti: the stimulus appears at the go cue
    brief: np.ndarray  # Dly Go, Dly Anti, dlygo: the stimulus is shown in epoch 1 only
    anti: np.ndarray
    delayed: np.ndarray  # delayed decisions: stimulus 1 in stim1, stimulus 2 in stim2
    multi: np.ndarray
    context: np.ndarray
    attend_2: np.ndarray  # decisions read by ring 2 (DM 2, Ctx DM 2, ...)
    context_2: np.ndarray  # Ctx decisions read by ring 2
    category: np.ndarray
    respond_on_match: np.ndarray


def _family(task: Yang19Task) -> str | None:
    """The family whose rules `task` follows, or None when it draws or shows anything this
    pass does not (a method of its own, or its stimulus epochs where the family's are not)."""
    # (Any: the methods looked up are those of the family classes, which mypy cannot tell)
    kind: Any = type(task)
    epochs = task.epochs
    shared = (
        kind.draw_trials is Yang19Task.draw_trials
        and kind._plan is Yang19Task._plan
        and kind._go is Yang19Task._go
        and len(epochs) >= 2
    )
    if not shared:
        return None
    if isinstance(task, _SingleStimulus) and kind._show is _SingleStimulus._show:
        window = kind._window
        known_window = window is _ReactFamily._window or (
            window is _GoFamily._window and epochs[1] == "stim1"
        )
        if (known_window or window is _DelayedResponse._window) and kind._fixation_off in (
            _SingleStimulus._fixation_off,
            _ReactFamily._fixation_off,
        ):
            return "single"
    if isinstance(task, _DecisionFamily) and kind._show is _DecisionFamily._show:
        stim2 = not task.delayed or (len(epochs) > 3 and epochs[3] == "stim2")
        if (
            epochs[1] == "stim1"
            and stim2
            and (kind._stimulus_windows is _DecisionFamily._stimulus_windows)
        ):
            return "decision"
    matching = isinstance(task, _MatchFamily) and kind._show is _MatchFamily._show
    return "match" if matching and epochs[1] == "stim1" else None


def _draws(task: Yang19Task, family: str) -> int:
    """How many values a trial of `task` draws after its epochs."""
    if family == "single":
        return 1 + (task.n_rings > 1)
    if family == "decision":
        return 6 + (4 if task.attend == 2 else 3 if task.context else 0)  # type: ignore[attr-defined]
    return 4 if task.category else 6  # type: ignore[attr-defined]


@functools.lru_cache(maxsize=64)
def _tables(
    tasks: tuple[Yang19Task, ...], counts: tuple[int, ...], block_rows: int
) -> _Tables | None:
    """The tables of `counts[k]` trials of each of `tasks` drawing from a block of
    `block_rows` rows, or None when some task is not of a family this pass knows."""
    families = [_family(t) for t in tasks]
    if None in families:
        return None
    batch_size = sum(counts)
    rows = np.zeros((N_DRAWS, batch_size), dtype=np.int64)
    columns = np.zeros((N_DRAWS, batch_size), dtype=np.int64)
    low = np.zeros((N_DRAWS, batch_size), dtype=np.float32)
    span = np.ones((N_DRAWS, batch_size), dtype=np.float32)
    choices = np.ones((N_DRAWS, batch_size), dtype=np.float32)
    width = max((len(getattr(t, "coherences", ())) for t in tasks), default=1)
    coherences = np.zeros((len(tasks), max(width, 1)), dtype=np.float32)
    flags = {
        name: np.zeros(batch_size, dtype=bool)
        for name in _Tables.__dataclass_fields__
        if name not in _NOT_FLAGS
    }
    task_index = np.zeros(batch_size, dtype=np.int64)
    go_at = np.zeros(batch_size, dtype=np.int64)
    rows_read = 0

    def uniform(j: int, trials: slice, lo: float, hi: float) -> None:
        # float32 of `lo` and of `hi - lo` in double: what `lo + (hi - lo) * u` computes
        low[j, trials], span[j, trials] = lo, hi - lo

    first = 0
    for k, (task, family, n) in enumerate(zip(tasks, families, counts, strict=True)):
        trials = slice(first, first + n)
        task_index[trials] = k
        n_epochs = len(task.epochs)
        go_at[trials] = (n_epochs - 1) * batch_size + np.arange(first, first + n)
        # draw j of a trial is row n_epochs + j of the block; rows past its last draw are
        # read as far as the block goes, and their values not used
        draw_rows = np.minimum(np.arange(n_epochs, n_epochs + N_DRAWS), block_rows - 1)
        rows[:, trials] = draw_rows[:, None]
        rows_read = max(rows_read, n_epochs + _draws(task, family))  # type: ignore[arg-type]
        columns[:, trials] = np.arange(first, first + n)
        per_batch = task.timing == "per_batch"
        if family == "single":
            flags["single"][trials] = flags["always"][trials] = True
            uniform(0, trials, 0.0, TWO_PI)
            if task.n_rings > 1:
                choices[1, trials] = 2
                if per_batch:
                    columns[1, trials] = first
            kind: Any = type(task)
            flags["react"][trials] = kind._window is _ReactFamily._window
            flags["brief"][trials] = kind._window is _DelayedResponse._window
            flags["holds"][trials] = kind._fixation_off is _ReactFamily._fixation_off
            flags["anti"][trials] = task.anti  # type: ignore[attr-defined]
        elif family == "decision":
            flags["decision"][trials] = flags["always"][trials] = True
            levels = task.coherences  # type: ignore[attr-defined]
            coherences[k, : len(levels)] = levels
            uniform(0, trials, 0.0, TWO_PI)
            uniform(1, trials, 0.5 * math.pi, 1.5 * math.pi)
            uniform(3, trials, 0.8, 1.2)
            choices[2, trials], choices[4, trials], choices[5, trials] = 2, len(levels), 2
            if task.attend == 2:  # type: ignore[attr-defined]
                uniform(6, trials, 0.2, 0.8)
                uniform(8, trials, 0.2, 0.8)
                choices[7, trials], choices[9, trials] = 2, 2
            elif task.context:  # type: ignore[attr-defined]
                uniform(6, trials, 0.8, 1.2)
                choices[7, trials], choices[8, trials] = len(levels), 2
            flags["delayed"][trials] = task.delayed  # type: ignore[attr-defined]
            flags["multi"][trials] = task.attend == 2  # type: ignore[attr-defined]
            flags["context"][trials] = task.context  # type: ignore[attr-defined]
            flags["attend_2"][trials] = task.attend == 1  # type: ignore[attr-defined]
            flags["context_2"][trials] = task.context and task.attend == 1  # type: ignore[attr-defined]
        else:
            flags["holds"][trials] = True
            choices[0, trials], choices[1, trials] = 2, 2
            if per_batch:
                columns[:2, trials] = first
            if task.category:  # type: ignore[attr-defined]
                choices[2, trials], choices[3, trials] = 10, 10
            else:
                choices[2, trials], choices[5, trials] = 2, 2
                uniform(3, trials, 0.0, TWO_PI)
                uniform(4, trials, math.pi / 9, 17 * math.pi / 9)
            flags["category"][trials] = task.category  # type: ignore[attr-defined]
            flags["respond_on_match"][trials] = task.respond_on_match  # type: ignore[attr-defined]
        first += n
    return _Tables(
        families=tuple(families),  # type: ignore[arg-type]
        n_stimuli=max(N_STIMULI[f] for f in families),  # type: ignore[index]
        rows_read=rows_read,
        rows=rows,
        columns=columns,
        low=low,
        span=span,
        choices=choices,
        top=choices.astype(np.int64) - 1,
        coherences=coherences,
        task=task_index,
        go_at=go_at,
        grid=np.array(CATEGORY_GRID, dtype=np.float32),
        **flags,
    )


_NOT_FLAGS = {
    "families",
    "n_stimuli",
    "rows_read",
    "rows",
    "columns",
    "low",
    "span",
    "choices",
    "top",
    "coherences",
    "task",
    "go_at",
    "grid",
}


def _remainder(a: np.ndarray, b: float) -> np.ndarray:
    """`torch.remainder(a, b)` for `b > 0`, float32: `fmod`, plus `b` where it is below zero
    (numpy's own `remainder` gives +0.0 where torch keeps fmod's -0.0)."""
    mod = np.fmod(a, np.float32(b))
    return np.where(mod < 0, mod + b, mod)


def _on_device(arrays: dict[str, np.ndarray], device: torch.device) -> dict[str, Tensor]:
    """The host `arrays` as tensors on `device`: on a CPU the arrays' own memory; elsewhere
    one transfer per dtype (the arrays of a dtype packed together)."""
    if device.type == "cpu":
        return {name: torch.from_numpy(a) for name, a in arrays.items()}
    out: dict[str, Tensor] = {}
    for dtype in {a.dtype for a in arrays.values()}:
        names = [name for name, a in arrays.items() if a.dtype == dtype]
        packed = torch.from_numpy(np.concatenate([arrays[n].ravel() for n in names])).to(device)
        sizes = [arrays[n].size for n in names]
        for name, flat in zip(names, packed.split(sizes), strict=True):
            out[name] = flat.view(arrays[name].shape)
    return out


def draw_together(
    tasks: tuple[Yang19Task, ...],
    counts: tuple[int, ...],
    block: Tensor | np.ndarray,
    starts: Tensor | np.ndarray,
    ends: Tensor | np.ndarray,
    *,
    device: torch.device | None = None,
) -> tuple[TrialPlan, TaskFacts] | None:
    """What the trials of all `tasks` show and ask, drawn in one pass.

    The values are computed on the host (numpy: a hundred operations on `[B]` arrays, each
    a fraction of a torch operation's fixed cost) by the same float32 operations as each
    task's own draw, and moved to `device` at the end.

    Parameters
    ----------
    tasks : tuple of Yang19Task
        The tasks drawn, in the batch's order (those with at least one trial).
    counts : tuple of int
        Trials of each task; task k's trials are the next `counts[k]` columns of the batch.
    block : Tensor or array [R, B]
        The batch's uniforms (stream 2, `Multitask`).
    starts, ends : Tensor or array [E, B]
        Each trial's epochs (start and end step, end exclusive), in its task's order; rows
        past a task's last epoch repeat its end.
    device : torch.device, optional
        Where the plan and facts go (default: `block`'s device, or the CPU for an array).

    Returns
    -------
    The plan of the whole batch (`TrialPlan`, its stimuli padded to the most any task shows,
    as `merge_plans` pads them) and each task's per-trial facts (`TaskFacts`: views of `[B]`
    tensors, the facts its own `draw_trials` returns, made when read); None when a task is
    not of a family this pass knows (the caller then draws task by task).
    """
    if device is None:
        device = block.device if isinstance(block, Tensor) else torch.device("cpu")
    block, starts, ends = (
        a.cpu().numpy() if isinstance(a, Tensor) else a for a in (block, starts, ends)
    )
    t = _tables(tasks, counts, block.shape[0])
    if t is None or t.rows_read > block.shape[0]:
        return None
    u = block[t.rows, t.columns]  # [N_DRAWS, B]
    value = t.low + t.span * u  # the uniform draws
    pick = np.minimum((u * t.choices).astype(np.int64), t.top)  # the integer draws
    sign = np.where(pick == 1, np.float32(1.0), np.float32(-1.0))
    zero = np.zeros_like(value[0])

    go = starts.ravel()[t.go_at]
    end = ends[-1]
    stim1_start, stim1_end = starts[1], ends[1]
    stim2_start, stim2_end = starts[min(3, len(starts) - 1)], ends[min(3, len(ends) - 1)]

    # Go family: one stimulus at `value[0]`, on ring `pick[1]`
    single_target = np.where(t.anti, _remainder(value[0] + math.pi, TWO_PI), value[0])
    single_on = np.where(t.react, go, stim1_start)
    single_off = np.where(t.brief, stim1_end, end)

    # decisions: two angles, strengths `mean +- coherence * sign` (ring 1; Ctx: ring 2 too)
    second_angle = _remainder(value[0] + value[1] * sign[2], TWO_PI)
    coherence = t.coherences[t.task, pick[4]] * sign[5]
    s1, s2 = value[3] + coherence, value[3] - coherence
    coherence_2 = t.coherences[t.task, pick[7]] * sign[8]
    s1_ring2, s2_ring2 = value[6] + coherence_2, value[6] - coherence_2
    split_1 = s1 * value[6] * sign[7]  # MultSen: each strength split between the rings
    split_2 = s2 * value[8] * sign[9]
    # DM 1 and 2: the stimuli on the attended ring only
    plain_1 = (np.where(t.attend_2, zero, s1), np.where(t.attend_2, s1, zero))
    plain_2 = (np.where(t.attend_2, zero, s2), np.where(t.attend_2, s2, zero))
    s1_by_ring = (
        np.where(t.multi, s1 + split_1 / 2, np.where(t.context, s1, plain_1[0])),
        np.where(t.multi, s1 - split_1 / 2, np.where(t.context, s1_ring2, plain_1[1])),
    )
    s2_by_ring = (
        np.where(t.multi, s2 + split_2 / 2, np.where(t.context, s2, plain_2[0])),
        np.where(t.multi, s2 - split_2 / 2, np.where(t.context, s2_ring2, plain_2[1])),
    )
    evidence = (np.where(t.context_2, s1_ring2, s1), np.where(t.context_2, s2_ring2, s2))
    decision_target = np.where(evidence[0] > evidence[1], value[0], second_angle)
    first_off = np.where(t.delayed, stim1_end, go)
    second_on = np.where(t.delayed, stim2_start, stim1_start)
    second_off = np.where(t.delayed, stim2_end, go)

    # matching: a sample and a test, from the grid (DMC, DNMC) or apart unless they match
    drawn_match = pick[2].astype(bool)
    grid_1, grid_2 = t.grid[pick[2]], t.grid[pick[3]]
    apart = value[4] * sign[5] * (~drawn_match).astype(np.float32)
    sample = np.where(t.category, grid_1, value[3])
    test = np.where(t.category, grid_2, _remainder(value[3] + apart, TWO_PI))
    match = np.where(t.category, (grid_1 < math.pi) == (grid_2 < math.pi), drawn_match)

    # the stimuli, four slots (`Stimuli`), each family's in its own: [4, B] per field
    zero_step, one_ring, one = np.zeros_like(go), np.ones_like(go), np.ones_like(zero)
    by_family = {
        "on": (
            (single_on, zero_step, zero_step, zero_step),
            (stim1_start, second_on, stim1_start, second_on),
            (stim1_start, go, zero_step, zero_step),
        ),
        "off": (
            (single_off, zero_step, zero_step, zero_step),
            (first_off, second_off, first_off, second_off),
            (stim1_end, end, zero_step, zero_step),
        ),
        "angle": (
            (value[0], zero, zero, zero),
            (value[0], second_angle, value[0], second_angle),
            (sample, test, zero, zero),
        ),
        "strength": (
            (one, zero, zero, zero),
            (*(ring[0] for ring in (s1_by_ring, s2_by_ring)), s1_by_ring[1], s2_by_ring[1]),
            (one, one, zero, zero),
        ),
        "ring": (
            (pick[1], zero_step, zero_step, zero_step),
            (zero_step, zero_step, one_ring, one_ring),
            (pick[0], pick[1], zero_step, zero_step),
        ),
    }
    n = t.n_stimuli
    host = {
        name: np.where(
            t.single,
            np.array(single[:n]),
            np.where(t.decision, np.array(decision[:n]), np.array(matching[:n])),
        )
        for name, (single, decision, matching) in by_family.items()
    }
    target = np.where(t.single, single_target, np.where(t.decision, decision_target, test))
    respond = t.always | (match == t.respond_on_match)
    host.update(
        fixation_off=np.where(t.holds, end, go), respond=respond, target=target, go=go, end=end
    )
    # each task's facts (views of its rows, made when read), all moved at once
    facts_of = {
        "single": {"stim_angle": value[0], "modality": pick[1]},
        "decision": {
            "stim1_angle": value[0],
            "stim2_angle": second_angle,
            "stim1_strength": evidence[0],
            "stim2_strength": evidence[1],
            "stim1_strength_ring1": s1_by_ring[0],
            "stim1_strength_ring2": s1_by_ring[1],
            "stim2_strength_ring1": s2_by_ring[0],
            "stim2_strength_ring2": s2_by_ring[1],
        },
        "match": {
            "stim1_angle": sample,
            "stim2_angle": test,
            "match": match,
            "modality1": pick[0],
            "modality2": pick[1],
        },
    }
    present = set(t.families)
    for family in present:
        host.update({f"{family}/{name}": a for name, a in facts_of[family].items()})
    moved = _on_device(host, device)
    stimuli = Stimuli(*(moved[f] for f in ("on", "off", "angle", "strength", "ring")))
    plan = TrialPlan(
        stimuli, *(moved[f] for f in ("fixation_off", "respond", "target", "go", "end"))
    )
    facts = {
        family: {name: moved[f"{family}/{name}"] for name in facts_of[family]} for family in present
    }
    shared = {"respond": plan.respond, "angle": plan.target, "go": plan.go}
    return plan, TaskFacts(t.families, counts, facts, shared)


class TaskFacts(Sequence[dict[str, Tensor]]):
    """Each task's per-trial facts of a batch drawn in one pass (`draw_together`), by the
    task's place in the batch: `facts[k]` is a dict of views of task k's rows of the batch's
    `[B]` facts, made when read (a mixed batch's parts read them when they are read)."""

    def __init__(
        self,
        families: tuple[str, ...],
        counts: tuple[int, ...],
        facts_of: dict[str, dict[str, Tensor]],
        shared: dict[str, Tensor],
    ) -> None:
        self._families, self._counts = families, counts
        self._facts_of, self._shared = facts_of, shared
        self._first = [sum(counts[:k]) for k in range(len(counts))]

    def __len__(self) -> int:
        return len(self._counts)

    @overload
    def __getitem__(self, k: int) -> dict[str, Tensor]: ...

    @overload
    def __getitem__(self, k: slice) -> list[dict[str, Tensor]]: ...

    def __getitem__(self, k: int | slice) -> dict[str, Tensor] | list[dict[str, Tensor]]:
        if isinstance(k, slice):
            return [self[i] for i in range(len(self))[k]]
        rows = slice(self._first[k], self._first[k] + self._counts[k])
        own = self._facts_of[self._families[k]]
        return {
            **{name: full[rows] for name, full in own.items()},
            **{name: full[rows] for name, full in self._shared.items()},
        }

    def __iter__(self) -> Iterator[dict[str, Tensor]]:
        return (self[k] for k in range(len(self)))


Yang19Task.draw_together = staticmethod(draw_together)
