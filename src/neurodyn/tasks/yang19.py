"""The 20-task battery of Yang, Joglekar, Song, Newsome & Wang (2019), "Task representations in
neural networks trained to perform many cognitive tasks", Nature Neuroscience 22, 297-306.

Every task shares one input and output layout, as in the paper's public code (gyyang/multitask
`task.py`, whose facts we follow; the code here is our own and vectorised):

- inputs `[fixation, ring 1 (32 units), ring 2 (32 units)]` (65); a `Multitask` with shared
  inputs adds the 20 one-hot rule inputs (85 in all, the paper's network);
- outputs `[fixation, response ring (32 units)]` (33), trained by squared error towards 0.8
  (fixation while it should be held), a bump `0.8 exp(-d^2 / 2 (pi/8)^2)` at the response angle
  once the network should respond, and 0.05 elsewhere;
- dt 20 ms; input noise `0.01 * sqrt(2 / alpha)` with alpha = dt / tau = 0.2;
- loss mask: 0 for the first 100 ms, 1 until the go cue, 0 for a 100 ms grace period, then 5;
  the fixation output counts double;
- performance: the fixation output above 0.5 from 100 ms to the go cue, and at the last step
  either fixation held (no-go trials) or released (below 0.5) with the population vector of the
  response ring within 0.2 pi of the target. The public code checks only the last step; we also
  require fixation to be held before the go cue, which is what the task asks of a subject.

Epoch timings, coherences and strengths are the public code's 'random' mode. Where it draws a
continuous duration (`uniform(100, 400) ms`, then floored to steps) we list the same steps as
equally likely choices. Where it draws one timing or modality per batch, we draw per trial:
the same distribution for each trial, with more variety in a batch (and trials in a batch end
at different steps; steps after a trial's end have zero mask).

Epochs carry the public code's names: `fix1`, `stim1`, `delay1`, `stim2`, `delay2`, `go1`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from neurodyn.errors import ConfigError
from neurodyn.tasks._base import (
    Batch,
    Duration,
    Task,
    at_step,
    between,
    constant_tensor,
    ensemble_view,
)
from neurodyn.tasks.multitask import Multitask
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


def _steps_ms(low: float, high: float, dt: float = DT_MS) -> tuple[float, ...]:
    """`int(uniform(low, high) / dt) * dt` as equally likely choices (ms)."""
    return tuple(float(ms) for ms in range(int(low), int(high), int(dt)))


def _uniform(b: int, low: float, high: float, g: torch.Generator, device) -> Tensor:
    return low + (high - low) * torch.rand(b, generator=g, device=device)


def _sign(b: int, g: torch.Generator, device) -> Tensor:
    return _choice((-1.0, 1.0), b, g, device)


def _choice(values: tuple[float, ...], b: int, g: torch.Generator, device) -> Tensor:
    table = constant_tensor(values, torch.float32, device)
    return table[torch.randint(len(values), (b,), generator=g, device=device)]


def _modality(b: int, g: torch.Generator, device) -> Tensor:
    """0 or 1: which ring a stimulus is shown on."""
    return torch.randint(0, 2, (b,), generator=g, device=device)


# Durations the public code draws as int(uniform(low, high) / dt): every step equally likely.
_MS_300_700 = _steps_ms(300, 700)
_MS_500_1500 = _steps_ms(500, 1500)
_MS_500_2500 = _steps_ms(500, 2500)
_MS_100_400 = _steps_ms(100, 400)
_MS_100_300 = _steps_ms(100, 300)


@dataclass(frozen=True)
class Yang19Task(Task):
    """Shared machinery of the battery; each task says what it shows and what it asks."""

    paper_name: ClassVar[str]
    epoch_names: ClassVar[tuple[str, ...]]  # in order; each has a field `<epoch>_ms`
    n_ring: ClassVar[int] = N_RING
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
        return bounds["go1"][0]

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
        on_ring = torch.nn.functional.one_hot(stimuli.ring.long(), 2).float()  # [S, B, 2]
        placed = (on_ring[..., None] * stimulus_bumps[:, :, None, :]).flatten(2)  # [S, B, 2n]
        # The stimuli shown at each step, summed: `rings[b] = shown[b] @ placed[b]`, with
        # `shown` as `[B, T, S]`. Exact in any order of summation: a ring unit gets at most
        # two non-zero terms (two stimuli shown at once on one ring), each a bump times 1.
        rings = torch.bmm(shown.float().permute(2, 0, 1), placed.transpose(0, 1))  # [B, T, 2n]

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


def _stimuli(*each: tuple[Tensor, Tensor, Tensor, Tensor, Tensor]) -> Stimuli:
    """`Stimuli` from one `(on, off, angle, strength, ring)` of `[B]` tensors per stimulus."""
    return Stimuli(*(torch.stack(column) for column in zip(*each, strict=True)))


def _ones(b: int, device) -> Tensor:
    return torch.ones(b, device=device)


# -- Go, RT Go, Dly Go and their Anti versions: one stimulus, respond at or opposite it --------
@dataclass(frozen=True)
class _SingleStimulus(Yang19Task):
    anti: ClassVar[bool] = False

    def _window(self, bounds, end) -> tuple[Tensor, Tensor]:
        """When the stimulus is shown."""
        raise NotImplementedError

    def _fixation_off(self, bounds, end) -> Tensor:
        return self._go(bounds)

    def _show(self, bounds, end, g):
        b, device = end.shape[0], end.device
        angle = torch.rand(b, generator=g, device=device) * TWO_PI
        modality = _modality(b, g, device)
        stimuli = _stimuli((*self._window(bounds, end), angle, _ones(b, device), modality))
        target = torch.remainder(angle + math.pi, TWO_PI) if self.anti else angle
        respond = torch.ones(b, dtype=torch.bool, device=device)
        facts = {"stim_angle": angle, "modality": modality}
        return stimuli, self._fixation_off(bounds, end), respond, target, facts


@dataclass(frozen=True)
class _GoFamily(_SingleStimulus):
    """The stimulus appears and stays; respond when the fixation input goes off."""

    epoch_names: ClassVar[tuple[str, ...]] = ("fix1", "stim1", "go1")
    fix1_ms: Duration = _MS_300_700
    stim1_ms: Duration = _MS_500_1500
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
    fix1_ms: Duration = _MS_500_2500
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
class _DelayFamily(_SingleStimulus):
    """A brief stimulus, a delay, then the go cue."""

    epoch_names: ClassVar[tuple[str, ...]] = ("fix1", "stim1", "delay1", "go1")
    fix1_ms: Duration = (300.0, 500.0, 700.0)
    stim1_ms: Duration = (200.0, 400.0, 600.0)
    delay1_ms: Duration = (200.0, 400.0, 800.0, 1600.0)
    go1_ms: Duration = 500.0

    def _window(self, bounds, end):
        return bounds["stim1"]


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


# -- decision making: two stimuli at once, choose the stronger ---------------------------------
def _two_strengths(b: int, coherences: tuple[float, ...], g, device) -> tuple[Tensor, Tensor]:
    """`mean +- coh * sign` with mean ~ U(0.8, 1.2): the strengths of stimuli 1 and 2."""
    mean = _uniform(b, 0.8, 1.2, g, device)
    coherence = _choice(coherences, b, g, device)
    sign = _sign(b, g, device)
    return mean + coherence * sign, mean - coherence * sign


def _two_angles(b: int, g, device) -> tuple[Tensor, Tensor]:
    """Stimulus 2 at least 90 degrees from stimulus 1 (distance U(pi/2, 3pi/2), either way)."""
    first = _uniform(b, 0.0, TWO_PI, g, device)
    apart = _uniform(b, 0.5 * math.pi, 1.5 * math.pi, g, device) * _sign(b, g, device)
    return first, torch.remainder(first + apart, TWO_PI)


def _split_between_modalities(strength: Tensor, g, device) -> tuple[Tensor, Tensor]:
    """MultSen tasks: a strength split unevenly between the two rings (total unchanged)."""
    b = strength.shape[0]
    diff = strength * _uniform(b, 0.2, 0.8, g, device) * _sign(b, g, device)
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

    def _show(self, bounds, end, g):
        b, device = end.shape[0], end.device
        coherences = self.coherences  # type: ignore[attr-defined]
        angle1, angle2 = _two_angles(b, g, device)
        if self.attend == 2:
            s1, s2 = _two_strengths(b, coherences, g, device)
            s1_by_ring = _split_between_modalities(s1, g, device)
            s2_by_ring = _split_between_modalities(s2, g, device)
            evidence = (s1, s2)
        elif self.context:
            s1_by_ring, s2_by_ring = zip(
                *(_two_strengths(b, coherences, g, device) for _ in range(2)), strict=True
            )
            evidence = (s1_by_ring[self.attend], s2_by_ring[self.attend])
        else:
            s1, s2 = _two_strengths(b, coherences, g, device)
            zero = torch.zeros_like(s1)
            s1_by_ring = (s1, zero) if self.attend == 0 else (zero, s1)
            s2_by_ring = (s2, zero) if self.attend == 0 else (zero, s2)
            evidence = (s1, s2)
        first, second = self._stimulus_windows(bounds, end)
        ring1 = torch.zeros(b, dtype=torch.long, device=device)
        ring2 = torch.ones(b, dtype=torch.long, device=device)
        stimuli = _stimuli(
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
class _ImmediateDecision(_DecisionFamily):
    epoch_names: ClassVar[tuple[str, ...]] = ("fix1", "stim1", "go1")
    coherences: tuple[float, ...] = (0.01, 0.02, 0.04, 0.08)
    fix1_ms: Duration = _MS_100_400
    stim1_ms: Duration = (400.0, 800.0, 1600.0)
    go1_ms: Duration = 500.0


@dataclass(frozen=True)
class _DelayedDecision(_DecisionFamily):
    delayed: ClassVar[bool] = True
    epoch_names: ClassVar[tuple[str, ...]] = ("fix1", "stim1", "delay1", "stim2", "delay2", "go1")

    coherences: tuple[float, ...] = (0.08, 0.16, 0.32)
    fix1_ms: Duration = (200.0, 400.0, 600.0)
    stim1_ms: Duration = (200.0, 400.0, 600.0)
    delay1_ms: Duration = (200.0, 400.0, 800.0, 1600.0)
    stim2_ms: Duration = (200.0, 400.0, 600.0)
    delay2_ms: Duration = _MS_100_300
    go1_ms: Duration = 500.0


_DM_DIAGRAM = "fix1 (100-380 ms) | stim1 (400/800/1600 ms, both stimuli) | go1 (500 ms)"
_DLY_DM_DIAGRAM = (
    "fix1 (200/400/600) | stim1 (200/400/600) | delay1 (200/400/800/1600) | "
    "stim2 (200/400/600) | delay2 (100-280) | go1 (500 ms)"
)


@dataclass(frozen=True)
class DM1(_ImmediateDecision):
    __doc__ = f"""DM 1 (Yang et al. 2019; code `dm1`): two stimuli on ring 1 at once; saccade to
    the stronger (coherences 0.01-0.08 around a mean strength U(0.8, 1.2)).

    {_DM_DIAGRAM}.
    """
    name: ClassVar[str] = "dm1"
    paper_name: ClassVar[str] = "DM 1"
    description: ClassVar[str] = "Yang19 DM 1: choose the stronger of two stimuli on ring 1"


@dataclass(frozen=True)
class DM2(_ImmediateDecision):
    __doc__ = f"""DM 2 (Yang et al. 2019; code `dm2`): as DM 1 on ring 2.

    {_DM_DIAGRAM}.
    """
    name: ClassVar[str] = "dm2"
    paper_name: ClassVar[str] = "DM 2"
    description: ClassVar[str] = "Yang19 DM 2: choose the stronger of two stimuli on ring 2"
    attend: ClassVar[int] = 1


@dataclass(frozen=True)
class ContextDM1(_ImmediateDecision):
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
class ContextDM2(_ImmediateDecision):
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
class MultiSensoryDM(_ImmediateDecision):
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
class DelayDM1(_DelayedDecision):
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
class DelayDM2(_DelayedDecision):
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
class ContextDelayDM1(_DelayedDecision):
    __doc__ = f"""Ctx Dly DM 1 (Yang et al. 2019; code `contextdelaydm1`): both rings, stimuli
    apart in time; choose by ring 1.

    {_DLY_DM_DIAGRAM}.
    """
    name: ClassVar[str] = "contextdelaydm1"
    paper_name: ClassVar[str] = "Ctx Dly DM 1"
    description: ClassVar[str] = "Yang19 Ctx Dly DM 1: compare stimuli apart in time by ring 1"
    context: ClassVar[bool] = True


@dataclass(frozen=True)
class ContextDelayDM2(_DelayedDecision):
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
class MultiSensoryDelayDM(_DelayedDecision):
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

    def _show(self, bounds, end, g):
        b, device = end.shape[0], end.device
        mod1, mod2 = _modality(b, g, device), _modality(b, g, device)
        if self.category:
            # ten sample and test angles, 0.1 pi to 1.9 pi; category: below pi or not
            grid = tuple(k * math.pi / 10 for k in range(1, 20, 2))
            angle1, angle2 = _choice(grid, b, g, device), _choice(grid, b, g, device)
            match = (angle1 < math.pi) == (angle2 < math.pi)
        else:
            match = torch.randint(0, 2, (b,), generator=g, device=device).bool()
            angle1 = _uniform(b, 0.0, TWO_PI, g, device)
            apart = _uniform(b, math.pi / 9, 17 * math.pi / 9, g, device) * _sign(b, g, device)
            angle2 = torch.remainder(angle1 + apart * (~match).float(), TWO_PI)
        ones = _ones(b, device)
        stimuli = _stimuli(
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


# The paper's order (its rule inputs follow it).
BATTERY: tuple[type[Yang19Task], ...] = (
    Go,
    ReactGo,
    DelayGo,
    Anti,
    ReactAnti,
    DelayAnti,
    DM1,
    DM2,
    ContextDM1,
    ContextDM2,
    MultiSensoryDM,
    DelayDM1,
    DelayDM2,
    ContextDelayDM1,
    ContextDelayDM2,
    MultiSensoryDelayDM,
    DMS,
    DNMS,
    DMC,
    DNMC,
)

# The paper's training samples Ctx DM 1 and Ctx DM 2 five times as often as each other task
# (experiment.py, train_all: rule_prob_map).
PAPER_WEIGHTS: dict[str, float] = {"contextdm1": 5.0, "contextdm2": 5.0}


# the public code's `easy_task`: immediate decisions' coherences x10, delayed ones' x2
EASY_COHERENCES = {"immediate": (0.1, 0.2, 0.4, 0.8), "delayed": (0.16, 0.32, 0.64)}


def _easy(cls: type, easy: bool) -> dict[str, object]:
    if easy and issubclass(cls, _ImmediateDecision):
        return {"coherences": EASY_COHERENCES["immediate"]}
    if easy and issubclass(cls, _DelayedDecision):
        return {"coherences": EASY_COHERENCES["delayed"]}
    return {}


def battery(
    tasks: tuple[str, ...] | list[str] | None = None,
    weights: dict[str, float] | None = None,
    only: tuple[str, ...] | list[str] | None = None,
    easy: bool = False,
    interleave: str = "trial",
    **params: object,
) -> Multitask:
    """The battery as one `Multitask` with shared rings and the 20 rule inputs (85 inputs, 33
    outputs, as the paper's network), or a subset of it (`tasks`: code names, e.g.
    `("fdgo", "fdanti")`; the rule inputs are then those of the subset).

    `weights` (task -> relative frequency, others 1) default to the paper's: Ctx DM 1 and 2
    five times as often. `only` samples just these tasks while keeping the whole layout (the
    others get weight 0: a curriculum stage of a continual-learning run, whose network has
    every rule input from the start). `easy` is the public code's `easy_task` (used for its
    continual-learning networks): the immediate decisions' coherences ten times larger
    (0.1-0.8), the delayed decisions' twice (0.16-0.64). `interleave` is the `Multitask`'s:
    every task in each batch ('trial') or one task per batch ('batch'). `params` set a field of every task
    (e.g. `dt_ms`).
    """
    by_name = {cls.name: cls for cls in BATTERY}
    chosen = list(by_name) if tasks is None else list(tasks)
    unknown = [t for t in chosen if t not in by_name]
    if unknown:
        raise ConfigError(
            f"not tasks of the Yang et al. battery: {unknown}; its tasks: {list(by_name)}"
        )
    weights = PAPER_WEIGHTS if weights is None else weights
    stray = set(weights) - set(by_name)
    if stray:
        raise ConfigError(f"weights name tasks outside the battery: {sorted(stray)}")
    if only is not None and (not only or set(only) - set(chosen)):
        raise ConfigError(f"`only` must name some of the battery's tasks {chosen}; got {only}")
    made = tuple(
        by_name[t](**params, **_easy(by_name[t], easy))  # type: ignore[arg-type]
        for t in chosen
    )
    return Multitask(
        made,
        shared_io=True,
        weights=tuple(
            float(weights.get(t, 1.0)) if only is None or t in only else 0.0 for t in chosen
        ),
        interleave=interleave,
    )
