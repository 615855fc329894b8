"""The 15 tasks of Driscoll, Shenoy & Sussillo (2024), as the public code defines them
(`stepnet/task.py`, mode 'random'). Registry names are `driscoll24.` and the code's name; the
paper's names are in `paper_name`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from neurodyn.tasks._base import Duration
from neurodyn.tasks.driscoll24._trial import (
    Driscoll24Task,
    draw_modality,
    draw_sign,
    draw_uniform,
)
from neurodyn.tasks.yang19._trial import TWO_PI, full_strength, make_stimuli, steps_ms

# `int(uniform(low, high) / dt)` steps, every step equally likely (dt = 20 ms).
MS_100_300 = steps_ms(100, 300)
MS_200_600 = steps_ms(200, 600)
MS_200_1500 = steps_ms(200, 1500)
MS_200_1600 = steps_ms(200, 1600)
MS_300_700 = steps_ms(300, 700)
MS_300_1700 = steps_ms(300, 1700)
MS_500_2500 = steps_ms(500, 2500)
# The integration tasks draw each trial's coherence from 100 values uniform on this range
# (`np.random.uniform(0.005, 0.8, (100,))`, new each batch): uniform on it, trial by trial.
COHERENCE_RANGE = (0.005, 0.8)


def _ones(b: int, device) -> Tensor:
    return torch.ones(b, dtype=torch.bool, device=device)


# -- one stimulus: respond at it (Pro) or opposite it (Anti) -------------------------------------
@dataclass(frozen=True)
class _ProAnti(Driscoll24Task):
    anti: ClassVar[bool] = False

    def _window(self, bounds, end) -> tuple[Tensor, Tensor]:
        raise NotImplementedError

    def _show(self, bounds, end, g):
        b, device = end.shape[0], end.device
        angle = draw_uniform(b, 0.0, TWO_PI, g, device)
        modality = draw_modality(b, g, device)
        on, off = self._window(bounds, end)
        stimuli = make_stimuli((on, off, angle, full_strength(b, device), modality))
        target = torch.remainder(angle + math.pi, TWO_PI) if self.anti else angle
        return stimuli, _ones(b, device), target, {"stim_angle": angle, "modality": modality}


@dataclass(frozen=True)
class _Delay(_ProAnti):
    """The stimulus appears and stays; respond when the fixation input goes off."""

    epoch_names: ClassVar[tuple[str, ...]] = ("fix1", "stim1", "go1")
    fix1_ms: Duration = MS_300_700
    stim1_ms: Duration = MS_200_1500
    go1_ms: Duration = MS_300_700

    def _window(self, bounds, end):
        return bounds["stim1"][0], end


@dataclass(frozen=True)
class DelayPro(_Delay):
    """DelayPro (code `fdgo`): a stimulus appears and stays; when the fixation input goes off,
    respond at it.

    fix1 (300-680 ms) | stim1 (200-1480 ms) | go1 (300-680 ms).
    """

    name: ClassVar[str] = "driscoll24.fdgo"
    code_name: ClassVar[str] = "fdgo"
    paper_name: ClassVar[str] = "DelayPro"
    description: ClassVar[str] = "Driscoll24 DelayPro: respond at the stimulus when fixation ends"


@dataclass(frozen=True)
class DelayAnti(_Delay):
    """DelayAnti (code `fdanti`): as DelayPro, respond opposite the stimulus.

    fix1 (300-680 ms) | stim1 (200-1480 ms) | go1 (300-680 ms).
    """

    name: ClassVar[str] = "driscoll24.fdanti"
    code_name: ClassVar[str] = "fdanti"
    paper_name: ClassVar[str] = "DelayAnti"
    description: ClassVar[str] = "Driscoll24 DelayAnti: respond opposite the stimulus"
    anti: ClassVar[bool] = True


@dataclass(frozen=True)
class _Memory(_ProAnti):
    """A brief stimulus, a memory period, then respond when the fixation input goes off."""

    epoch_names: ClassVar[tuple[str, ...]] = ("fix1", "stim1", "delay1", "go1")
    fix1_ms: Duration = MS_300_700
    stim1_ms: Duration = MS_200_1600
    delay1_ms: Duration = MS_200_1600
    go1_ms: Duration = MS_300_700

    def _window(self, bounds, end):
        return bounds["stim1"]


@dataclass(frozen=True)
class MemoryPro(_Memory):
    """MemoryPro (code `delaygo`): remember the stimulus through the memory period; respond
    at it when the fixation input goes off.

    fix1 (300-680 ms) | stim1 (200-1580 ms) | delay1 (200-1580 ms) | go1 (300-680 ms).
    """

    name: ClassVar[str] = "driscoll24.delaygo"
    code_name: ClassVar[str] = "delaygo"
    paper_name: ClassVar[str] = "MemoryPro"
    description: ClassVar[str] = "Driscoll24 MemoryPro: respond at the remembered stimulus"


@dataclass(frozen=True)
class MemoryAnti(_Memory):
    """MemoryAnti (code `delayanti`): as MemoryPro, respond opposite the remembered stimulus.

    fix1 (300-680 ms) | stim1 (200-1580 ms) | delay1 (200-1580 ms) | go1 (300-680 ms).
    """

    name: ClassVar[str] = "driscoll24.delayanti"
    code_name: ClassVar[str] = "delayanti"
    paper_name: ClassVar[str] = "MemoryAnti"
    description: ClassVar[str] = "Driscoll24 MemoryAnti: respond opposite the remembered stimulus"
    anti: ClassVar[bool] = True


@dataclass(frozen=True)
class _React(_ProAnti):
    """The fixation input stays on; respond as soon as the stimulus appears."""

    epoch_names: ClassVar[tuple[str, ...]] = ("fix1", "go1")
    fixation_off_at_go: ClassVar[bool] = False
    fix1_ms: Duration = MS_500_2500
    go1_ms: Duration = MS_300_1700

    def _window(self, bounds, end):
        return bounds["go1"][0], end


@dataclass(frozen=True)
class ReactPro(_React):
    """ReactPro (code `reactgo`): respond at the stimulus as soon as it appears.

    fix1 (500-2480 ms) | go1 (300-1680 ms), stimulus on from go1 to the end.
    """

    name: ClassVar[str] = "driscoll24.reactgo"
    code_name: ClassVar[str] = "reactgo"
    paper_name: ClassVar[str] = "ReactPro"
    description: ClassVar[str] = "Driscoll24 ReactPro: respond at the stimulus when it appears"


@dataclass(frozen=True)
class ReactAnti(_React):
    """ReactAnti (code `reactanti`): respond opposite the stimulus as soon as it appears.

    fix1 (500-2480 ms) | go1 (300-1680 ms), stimulus on from go1 to the end.
    """

    name: ClassVar[str] = "driscoll24.reactanti"
    code_name: ClassVar[str] = "reactanti"
    paper_name: ClassVar[str] = "ReactAnti"
    description: ClassVar[str] = "Driscoll24 ReactAnti: respond opposite the stimulus at once"
    anti: ClassVar[bool] = True


# -- integration: two stimuli in turn, respond at the stronger ----------------------------------
def _two_strengths(
    b: int, coherence_range: tuple[float, float], g, device
) -> tuple[Tensor, Tensor]:
    """`mean +- coherence * sign`, mean ~ U(0.8, 1.2) (`contextdm_genstim`)."""
    low, high = coherence_range
    mean = draw_uniform(b, 0.8, 1.2, g, device)
    coherence = draw_uniform(b, low, high, g, device)
    sign = draw_sign(b, g, device)
    return mean + coherence * sign, mean - coherence * sign


def _split(
    strength: Tensor, coherence_range: tuple[float, float], g, device
) -> tuple[Tensor, Tensor]:
    """IntegrationMultimodal: a strength split unevenly between the modalities."""
    b, (low, high) = strength.shape[0], coherence_range
    diff = strength * draw_uniform(b, low, high, g, device) * draw_sign(b, g, device)
    return strength + diff / 2, strength - diff / 2


@dataclass(frozen=True)
class _Integration(Driscoll24Task):
    """Two stimuli in turn, each with a memory period after it; respond at the stronger.

    `attend`: 0 or 1 (the modality that counts; with `context`, the other shows distractors of
    its own strengths) or 2 (both modalities carry the evidence, summed).
    """

    attend: ClassVar[int] = 0
    context: ClassVar[bool] = False
    epoch_names: ClassVar[tuple[str, ...]] = ("fix1", "stim1", "delay1", "stim2", "delay2", "go1")
    coherence_range: tuple[float, float] = COHERENCE_RANGE
    fix1_ms: Duration = MS_200_600
    stim1_ms: Duration = MS_200_1600
    delay1_ms: Duration = MS_200_1600
    stim2_ms: Duration = MS_200_1600
    delay2_ms: Duration = MS_100_300
    go1_ms: Duration = MS_300_700

    def _show(self, bounds, end, g):
        b, device = end.shape[0], end.device
        # the second stimulus 90 to 270 degrees from the first, either way
        apart = draw_uniform(b, 0.5 * math.pi, 1.5 * math.pi, g, device) * draw_sign(b, g, device)
        angle1 = draw_uniform(b, 0.0, TWO_PI, g, device)
        angle2 = torch.remainder(angle1 + apart, TWO_PI)
        coh = self.coherence_range
        zero = torch.zeros(b, device=device)
        if self.attend == 2:
            s1, s2 = _two_strengths(b, coh, g, device)
            by_modality = (_split(s1, coh, g, device), _split(s2, coh, g, device))
            # the code compares the sums over modalities (twice s1 and s2: same choice)
            evidence = (sum(by_modality[0]), sum(by_modality[1]))
        elif self.context:
            m1 = _two_strengths(b, coh, g, device)
            m2 = _two_strengths(b, coh, g, device)
            by_modality = ((m1[0], m2[0]), (m1[1], m2[1]))
            evidence = (m1, m2)[self.attend]
        else:
            s1, s2 = _two_strengths(b, coh, g, device)
            by_modality = ((s1, zero), (s2, zero)) if self.attend == 0 else ((zero, s1), (zero, s2))
            evidence = (s1, s2)
        mod1 = torch.zeros(b, dtype=torch.long, device=device)
        mod2 = torch.ones(b, dtype=torch.long, device=device)
        stimuli = make_stimuli(
            (*bounds["stim1"], angle1, by_modality[0][0], mod1),
            (*bounds["stim2"], angle2, by_modality[1][0], mod1),
            (*bounds["stim1"], angle1, by_modality[0][1], mod2),
            (*bounds["stim2"], angle2, by_modality[1][1], mod2),
        )
        target = torch.where(evidence[0] > evidence[1], angle1, angle2)
        facts = {
            "stim1_angle": angle1,
            "stim2_angle": angle2,
            "stim1_strength": evidence[0],
            "stim2_strength": evidence[1],
        }
        return stimuli, _ones(b, device), target, facts


_INTEGRATION_DIAGRAM = (
    "fix1 (200-580) | stim1 (200-1580) | delay1 (200-1580) | stim2 (200-1580) | "
    "delay2 (100-280) | go1 (300-680 ms); coherences U(0.005, 0.8) around a mean U(0.8, 1.2)"
)


@dataclass(frozen=True)
class IntegrationModality1(_Integration):
    __doc__ = f"""IntegrationModality1 (code `delaydm1`): two stimuli in turn on modality 1;
    respond at the stronger.

    {_INTEGRATION_DIAGRAM}.
    """
    name: ClassVar[str] = "driscoll24.delaydm1"
    code_name: ClassVar[str] = "delaydm1"
    paper_name: ClassVar[str] = "IntegrationModality1"
    description: ClassVar[str] = "Driscoll24 IntegrationModality1: the stronger of two, modality 1"


@dataclass(frozen=True)
class IntegrationModality2(_Integration):
    __doc__ = f"""IntegrationModality2 (code `delaydm2`): as IntegrationModality1 on
    modality 2.

    {_INTEGRATION_DIAGRAM}.
    """
    name: ClassVar[str] = "driscoll24.delaydm2"
    code_name: ClassVar[str] = "delaydm2"
    paper_name: ClassVar[str] = "IntegrationModality2"
    description: ClassVar[str] = "Driscoll24 IntegrationModality2: the stronger of two, modality 2"
    attend: ClassVar[int] = 1


@dataclass(frozen=True)
class ContextIntModality1(_Integration):
    __doc__ = f"""ContextIntModality1 (code `contextdelaydm1`): both modalities show two
    stimuli with strengths of their own; respond at the stronger by modality 1.

    {_INTEGRATION_DIAGRAM}.
    """
    name: ClassVar[str] = "driscoll24.contextdelaydm1"
    code_name: ClassVar[str] = "contextdelaydm1"
    paper_name: ClassVar[str] = "ContextIntModality1"
    description: ClassVar[str] = "Driscoll24 ContextIntModality1: the stronger by modality 1"
    context: ClassVar[bool] = True


@dataclass(frozen=True)
class ContextIntModality2(_Integration):
    __doc__ = f"""ContextIntModality2 (code `contextdelaydm2`): as ContextIntModality1,
    attending modality 2.

    {_INTEGRATION_DIAGRAM}.
    """
    name: ClassVar[str] = "driscoll24.contextdelaydm2"
    code_name: ClassVar[str] = "contextdelaydm2"
    paper_name: ClassVar[str] = "ContextIntModality2"
    description: ClassVar[str] = "Driscoll24 ContextIntModality2: the stronger by modality 2"
    context: ClassVar[bool] = True
    attend: ClassVar[int] = 1


@dataclass(frozen=True)
class IntegrationMultimodal(_Integration):
    __doc__ = f"""IntegrationMultimodal (code `multidelaydm`): each stimulus's strength split
    unevenly between the modalities; respond at the stronger by the sum.

    {_INTEGRATION_DIAGRAM}.
    """
    name: ClassVar[str] = "driscoll24.multidelaydm"
    code_name: ClassVar[str] = "multidelaydm"
    paper_name: ClassVar[str] = "IntegrationMultimodal"
    description: ClassVar[str] = "Driscoll24 IntegrationMultimodal: the stronger by the sum"
    attend: ClassVar[int] = 2


# -- match tasks: a sample, a memory period, a test stimulus that is the go cue ----------------
@dataclass(frozen=True)
class _Match(Driscoll24Task):
    """The sample is shown, then after a memory period the test stimulus, which stays on; the
    fixation input stays on. Respond at the test stimulus when the pair matches (`go_on_match`)
    or when it does not; otherwise keep fixating."""

    epoch_names: ClassVar[tuple[str, ...]] = ("fix1", "stim1", "delay1", "go1")
    fixation_off_at_go: ClassVar[bool] = False
    go_on_match: ClassVar[bool] = True
    fix1_ms: Duration = MS_200_600
    stim1_ms: Duration = MS_200_1600
    delay1_ms: Duration = MS_200_1600
    go1_ms: Duration = MS_300_700

    def _pair(self, b, g, device) -> tuple[Tensor, Tensor, Tensor]:
        """The sample and test angles `[B]` and whether they match (bool `[B]`)."""
        raise NotImplementedError

    def _show(self, bounds, end, g):
        b, device = end.shape[0], end.device
        modality1 = draw_modality(b, g, device)
        modality2 = draw_modality(b, g, device)
        angle1, angle2, match = self._pair(b, g, device)
        strength = full_strength(b, device)
        stimuli = make_stimuli(
            (*bounds["stim1"], angle1, strength, modality1),
            (bounds["go1"][0], end, angle2, strength, modality2),
        )
        respond = match if self.go_on_match else ~match
        facts = {"stim1_angle": angle1, "stim2_angle": angle2, "match": match}
        return stimuli, respond, angle2, facts


@dataclass(frozen=True)
class _SampleMatch(_Match):
    def _pair(self, b, g, device):
        match = draw_sign(b, g, device) > 0
        # a non-matching test 20 to 340 degrees from the sample, either way
        apart = draw_uniform(b, math.pi / 9, 17 * math.pi / 9, g, device) * draw_sign(b, g, device)
        angle1 = draw_uniform(b, 0.0, TWO_PI, g, device)
        angle2 = torch.remainder(angle1 + apart * (~match), TWO_PI)
        return angle1, angle2, match


@dataclass(frozen=True)
class _CategoryMatch(_Match):
    def _pair(self, b, g, device):
        angle1 = draw_uniform(b, 0.0, TWO_PI, g, device)
        angle2 = draw_uniform(b, 0.0, TWO_PI, g, device)
        # two categories, the half-rings below and above pi
        return angle1, angle2, (angle1 < math.pi) == (angle2 < math.pi)


_MATCH_DIAGRAM = (
    "fix1 (200-580) | stim1 (200-1580) | delay1 (200-1580) | go1 (300-680 ms), the test "
    "stimulus on from go1 to the end, each stimulus on a modality drawn at random"
)


@dataclass(frozen=True)
class ReactMatch2Sample(_SampleMatch):
    __doc__ = f"""ReactMatch2Sample (code `dmsgo`): respond at the test stimulus if it is at
    the sample's angle, else keep fixating.

    {_MATCH_DIAGRAM}.
    """
    name: ClassVar[str] = "driscoll24.dmsgo"
    code_name: ClassVar[str] = "dmsgo"
    paper_name: ClassVar[str] = "ReactMatch2Sample"
    description: ClassVar[str] = "Driscoll24 ReactMatch2Sample: respond if the test matches"


@dataclass(frozen=True)
class ReactNonMatch2Sample(_SampleMatch):
    __doc__ = f"""ReactNonMatch2Sample (code `dmsnogo`): respond at the test stimulus if it
    is not at the sample's angle, else keep fixating.

    {_MATCH_DIAGRAM}.
    """
    name: ClassVar[str] = "driscoll24.dmsnogo"
    code_name: ClassVar[str] = "dmsnogo"
    paper_name: ClassVar[str] = "ReactNonMatch2Sample"
    description: ClassVar[str] = "Driscoll24 ReactNonMatch2Sample: respond if the test differs"
    go_on_match: ClassVar[bool] = False


@dataclass(frozen=True)
class ReactCategoryPro(_CategoryMatch):
    __doc__ = f"""ReactCategoryPro (code `dmcgo`): respond at the test stimulus if it is in
    the sample's category (both below pi or both above), else keep fixating.

    {_MATCH_DIAGRAM}.
    """
    name: ClassVar[str] = "driscoll24.dmcgo"
    code_name: ClassVar[str] = "dmcgo"
    paper_name: ClassVar[str] = "ReactCategoryPro"
    description: ClassVar[str] = "Driscoll24 ReactCategoryPro: respond if the categories match"


@dataclass(frozen=True)
class ReactCategoryAnti(_CategoryMatch):
    __doc__ = f"""ReactCategoryAnti (code `dmcnogo`): respond at the test stimulus if its
    category differs from the sample's, else keep fixating.

    {_MATCH_DIAGRAM}.
    """
    name: ClassVar[str] = "driscoll24.dmcnogo"
    code_name: ClassVar[str] = "dmcnogo"
    paper_name: ClassVar[str] = "ReactCategoryAnti"
    description: ClassVar[str] = "Driscoll24 ReactCategoryAnti: respond if the categories differ"
    go_on_match: ClassVar[bool] = False
