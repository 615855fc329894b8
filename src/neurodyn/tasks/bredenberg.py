"""The stimulus and the two tasks of Bredenberg, Simoncelli & Savin (NeurIPS 2020).

The stimulus theta drifts slowly on the circle, so that the circuit (`neurodyn.models.
stochastic`) is driven constantly and theta's values follow a von Mises prior with centre
`mu` and concentration `kappa`:

    d theta = -(sigma_s^2 / 2) kappa sin(theta - mu) dt + sigma_s dB     (wrapped to [-pi, pi))

whose stationary density is exactly von Mises(mu, kappa); its relaxation time near mu is
`2 / (kappa sigma_s^2)`. (The authors' code drops the 1/2, which makes its stationary prior a
von Mises of concentration 2 kappa; we sample the prior the paper states.) Narrower priors
(larger `kappa`) and shifted ones (`mu`) are parameters.

Tasks, each with the reward the local learning rule is modulated by:
- estimation: report `y = (cos theta, sin theta)` through a linear readout `o = D r`; reward
  `-|y - o|^2`;
- classification: is theta in the upper half-circle (`theta >= boundary`, boundary 0; -pi
  counts as upper as in the authors' code)? Readout `o = sigmoid(gain D r)`, gain 100, clipped
  to [1e-4, 1 - 1e-4]; reward the log-likelihood `t log o + (1 - t) log(1 - o)`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TypeVar

import numpy as np
import torch
from scipy.special import i0
from torch import Tensor

from neurodyn.errors import ConfigError

Angles = TypeVar("Angles", Tensor, np.ndarray)


def wrap(theta: Angles) -> Angles:
    """Angles to [-pi, pi), for a torch tensor or a numpy array (`%` is each one's
    remainder with the divisor's sign)."""
    return (theta + math.pi) % (2 * math.pi) - math.pi


def stimulus_path(
    theta0: Tensor,
    *,
    kappa: float,
    mu: float = 0.0,
    sigma_s: float = 0.06,
    dt: float = 0.01,
    n_steps: int,
    generator: torch.Generator | None = None,
) -> Tensor:
    """The drifting stimulus: `theta0 [B]` -> `[n_steps, B]` (Euler-Maruyama, step `dt`)."""
    if kappa < 0 or sigma_s <= 0 or dt <= 0:
        raise ConfigError(f"need kappa >= 0, sigma_s > 0, dt > 0; got {kappa}, {sigma_s}, {dt}")
    theta = wrap(theta0)
    path = []
    for _ in range(n_steps):
        noise = torch.randn(theta.shape, generator=generator, dtype=theta.dtype)
        theta = stimulus_step(theta, noise, kappa=kappa, mu=mu, sigma_s=sigma_s, dt=dt)
        path.append(theta)
    return torch.stack(path)


def stimulus_step(
    theta: Tensor, noise: Tensor, *, kappa: float, mu: float, sigma_s: float, dt: float
) -> Tensor:
    """One Euler-Maruyama step of the stimulus process: `theta [B]`, `noise [B]` standard
    normal -> `[B]`."""
    drift = -0.5 * sigma_s**2 * kappa * torch.sin(theta - mu)
    return wrap(theta + dt * drift + sigma_s * math.sqrt(dt) * noise)


def estimation_target(theta: Tensor) -> Tensor:
    """`(cos theta, sin theta)`: `theta [...]` -> `[..., 2]`."""
    return torch.stack([torch.cos(theta), torch.sin(theta)], dim=-1)


def estimation_reward(target: Tensor, output: Tensor) -> Tensor:
    """`-|y - o|^2` over the last axis."""
    return -((target - output) ** 2).sum(-1)


def classification_label(theta: Tensor, boundary: float = 0.0) -> Tensor:
    """1 for the upper half-circle (`boundary <= theta`, or theta = -pi), else 0."""
    offset = wrap(theta - boundary)
    upper = (offset >= 0) | (offset <= -math.pi)
    return upper.to(theta.dtype)


def classification_output(drive: Tensor, gain: float = 100.0) -> Tensor:
    """`sigmoid(gain D r)` clipped to [1e-4, 1 - 1e-4]: `drive = D r [...]`."""
    return torch.sigmoid(gain * drive).clamp(1e-4, 1 - 1e-4)


def classification_reward(label: Tensor, output: Tensor) -> Tensor:
    """The log-likelihood `t log o + (1 - t) log(1 - o)`."""
    return label * torch.log(output) + (1 - label) * torch.log1p(-output)


TASK_KINDS = ("estimation", "classification")


@dataclass(frozen=True)
class StimulusTask:
    """One of the two tasks with its stimulus prior.

    `kind` is "estimation" (readout `o = D r` reports `(cos theta, sin theta)`, 2 outputs) or
    "classification" (`o = sigmoid(gain D r)` reports whether theta is above `boundary`, 1
    output). The prior is von Mises(`mu`, `kappa`); the authors' defaults are kappa 0.75 and
    mu 0 for both tasks; narrower priors are larger kappa, shifted ones another mu.
    """

    kind: str
    kappa: float = 0.75
    mu: float = 0.0
    boundary: float = 0.0
    sigma_s: float = 0.06
    gain: float = 100.0

    def __post_init__(self) -> None:
        if self.kind not in TASK_KINDS:
            raise ConfigError(f"task kind must be one of {TASK_KINDS}, got {self.kind!r}")
        if self.kappa < 0 or self.sigma_s <= 0 or self.gain <= 0:
            raise ConfigError(
                f"need kappa >= 0, sigma_s > 0 and gain > 0; got {self.kappa}, "
                f"{self.sigma_s}, {self.gain}"
            )

    @property
    def n_outputs(self) -> int:
        return 2 if self.kind == "estimation" else 1

    def target(self, theta: Tensor) -> Tensor:
        """What the output should be: `theta [...]` -> `[..., n_outputs]`."""
        if self.kind == "estimation":
            return estimation_target(theta)
        return classification_label(theta, self.boundary)[..., None]

    def output(self, drive: Tensor) -> Tensor:
        """The readout's output from its drive `D r [..., n_outputs]`."""
        if self.kind == "estimation":
            return drive
        return classification_output(drive, self.gain)

    def reward(self, theta: Tensor, drive: Tensor) -> Tensor:
        """The per-time-step objective alpha: `theta [...]`, `drive [..., n_outputs]` -> `[...]`."""
        if self.kind == "estimation":
            return estimation_reward(estimation_target(theta), drive)
        label = classification_label(theta, self.boundary)
        return classification_reward(label, classification_output(drive[..., 0], self.gain))

    def smooth_reward(self, theta: Tensor, drive: Tensor) -> Tensor:
        """`reward` without the output's clipping, for gradient training: where the clipped
        sigmoid saturates its gradient is zero, and a steep readout (gain 100) saturates from
        the start; `log sigmoid` of the logit keeps the gradient."""
        if self.kind == "estimation":
            return self.reward(theta, drive)
        logit = self.gain * drive[..., 0]
        label = classification_label(theta, self.boundary)
        logsigmoid = torch.nn.functional.logsigmoid
        return label * logsigmoid(logit) + (1 - label) * logsigmoid(-logit)

    def step(self, theta: Tensor, noise: Tensor, dt: float) -> Tensor:
        """The stimulus one step of `dt` on (see `stimulus_step`)."""
        return stimulus_step(
            theta, noise, kappa=self.kappa, mu=self.mu, sigma_s=self.sigma_s, dt=dt
        )

    def sample_prior(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """`n` angles from the prior, wrapped to [-pi, pi)."""
        theta = rng.vonmises(self.mu, self.kappa, size=n)
        return wrap(theta)

    def prior_density(self, theta: np.ndarray) -> np.ndarray:
        """The prior's density at `theta`."""
        return np.exp(self.kappa * np.cos(theta - self.mu)) / (2 * math.pi * i0(self.kappa))
