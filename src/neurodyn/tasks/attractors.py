"""Tasks that each need a known attractor, combined in one network as in Turner & Barak (2023).

Each component task has its own input channel(s) carrying brief pulses and its own output
channel(s) that must hold what the last pulse said:

- `fixed`: pulses of +1 or -1; hold the sign (a 1-bit flip-flop: two stable fixed points).
- `line`: pulses of a value uniform in [-1, 1]; hold the value (a line attractor).
- `plane`: pulses of a 2-D value uniform in [-1, 1]^2 on two channels; hold it (a plane).
- `cycle`: pulses of +1 or -1; oscillate around the cued value, `v + 0.5 sin(2 pi t / 20)`
  (a limit cycle for each sign).

How the components share the network (the `setting`):

- `gated`: one component is active per trial (only its input channel pulses); only its
  outputs enter the loss (the others are free).
- `orthogonal`: one component is active per trial; the others' outputs are trained to 0.
- `parallel`: every component is active in every trial, with its own pulses; all outputs are
  trained.

Timing follows the paper's public code (eliaturner/multitaskrepresentation): discrete steps,
pulses 5 steps long, the first at step 0, then gaps of 10 to 40 steps (10 to 30 in
`parallel`); the target is undefined (masked) during a pulse and holds the pulse's value from
its end until the next pulse. Trials are 100 steps here (200 in the paper) to keep CPU
training short; the dynamics asked for are the same.

Reference: Turner & Barak (2023), "The simplicity bias in multi-task RNNs: shared attractors,
reuse of dynamics, and geometric representation", NeurIPS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import torch
from torch import Tensor

from neurodyn.errors import ConfigError
from neurodyn.tasks._base import Batch, Duration, Task, ensemble_view

COMPONENTS = {"fixed": 1, "line": 1, "plane": 2, "cycle": 1}  # channels per component
SETTINGS = ("gated", "orthogonal", "parallel")
CYCLE_PERIOD_STEPS = 20
CYCLE_AMPLITUDE = 0.5
TOLERANCE = 0.25


@dataclass(frozen=True)
class AttractorTasks(Task):
    """Several attractor tasks in one network (see the module docstring).

    Inputs and outputs are the components' channels, in order. `trial` facts: `active [B]`
    (the component active in the trial, -1 in `parallel`), `pulse_on [T, B, C]` (which
    channels pulse at each step) where C is the number of channels.

    Performance: fraction of trained output values (mask > 0) within 0.25 of the target.
    """

    name: ClassVar[str] = "attractors"
    description: ClassVar[str] = (
        "attractor tasks sharing a network (fixed/line/plane/cycle; gated/orthogonal/parallel)"
    )
    loss: ClassVar = "mse"

    components: tuple[str, ...] = ("fixed", "fixed")
    setting: str = "gated"
    dt_ms: float = 10.0
    trial_steps: int = 100
    pulse_steps: int = 5
    min_gap_steps: int = 10
    max_gap_steps: int | None = None  # default 40, or 30 in `parallel` (as in the paper)

    def __post_init__(self) -> None:
        unknown = [c for c in self.components if c not in COMPONENTS]
        if unknown or not self.components:
            raise ConfigError(
                f"attractors: components must be a non-empty list of {sorted(COMPONENTS)}, "
                f"got {list(self.components)}"
            )
        if self.setting not in SETTINGS:
            raise ConfigError(
                f"attractors: setting must be one of {SETTINGS}, got {self.setting!r}"
            )
        if not 0 < self.pulse_steps < self.trial_steps or self.min_gap_steps < 1:
            raise ConfigError(
                "attractors: need 0 < pulse_steps < trial_steps and min_gap_steps >= 1"
            )
        if self.gap_range[1] < self.gap_range[0]:
            raise ConfigError(
                f"attractors: max_gap_steps must be >= min_gap_steps, got {self.gap_range}"
            )
        super().__post_init__()

    @property
    def gap_range(self) -> tuple[int, int]:
        default = 30 if self.setting == "parallel" else 40
        return self.min_gap_steps, default if self.max_gap_steps is None else self.max_gap_steps

    @property
    def n_inputs(self) -> int:  # type: ignore[override]
        return sum(COMPONENTS[c] for c in self.components)

    @property
    def n_outputs(self) -> int:  # type: ignore[override]
        return self.n_inputs

    def channels(self, component: int) -> slice:
        """The input/output channels of component `component`."""
        start = sum(COMPONENTS[c] for c in self.components[:component])
        return slice(start, start + COMPONENTS[self.components[component]])

    def epoch_durations_ms(self) -> dict[str, Duration]:
        return {"trial": self.trial_steps * self.dt_ms}

    def _pulse_onsets(self, batch_size: int, generator: torch.Generator, device) -> Tensor:
        """`[T, B]` bool: where a pulse starts (at 0, then after random gaps)."""
        n_steps, (low, high) = self.trial_steps, self.gap_range
        max_pulses = n_steps // (self.pulse_steps + low) + 1
        gaps = torch.randint(
            low, high + 1, (max_pulses, batch_size), generator=generator, device=device
        )
        starts = torch.cumsum(gaps + self.pulse_steps, 0) - (gaps[0] + self.pulse_steps)
        onset = torch.zeros(n_steps, batch_size, dtype=torch.bool, device=device)
        valid = starts < n_steps
        rows = torch.arange(batch_size, device=device).expand_as(starts)
        onset[starts[valid], rows[valid]] = True
        return onset

    def _values(
        self, kind: str, shape: tuple[int, ...], generator: torch.Generator, device
    ) -> Tensor:
        if kind in ("fixed", "cycle"):
            return torch.where(
                torch.rand(shape, generator=generator, device=device) < 0.5, -1.0, 1.0
            )
        return 2 * torch.rand(shape, generator=generator, device=device) - 1

    def _fill(self, bounds, end, generator):
        n_steps, batch_size, device = self.n_steps, end.shape[0], end.device
        n_comp = len(self.components)
        active = (
            torch.full((batch_size,), -1, device=device)
            if self.setting == "parallel"
            else torch.randint(n_comp, (batch_size,), generator=generator, device=device)
        )
        x = torch.zeros(n_steps, batch_size, self.n_inputs, device=device)
        y = torch.zeros_like(x)
        mask = torch.zeros_like(x)
        pulse_on = torch.zeros_like(x, dtype=torch.bool)
        steps = torch.arange(n_steps, device=device)[:, None]
        for k, kind in enumerate(self.components):
            ch, width = self.channels(k), COMPONENTS[kind]
            onset = self._pulse_onsets(batch_size, generator, device)  # [T, B]
            values = self._values(kind, (n_steps, batch_size, width), generator, device)
            # index of the latest onset at or before each step, and how long ago it was
            last = torch.cummax(torch.where(onset, steps, 0), dim=0).values  # [T, B]
            since = steps - last
            held = torch.gather(values, 0, last[..., None].expand(-1, -1, width))  # [T, B, w]
            on = since < self.pulse_steps
            target = held
            if kind == "cycle":
                phase = 2 * math.pi * (since - self.pulse_steps) / CYCLE_PERIOD_STEPS
                target = held + CYCLE_AMPLITUDE * torch.sin(phase)[..., None]
            is_active = (active == k) | (active == -1)  # [B]
            x[..., ch] = torch.where((on & is_active)[..., None], held, 0.0)
            pulse_on[..., ch] = (on & is_active)[..., None]
            if self.setting == "orthogonal":
                # inactive components are trained to stay at zero throughout the trial
                y[..., ch] = torch.where(is_active[None, :, None], target, 0.0)
                weight = torch.where(is_active[None], (~on).float(), 1.0)
            else:
                y[..., ch] = torch.where(is_active[None, :, None], target, 0.0)
                weight = (~on & is_active[None]).float()
            mask[..., ch] = weight[..., None].expand(-1, -1, width)
        return x, y, mask, {"active": active, "pulse_on": pulse_on}

    def performance(self, outputs: Tensor, batch: Batch) -> Tensor:
        outputs, _, squeeze = ensemble_view(outputs, batch)
        targets = batch.y if batch.y.dim() == 4 else batch.y[:, None]
        mask = batch.mask if batch.mask.dim() == 4 else batch.mask[:, None]
        close = ((outputs - targets).abs() < TOLERANCE) & (mask > 0)
        perf = close.sum((0, 2, 3)).float() / (mask > 0).sum((0, 2, 3)).clamp(min=1).float()
        return perf[0] if squeeze else perf

    def probe(self, component: int, values: Tensor, *, n_steps: int = 60) -> Tensor:
        """Inputs `[n_steps, len(values), I]` with one pulse of each value on `component`'s
        channel(s) at step 0 and nothing after: the probe trials of the paper's geometry
        analyses. `values` is `[V]` (or `[V, 2]` for a plane)."""
        ch = self.channels(component)
        x = torch.zeros(n_steps, len(values), self.n_inputs)
        x[: self.pulse_steps, :, ch] = values.reshape(len(values), -1)[None].float()
        return x
