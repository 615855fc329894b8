"""Orientation estimation under a stimulus prior (`orientation_estimation`), for networks
trained by gradient descent.

The estimation task of Bredenberg, Simoncelli & Savin (NeurIPS 2020; `neurodyn.tasks.
bredenberg`) as trials: an angle theta is drawn from the same von Mises prior (`kappa`, `mu`:
wide, narrow or shifted priors are these two numbers), seen through the same 12 rectified-cosine
input channels `max(0, cos(theta - phi_k))` with fresh Gaussian noise at every step, and reported
as `(cos theta, sin theta)`. The prior is what Ganguli & Simoncelli's efficient-coding theory
says a population should allocate its resources by: the `priors` study asks whether networks
trained on these trials do.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from torch import Tensor

from neurodyn.errors import ConfigError
from neurodyn.tasks._base import Batch, Duration, Task, at_step, between, ensemble_view
from neurodyn.tasks.bredenberg import StimulusTask, estimation_target, wrap
from neurodyn.tasks.ring import CORRECT_WITHIN, circular_distance

# points of the prior's cumulative distribution table that trials are drawn through
_CDF_POINTS = 4096


@dataclass(frozen=True)
class OrientationEstimation(Task):
    """Report an angle drawn from a von Mises prior, seen through noisy tuned channels.

    Inputs `[n_channels]`: `input_gain * max(0, cos(theta - phi_k))`, `phi_k = -pi + 2 pi k /
    n_channels`, plus Gaussian noise of standard deviation `input_noise` at every step and
    channel, through the stimulus and response epochs. Outputs `(cos theta, sin theta)`, trained
    by squared error in the response epoch only.

    theta is drawn from von Mises(`mu`, `kappa`) (`kappa = 0`: uniform) through a table of the
    prior's distribution function (4096 points), so that the batch comes from the task's
    generator alone. `angles`, when given, replaces the prior: trial b gets `angles[b %
    len(angles)]`, which probes a network on a grid (`neurodyn.analysis.responses_by_stimulus`
    groups its trials back).

    Performance: the share of trials whose output's angle at the last step is within 0.2 pi of
    theta (the ring tasks' criterion).

    `trial` facts: `theta [B]`.
    """

    name: ClassVar[str] = "orientation_estimation"
    description: ClassVar[str] = (
        "report an angle drawn from a von Mises prior through noisy tuned inputs (priors study)"
    )
    loss: ClassVar = "mse"
    n_outputs: ClassVar[int] = 2

    dt_ms: float = 20.0
    stimulus_ms: Duration = 400.0
    response_ms: Duration = 200.0
    kappa: float = 1.5
    mu: float = 0.0
    input_noise: float = 0.5
    input_gain: float = 1.0
    n_channels: int = 12
    angles: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        super().__post_init__()
        numbers = {
            "kappa": self.kappa,
            "mu": self.mu,
            "input_noise": self.input_noise,
            "input_gain": self.input_gain,
        }
        for key, value in numbers.items():
            if not isinstance(value, int | float) or not math.isfinite(value):
                raise ConfigError(f"{self.name}: {key} must be a finite number, got {value!r}")
        if self.kappa < 0 or self.input_noise < 0:
            raise ConfigError(
                f"{self.name}: kappa and input_noise must be >= 0, got {self.kappa}, "
                f"{self.input_noise}"
            )
        if not isinstance(self.n_channels, int) or self.n_channels < 1:
            raise ConfigError(f"{self.name}: n_channels must be a positive integer")
        if not all(isinstance(a, int | float) and math.isfinite(a) for a in self.angles):
            raise ConfigError(f"{self.name}: angles must be finite radians, got {self.angles}")

    @property
    def n_inputs(self) -> int:  # type: ignore[override]
        return self.n_channels

    def epoch_durations_ms(self) -> dict[str, Duration]:
        return {"stimulus": self.stimulus_ms, "response": self.response_ms}

    @property
    def prior(self) -> StimulusTask:
        """The Bredenberg estimation task with this prior (its `prior_density(theta)`)."""
        return StimulusTask("estimation", kappa=float(self.kappa), mu=float(self.mu))

    def prior_density(self, theta: np.ndarray) -> np.ndarray:
        """The prior's density at `theta [...]` (radians)."""
        return self.prior.prior_density(np.asarray(theta, dtype=np.float64))

    @functools.cached_property
    def _cdf_table(self) -> tuple[Tensor, Tensor]:
        """The prior's distribution function on [-pi, pi): `(angles [M], cdf [M])`, trapezoid
        rule on `_CDF_POINTS` intervals, cdf from 0 to 1."""
        angles = np.linspace(-math.pi, math.pi, _CDF_POINTS + 1)
        density = self.prior_density(angles)
        steps = (density[1:] + density[:-1]) / 2 * np.diff(angles)
        cdf = np.concatenate([[0.0], np.cumsum(steps)])
        return torch.from_numpy(angles), torch.from_numpy(cdf / cdf[-1])

    def draw_theta(self, batch_size: int, generator: torch.Generator) -> Tensor:
        """`batch_size` angles `[B]` from the prior (or the grid `angles`), in [-pi, pi)."""
        device = generator.device
        if self.angles:
            grid = torch.tensor(self.angles, dtype=torch.float64)
            theta = grid[torch.arange(batch_size) % len(grid)]
            return wrap(theta).float().to(device)
        angles, cdf = self._cdf_table
        u = torch.rand(batch_size, generator=generator, device=device).double().cpu()
        upper = torch.searchsorted(cdf, u).clamp(1, len(cdf) - 1)
        lower = upper - 1
        span = (cdf[upper] - cdf[lower]).clamp_min(1e-300)
        theta = angles[lower] + (u - cdf[lower]) / span * (angles[upper] - angles[lower])
        return wrap(theta).float().to(device)

    def channels(self, theta: Tensor) -> Tensor:
        """The noiseless inputs `[..., n_channels]` for `theta [...]`."""
        k = torch.arange(self.n_channels, dtype=theta.dtype, device=theta.device)
        phi = -math.pi + 2 * math.pi * k / self.n_channels
        return self.input_gain * torch.relu(torch.cos(theta[..., None] - phi))

    def _fill(self, bounds, end, generator):
        n_steps, batch_size = self.n_steps, end.shape[0]
        device = end.device
        theta = self.draw_theta(batch_size, generator)
        noise = self.input_noise * torch.randn(
            n_steps, batch_size, self.n_channels, generator=generator, device=device
        )
        in_trial = between(n_steps, torch.zeros_like(end), end)
        x = (self.channels(theta)[None] + noise) * in_trial[..., None]
        y = estimation_target(theta)[None].expand(n_steps, -1, -1).contiguous()
        response = between(n_steps, *bounds["response"])
        mask = response[..., None].float().expand(-1, -1, 2).contiguous()
        return x, y * in_trial[..., None], mask, {"theta": theta}

    def performance(self, outputs: Tensor, batch: Batch) -> Tensor:
        outputs, trial, squeeze = ensemble_view(outputs, batch)
        final = at_step(outputs, trial["end"] - 1)  # [E, B, 2]
        estimate = torch.atan2(final[..., 1], final[..., 0])
        right = circular_distance(estimate, trial["theta"]) < CORRECT_WITHIN
        perf = right.float().mean(-1)
        return perf[0] if squeeze else perf
