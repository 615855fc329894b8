"""Ring codes and the memory-guided response task on a ring (`dlygo`).

A ring of n units has preferred angles `2*pi*k/n`. A stimulus at angle theta drives unit k
with a Gaussian bump of the circular distance, as in the public code of Yang et al. 2019
(gyyang/multitask `task.py`): `0.8 * exp(-0.5 * (d / (pi/8))**2)`. Responses are read out by
the population vector.

Reference: Yang, Joglekar, Song, Newsome & Wang (2019), Nature Neuroscience 22, 297-306.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from neurodyn.tasks._base import Batch, Duration, Task, at_step, between, ensemble_view

BUMP_WIDTH = math.pi / 8
BUMP_HEIGHT = 0.8
TARGET_BASELINE = 0.05  # Yang et al. train every output towards 0.05 when it should be silent
CORRECT_WITHIN = 0.2 * math.pi


def preferred_angles(n_units: int, device: torch.device | None = None) -> Tensor:
    """Preferred angles `[n_units]` of a ring, evenly spaced from 0."""
    return torch.arange(n_units, device=device, dtype=torch.float32) * (2 * math.pi / n_units)


def circular_distance(a: Tensor, b: Tensor) -> Tensor:
    """Absolute angular distance in [0, pi], broadcasting `a` against `b`."""
    d = torch.remainder(a - b, 2 * math.pi)
    return torch.minimum(d, 2 * math.pi - d)


@functools.lru_cache(maxsize=16)
def _shared_preferred_angles(n_units: int, device: torch.device) -> Tensor:
    """`preferred_angles`, made once per size and device for the trial generators, which ask
    for them every batch and only read them."""
    return preferred_angles(n_units, device)


def ring_bump(angle: Tensor, n_units: int) -> Tensor:
    """Ring activity for stimuli at `angle [...]`: `[..., n_units]`, peaking at the angle."""
    d = circular_distance(angle[..., None], _shared_preferred_angles(n_units, angle.device))
    return BUMP_HEIGHT * torch.exp(-0.5 * (d / BUMP_WIDTH) ** 2)


def population_vector(activity: Tensor) -> Tensor:
    """Decode an angle in [0, 2 pi) from ring activity `[..., n_units]`: returns `[...]`."""
    pref = preferred_angles(activity.shape[-1], activity.device)
    sin = (activity * torch.sin(pref)).sum(-1)
    cos = (activity * torch.cos(pref)).sum(-1)
    return torch.remainder(torch.atan2(sin, cos), 2 * math.pi)


@dataclass(frozen=True)
class DelayedGo(Task):
    """Memory-guided saccade on a ring (Yang et al. 2019's "Dly Go", one modality).

    Inputs `[fixation, ring_1..ring_n]`: fixation is 1 until the go cue (the start of the
    response epoch); the stimulus bump is shown during the stimulus epoch only. Outputs
    `[fixation, ring_1..ring_n]`, trained by mean squared error towards 0.8 (fixation) before
    the go cue and a bump at the stimulus angle after it, 0.05 elsewhere.

    Loss mask as in Yang et al.'s public code: 0 for the first 100 ms, 1 until the go cue, 0 for
    a grace period after it, then `response_weight` (5); the fixation output counts double.

    Performance: the fixation output stays above 0.5 from 100 ms to the go cue, and at the last
    step of the response it is below 0.5 with the population vector of the ring output within
    0.2*pi of the stimulus. (Yang et al.'s code checks fixation only at the last step; we also
    require it to be held, which is what the task asks of a subject.)

    Epoch durations default to shorter choices than the paper's (300-700, 200-600, 200-1600,
    500 ms) so the task trains in minutes on a CPU; set them to the paper's in a config.
    """

    name: ClassVar[str] = "dlygo"
    description: ClassVar[str] = (
        "memory-guided response on a ring: remember an angle, report it after a delay"
    )
    n_ring: ClassVar[int] = 32
    n_inputs: ClassVar[int] = 1 + 32
    n_outputs: ClassVar[int] = 1 + 32
    loss: ClassVar = "mse"

    fixation_ms: Duration = (200.0, 400.0)
    stimulus_ms: Duration = (200.0, 400.0)
    delay_ms: Duration = (200.0, 400.0, 800.0)
    response_ms: Duration = 400.0
    input_noise: float = 0.01 * math.sqrt(2 / 0.2)  # Yang's sigma_x * sqrt(2/alpha), alpha=0.2
    ignore_first_ms: float = 100.0
    grace_ms: float = 100.0
    response_weight: float = 5.0
    fixation_weight: float = 2.0

    def epoch_durations_ms(self) -> dict[str, Duration]:
        return {
            "fixation": self.fixation_ms,
            "stimulus": self.stimulus_ms,
            "delay": self.delay_ms,
            "response": self.response_ms,
        }

    def _fill(self, bounds, end, generator):
        n_steps, batch_size = self.n_steps, end.shape[0]
        device = end.device
        angle = torch.rand(batch_size, generator=generator, device=device) * (2 * math.pi)
        go = bounds["response"][0]
        before_go = between(n_steps, torch.zeros_like(go), go)
        stimulus = between(n_steps, *bounds["stimulus"])
        response = between(n_steps, *bounds["response"])

        x = torch.zeros(n_steps, batch_size, self.n_inputs, device=device)
        x[..., 0] = before_go.float()
        x[..., 1:] = stimulus[..., None] * ring_bump(angle, self.n_ring)[None]
        x = x + self.input_noise * torch.randn(x.shape, generator=generator, device=device)
        x = x * between(n_steps, torch.zeros_like(end), end)[..., None]

        y = torch.full((n_steps, batch_size, self.n_outputs), TARGET_BASELINE, device=device)
        y[..., 0] = torch.where(before_go, BUMP_HEIGHT, TARGET_BASELINE)
        y[..., 1:] += response[..., None] * ring_bump(angle, self.n_ring)[None]

        first = self._steps(self.ignore_first_ms)
        grace_end = go + self._steps(self.grace_ms)
        mask = (
            between(n_steps, torch.full_like(go, first), go).float()
            + self.response_weight * between(n_steps, grace_end, end).float()
        )
        mask = mask[..., None].expand(-1, -1, self.n_outputs).clone()
        mask[..., 0] *= self.fixation_weight
        return x, y, mask, {"angle": angle}

    def performance(self, outputs: Tensor, batch: Batch) -> Tensor:
        outputs, trial, squeeze = ensemble_view(outputs, batch)
        n_steps = outputs.shape[0]
        first = torch.full_like(trial["response_start"], self._steps(self.ignore_first_ms))
        should_fix = between(n_steps, first, trial["response_start"])
        fix_held = ((outputs[..., 0] > 0.5) | ~should_fix).all(0)
        final = at_step(outputs, trial["end"] - 1)
        released = final[..., 0] < 0.5
        close = (
            circular_distance(population_vector(final[..., 1:]), trial["angle"]) < CORRECT_WITHIN
        )
        perf = (fix_held & released & close).float().mean(-1)
        return perf[0] if squeeze else perf
