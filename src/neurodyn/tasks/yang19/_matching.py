"""The matching family of Yang et al. (2019): DMS, DNMS, DMC, DNMC; a sample, a delay, a test;
respond (or keep fixating) by whether they match."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch

from neurodyn.tasks._base import Duration
from neurodyn.tasks.yang19._trial import (
    TWO_PI,
    Yang19Task,
    draw_choice,
    draw_sign,
    draw_uniform,
    full_strength,
    make_stimuli,
)


# -- matching: a sample, a delay, a test; respond (or hold) by whether they match --------------
@dataclass(frozen=True)
class _MatchFamily(Yang19Task):
    """Fixation input stays on; the test stimulus is the go cue. `respond_on_match`: saccade
    to the test stimulus when it matches (DMS, DMC) or when it does not (DNMS, DNMC); otherwise
    keep fixating to the end."""

    respond_on_match: ClassVar[bool] = True
    category: ClassVar[bool] = False
    epoch_names: ClassVar[tuple[str, ...]] = ("fix1", "stim1", "delay1", "go1")

    fix1_ms: Duration = (200.0, 400.0, 600.0)
    stim1_ms: Duration = (200.0, 400.0, 600.0)
    delay1_ms: Duration = (200.0, 400.0, 800.0, 1600.0)
    go1_ms: Duration = 500.0

    def _show(self, bounds, end, draws):
        b, device = end.shape[0], end.device
        mod1, mod2 = self._draw_modality(draws), self._draw_modality(draws)
        if self.category:
            # ten sample and test angles, 0.1 pi to 1.9 pi; category: below pi or not
            grid = tuple(k * math.pi / 10 for k in range(1, 20, 2))
            angle1, angle2 = draw_choice(draws, grid), draw_choice(draws, grid)
            match = (angle1 < math.pi) == (angle2 < math.pi)
        else:
            match = draws.integers(2).bool()
            angle1 = draw_uniform(draws, 0.0, TWO_PI)
            apart = draw_uniform(draws, math.pi / 9, 17 * math.pi / 9) * draw_sign(draws)
            angle2 = torch.remainder(angle1 + apart * (~match).float(), TWO_PI)
        ones = full_strength(b, device)
        stimuli = make_stimuli(
            (*bounds["stim1"], angle1, ones, mod1), (self._go(bounds), end, angle2, ones, mod2)
        )
        respond = match if self.respond_on_match else ~match
        facts = {
            "stim1_angle": angle1,
            "stim2_angle": angle2,
            "match": match,
            "modality1": mod1,
            "modality2": mod2,
        }
        return stimuli, end, respond, angle2, facts


_MATCH_DIAGRAM = (
    "fix1 (200/400/600) | stim1 (200/400/600, sample) | delay1 (200/400/800/1600) | "
    "go1 (test stimulus on"
)


@dataclass(frozen=True)
class DMS(_MatchFamily):
    __doc__ = f"""DMS (Yang et al. 2019; code `dmsgo`): delayed match-to-sample; saccade to the
    test stimulus if it is at the sample's angle, else keep fixating. Non-matching tests are
    20-340 degrees away; sample and test rings are drawn independently.

    {_MATCH_DIAGRAM}, 500 ms).
    """
    name: ClassVar[str] = "dmsgo"
    paper_name: ClassVar[str] = "DMS"
    description: ClassVar[str] = "Yang19 DMS: respond to the test stimulus if it matches the sample"


@dataclass(frozen=True)
class DNMS(_MatchFamily):
    __doc__ = f"""DNMS (Yang et al. 2019; code `dmsnogo`): as DMS, responding to non-matches.

    {_MATCH_DIAGRAM}, 500 ms).
    """
    name: ClassVar[str] = "dmsnogo"
    paper_name: ClassVar[str] = "DNMS"
    description: ClassVar[str] = (
        "Yang19 DNMS: respond to the test stimulus if it differs from the sample"
    )
    respond_on_match: ClassVar[bool] = False


@dataclass(frozen=True)
class DMC(_MatchFamily):
    __doc__ = f"""DMC (Yang et al. 2019; code `dmcgo`): delayed match-to-category; the two
    categories are the halves of the ring (angles below pi or not), sample and test drawn from
    ten angles 0.1 pi .. 1.9 pi; saccade to the test if it is in the sample's category.

    {_MATCH_DIAGRAM}, 200/400/600 ms).
    """
    name: ClassVar[str] = "dmcgo"
    paper_name: ClassVar[str] = "DMC"
    description: ClassVar[str] = (
        "Yang19 DMC: respond to the test stimulus if in the sample's category"
    )
    category: ClassVar[bool] = True
    go1_ms: Duration = (200.0, 400.0, 600.0)


@dataclass(frozen=True)
class DNMC(_MatchFamily):
    __doc__ = f"""DNMC (Yang et al. 2019; code `dmcnogo`): as DMC, responding to the other
    category.

    {_MATCH_DIAGRAM}, 200/400/600 ms).
    """
    name: ClassVar[str] = "dmcnogo"
    paper_name: ClassVar[str] = "DNMC"
    description: ClassVar[str] = (
        "Yang19 DNMC: respond to the test stimulus if not in the sample's category"
    )
    category: ClassVar[bool] = True
    respond_on_match: ClassVar[bool] = False
    go1_ms: Duration = (200.0, 400.0, 600.0)
