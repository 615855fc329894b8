"""The stochastic rate circuit of Bredenberg, Simoncelli & Savin (NeurIPS 2020), "Learning
efficient task-dependent representations with synaptic plasticity".

N rate units driven by fixed input tuning curves of a stimulus theta, recurrent input and
independent Brownian noise per unit:

    dr = [ -f^{-1}(r) / R + W r + C s(theta) + b ] dt + sigma dB

integrated by Euler-Maruyama, `r <- r + dt drift + sigma sqrt(dt) xi`, rates clipped to
[r_min, r_max] after every step (f^{-1} diverges at 0). f is a sharpened softplus,
`f(x) = beta log(1 + exp(alpha + gamma x))` (close to a rectifier), so the leak
`-f^{-1}(r)` is about `-r` away from zero. The inputs are 12 rectified cosines
`s_k(theta) = max(0, cos(theta - phi_k))` on a 30-degree grid (the authors' code; its default
parameters are this module's: dt 0.01, sigma 0.2, R 1, alpha 0, beta 1/30, gamma 30, rates in
[0.001, 100]).

With a symmetric W the drift is minus the gradient of the energy

    E(r, theta) = sum_i (1/R) int_0^{r_i} f^{-1}(u) du - r^T W r / 2 - r^T (C s(theta) + b)

so the dynamics are Langevin sampling from p(r | theta) proportional to exp(-2 E / sigma^2)
(tests check both: the energy's gradient, and the stationary mean and covariance of the
linear regime against the Gaussian that density becomes there).

Shapes: `r [..., N]`, `W [N, N]` (row: to, column: from), `C [N, K]`, `b [N]`, `s [..., K]`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.special import spence
from torch import Tensor

from neurodyn.errors import ConfigError


@dataclass(frozen=True)
class CircuitSpec:
    """Constants of the stochastic circuit (the authors' code's defaults)."""

    dt: float = 0.01
    sigma: float = 0.2
    leak_r: float = 1.0  # R
    alpha: float = 0.0
    beta: float = 1.0 / 30.0
    gamma: float = 30.0
    r_min: float = 1e-3
    r_max: float = 100.0
    n_tuning: int = 12

    def __post_init__(self) -> None:
        if self.dt <= 0 or self.sigma < 0 or self.leak_r <= 0 or self.beta <= 0 or self.gamma <= 0:
            raise ConfigError("need dt, R, beta, gamma > 0 and sigma >= 0")
        if not 0 < self.r_min < self.r_max:
            raise ConfigError(f"need 0 < r_min < r_max, got {self.r_min}, {self.r_max}")


def tuning(theta: Tensor, n: int = 12) -> Tensor:
    """The fixed input tuning curves `s_k(theta) = max(0, cos(theta - phi_k))`, preferred
    angles `phi_k = -pi + 2 pi k / n`: `theta [...]` -> `[..., n]`."""
    phi = -math.pi + 2 * math.pi * torch.arange(n, dtype=theta.dtype, device=theta.device) / n
    return torch.relu(torch.cos(theta[..., None] - phi))


def rate_function(x: Tensor, spec: CircuitSpec) -> Tensor:
    """f(x) = beta log(1 + exp(alpha + gamma x))."""
    return spec.beta * torch.nn.functional.softplus(spec.alpha + spec.gamma * x)


def inverse_rate(r: Tensor, spec: CircuitSpec) -> Tensor:
    """f^{-1}(r) = (log(exp(r / beta) - 1) - alpha) / gamma, for r > 0 (computed stably)."""
    z = r / spec.beta
    # log(expm1(z)) = z + log(1 - exp(-z)), which does not overflow for large z
    return (z + torch.log(-torch.expm1(-z)) - spec.alpha) / spec.gamma


def drift(r: Tensor, s: Tensor, w: Tensor, c: Tensor, b: Tensor, spec: CircuitSpec) -> Tensor:
    """`-f^{-1}(r) / R + W r + C s + b`: `r [..., N]`, `s [..., K]` -> `[..., N]`."""
    return -inverse_rate(r, spec) / spec.leak_r + r @ w.T + s @ c.T + b


def simulate(
    r0: Tensor,
    s: Tensor,
    w: Tensor,
    c: Tensor,
    b: Tensor,
    spec: CircuitSpec,
    *,
    n_steps: int,
    generator: torch.Generator | None = None,
    record_every: int = 1,
) -> Tensor:
    """Euler-Maruyama integration of the circuit.

    Parameters
    ----------
    r0 : Tensor [B, N]
        Initial rates.
    s : Tensor [B, K] or [n_steps, B, K]
        The inputs `s(theta)`: fixed, or one per step (a drifting stimulus).
    n_steps : int
        Steps of `spec.dt`.
    record_every : int
        Keep every k-th state.

    Returns
    -------
    Tensor [n_steps // record_every, B, N]
    """
    if r0.dim() != 2 or r0.shape[-1] != w.shape[0]:
        raise ConfigError(f"r0 must be [B, N={w.shape[0]}], got {tuple(r0.shape)}")
    r = r0.clamp(spec.r_min, spec.r_max)
    kept = []
    for t in range(n_steps):
        inputs = s[t] if s.dim() == 3 else s
        noise = torch.randn(r.shape, generator=generator, dtype=r.dtype, device=r.device)
        r = euler_step(r, inputs, w, c, b, spec, noise)
        if (t + 1) % record_every == 0:
            kept.append(r)
    return torch.stack(kept)


def euler_step(
    r: Tensor, s: Tensor, w: Tensor, c: Tensor, b: Tensor, spec: CircuitSpec, noise: Tensor
) -> Tensor:
    """One Euler-Maruyama step, `r + dt drift + sigma sqrt(dt) noise`, clipped to the rate
    range: `r [B, N]`, `s [B, K]`, `noise [B, N]` standard normal -> `[B, N]`."""
    step = r + spec.dt * drift(r, s, w, c, b, spec) + spec.sigma * math.sqrt(spec.dt) * noise
    return step.clamp(spec.r_min, spec.r_max)


def energy(
    r: np.ndarray, s: np.ndarray, w: np.ndarray, c: np.ndarray, b: np.ndarray, spec: CircuitSpec
) -> np.ndarray:
    """E(r, theta) for symmetric W (see the module docstring), `r [..., N]` -> `[...]`.

    The leak's integral in closed form: with a = 1 / beta,
    `int_0^r log(e^{a u} - 1) du = a r^2 / 2 + (Li2(e^{-a r}) - pi^2 / 6) / a`
    (Li2 the dilogarithm, `scipy.special.spence(1 - x)`)."""
    a = 1.0 / spec.beta
    li2 = spence(1.0 - np.exp(-a * r))
    integral = (a * r**2 / 2 + (li2 - math.pi**2 / 6) / a - spec.alpha * r) / spec.gamma
    leak = integral.sum(-1) / spec.leak_r
    return leak - 0.5 * np.einsum("...i,ij,...j->...", r, w, r) - (r * (s @ c.T + b)).sum(-1)
