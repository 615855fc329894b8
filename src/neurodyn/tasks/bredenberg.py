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

import torch
from torch import Tensor

from neurodyn.errors import ConfigError


def wrap(theta: Tensor) -> Tensor:
    """Angles to [-pi, pi)."""
    return torch.remainder(theta + math.pi, 2 * math.pi) - math.pi


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
    drift_scale = 0.5 * sigma_s**2 * kappa * dt
    noise_scale = sigma_s * math.sqrt(dt)
    path = []
    for _ in range(n_steps):
        noise = torch.randn(theta.shape, generator=generator, dtype=theta.dtype)
        theta = wrap(theta - drift_scale * torch.sin(theta - mu) + noise_scale * noise)
        path.append(theta)
    return torch.stack(path)


def estimation_target(theta: Tensor) -> Tensor:
    """`(cos theta, sin theta)`: `theta [...]` -> `[..., 2]`."""
    return torch.stack([torch.cos(theta), torch.sin(theta)], dim=-1)


def estimation_reward(target: Tensor, output: Tensor) -> Tensor:
    """`-|y - o|^2` over the last axis."""
    return -((target - output) ** 2).sum(-1)


def classification_label(theta: Tensor, boundary: float = 0.0) -> Tensor:
    """1 for the upper half-circle (`boundary <= theta`, or theta = -pi), else 0."""
    upper = (wrap(theta - boundary) >= 0) | (wrap(theta - boundary) <= -math.pi)
    return upper.to(theta.dtype)


def classification_output(drive: Tensor, gain: float = 100.0) -> Tensor:
    """`sigmoid(gain D r)` clipped to [1e-4, 1 - 1e-4]: `drive = D r [...]`."""
    return torch.sigmoid(gain * drive).clamp(1e-4, 1 - 1e-4)


def classification_reward(label: Tensor, output: Tensor) -> Tensor:
    """The log-likelihood `t log o + (1 - t) log(1 - o)`."""
    return label * torch.log(output) + (1 - label) * torch.log1p(-output)
