"""Stream 2's one pass over a mixed batch: the stimuli of every trial of every task drawn at
once from the batch's block of uniforms, the task families' rules held as per-trial tables.

A batch of the battery holds twenty tasks of a few trials each; drawing them task by task
(`Yang19Task.draw_trials`) costs a dozen small tensor operations per task, each mostly fixed
overhead. Here every trial reads the rows its own task would read (`BlockDraws`: its epochs
first, then one row per draw in the order the task draws), each row is turned into values by
the same float operations as the task's own draw (`low + (high - low) * u`, `floor(u * n)`
capped at `n - 1`, a table lookup), and the family rules (Go, Anti and their React and Delay
versions; the decisions; the matching tasks) are computed for every trial and picked per trial
with `torch.where`. Element by element these are the operations of the task-by-task pass, so
the trials are the same bit for bit (tests/tasks/test_yang19_fidelity.py pins them).

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
    where its draws lie in the block and how they turn into values. `[B]` unless said."""

    families: tuple[str, ...]  # each task's
    n_stimuli: int
    rows_read: int  # the most rows of the block a trial reads
    rows: Tensor  # [N_DRAWS, B] block row of each draw (past the trial's last: any row)
    columns: Tensor  # [N_DRAWS, B] block column (the task's first trial for per-batch rings)
    low: Tensor  # [N_DRAWS, B] float32: `low` of a uniform draw
    span: Tensor  # [N_DRAWS, B] float32: `high - low` (as the task computes it, in double)
    choices: Tensor  # [N_DRAWS, B] float32: `n` of an integer draw (1 for other draws)
    top: Tensor  # [N_DRAWS, B] long: n - 1
    coherences: Tensor  # [K, C] float32, each decision task's coherences (0-padded)
    task: Tensor  # index of the trial's task among those drawn
    last_epoch: Tensor  # [1, B] long: the trial's response epoch (the go cue opens it)
    grid: Tensor  # [10] float32, CATEGORY_GRID
    single: Tensor
    decision: Tensor
    always: Tensor  # the trial asks for a saccade whatever it shows (all but matching)
    holds: Tensor  # the fixation input stays on to the end (RT Go, RT Anti, matching)
    react: Tensor  # RT Go, RT Anti: the stimulus appears at the go cue
    brief: Tensor  # Dly Go, Dly Anti, dlygo: the stimulus is shown in epoch 1 only
    anti: Tensor
    delayed: Tensor  # delayed decisions: stimulus 1 in stim1, stimulus 2 in stim2
    multi: Tensor
    context: Tensor
    attend_2: Tensor  # decisions read by ring 2 (DM 2, Ctx DM 2, ...)
    context_2: Tensor  # Ctx decisions read by ring 2
    category: Tensor
    respond_on_match: Tensor


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
    tasks: tuple[Yang19Task, ...], counts: tuple[int, ...], block_rows: int, device: torch.device
) -> _Tables | None:
    """The tables of `counts[k]` trials of each of `tasks` drawing from a block of
    `block_rows` rows, or None when some task is not of a family this pass knows."""
    families = [_family(t) for t in tasks]
    if None in families:
        return None
    batch_size = sum(counts)
    rows = torch.zeros(N_DRAWS, batch_size, dtype=torch.long)
    columns = torch.zeros(N_DRAWS, batch_size, dtype=torch.long)
    low = torch.zeros(N_DRAWS, batch_size)
    span = torch.ones(N_DRAWS, batch_size)
    choices = torch.ones(N_DRAWS, batch_size)
    width = max((len(getattr(t, "coherences", ())) for t in tasks), default=1)
    coherences = torch.zeros(len(tasks), max(width, 1))
    flags = {
        name: torch.zeros(batch_size, dtype=torch.bool)
        for name in _Tables.__dataclass_fields__
        if name not in _NOT_FLAGS
    }
    task_index = torch.zeros(batch_size, dtype=torch.long)
    last_epoch = torch.zeros(1, batch_size, dtype=torch.long)
    rows_read = 0

    def uniform(j: int, trials: slice, lo: float, hi: float) -> None:
        # float32 of `lo` and of `hi - lo` in double: what `lo + (hi - lo) * u` computes
        low[j, trials], span[j, trials] = lo, hi - lo

    first = 0
    for k, (task, family, n) in enumerate(zip(tasks, families, counts, strict=True)):
        trials = slice(first, first + n)
        task_index[trials] = k
        n_epochs = len(task.epochs)
        last_epoch[0, trials] = n_epochs - 1
        # draw j of a trial is row n_epochs + j of the block; rows past its last draw are
        # read as far as the block goes, and their values not used
        draw_rows = torch.arange(n_epochs, n_epochs + N_DRAWS).clamp_max(block_rows - 1)
        rows[:, trials] = draw_rows[:, None]
        rows_read = max(rows_read, n_epochs + _draws(task, family))  # type: ignore[arg-type]
        columns[:, trials] = torch.arange(first, first + n)
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
            coherences[k, : len(levels)] = torch.tensor(levels)
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
        rows=rows.to(device),
        columns=columns.to(device),
        low=low.to(device),
        span=span.to(device),
        choices=choices.to(device),
        top=(choices.long() - 1).to(device),
        coherences=coherences.to(device),
        task=task_index.to(device),
        last_epoch=last_epoch.to(device),
        grid=torch.tensor(CATEGORY_GRID, dtype=torch.float32, device=device),
        **{name: flag.to(device) for name, flag in flags.items()},
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
    "last_epoch",
    "grid",
}


