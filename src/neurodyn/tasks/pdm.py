"""Perceptual decision making with evidence integration (`pdm`).

Two noisy evidence streams; the one with the higher mean is the right choice. The network
fixates during a fixation and a stimulus epoch, then reports its choice in a decision epoch.
This is the random-dot-motion style integration task (as in neurogym's
PerceptualDecisionMaking), with the coherence drawn per trial.
"""

from __future__ import annotations

import functools
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


@functools.lru_cache(maxsize=16)
def _one_hot_rows(n_classes: int, device: torch.device) -> Tensor:
    """`[C, C]` the one-hot row of each class, made once: targets are rows of it."""
    return torch.eye(n_classes, device=device)


@functools.lru_cache(maxsize=16)
def _fixed_windows(
    n_steps: int, fixation: int, stimulus: int, decision: int, device: torch.device
) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    """`[T, 1]` fixating, in the stimulus, in the trial and deciding, for epochs of one
    duration each (in steps), made once: every trial's windows are these."""
    stimulus_end = fixation + stimulus
    trial_end = stimulus_end + decision
    starts = torch.tensor([[0], [fixation], [0], [stimulus_end]], device=device)
    ends = torch.tensor([[stimulus_end], [stimulus_end], [trial_end], [trial_end]], device=device)
    fixating, in_stimulus, in_trial, deciding = between(n_steps, starts, ends).unbind(1)
    return fixating, in_stimulus, in_trial, deciding


@dataclass(frozen=True)
class PerceptualDecision(Task):
    """Two-alternative perceptual decision with integration of noisy evidence.

    Inputs `[fixation, evidence_1, evidence_2]`. Fixation is 1 during the fixation and stimulus
    epochs. During the stimulus epoch, evidence stream i has mean `(1 + c_i) / 2` with
    `c_1 = +c, c_2 = -c` when choice 1 is right (and the reverse for choice 2), plus Gaussian
    noise of standard deviation `evidence_noise` per step, drawn independently per step and
    stream: the evidence must be integrated over time. The coherence c is drawn per trial from
    `coherences`.

    Outputs are the logits of three classes `[fixate, choice_1, choice_2]`, trained by
    cross-entropy: fixate until the decision epoch, then the right choice (weighted by
    `decision_weight`).

    Performance: fraction of trials that fixate (argmax = fixate) through the fixation and
    stimulus epochs and choose right at the last step of the decision epoch.

    `trial` facts: `coherence [B]` (unsigned), `choice [B]` (0 for choice 1, 1 for choice 2),
    `signed_coherence [B]` (positive for choice 1).
    """

    name: ClassVar[str] = "pdm"
    description: ClassVar[str] = (
        "perceptual decision: integrate two noisy evidence streams, choose the stronger"
    )
    n_inputs: ClassVar[int] = 3
    n_outputs: ClassVar[int] = 3
    loss: ClassVar = "cross_entropy"

    fixation_ms: Duration = 200.0
    stimulus_ms: Duration = 600.0
    decision_ms: Duration = 200.0
    coherences: tuple[float, ...] = (0.1, 0.2, 0.4, 0.8)
    evidence_noise: float = 0.3
    decision_weight: float = 1.0

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.coherences or any(not 0 <= c <= 1 for c in self.coherences):
            raise ConfigError(
                f"pdm: coherences must be a non-empty list in [0, 1], got {self.coherences}"
            )

    def epoch_durations_ms(self) -> dict[str, Duration]:
        return {
            "fixation": self.fixation_ms,
            "stimulus": self.stimulus_ms,
            "decision": self.decision_ms,
        }

    def _fill(self, bounds, end, generator):
        # A batch costs mostly the fixed time of each tensor operation (a few dozen on a
        # 50 x 64 x 3 batch), so every window is made in one comparison, the tables once, and
        # each value by as few operations as give the same floats.
        n_steps, batch_size = self.n_steps, end.shape[0]
        device = end.device
        levels = constant_tensor(tuple(self.coherences), torch.float32, device)
        coherence = levels[
            torch.randint(len(levels), (batch_size,), generator=generator, device=device)
        ]
        choice = torch.randint(2, (batch_size,), generator=generator, device=device)
        signs = constant_tensor((1.0, -1.0), torch.float32, device)
        signed = signs[choice] * coherence  # +c for choice 1, -c for choice 2

        fixating, stimulus, in_trial, deciding = self._windows(bounds, end, n_steps)

        # `(1 + c) / 2, (1 - c) / 2`: evidence stream 1 leans with c, stream 2 against it
        # (1 + c * -1 is 1 - c exactly)
        means = (1 + signed[:, None] * signs) / 2  # [B, 2]
        noise = self.evidence_noise * torch.randn(
            n_steps, batch_size, 2, generator=generator, device=device
        )
        evidence = stimulus[..., None] * (means[None] + noise)  # [T, B, 2]
        x = torch.cat([fixating[..., None].expand(-1, batch_size, 1), evidence], dim=-1)

        # one-hot targets: fixate (class 0) until the decision epoch, then the choice's row
        rows = _one_hot_rows(self.n_outputs, device)
        y = torch.where(fixating[..., None], rows[0], rows[choice + 1])
        if self.decision_weight == 1:  # (adding 0 * deciding changes no float)
            mask = in_trial[..., None].expand(-1, batch_size, self.n_outputs).float()
        else:
            weight = in_trial.float() + (self.decision_weight - 1) * deciding.float()
            mask = weight[..., None].expand(-1, batch_size, self.n_outputs).contiguous()
        facts = {"coherence": coherence, "choice": choice, "signed_coherence": signed}
        return x, y, mask, facts

    def _windows(
        self, bounds: dict[str, tuple[Tensor, Tensor]], end: Tensor, n_steps: int
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """`[T, B']` each step of each trial fixating, in the stimulus, in the trial, deciding
        (`B' = 1` when every epoch has one duration: the same windows for every trial, made
        once; else `B' = B`)."""
        steps = self._epoch_steps
        if all(len(choices) == 1 for choices in steps.values()):
            fixation, stimulus, decision = (choices[0] for choices in steps.values())
            return _fixed_windows(n_steps, fixation, stimulus, decision, end.device)
        zero = bounds["fixation"][0]  # (the first epoch starts at 0)
        decision_start, decision_end = bounds["decision"]
        starts = torch.stack([zero, bounds["stimulus"][0], zero, decision_start])
        ends = torch.stack([decision_start, bounds["stimulus"][1], end, decision_end])
        fixating, in_stimulus, in_trial, deciding = between(n_steps, starts, ends).unbind(1)
        return fixating, in_stimulus, in_trial, deciding

    def performance(self, outputs: Tensor, batch: Batch) -> Tensor:
        outputs, trial, squeeze = ensemble_view(outputs, batch)
        n_steps = outputs.shape[0]
        predicted = outputs.argmax(-1)  # [T, E, B]
        should_fix = between(n_steps, torch.zeros_like(trial["end"]), trial["decision_start"])
        fix_held = ((predicted == 0) | ~should_fix).all(0)
        final = at_step(predicted[..., None], trial["end"] - 1)[..., 0]
        perf = (fix_held & (final == trial["choice"] + 1)).float().mean(-1)
        return perf[0] if squeeze else perf
