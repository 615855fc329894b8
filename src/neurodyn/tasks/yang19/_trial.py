"""Shared trial machinery of the Yang et al. (2019) battery: the common input and output
layout, loss mask and performance (`Yang19Task`), the ring stimuli of a trial (`Stimuli`), and
the random draws every task family makes.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from neurodyn.errors import ConfigError
from neurodyn.tasks._base import (
    Batch,
    Draws,
    Duration,
    GeneratorDraws,
    Task,
    at_step,
    between,
    constant_tensor,
    ensemble_view,
)
from neurodyn.tasks.ring import (
    BUMP_HEIGHT,
    CORRECT_WITHIN,
    TARGET_BASELINE,
    circular_distance,
    population_vector,
    ring_bump,
)

N_RING = 32
TWO_PI = 2 * math.pi
DT_MS = 20.0


def steps_ms(low: float, high: float, dt: float = DT_MS) -> tuple[float, ...]:
    """`int(uniform(low, high) / dt) * dt` as equally likely choices (ms)."""
    return tuple(float(ms) for ms in range(int(low), int(high), int(dt)))


def draw_uniform(draws: Draws, low: float, high: float) -> Tensor:
    """`[B]` values uniform on [low, high)."""
    return draws.uniform(low, high)


def draw_sign(draws: Draws) -> Tensor:
    """`[B]` signs, -1 or +1 with equal chance."""
    return draw_choice(draws, (-1.0, 1.0))


def draw_choice(draws: Draws, values: tuple[float, ...], *, per_batch: bool = False) -> Tensor:
    """`[B]` values drawn from `values` with equal chance."""
    table = constant_tensor(values, torch.float32, draws.device)
    return table[draws.integers(len(values), per_batch=per_batch)]


def draw_modality(draws: Draws, *, per_batch: bool = False) -> Tensor:
    """0 or 1: which ring a stimulus is shown on."""
    return draws.integers(2, per_batch=per_batch)


TIMINGS = ("per_trial", "per_batch")


@dataclass(frozen=True)
class Yang19Task(Task):
    """Shared machinery of the battery; each task says what it shows and what it asks."""

    paper_name: ClassVar[str]
    epoch_names: ClassVar[tuple[str, ...]]  # in order; each has a field `<epoch>_ms`
    # The epochs as task periods: the names of the public codes of Yang et al. and of Driscoll
    # et al. (its fork) are the same, and so are the periods (Driscoll's `take_names`).
    periods: ClassVar[dict[str, str] | None] = {
        "fix1": "context",
        "stim1": "stimulus",
        "delay1": "memory",
        "stim2": "stimulus",
        "delay2": "memory",
        "go1": "response",
    }
    n_ring: ClassVar[int] = N_RING
    n_rings: ClassVar[int] = 2  # input rings (modalities); `n_inputs` is `1 + n_rings * n_ring`
    n_inputs: ClassVar[int] = 1 + 2 * N_RING
    n_outputs: ClassVar[int] = 1 + N_RING
    loss: ClassVar = "mse"

    input_noise: float = 0.01 * math.sqrt(2 / 0.2)
    ignore_first_ms: float = 100.0
    grace_ms: float = 100.0
    response_weight: float = 5.0
    fixation_weight: float = 2.0
    # 'per_trial': each trial draws its own epoch durations (and stimulus rings); 'per_batch':
    # one draw serves the whole batch, as the public code's 'random' mode does
    timing: str = "per_trial"

    def __post_init__(self) -> None:
        if self.timing not in TIMINGS:
            raise ConfigError(
                f"{self.name}: timing must be 'per_trial' or 'per_batch', got {self.timing!r}"
            )
        super().__post_init__()

    def epoch_durations_ms(self) -> dict[str, Duration]:
        return {e: getattr(self, f"{e}_ms") for e in self.epoch_names}

    @property
    def _timing_per_batch(self) -> bool:
        return self.timing == "per_batch"

    def _draw_modality(self, draws: Draws) -> Tensor:
        """`[B]` ring (0 or 1) of a stimulus of the Go, Anti and matching families: per trial,
        or one per batch (the public code's `rng.choice([1, 2])`) with `per_batch` timing."""
        return draw_modality(draws, per_batch=self._timing_per_batch)

    def draw_trials(
        self,
        draws: Draws,
        epochs: tuple[dict[str, tuple[Tensor, Tensor]], Tensor] | None = None,
    ) -> tuple[dict[str, tuple[Tensor, Tensor]], Tensor, TrialPlan, dict[str, Tensor]]:
        """A batch's trials as drawn, not yet painted: every random value read from `draws`
        (one `[B]` value per draw), the epoch durations first, one draw per epoch, unless
        `epochs` gives them (as `_draw_epochs` would have drawn them; `draws` then goes on
        after them). Returns the epochs' `(start, end)`, the trials' ends `[B]`, what the
        trials show and ask (`TrialPlan`) and the per-trial facts; a `Multitask` on stream 2
        paints the trials of all its tasks at once (`paint`)."""
        bounds, end = self._draw_epochs(draws) if epochs is None else epochs
        plan, facts = self._plan(bounds, end, draws)
        return bounds, end, plan, facts

    # The trials of several tasks of the battery drawn in one pass from a stream-2 block:
    # the plan of the whole batch and each task's facts, as each task's `draw_trials` draws
    # them (`_together.draw_together`). Set by that module, which reads the task families,
    # whose modules import this one.
    draw_together: ClassVar[Callable[..., tuple[TrialPlan, Sequence[dict[str, Tensor]]] | None]]

    @staticmethod
    def merge_plans(plans: list[TrialPlan]) -> TrialPlan:
        """`merge_plans`: several batches' plans as one, to paint at once."""
        return merge_plans(plans)

    def paint_key(self) -> tuple[object, ...]:
        """What `paint` reads of the task: tasks with equal keys paint as one batch."""
        return (
            self.n_ring,
            self.n_rings,
            self.n_inputs,
            self.n_outputs,
            self.dt_ms,
            self.ignore_first_ms,
            self.grace_ms,
            self.response_weight,
            self.fixation_weight,
        )

    # -- what each task declares --------------------------------------------------------------
    def _show(
        self, bounds: dict[str, tuple[Tensor, Tensor]], end: Tensor, draws: Draws
    ) -> tuple[Stimuli, Tensor, Tensor, Tensor, dict[str, Tensor]]:
        """The stimuli and the demand of each trial.

        Returns the ring stimuli (`Stimuli`, `S` per trial), `fixation_off [B]` (step the
        fixation input goes off; `end` when it stays on), `respond [B]` (bool: the trial asks
        for a saccade at the go cue), `target [B]` (response angle; any value where `respond`
        is false) and per-trial facts.
        """
        raise NotImplementedError

    # -- shared -------------------------------------------------------------------------------
    def _go(self, bounds: dict[str, tuple[Tensor, Tensor]]) -> Tensor:
        # The go cue opens the response epoch, which is every task's last.
        return bounds[self.epoch_names[-1]][0]

    def _plan(
        self, bounds: dict[str, tuple[Tensor, Tensor]], end: Tensor, draws: Draws
    ) -> tuple[TrialPlan, dict[str, Tensor]]:
        stimuli, fixation_off, respond, target, facts = self._show(bounds, end, draws)
        go = self._go(bounds)
        plan = TrialPlan(stimuli, fixation_off, respond, target, go, end)
        return plan, {**facts, "respond": respond, "angle": target, "go": go}

    def _fill(self, bounds, end, generator):
        # Stream 1: the stimuli's draws, then the noise over the whole `[T, B, I]`, in the
        # same order as ever, so a seed gives the same trials. The noise is drawn straight into
        # the input tensor, saving an allocation (which at these sizes can cost page faults);
        # adding the signal to it gives the same floats as adding it to the signal did.
        plan, facts = self._plan(bounds, end, GeneratorDraws(generator, end.shape[0]))
        shape = (self.n_steps, end.shape[0], self.n_inputs)
        x = torch.randn(shape, generator=generator, device=end.device)
        x *= self.input_noise
        y, mask = self.paint(plan, x, noisy=True)
        return x, y, mask, facts

    def paint(self, plan: TrialPlan, x: Tensor, *, noisy: bool) -> tuple[Tensor, Tensor]:
        """Add the trials' inputs to `x [T, B, I]` (in place; zeros, or the input noise when
        `noisy`, which is then cut at each trial's end) and return the targets `y [T, B, O]`
        and the loss mask `mask [T, B, O]`."""
        n_steps, batch_size, _ = x.shape
        steps = self._steps_of(plan, n_steps)
        n_sets = steps.rings.shape[0] // batch_size
        trial = _trial_index(batch_size, x.device)
        at = ((steps.shows & (n_sets - 1)) * batch_size + trial).flatten()  # its set's rings
        rings = steps.rings.index_select(0, at).view(n_steps, batch_size, -1)  # [T, B, R n]
        x[..., 0] += steps.shows >= n_sets  # the fixation input on
        x[..., 1:] += rings
        if noisy:  # (the signal itself is zero after each trial's end)
            x *= steps.in_trial[..., None]
        return self._targets(plan, steps), self._mask(steps)

    def paint_batch(self, plan: TrialPlan, n_steps: int, rules: Tensor | None) -> PaintedBatch:
        """The trials of `plan` painted into new tensors in one pass, with rule inputs: the
        same `x`, `y` and `mask` as `paint` into zeros followed by each trial's rule input set
        while the trial lasts, bit for bit.

        Parameters
        ----------
        plan : TrialPlan
            The batch's trials (`B` of them).
        n_steps : int
            `T`, the batch's length (at least its longest trial).
        rules : Tensor [B, K] or None
            Each trial's rule inputs (one-hot) while it lasts; None for none.

        Returns
        -------
        PaintedBatch: `x [T, B, I + K]`, `y [T, B, O]` and `mask [T, B, O]`.
        """
        # A step of a trial shows one of a few input vectors: nothing after its end, else the
        # fixation input on or off, one of the 2^S sets of its stimuli, and its rule inputs.
        # Each trial's vectors are rows of one small table, and `x` is one gather from it,
        # rather than zeros written over piece by piece (the batch is megabytes, the table
        # a few hundred kilobytes).
        batch_size = plan.end.shape[0]
        device = plan.end.device
        steps = self._steps_of(plan, n_steps)
        n_sets = steps.rings.shape[0] // batch_size
        # `+ 0.0`: the rings as `0 + ring` (what adding them into zeros gives: +0.0 for -0.0)
        rings = (steps.rings + 0.0).view(1, n_sets, batch_size, -1)
        fixation = _fixation_column(n_sets, batch_size, device)  # [2, 2^S, B, 1]
        columns = [fixation, rings.expand(2, -1, -1, -1)]
        if rules is not None:
            columns.append(rules[None, None].expand(2, n_sets, -1, -1))
        width = sum(c.shape[-1] for c in columns)
        table = torch.empty(1 + 2 * n_sets * batch_size, width, device=device)
        table[0] = 0.0  # every step after a trial's end
        torch.cat(columns, dim=-1, out=table[1:].view(2, n_sets, batch_size, width))
        # table row `1 + (fixation on, set of stimuli, trial)`, that is `1 + shows * B + b`
        row = steps.shows * batch_size + _trial_index(batch_size, device) + 1
        at = torch.where(steps.in_trial, row, 0).flatten()
        x = table.index_select(0, at).view(n_steps, batch_size, width)
        return PaintedBatch(x, self._targets(plan, steps), self._mask(steps))

    def _steps_of(self, plan: TrialPlan, n_steps: int) -> _Steps:
        """What each step of each trial shows and asks (`_Steps`)."""
        # A batch of a few trials (a battery of 20 tasks gives each about 3 of 64) costs mostly
        # the fixed time of each tensor operation, so every window is made at once and every
        # bump in one call. A step's windows are the bits of one number (`_window_code`),
        # made from each window's two ends by one cumulative sum over time rather than by
        # comparing every step with every window's ends.
        device = plan.end.device
        stimuli, go, end = plan.stimuli, plan.go, plan.end
        n_stimuli = stimuli.angle.shape[0]
        zero = torch.zeros_like(go)
        # fixating up to it, responding from it (a trial that asks for no response: its end)
        fix_until = torch.where(plan.respond, go, end)
        first = torch.full_like(go, self._steps(self.ignore_first_ms))
        grace_end = go + self._steps(self.grace_ms)
        # bits 0 .. S - 1: stimulus s shown; then the fixation input on, inside the trial,
        # fixating, responding, scored at weight 1, scored at `response_weight`
        starts = torch.cat(
            [stimuli.on, torch.stack([zero, zero, zero, fix_until, first, grace_end])]
        )
        ends = torch.cat(
            [stimuli.off, torch.stack([plan.fixation_off, end, fix_until, end, go, end])]
        )
        code = _window_code(n_steps, starts, ends)  # [T, B]
        # the fields of a step's code: what it shows (its set of stimuli, plus 2^S with the
        # fixation input on), inside the trial, what it asks (0 the baseline, 1 fixation, 2
        # the response: fixating and responding never overlap), how it is scored (0 not, 1
        # at weight 1, 2 at `response_weight`: they never overlap either)
        shows = code & ((2 << n_stimuli) - 1)
        in_trial = (code & (2 << n_stimuli)) != 0
        asks = (code >> (n_stimuli + 2)) & 3
        weight_index = code >> (n_stimuli + 4)

        bumps = ring_bump(torch.cat([stimuli.angle, plan.target[None]]), self.n_ring)
        stimulus_bumps = bumps[:-1] * stimuli.strength[..., None]  # [S, B, n]
        on_ring = torch.nn.functional.one_hot(stimuli.ring.long(), self.n_rings).float()
        placed = (on_ring[..., None] * stimulus_bumps[:, :, None, :]).flatten(2)  # [S, B, R n]
        # The stimuli shown at each step, summed. A trial shows one of 2^S sets of its
        # stimuli at a step: the rings of every set are one small matrix product `[2^S, S] @
        # [S, B R n]`, and each step reads its set's row. Exact in any order of summation: a
        # ring unit gets at most two non-zero terms (two stimuli shown at once on one ring),
        # each a bump times 1.
        subsets, _ = _subsets(n_stimuli, device)  # [2^S, S] float
        by_set = (subsets @ placed.flatten(1)).view(-1, self.n_rings * self.n_ring)  # [2^S B, R n]
        return _Steps(in_trial, shows, asks, weight_index, bumps[-1], by_set)

    def _targets(self, plan: TrialPlan, steps: _Steps) -> Tensor:
        """`y [T, B, O]`: fixation while it should be held, the response bump once asked,
        the baseline elsewhere."""
        # A step asks for one of three outputs: the baseline, fixation, or (trial b) the
        # response bump; `y` is one gather from a table of them, rows [baseline, fixation,
        # response of trial 0, 1, ...] (the bump as `baseline + bump`, as when added).
        n_steps, batch_size = steps.in_trial.shape
        table = torch.full(
            (2 + batch_size, self.n_outputs), TARGET_BASELINE, device=plan.end.device
        )
        table[1, 0] = BUMP_HEIGHT
        table[2:, 1:] += steps.target_bump
        trial_row = _trial_index(batch_size, plan.end.device) + 2
        row = torch.where(steps.asks == 2, trial_row, steps.asks)
        return table.index_select(0, row.flatten()).view(n_steps, batch_size, self.n_outputs)

    def _mask(self, steps: _Steps) -> Tensor:
        """`mask [T, B, O]`: 0 for the first 100 ms, 1 to the go cue, 0 for the grace
        period, then `response_weight`; the fixation output's weighted by `fixation_weight`."""
        # weight `held + response_weight * scored` of each step, by its index
        held, scored = _weight_bits(steps.weight_index.device)
        weights = held + self.response_weight * scored  # [4]
        weight = weights[steps.weight_index]  # [T, B]
        device = weight.device
        return weight[..., None] * _output_weights(self.n_outputs, self.fixation_weight, device)

    def performance(self, outputs: Tensor, batch: Batch) -> Tensor:
        """Fraction of trials done right, by our criterion: the fixation output above 0.5
        from 100 ms to the go cue, and the paper's criterion at the last step
        (`performance_paper`). Stricter than the paper's, which is what a subject is asked.

        Parameters
        ----------
        outputs : Tensor [T, B, O] or [T, E, B, O]
            Network outputs for `batch`.

        Returns
        -------
        Tensor [] or [E]
        """
        outputs, trial, squeeze = ensemble_view(outputs, batch)
        n_steps = outputs.shape[0]
        first = torch.full_like(trial["go"], self._steps(self.ignore_first_ms))
        should_fix = between(n_steps, first, trial["go"])
        fix_held = ((outputs[..., 0] > 0.5) | ~should_fix).all(0)
        perf = (fix_held & self._right_at_the_end(outputs, trial)).float().mean(-1)
        return perf[0] if squeeze else perf

    def performance_paper(self, outputs: Tensor, batch: Batch) -> Tensor:
        """Fraction of trials done right by the paper's criterion (public code, `network.py`
        `get_perf`): the last step only. A trial that asks to hold fixation is right if the
        fixation output is above 0.5; one that asks for a saccade, if it is not and the
        population vector of the response ring (`population_vector`) is within 0.2 pi of the
        target. What happens before the last step is not looked at.

        Parameters
        ----------
        outputs : Tensor [T, B, O] or [T, E, B, O]
            Network outputs for `batch`.

        Returns
        -------
        Tensor [] or [E]
        """
        outputs, trial, squeeze = ensemble_view(outputs, batch)
        perf = self._right_at_the_end(outputs, trial).float().mean(-1)
        return perf[0] if squeeze else perf

    def _right_at_the_end(self, outputs: Tensor, trial: dict[str, Tensor]) -> Tensor:
        """`[E, B]`: the trial's last step is right (fixating or saccading as asked)."""
        final = at_step(outputs, trial["end"] - 1)
        fixating = final[..., 0] > 0.5
        close = (
            circular_distance(population_vector(final[..., 1:]), trial["angle"]) < CORRECT_WITHIN
        )
        return torch.where(trial["respond"], ~fixating & close, fixating)


@functools.lru_cache(maxsize=16)
def _subsets(n_stimuli: int, device: torch.device) -> tuple[Tensor, Tensor]:
    """Every set of `n_stimuli` stimuli, `[2^S, S]` (1.0 where set k holds stimulus s, k's
    bit s), and the bits' values `[S, 1]`: a step showing the stimuli in `shown [S]` shows set
    `sum(shown * bits)`."""
    powers = 2 ** torch.arange(n_stimuli)
    members = (torch.arange(2**n_stimuli)[:, None] & powers) > 0
    return members.float().to(device), powers[:, None].to(device)


def _window_code(n_steps: int, starts: Tensor, ends: Tensor) -> Tensor:
    """`[T, B]` long: bit w set where `starts[w] <= t < ends[w]` (`starts, ends [W, B]`
    steps, W < 63; ends at most T), as `between` gives each window.

    Each window adds `2^w` at its start and takes it away at its end (at its start too when
    it ends first: an empty window), and a cumulative sum over time adds up the windows open
    at each step.
    """
    n_windows, batch_size = starts.shape
    values = _window_values(n_windows, starts.device)  # [2 W, 1]: 2^w, then -2^w
    events = torch.zeros(n_steps + 1, batch_size, dtype=torch.long, device=starts.device)
    at = torch.cat([torch.minimum(starts, ends), ends])
    events.scatter_add_(0, at, values.expand(-1, batch_size))
    return events[:n_steps].cumsum(0)


@functools.lru_cache(maxsize=16)
def _window_values(n_windows: int, device: torch.device) -> Tensor:
    """`[2 W, 1]` long: `2^w` for each window's start, then `-2^w` for its end."""
    powers = 2 ** torch.arange(n_windows, device=device)
    return torch.cat([powers, -powers])[:, None]


@functools.lru_cache(maxsize=16)
def _weight_bits(device: torch.device) -> tuple[Tensor, Tensor]:
    """`[4]` float32 each: whether a step of weight index 0 .. 3 is held, and scored."""
    held = torch.tensor([0.0, 1.0, 0.0, 1.0], device=device)
    return held, torch.tensor([0.0, 0.0, 1.0, 1.0], device=device)


@functools.lru_cache(maxsize=16)
def _trial_index(batch_size: int, device: torch.device) -> Tensor:
    """`arange(batch_size)`, made once: painting reads it every batch."""
    return torch.arange(batch_size, device=device)


@functools.lru_cache(maxsize=16)
def _fixation_column(n_sets: int, batch_size: int, device: torch.device) -> Tensor:
    """`[2, n_sets, B, 1]`: 0.0, then 1.0 (the fixation input off, then on), made once."""
    column = torch.tensor([0.0, 1.0], device=device).view(2, 1, 1, 1)
    return column.expand(2, n_sets, batch_size, 1)


@dataclass(frozen=True)
class _Steps:
    """What each step of a batch's trials shows and asks (`Yang19Task._steps_of`), `[T, B]`
    unless said: inside the trial (bool); what it shows, `set + 2^S * fixation_on` (its set
    of stimuli, k holding stimulus s where bit s of k is set); what it asks (0 the baseline,
    1 fixation, 2 the response); how it is scored (0 not, 1 at weight 1, 2 at
    `response_weight`); the response bump `[B, n]`; the rings of each set of stimuli a trial
    can show, `rings [2^S B, R n]` (row `set * B + b`)."""

    in_trial: Tensor
    shows: Tensor
    asks: Tensor
    weight_index: Tensor
    target_bump: Tensor
    rings: Tensor


@dataclass(frozen=True)
class PaintedBatch:
    """A batch painted in one pass (`Yang19Task.paint_batch`): `x [T, B, I]`, `y [T, B, O]`
    and `mask [T, B, O]`."""

    x: Tensor
    y: Tensor
    mask: Tensor


@functools.lru_cache(maxsize=16)
def _output_weights(n_outputs: int, fixation_weight: float, device: torch.device) -> Tensor:
    """`[O]`: the fixation output's loss weight, then 1 for every response unit."""
    weights = torch.ones(n_outputs, device=device)
    weights[0] = fixation_weight
    return weights


@dataclass(frozen=True)
class Stimuli:
    """The ring stimuli of a batch, `S` per trial.

    Each field is `[S, B]`: stimulus s of trial b is a bump at `angle[s, b]`, scaled by
    `strength[s, b]`, shown on ring `ring[s, b]` (0 or 1) from step `on[s, b]` to `off[s, b]`
    (exclusive).
    """

    on: Tensor
    off: Tensor
    angle: Tensor
    strength: Tensor
    ring: Tensor


def make_stimuli(*each: tuple[Tensor, Tensor, Tensor, Tensor, Tensor]) -> Stimuli:
    """`Stimuli` from one `(on, off, angle, strength, ring)` of `[B]` tensors per stimulus."""
    return Stimuli(*(torch.stack(column) for column in zip(*each, strict=True)))


def full_strength(b: int, device) -> Tensor:
    """Strength 1 for each of `b` trials: a stimulus shown at full strength."""
    return torch.ones(b, device=device)


@dataclass(frozen=True)
class TrialPlan:
    """What a batch's trials show and ask, before they are painted into tensors: the ring
    stimuli (`[S, B]` fields), and `[B]` the step the fixation input goes off, whether the
    trial asks for a saccade, the response angle, the go cue and the trial's end."""

    stimuli: Stimuli
    fixation_off: Tensor
    respond: Tensor
    target: Tensor
    go: Tensor
    end: Tensor


def merge_plans(plans: list[TrialPlan]) -> TrialPlan:
    """The plans of several batches as one, trials concatenated along B; stimuli padded to
    the most any trial has with stimuli that are never shown (on = off = 0, strength 0)."""
    n_stimuli = max(p.stimuli.angle.shape[0] for p in plans)

    def padded(t: Tensor) -> Tensor:
        return torch.cat([t, t.new_zeros(n_stimuli - t.shape[0], t.shape[1])])

    stimuli = Stimuli(
        *(
            torch.cat([padded(getattr(p.stimuli, f)) for p in plans], dim=1)
            for f in ("on", "off", "angle", "strength", "ring")
        )
    )
    return TrialPlan(
        stimuli,
        *(
            torch.cat([getattr(p, f) for p in plans])
            for f in ("fixation_off", "respond", "target", "go", "end")
        ),
    )