def draw_together(
    tasks: tuple[Yang19Task, ...],
    counts: tuple[int, ...],
    block: Tensor,
    starts: Tensor,
    ends: Tensor,
) -> tuple[TrialPlan, TaskFacts] | None:
    """What the trials of all `tasks` show and ask, drawn in one pass.

    Parameters
    ----------
    tasks : tuple of Yang19Task
        The tasks drawn, in the batch's order (those with at least one trial).
    counts : tuple of int
        Trials of each task; task k's trials are the next `counts[k]` columns of the batch.
    block : Tensor [R, B]
        The batch's uniforms (stream 2, `Multitask`).
    starts, ends : Tensor [E, B]
        Each trial's epochs (start and end step, end exclusive), in its task's order; rows
        past a task's last epoch repeat its end.

    Returns
    -------
    The plan of the whole batch (`TrialPlan`, its stimuli padded to the most any task shows,
    as `merge_plans` pads them) and each task's per-trial facts (`TaskFacts`: views of `[B]`
    tensors, the facts its own `draw_trials` returns, made when read); None when a task is
    not of a family this pass knows (the caller then draws task by task).
    """
    t = _tables(tasks, counts, block.shape[0], block.device)
    if t is None or t.rows_read > block.shape[0]:
        return None
    u = block[t.rows, t.columns]  # [N_DRAWS, B]
    value = t.low + t.span * u  # the uniform draws
    pick = torch.minimum((u * t.choices).long(), t.top)  # the integer draws
    sign = torch.where(pick == 1, 1.0, -1.0)
    zero = torch.zeros_like(value[0])

    go = starts.gather(0, t.last_epoch)[0]
    end = ends[-1]
    stim1_start, stim1_end = starts[1], ends[1]
    stim2_start, stim2_end = starts[min(3, len(starts) - 1)], ends[min(3, len(ends) - 1)]

    # Go family: one stimulus at `value[0]`, on ring `pick[1]`
    single_target = torch.where(t.anti, torch.remainder(value[0] + math.pi, TWO_PI), value[0])
    single_on = torch.where(t.react, go, stim1_start)
    single_off = torch.where(t.brief, stim1_end, end)

    # decisions: two angles, strengths `mean +- coherence * sign` (ring 1; Ctx: ring 2 too)
    second_angle = torch.remainder(value[0] + value[1] * sign[2], TWO_PI)
    coherence = t.coherences[t.task, pick[4]] * sign[5]
    s1, s2 = value[3] + coherence, value[3] - coherence
    coherence_2 = t.coherences[t.task, pick[7]] * sign[8]
    s1_ring2, s2_ring2 = value[6] + coherence_2, value[6] - coherence_2
    split_1 = s1 * value[6] * sign[7]  # MultSen: each strength split between the rings
    split_2 = s2 * value[8] * sign[9]
    # DM 1 and 2: the stimuli on the attended ring only
    plain_1 = (torch.where(t.attend_2, zero, s1), torch.where(t.attend_2, s1, zero))
    plain_2 = (torch.where(t.attend_2, zero, s2), torch.where(t.attend_2, s2, zero))
    s1_by_ring = (
        torch.where(t.multi, s1 + split_1 / 2, torch.where(t.context, s1, plain_1[0])),
        torch.where(t.multi, s1 - split_1 / 2, torch.where(t.context, s1_ring2, plain_1[1])),
    )
    s2_by_ring = (
        torch.where(t.multi, s2 + split_2 / 2, torch.where(t.context, s2, plain_2[0])),
        torch.where(t.multi, s2 - split_2 / 2, torch.where(t.context, s2_ring2, plain_2[1])),
    )
    evidence = (torch.where(t.context_2, s1_ring2, s1), torch.where(t.context_2, s2_ring2, s2))
    decision_target = torch.where(evidence[0] > evidence[1], value[0], second_angle)
    first_off = torch.where(t.delayed, stim1_end, go)
    second_on = torch.where(t.delayed, stim2_start, stim1_start)
    second_off = torch.where(t.delayed, stim2_end, go)

    # matching: a sample and a test, from the grid (DMC, DNMC) or apart unless they match
    drawn_match = pick[2].bool()
    grid_1, grid_2 = t.grid[pick[2]], t.grid[pick[3]]
    apart = value[4] * sign[5] * (~drawn_match).float()
    sample = torch.where(t.category, grid_1, value[3])
    test = torch.where(t.category, grid_2, torch.remainder(value[3] + apart, TWO_PI))
    match = torch.where(t.category, (grid_1 < math.pi) == (grid_2 < math.pi), drawn_match)

    # the stimuli, four slots (`Stimuli`), each family's in its own: [4, B] per field
    zero_step, one_ring, one = torch.zeros_like(go), torch.ones_like(go), torch.ones_like(zero)
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
    fields = {
        name: torch.where(
            t.single,
            torch.stack(single[:n]),
            torch.where(t.decision, torch.stack(decision[:n]), torch.stack(matching[:n])),
        )
        for name, (single, decision, matching) in by_family.items()
    }
    target = torch.where(t.single, single_target, torch.where(t.decision, decision_target, test))
    respond = t.always | (match == t.respond_on_match)
    plan = TrialPlan(Stimuli(**fields), torch.where(t.holds, end, go), respond, target, go, end)

    # each task's facts: views of its rows
    shared = {"respond": respond, "angle": target, "go": go}
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
    return plan, TaskFacts(t.families, counts, facts_of, shared)


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
