"""Shared trial machinery of the Yang et al. (2019) battery: the common input and output
layout, loss mask and performance (`Yang19Task`), the ring stimuli of a trial (`Stimuli`), and
the random draws every task family makes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from neurodyn.tasks._base import (
    Batch,
    Duration,
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


def draw_uniform(b: int, low: float, high: float, g: torch.Generator, device) -> Tensor:
    """`[b]` values uniform on [low, high)."""
    return low + (high - low) * torch.rand(b, generator=g, device=device)


def draw_sign(b: int, g: torch.Generator, device) -> Tensor:
    """`[b]` signs, -1 or +1 with equal chance."""
    return draw_choice((-1.0, 1.0), b, g, device)


def draw_choice(values: tuple[float, ...], b: int, g: torch.Generator, device) -> Tensor:
    """`[b]` values drawn from `values` with equal chance."""
    table = constant_tensor(values, torch.float32, device)
    return table[torch.randint(len(values), (b,), generator=g, device=device)]


def draw_modality(b: int, g: torch.Generator, device) -> Tensor:
    """0 or 1: which ring a stimulus is shown on."""
    return torch.randint(0, 2, (b,), generator=g, device=device)


@dataclass(frozen=True)
class Yang19Task(Task):
    """Shared machinery of the battery; each task says what it shows and what it asks."""

    paper_name: ClassVar[str]
    epoch_names: ClassVar[tuple[str, ...]]  # in order; each has a field `<epoch>_ms`
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

    def epoch_durations_ms(self) -> dict[str, Duration]:
        return {e: getattr(self, f"{e}_ms") for e in self.epoch_names}

    # -- what each task declares --------------------------------------------------------------
    def _show(
        self, bounds: dict[str, tuple[Tensor, Tensor]], end: Tensor, g: torch.Generator
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

    def _fill(self, bounds, end, generator):
        # A batch of a few trials (a battery of 20 tasks gives each about 3 of 64) costs mostly
        # the fixed time of each tensor operation, so this makes every window in one
        # comparison and every bump in one call. The random draws (in `_show`, then the noise
        # over the whole `[T, B, I]`) are in the same order as ever, so a seed gives the same
        # trials.
        n_steps, batch_size = self.n_steps, end.shape[0]
        device = end.device
        stimuli, fixation_off, respond, target, facts = self._show(bounds, end, generator)
        n_stimuli = stimuli.angle.shape[0]
        go = self._go(bounds)
        zero = torch.zeros_like(go)
        fix_until = torch.where(respond, go, end)
        first = torch.full_like(go, self._steps(self.ignore_first_ms))
        grace_end = go + self._steps(self.grace_ms)
        starts = torch.cat([stimuli.on, torch.stack([zero, zero, zero, go, first, grace_end])])
        ends = torch.cat([stimuli.off, torch.stack([end, fixation_off, fix_until, end, go, end])])
        windows = between(n_steps, starts, ends)  # [T, S + 6, B]
        shown = windows[:, :n_stimuli]
        in_trial, fixation_on, fixating, after_go, held, scored = windows[:, n_stimuli:].unbind(1)

        bumps = ring_bump(torch.cat([stimuli.angle, target[None]]), self.n_ring)  # [S + 1, B, n]
        stimulus_bumps = bumps[:-1] * stimuli.strength[..., None]
        on_ring = torch.nn.functional.one_hot(stimuli.ring.long(), self.n_rings).float()
        placed = (on_ring[..., None] * stimulus_bumps[:, :, None, :]).flatten(2)  # [S, B, R n]
        # The stimuli shown at each step, summed: `rings[b] = shown[b] @ placed[b]`, with
        # `shown` as `[B, T, S]`. Exact in any order of summation: a ring unit gets at most
        # two non-zero terms (two stimuli shown at once on one ring), each a bump times 1.
        rings = torch.bmm(shown.float().permute(2, 0, 1), placed.transpose(0, 1))  # [B, T, R n]

        # The noise is drawn straight into the input tensor, saving an allocation (which at
        # these sizes can cost page faults); adding the signal to it gives the same floats as
        # adding it to the signal did, as addition commutes.
        x = torch.randn(n_steps, batch_size, self.n_inputs, generator=generator, device=device)
        x *= self.input_noise
        x[..., 0] += fixation_on
        x[..., 1:] += rings.transpose(0, 1)
        x *= in_trial[..., None]

        y = torch.full((n_steps, batch_size, self.n_outputs), TARGET_BASELINE, device=device)
        y[..., 0] = torch.where(fixating, BUMP_HEIGHT, TARGET_BASELINE)
        responding = after_go & respond[None]
        y[..., 1:] += responding[..., None] * bumps[-1][None]

        mask = held.float() + self.response_weight * scored.float()
        mask = mask[..., None].expand(-1, -1, self.n_outputs).clone()
        mask[..., 0] *= self.fixation_weight
        facts = {**facts, "respond": respond, "angle": target, "go": go}
        return x, y, mask, facts

    def performance(self, outputs: Tensor, batch: Batch) -> Tensor:
        outputs, trial, squeeze = ensemble_view(outputs, batch)
        n_steps = outputs.shape[0]
        first = torch.full_like(trial["go"], self._steps(self.ignore_first_ms))
        should_fix = between(n_steps, first, trial["go"])
        fix_held = ((outputs[..., 0] > 0.5) | ~should_fix).all(0)
        final = at_step(outputs, trial["end"] - 1)
        fixating = final[..., 0] > 0.5
        close = (
            circular_distance(population_vector(final[..., 1:]), trial["angle"]) < CORRECT_WITHIN
        )
        right = torch.where(trial["respond"], ~fixating & close, fixating)
        perf = (fix_held & right).float().mean(-1)
        return perf[0] if squeeze else perf


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
