"""The decision-making family of Yang et al. (2019): DM, Ctx DM, MultSen DM and their delayed
versions; two stimuli, choose the stronger."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from neurodyn.tasks._base import Draws, Duration
from neurodyn.tasks.yang19._trial import (
    TWO_PI,
    Yang19Task,
    draw_choice,
    draw_sign,
    draw_uniform,
    make_stimuli,
    steps_ms,
)

# Durations the public code draws as int(uniform(low, high) / dt): every step equally likely.
MS_100_400 = steps_ms(100, 400)
MS_100_300 = steps_ms(100, 300)


# -- decision making: two stimuli at once, choose the stronger ---------------------------------
def _two_strengths(draws: Draws, coherences: tuple[float, ...]) -> tuple[Tensor, Tensor]:
    """`mean +- coh * sign` with mean ~ U(0.8, 1.2): the strengths of stimuli 1 and 2."""
    mean = draw_uniform(draws, 0.8, 1.2)
    coherence = draw_choice(draws, coherences)
    sign = draw_sign(draws)
    return mean + coherence * sign, mean - coherence * sign


def _two_angles(draws: Draws) -> tuple[Tensor, Tensor]:
    """Stimulus 2 at least 90 degrees from stimulus 1 (distance U(pi/2, 3pi/2), either way)."""
    first = draw_uniform(draws, 0.0, TWO_PI)
    apart = draw_uniform(draws, 0.5 * math.pi, 1.5 * math.pi) * draw_sign(draws)
    return first, torch.remainder(first + apart, TWO_PI)


def _split_between_modalities(strength: Tensor, draws: Draws) -> tuple[Tensor, Tensor]:
    """MultSen tasks: a strength split unevenly between the two rings (total unchanged)."""
    diff = strength * draw_uniform(draws, 0.2, 0.8) * draw_sign(draws)
    return strength + diff / 2, strength - diff / 2


@dataclass(frozen=True)
class _DecisionFamily(Yang19Task):
    """Shared by DM, Ctx DM, MultSen DM and their delayed versions.

    `attend`: 0 or 1 (the ring that counts; `context` says whether the other ring shows
    distractors) or 2 (MultSen: both rings carry the evidence, summed).
    """

    attend: ClassVar[int] = 0
    context: ClassVar[bool] = False
    delayed: ClassVar[bool] = False

    def _stimulus_windows(self, bounds, end) -> tuple[tuple[Tensor, Tensor], tuple[Tensor, Tensor]]:
        if self.delayed:
            return bounds["stim1"], bounds["stim2"]
        window = (bounds["stim1"][0], self._go(bounds))
        return window, window

    def _show(self, bounds, end, draws):
        b, device = end.shape[0], end.device
        coherences = self.coherences  # type: ignore[attr-defined]
        angle1, angle2 = _two_angles(draws)
        if self.attend == 2:
            s1, s2 = _two_strengths(draws, coherences)
            s1_by_ring = _split_between_modalities(s1, draws)
            s2_by_ring = _split_between_modalities(s2, draws)
            evidence = (s1, s2)
        elif self.context:
            s1_by_ring, s2_by_ring = zip(
                *(_two_strengths(draws, coherences) for _ in range(2)), strict=True
            )
            evidence = (s1_by_ring[self.attend], s2_by_ring[self.attend])
        else:
            s1, s2 = _two_strengths(draws, coherences)
            zero = torch.zeros_like(s1)
            s1_by_ring = (s1, zero) if self.attend == 0 else (zero, s1)
            s2_by_ring = (s2, zero) if self.attend == 0 else (zero, s2)
            evidence = (s1, s2)
        first, second = self._stimulus_windows(bounds, end)
        ring1 = torch.zeros(b, dtype=torch.long, device=device)
        ring2 = torch.ones(b, dtype=torch.long, device=device)
        stimuli = make_stimuli(
            (*first, angle1, s1_by_ring[0], ring1),
            (*second, angle2, s2_by_ring[0], ring1),
            (*first, angle1, s1_by_ring[1], ring2),
            (*second, angle2, s2_by_ring[1], ring2),
        )
        target = torch.where(evidence[0] > evidence[1], angle1, angle2)
        respond = torch.ones(b, dtype=torch.bool, device=device)
        facts = {
            "stim1_angle": angle1,
            "stim2_angle": angle2,
            "stim1_strength": evidence[0],
            "stim2_strength": evidence[1],
            "stim1_strength_ring1": s1_by_ring[0],
            "stim1_strength_ring2": s1_by_ring[1],
            "stim2_strength_ring1": s2_by_ring[0],
            "stim2_strength_ring2": s2_by_ring[1],
        }
        return stimuli, self._go(bounds), respond, target, facts


@dataclass(frozen=True)
class ImmediateDecision(_DecisionFamily):
    epoch_names: ClassVar[tuple[str, ...]] = ("fix1", "stim1", "go1")
    coherences: tuple[float, ...] = (0.01, 0.02, 0.04, 0.08)
    fix1_ms: Duration = MS_100_400
    stim1_ms: Duration = (400.0, 800.0, 1600.0)
    go1_ms: Duration = 500.0


@dataclass(frozen=True)
class DelayedDecision(_DecisionFamily):
    delayed: ClassVar[bool] = True
    epoch_names: ClassVar[tuple[str, ...]] = ("fix1", "stim1", "delay1", "stim2", "delay2", "go1")

    coherences: tuple[float, ...] = (0.08, 0.16, 0.32)
    fix1_ms: Duration = (200.0, 400.0, 600.0)
    stim1_ms: Duration = (200.0, 400.0, 600.0)
    delay1_ms: Duration = (200.0, 400.0, 800.0, 1600.0)
    stim2_ms: Duration = (200.0, 400.0, 600.0)
    delay2_ms: Duration = MS_100_300
    go1_ms: Duration = 500.0


_DM_DIAGRAM = "fix1 (100-380 ms) | stim1 (400/800/1600 ms, both stimuli) | go1 (500 ms)"
_DLY_DM_DIAGRAM = (
    "fix1 (200/400/600) | stim1 (200/400/600) | delay1 (200/400/800/1600) | "
    "stim2 (200/400/600) | delay2 (100-280) | go1 (500 ms)"
)


@dataclass(frozen=True)
class DM1(ImmediateDecision):
    __doc__ = f"""DM 1 (Yang et al. 2019; code `dm1`): two stimuli on ring 1 at once; saccade to
    the stronger (coherences 0.01-0.08 around a mean strength U(0.8, 1.2)).

    {_DM_DIAGRAM}.
    """
    name: ClassVar[str] = "dm1"
    paper_name: ClassVar[str] = "DM 1"
    description: ClassVar[str] = "Yang19 DM 1: choose the stronger of two stimuli on ring 1"


@dataclass(frozen=True)
class DM2(ImmediateDecision):
    __doc__ = f"""DM 2 (Yang et al. 2019; code `dm2`): as DM 1 on ring 2.

    {_DM_DIAGRAM}.
    """
    name: ClassVar[str] = "dm2"
    paper_name: ClassVar[str] = "DM 2"
    description: ClassVar[str] = "Yang19 DM 2: choose the stronger of two stimuli on ring 2"
    attend: ClassVar[int] = 1


@dataclass(frozen=True)
class ContextDM1(ImmediateDecision):
    __doc__ = f"""Ctx DM 1 (Yang et al. 2019; code `contextdm1`): both rings show two stimuli
    with their own strengths; choose by ring 1, ignoring ring 2.

    {_DM_DIAGRAM}.
    """
    name: ClassVar[str] = "contextdm1"
    paper_name: ClassVar[str] = "Ctx DM 1"
    description: ClassVar[str] = (
        "Yang19 Ctx DM 1: choose the stronger stimulus by ring 1, ignore ring 2"
    )
    context: ClassVar[bool] = True


@dataclass(frozen=True)
class ContextDM2(ImmediateDecision):
    __doc__ = f"""Ctx DM 2 (Yang et al. 2019; code `contextdm2`): as Ctx DM 1, attending ring 2.

    {_DM_DIAGRAM}.
    """
    name: ClassVar[str] = "contextdm2"
    paper_name: ClassVar[str] = "Ctx DM 2"
    description: ClassVar[str] = (
        "Yang19 Ctx DM 2: choose the stronger stimulus by ring 2, ignore ring 1"
    )
    context: ClassVar[bool] = True
    attend: ClassVar[int] = 1


@dataclass(frozen=True)
class MultiSensoryDM(ImmediateDecision):
    __doc__ = f"""MultSen DM (Yang et al. 2019; code `multidm`): each stimulus's strength is
    split unevenly between the rings; choose by the sum.

    {_DM_DIAGRAM}.
    """
    name: ClassVar[str] = "multidm"
    paper_name: ClassVar[str] = "MultSen DM"
    description: ClassVar[str] = (
        "Yang19 MultSen DM: choose the stronger stimulus summed over both rings"
    )
    attend: ClassVar[int] = 2


@dataclass(frozen=True)
class DelayDM1(DelayedDecision):
    __doc__ = f"""Dly DM 1 (Yang et al. 2019; code `delaydm1`): two stimuli on ring 1, one after
    the other with a delay; saccade to the stronger (coherences 0.08-0.32).

    {_DLY_DM_DIAGRAM}.
    """
    name: ClassVar[str] = "delaydm1"
    paper_name: ClassVar[str] = "Dly DM 1"
    description: ClassVar[str] = (
        "Yang19 Dly DM 1: compare two stimuli on ring 1 shown apart in time"
    )


@dataclass(frozen=True)
class DelayDM2(DelayedDecision):
    __doc__ = f"""Dly DM 2 (Yang et al. 2019; code `delaydm2`): as Dly DM 1 on ring 2.

    {_DLY_DM_DIAGRAM}.
    """
    name: ClassVar[str] = "delaydm2"
    paper_name: ClassVar[str] = "Dly DM 2"
    description: ClassVar[str] = (
        "Yang19 Dly DM 2: compare two stimuli on ring 2 shown apart in time"
    )
    attend: ClassVar[int] = 1


@dataclass(frozen=True)
class ContextDelayDM1(DelayedDecision):
    __doc__ = f"""Ctx Dly DM 1 (Yang et al. 2019; code `contextdelaydm1`): both rings, stimuli
    apart in time; choose by ring 1.

    {_DLY_DM_DIAGRAM}.
    """
    name: ClassVar[str] = "contextdelaydm1"
    paper_name: ClassVar[str] = "Ctx Dly DM 1"
    description: ClassVar[str] = "Yang19 Ctx Dly DM 1: compare stimuli apart in time by ring 1"
    context: ClassVar[bool] = True


@dataclass(frozen=True)
class ContextDelayDM2(DelayedDecision):
    __doc__ = f"""Ctx Dly DM 2 (Yang et al. 2019; code `contextdelaydm2`): as Ctx Dly DM 1, by
    ring 2.

    {_DLY_DM_DIAGRAM}.
    """
    name: ClassVar[str] = "contextdelaydm2"
    paper_name: ClassVar[str] = "Ctx Dly DM 2"
    description: ClassVar[str] = "Yang19 Ctx Dly DM 2: compare stimuli apart in time by ring 2"
    context: ClassVar[bool] = True
    attend: ClassVar[int] = 1


@dataclass(frozen=True)
class MultiSensoryDelayDM(DelayedDecision):
    __doc__ = f"""MultSen Dly DM (Yang et al. 2019; code `multidelaydm`): stimuli apart in time,
    each split between the rings; choose by the sum.

    {_DLY_DM_DIAGRAM}.
    """
    name: ClassVar[str] = "multidelaydm"
    paper_name: ClassVar[str] = "MultSen Dly DM"
    description: ClassVar[str] = (
        "Yang19 MultSen Dly DM: compare stimuli apart in time, summed over rings"
    )
    attend: ClassVar[int] = 2
