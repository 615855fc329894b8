"""Shared trial machinery of the Driscoll, Shenoy & Sussillo (2024) task set: the input and
output layout, targets, loss mask and performance criterion every task of the set shares.

Facts from the paper's public code (lauradriscoll/flexible_multitask, `stepnet/task.py` and
`stepnet/network.py`; the code here is our own and vectorised):

- inputs `[fixation, modality 1 (A sin, A cos), modality 2 (A sin, A cos)]` (5): a stimulus at
  angle theta of strength A drives its modality's two inputs with `A (sin theta, cos theta)`
  (`Trial.add_x_loc`);
- outputs `[fixation, sin phi, cos phi]` (3): the targets are 0 everywhere (`loss_type='lsq'`),
  0.8 on the fixation output while the network should fixate, and `(sin phi, cos phi)` of the
  response angle phi from the go cue on (not scaled by the stimulus strength);
- loss mask (`Trial.add_c_mask`): 0 for the first 100 ms, 1 until the go cue, 0 for 100 ms,
  then 5 to the end; the fixation output counts double. The code's loss squares this mask
  with the error (`mean(((y - y_hat) c_mask)^2)`, `network.py`), so the weights it trains with
  are the squares, which `Batch.mask` holds (our losses weigh the squared error by the mask):
  1 then 25, the fixation output 4 and 100;
- input noise `sigma_x sqrt(2 / alpha)` with the paper's sigma_x = 0.1 and alpha = dt / tau =
  0.2 (`general_model_train.py`), about 0.316;
- performance (`network.get_perf`): at the last step of the trial, a trial that asks to hold
  fixation is right when the fixation output is above 0.5; any other when the fixation output
  is at most 0.5 and the read-out angle `atan2(sin, cos)` is within 0.1 pi of the target.

Where the public code draws one timing (or one modality, for the Go and Anti tasks) per batch,
we draw per trial, from the same distribution (as `neurodyn.tasks.yang19` does); trials of a
batch then end at different steps, and steps after a trial's end have zero input and mask.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from neurodyn.tasks._base import Batch, Task, at_step, between, ensemble_view
from neurodyn.tasks.ring import circular_distance
from neurodyn.tasks.yang19._trial import Stimuli

# The task periods of the paper (its `take_names`): each epoch of the public code is one.
PERIODS: dict[str, str] = {
    "fix1": "context",
    "stim1": "stimulus",
    "delay1": "memory",
    "stim2": "stimulus",
    "delay2": "memory",
    "go1": "response",
}
FIXATION_TARGET = 0.8
CORRECT_WITHIN = 0.1 * math.pi  # network.get_perf: dist < 0.1 pi
N_MODALITIES = 2


def draw_uniform(b: int, low: float, high: float, g: torch.Generator, device) -> Tensor:
    """`[b]` values uniform on [low, high)."""
    return low + (high - low) * torch.rand(b, generator=g, device=device)


def draw_sign(b: int, g: torch.Generator, device) -> Tensor:
    """`[b]` signs, -1 or +1 with equal chance."""
    return torch.randint(0, 2, (b,), generator=g, device=device).float() * 2 - 1


def draw_modality(b: int, g: torch.Generator, device) -> Tensor:
    """0 or 1: the modality a stimulus is shown on."""
    return torch.randint(0, 2, (b,), generator=g, device=device)


def readout_angle(outputs: Tensor) -> Tensor:
    """The response angle in [0, 2 pi) read from `(sin, cos)` outputs `[..., 2]`: `[...]`
    (the public code's `popvec`)."""
    return torch.remainder(torch.atan2(outputs[..., 0], outputs[..., 1]), 2 * math.pi)


@dataclass(frozen=True)
class Driscoll24Task(Task):
    """Shared machinery of the set; each task says what it shows and what it asks."""

    paper_name: ClassVar[str]
    code_name: ClassVar[str]
    epoch_names: ClassVar[tuple[str, ...]]  # in order; each has a field `<epoch>_ms`
    periods: ClassVar[dict[str, str] | None] = PERIODS
    n_inputs: ClassVar[int] = 1 + 2 * N_MODALITIES
    n_outputs: ClassVar[int] = 3
    loss: ClassVar = "mse"
    # Whether the fixation input goes off at the go cue (else it stays on: the React and
    # match tasks, whose go cue is a stimulus onset).
    fixation_off_at_go: ClassVar[bool] = True

    input_noise: float = 0.1 * math.sqrt(2 / 0.2)
    ignore_first_ms: float = 100.0
    grace_ms: float = 100.0
    # the code's c_mask weights (5 after the go cue, fixation x2), squared as its loss does
    response_weight: float = 25.0
    fixation_weight: float = 4.0

    def epoch_durations_ms(self):
        return {e: getattr(self, f"{e}_ms") for e in self.epoch_names}

    def _show(
        self, bounds: dict[str, tuple[Tensor, Tensor]], end: Tensor, g: torch.Generator
    ) -> tuple[Stimuli, Tensor, Tensor, dict[str, Tensor]]:
        """The stimuli and the demand of each trial: the stimuli (`Stimuli`, whose `ring` is
        the modality, 0 or 1), `respond [B]` (bool: the trial asks for a saccade at the go
        cue), `target [B]` (response angle; any value where `respond` is false) and per-trial
        facts."""
        raise NotImplementedError

    def _go(self, bounds: dict[str, tuple[Tensor, Tensor]]) -> Tensor:
        # The go cue opens the response epoch, every task's last.
        return bounds["go1"][0]

    def _fill(self, bounds, end, generator):
        n_steps, batch_size, device = self.n_steps, end.shape[0], end.device
        stimuli, respond, target, facts = self._show(bounds, end, generator)
        n_stimuli = stimuli.angle.shape[0]
        go = self._go(bounds)
        zero = torch.zeros_like(go)
        fixation_off = go if self.fixation_off_at_go else end
        fix_until = torch.where(respond, go, end)
        first = torch.full_like(go, self._steps(self.ignore_first_ms))
        grace_end = go + self._steps(self.grace_ms)
        starts = torch.cat([stimuli.on, torch.stack([zero, zero, zero, go, first, grace_end])])
        ends = torch.cat([stimuli.off, torch.stack([end, fixation_off, fix_until, end, go, end])])
        windows = between(n_steps, starts, ends).float()  # [T, S + 6, B]
        shown = windows[:, :n_stimuli]
        in_trial, fixation_on, fixating, after_go, held, scored = windows[:, n_stimuli:].unbind(1)

        # each stimulus as A (sin, cos) on its modality's pair of inputs: [S, B, 2 M]
        code = torch.stack([torch.sin(stimuli.angle), torch.cos(stimuli.angle)], -1)
        code = code * stimuli.strength[..., None]
        on_modality = torch.nn.functional.one_hot(stimuli.ring.long(), N_MODALITIES).float()
        placed = (on_modality[..., None] * code[:, :, None, :]).flatten(2)
        x = torch.randn(n_steps, batch_size, self.n_inputs, generator=generator, device=device)
        x *= self.input_noise
        x[..., 0] += fixation_on
        x[..., 1:] += torch.einsum("tsb,sbi->tbi", shown, placed)
        x *= in_trial[..., None]

        y = torch.zeros(n_steps, batch_size, self.n_outputs, device=device)
        y[..., 0] = FIXATION_TARGET * fixating
        response = torch.stack([torch.sin(target), torch.cos(target)], -1)  # [B, 2]
        y[..., 1:] = (after_go * respond[None].float())[..., None] * response[None]

        mask = held + self.response_weight * scored
        mask = mask[..., None].expand(-1, -1, self.n_outputs).clone()
        mask[..., 0] *= self.fixation_weight
        facts = {**facts, "respond": respond, "angle": target, "go": go}
        return x, y, mask, facts

    def performance(self, outputs: Tensor, batch: Batch) -> Tensor:
        outputs, trial, squeeze = ensemble_view(outputs, batch)
        final = at_step(outputs, trial["end"] - 1)  # [E, B, 3]
        fixating = final[..., 0] > 0.5
        close = circular_distance(readout_angle(final[..., 1:]), trial["angle"]) < CORRECT_WITHIN
        right = torch.where(trial["respond"], ~fixating & close, fixating)
        perf = right.float().mean(-1)
        return perf[0] if squeeze else perf
