"""Analytic test systems as step functions: a Runge-Kutta 4 step of a vector field, with the
step's Jacobian in closed form (the chain rule through the four stages), so the analyses of a
flow are checked against known answers without autograd overhead on tiny systems."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

Field = Callable[[Tensor], Tensor]


def rk4(field: Field, field_jacobian: Field, dt: float):
    """`(step, jacobian)`: `step(h, u)` one RK4 step of `dh/dt = field(h)`, `jacobian(h, u)`
    its derivative `[..., N, N]`."""

    def stages(h: Tensor) -> tuple[Tensor, Tensor]:
        eye = torch.eye(h.shape[-1], dtype=h.dtype)
        k1, j1 = field(h), field_jacobian(h)
        h2 = h + dt / 2 * k1
        k2, j2 = field(h2), field_jacobian(h2) @ (eye + dt / 2 * j1)
        h3 = h + dt / 2 * k2
        k3, j3 = field(h3), field_jacobian(h3) @ (eye + dt / 2 * j2)
        h4 = h + dt * k3
        k4, j4 = field(h4), field_jacobian(h4) @ (eye + dt * j3)
        return h + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4), eye + dt / 6 * (j1 + 2 * j2 + 2 * j3 + j4)

    return (lambda h, u: stages(h)[0]), (lambda h, u: stages(h)[1])


def _rows(*rows: list[Tensor]) -> Tensor:
    return torch.stack([torch.stack(list(r), -1) for r in rows], -2)


def hopf(mu: float, omega: float) -> tuple[Field, Field]:
    """The Hopf normal form in Cartesian coordinates: a circle of radius sqrt(mu), period
    2 pi / omega, non-trivial Floquet multiplier exp(-2 mu T)."""

    def field(h: Tensor) -> Tensor:
        x, y = h[..., 0], h[..., 1]
        r2 = x**2 + y**2
        return torch.stack([mu * x - omega * y - x * r2, omega * x + mu * y - y * r2], -1)

    def jac(h: Tensor) -> Tensor:
        x, y = h[..., 0], h[..., 1]
        r2 = x**2 + y**2
        return _rows(
            [mu - r2 - 2 * x**2, -omega - 2 * x * y],
            [omega - 2 * x * y, mu - r2 - 2 * y**2],
        )

    return field, jac


def van_der_pol(mu: float) -> tuple[Field, Field]:
    """The van der Pol oscillator in Liénard form, x' = mu (x - x^3 / 3 - y), y' = x / mu (the
    same period as x'' - mu (1 - x^2) x' + x = 0, and not stiff in y for large mu)."""

    def field(h: Tensor) -> Tensor:
        x, y = h[..., 0], h[..., 1]
        return torch.stack([mu * (x - x**3 / 3 - y), x / mu], -1)

    def jac(h: Tensor) -> Tensor:
        x = h[..., 0]
        one = torch.ones_like(x)
        return _rows([mu * (1 - x**2), -mu * one], [one / mu, 0 * one])

    return field, jac


def lorenz(sigma: float = 10.0, rho: float = 28.0, beta: float = 8 / 3) -> tuple[Field, Field]:
    def field(h: Tensor) -> Tensor:
        x, y, z = h[..., 0], h[..., 1], h[..., 2]
        return torch.stack([sigma * (y - x), x * (rho - z) - y, x * y - beta * z], -1)

    def jac(h: Tensor) -> Tensor:
        x, y, z = h[..., 0], h[..., 1], h[..., 2]
        one = torch.ones_like(x)
        return _rows(
            [-sigma * one, sigma * one, 0 * one],
            [rho - z, -one, -x],
            [y, x, -beta * one],
        )

    return field, jac
