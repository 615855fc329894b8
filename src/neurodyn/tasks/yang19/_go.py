"""Go, RT Go, Dly Go and their Anti versions (Yang et al. 2019): one stimulus; respond at it or
opposite it."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from neurodyn.tasks._base import Duration
from neurodyn.tasks.yang19._trial import (
    N_RING,
    TWO_PI,
    Yang19Task,
    draw_uniform,
    full_strength,
    make_stimuli,
    steps_ms,
)

# Durations the public code draws as int(uniform(low, high) / dt): every step equally likely.
MS_300_700 = steps_ms(300, 700)
MS_500_1500 = steps_ms(500, 1500)
MS_500_2500 = steps_ms(500, 2500)


# -- Go, RT Go, Dly Go and their Anti versions: one stimulus, respond at or opposite it --------
@dataclass(frozen=True)
class _SingleStimulus(Yang19Task):
    anti: ClassVar[bool] = False

    def _window(self, bounds, end) -> tuple[Tensor, Tensor]:
        """When the stimulus is shown."""
        raise NotImplementedError

    def _fixation_off(self, bounds, end) -> Tensor:
        return self._go(bounds)

    def _show(self, bounds, end, draws):
        b, device = end.shape[0], end.device
        angle = draw_uniform(draws, 0.0, TWO_PI)
        # One input ring has no modality to draw (and so draws nothing for it).
        if self.n_rings == 1:
            modality = torch.zeros(b, dtype=torch.long, device=device)
        else:
            modality = self._draw_modality(draws)
        stimuli = make_stimuli(
            (*self._window(bounds, end), angle, full_strength(b, device), modality)
        )
        target = torch.remainder(angle + math.pi, TWO_PI) if self.anti else angle
        respond = torch.ones(b, dtype=torch.bool, device=device)
        facts = {"stim_angle": angle, "modality": modality}
        return stimuli, self._fixation_off(bounds, end), respond, target, facts


@dataclass(frozen=True)
class _GoFamily(_SingleStimulus):
    """The stimulus appears and stays; respond when the fixation input goes off."""

    epoch_names: ClassVar[tuple[str, ...]] = ("fix1", "stim1", "go1")
    fix1_ms: Duration = MS_300_700
    stim1_ms: Duration = MS_500_1500
    go1_ms: Duration = 500.0

    def _window(self, bounds, end):
        return bounds["stim1"][0], end


@dataclass(frozen=True)
class Go(_GoFamily):
    """Go (Yang et al. 2019; code `fdgo`): a stimulus appears and stays; when the fixation
    input goes off, saccade to it.

    fix1 (300-700 ms) | stim1 (500-1500 ms) | go1 (500 ms); stimulus on from stim1 to the end.
    """

    name: ClassVar[str] = "fdgo"
    paper_name: ClassVar[str] = "Go"
    description: ClassVar[str] = "Yang19 Go: respond towards the stimulus when fixation goes off"


@dataclass(frozen=True)
class Anti(_GoFamily):
    """Anti (Yang et al. 2019; code `fdanti`): as Go, but saccade opposite the stimulus.

    fix1 (300-700 ms) | stim1 (500-1500 ms) | go1 (500 ms).
    """

    name: ClassVar[str] = "fdanti"
    paper_name: ClassVar[str] = "Anti"
    description: ClassVar[str] = "Yang19 Anti: respond opposite the stimulus when fixation goes off"
    anti: ClassVar[bool] = True


@dataclass(frozen=True)
class _ReactFamily(_SingleStimulus):
    """The fixation input stays on; respond as soon as the stimulus appears."""

    epoch_names: ClassVar[tuple[str, ...]] = ("fix1", "go1")
    fix1_ms: Duration = MS_500_2500
    go1_ms: Duration = 500.0

    def _window(self, bounds, end):
        return self._go(bounds), end

    def _fixation_off(self, bounds, end):
        return end


@dataclass(frozen=True)
class ReactGo(_ReactFamily):
    """RT Go (Yang et al. 2019; code `reactgo`): the fixation input stays on; saccade to the
    stimulus as soon as it appears (the stimulus onset is the go cue).

    fix1 (500-2500 ms) | go1 (500 ms, stimulus on).
    """

    name: ClassVar[str] = "reactgo"
    paper_name: ClassVar[str] = "RT Go"
    description: ClassVar[str] = "Yang19 RT Go: respond towards the stimulus as soon as it appears"


@dataclass(frozen=True)
class ReactAnti(_ReactFamily):
    """RT Anti (Yang et al. 2019; code `reactanti`): as RT Go, opposite the stimulus.

    fix1 (500-2500 ms) | go1 (500 ms, stimulus on).
    """

    name: ClassVar[str] = "reactanti"
    paper_name: ClassVar[str] = "RT Anti"
    description: ClassVar[str] = (
        "Yang19 RT Anti: respond opposite the stimulus as soon as it appears"
    )
    anti: ClassVar[bool] = True


@dataclass(frozen=True)
class _DelayedResponse(_SingleStimulus):
    """A brief stimulus, a delay, then the go cue. Epochs, in order: fixation, stimulus, delay,
    response (named by each task)."""

    def _window(self, bounds, end):
        return bounds[self.epoch_names[1]]


@dataclass(frozen=True)
class _DelayFamily(_DelayedResponse):
    epoch_names: ClassVar[tuple[str, ...]] = ("fix1", "stim1", "delay1", "go1")
    fix1_ms: Duration = (300.0, 500.0, 700.0)
    stim1_ms: Duration = (200.0, 400.0, 600.0)
    delay1_ms: Duration = (200.0, 400.0, 800.0, 1600.0)
    go1_ms: Duration = 500.0


@dataclass(frozen=True)
class DelayGo(_DelayFamily):
    """Dly Go (Yang et al. 2019; code `delaygo`): remember a brief stimulus through a delay,
    saccade to it when fixation goes off.

    fix1 (300/500/700) | stim1 (200/400/600) | delay1 (200/400/800/1600) | go1 (500 ms).
    """

    name: ClassVar[str] = "delaygo"
    paper_name: ClassVar[str] = "Dly Go"
    description: ClassVar[str] = (
        "Yang19 Dly Go: remember a stimulus, respond towards it after a delay"
    )


@dataclass(frozen=True)
class DelayAnti(_DelayFamily):
    """Dly Anti (Yang et al. 2019; code `delayanti`): as Dly Go, opposite the stimulus.

    fix1 (300/500/700) | stim1 (200/400/600) | delay1 (200/400/800/1600) | go1 (500 ms).
    """

    name: ClassVar[str] = "delayanti"
    paper_name: ClassVar[str] = "Dly Anti"
    description: ClassVar[str] = (
        "Yang19 Dly Anti: remember a stimulus, respond opposite it after a delay"
    )
    anti: ClassVar[bool] = True


@dataclass(frozen=True)
class DelayedGo(_DelayedResponse):
    """Memory-guided saccade on one ring (`dlygo`): Dly Go with a single input ring and
    shorter epochs, so that it trains in minutes on a CPU.

    Inputs `[fixation, ring_1..ring_n]` (33): fixation is 1 until the go cue (the start of the
    response epoch); the stimulus bump is shown during the stimulus epoch only. Outputs, loss
    mask and performance are those of the battery (`Yang19Task`): squared error towards 0.8
    (fixation) before the go cue and a bump at the stimulus angle after it, 0.05 elsewhere; a
    mask of 0 for the first 100 ms, 1 until the go cue, 0 for a grace period, then
    `response_weight` (5), the fixation output counting double.

    fixation (200/400) | stimulus (200/400) | delay (200/400/800) | response (400 ms). The
    paper's Dly Go (`delaygo`) has 300-700, 200-600, 200-1600 and 500 ms; set them in a config
    to train this task at the paper's timing.
    """

    name: ClassVar[str] = "dlygo"
    paper_name: ClassVar[str] = "Dly Go"
    description: ClassVar[str] = (
        "memory-guided response on a ring: remember an angle, report it after a delay"
    )
    n_rings: ClassVar[int] = 1
    n_inputs: ClassVar[int] = 1 + N_RING
    epoch_names: ClassVar[tuple[str, ...]] = ("fixation", "stimulus", "delay", "response")

    fixation_ms: Duration = (200.0, 400.0)
    stimulus_ms: Duration = (200.0, 400.0)
    delay_ms: Duration = (200.0, 400.0, 800.0)
    response_ms: Duration = 400.0
