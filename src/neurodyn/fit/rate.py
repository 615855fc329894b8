"""The fast data-constrained fit: one rate unit per recorded neuron, weights by ridge regression
of each neuron's next-step drive, all neurons in one linear solve.

For a leaky rate network `r_{t+1} = (1 - alpha) r_t + alpha f(W r_t + W_in u_t + b)`, the drive
each neuron received at step t is known from the rates themselves,
`z_t = f^{-1}((r_{t+1} - (1 - alpha) r_t) / alpha)`, and it is linear in the parameters:
`z_t = [r_t, u_t, 1] @ [W, W_in, b]^T`. Ridge regression over every bin and trial gives all
neurons' weights from one Gram matrix and one solve with N right-hand sides, in the spirit of
CORNN (Dinc et al. 2023, "CORNN: Convex optimization of recurrent neural networks for rapid
inference of neural dynamics"), which solves the same per-neuron problems jointly (with its
own convex loss; here plain ridge on the inverted drive). Several ridge strengths are the
ensemble axis: one batched solve `[E, D, D]`.

`rank=r` keeps the recurrent weights of rank r (reduced-rank ridge regression): `W` is
projected onto the r leading directions of the recurrent drive it predicts, as a low-rank
network `W = m n^T / N` (Mastrogiuseppe & Ostojic 2018) has only r such directions.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import Tensor

from neurodyn.analysis._result import ShortRepr
from neurodyn.data import Recording
from neurodyn.errors import ArgumentError, ShapeError
from neurodyn.models import CTRNN, NetworkSpec

# The activations whose inverse gives the drive: the identity (a linear network), tanh, softplus.
INVERSES = {
    "linear": lambda z: z,
    "tanh": lambda z: torch.atanh(z.clamp(-1 + 1e-4, 1 - 1e-4)),
    "softplus": lambda z: torch.log(torch.expm1(z.clamp(min=1e-4))),
}
FORWARDS = {
    "linear": lambda z: z,
    "tanh": torch.tanh,
    "softplus": torch.nn.functional.softplus,
}


@dataclass(frozen=True, repr=False)
class RateFit(ShortRepr):
    """Networks of one unit per recorded neuron, one per ridge strength (the ensemble axis).

    Attributes
    ----------
    W_rec : Tensor [E, N, N]
        `W_rec[e, i, j]`: from neuron j onto neuron i.
    W_in : Tensor [E, N, I]
    b : Tensor [E, N]
    ridge : tuple of E floats
    r2 : Tensor [E]
        Fraction of the drive's variance explained on the fitted bins.
    activation : str
    alpha : float
        `dt_ms / tau_ms`.
    dt_ms : float
    rank : int or None
    """

    W_rec: Tensor
    W_in: Tensor
    b: Tensor
    ridge: tuple[float, ...]
    r2: Tensor
    activation: str
    alpha: float
    dt_ms: float
    rank: int | None

    def step(self, h: Tensor, u: Tensor) -> Tensor:
        """One step `F(h, u)` of the fitted networks.

        Parameters
        ----------
        h : Tensor [E, B, N]
        u : Tensor [E, B, I] or [B, I]

        Returns
        -------
        Tensor [E, B, N]
        """
        if u.dim() == 2:
            u = u[None].expand(self.W_rec.shape[0], -1, -1)
        pre = h @ self.W_rec.transpose(1, 2) + u @ self.W_in.transpose(1, 2) + self.b[:, None]
        return (1 - self.alpha) * h + self.alpha * FORWARDS[self.activation](pre)

    @property
    def system_matrix(self) -> Tensor:
        """`[E, N, N]`: the map `(1 - alpha) I + alpha W_rec` of a linear fit (its Jacobian)."""
        if self.activation != "linear":
            raise ArgumentError(
                f"system_matrix is the map of a linear fit; this fit is {self.activation}: use "
                "the Jacobian at a state (network().step_jacobian)"
            )
        eye = torch.eye(self.W_rec.shape[-1], dtype=self.W_rec.dtype)
        return (1 - self.alpha) * eye + self.alpha * self.W_rec

    def network(self, *, tau_ms: float | None = None, seeds: Sequence[int] | None = None) -> CTRNN:
        """The fits as a `CTRNN` (every analysis, `adopt`ed runs): N units, inputs I, outputs
        the N rates themselves (`W_out` the identity); a fit without inputs gets one input
        channel with zero weights (a cell has at least one). Not for a linear fit (no such
        cell).
        """
        if self.activation == "linear":
            raise ArgumentError(
                "a linear fit has no CTRNN cell (its activations are relu, tanh, softplus, "
                "retanh); analyse it through RateFit.step"
            )
        n_members, n, n_inputs = self.W_in.shape
        w_in = self.W_in
        if n_inputs == 0:  # a cell has at least one input: a channel the fit never drives
            w_in, n_inputs = self.W_in.new_zeros(n_members, n, 1), 1
        spec = NetworkSpec(
            n_inputs=n_inputs,
            n_hidden=n,
            n_outputs=n,
            dt_ms=self.dt_ms,
            tau_ms=self.dt_ms / self.alpha if tau_ms is None else tau_ms,
            activation=self.activation,
            sigma_rec=0.0,
            seeds=tuple(seeds) if seeds is not None else tuple(range(n_members)),
        )
        model = CTRNN(spec)
        with torch.no_grad():
            model.W_rec.copy_(self.W_rec)
            model.W_in.copy_(w_in)
            model.b.copy_(self.b)
            model.W_out.copy_(torch.eye(n).expand(n_members, n, n))
            model.b_out.zero_()
        return model


def fit_rates(
    rates: Tensor | Recording,
    *,
    inputs: Tensor | None = None,
    dt_ms: float | None = None,
    tau_ms: float | None = None,
    activation: str = "tanh",
    ridge: float | Sequence[float] = 1e-2,
    rank: int | None = None,
) -> RateFit:
    """Fit one leaky rate unit per neuron to rates by ridge regression on the next-step drive.

    Parameters
    ----------
    rates : Tensor [T, B, N] or a Recording of kind "rates"
        The rates (in the activation's range: (-1, 1) for tanh, positive for softplus).
    inputs : Tensor [T, B, I], optional
        Task inputs (default: the recording's, else none).
    dt_ms : float, optional
        Bin width (default: the recording's; else 1).
    tau_ms : float, optional
        Time constant (default: dt_ms, alpha = 1: a discrete-time network).
    activation : {"linear", "tanh", "softplus"}
    ridge : float or sequence of E floats
        L2 strengths, relative to the mean diagonal of the Gram matrix; several give an
        ensemble of fits from one batched solve.
    rank : int, optional
        Keep the recurrent weights of this rank (reduced-rank ridge).

    Returns
    -------
    RateFit
        `W_rec [E, N, N]`, `W_in [E, N, I]`, `b [E, N]`.

    Example
    -------
    >>> A = torch.tensor([[0.9, 0.2], [-0.2, 0.9]])
    >>> h = [torch.randn(50, 2, generator=torch.Generator().manual_seed(0))]
    >>> for _ in range(30):
    ...     h.append(h[-1] @ A.T + 0.1 * torch.randn(50, 2))
    >>> fit = fit_rates(torch.stack(h), activation="linear", ridge=1e-6)
    >>> torch.allclose(fit.W_rec[0], A, atol=0.05)
    True
    """
    if isinstance(rates, Recording):
        if rates.kind != "rates":
            raise ArgumentError(
                f"{rates.source}: fit_rates fits rates; these are spike counts: smooth them "
                "into rates first, or fit a latent network (neurodyn.fit.fit_latent)"
            )
        inputs = rates.inputs if inputs is None else inputs
        dt_ms = rates.bin_ms if dt_ms is None else dt_ms
        rates = rates.activity
    if activation not in INVERSES:
        raise ArgumentError(f"activation must be one of {sorted(INVERSES)}, got {activation!r}")
    if rates.dim() != 3 or rates.shape[0] < 2:
        raise ShapeError(f"rates must be [T, B, N] with T >= 2, got {tuple(rates.shape)}")
    n_steps, n_trials, n = rates.shape
    if inputs is None:
        inputs = rates.new_zeros(n_steps, n_trials, 0)
    if tuple(inputs.shape[:2]) != (n_steps, n_trials):
        raise ShapeError(
            f"inputs must be [T, B, I] = [{n_steps}, {n_trials}, I], got {tuple(inputs.shape)}"
        )
    dt = 1.0 if dt_ms is None else float(dt_ms)
    alpha = 1.0 if tau_ms is None else dt / float(tau_ms)
    if not 0 < alpha <= 1:
        raise ArgumentError(f"tau_ms must be at least dt_ms ({dt}), got {tau_ms}")
    strengths = (
        (float(ridge),) if isinstance(ridge, int | float) else tuple(float(r) for r in ridge)
    )
    if not strengths or any(not 0 <= r < math.inf for r in strengths):
        raise ArgumentError(f"ridge must be non-negative numbers, got {ridge}")
    if rank is not None and not 1 <= rank <= n:
        raise ArgumentError(f"rank must lie in [1, {n}] or be None, got {rank}")

    r = rates.double()
    u = inputs.double()
    now, nxt = r[:-1].reshape(-1, n), r[1:].reshape(-1, n)
    drive = INVERSES[activation]((nxt - (1 - alpha) * now) / alpha)  # [M, N]
    design = torch.cat(
        [now, u[:-1].reshape(now.shape[0], -1), torch.ones(now.shape[0], 1, dtype=r.dtype)], 1
    )
    gram = design.T @ design  # [D, D]
    cross = design.T @ drive  # [D, N]
    d = gram.shape[0]
    penalty = torch.ones(d, dtype=r.dtype)
    penalty[-1] = 0.0  # the bias is not shrunk
    scale = gram.diagonal().mean()
    lams = torch.tensor(strengths, dtype=r.dtype)[:, None, None] * scale
    systems = gram[None] + lams * torch.diag(penalty)[None]  # [E, D, D]
    theta = torch.linalg.solve(systems, cross[None].expand(len(strengths), -1, -1))  # [E, D, N]
    w_rec = theta[:, :n].transpose(1, 2)  # [E, N(to), N(from)]
    if rank is not None:
        # the r directions the recurrent drive spans most, per member: W's column space
        recurrent = now @ w_rec.transpose(1, 2)  # [E, M, N]
        _, _, vh = torch.linalg.svd(recurrent, full_matrices=False)
        keep = vh[:, :rank].transpose(1, 2)  # [E, N, r]
        w_rec = keep @ keep.transpose(1, 2) @ w_rec
        theta = theta.clone()
        theta[:, :n] = w_rec.transpose(1, 2)
    predicted = design @ theta  # [E, M, N]
    residual = ((drive - predicted) ** 2).sum((1, 2))
    total = ((drive - drive.mean(0)) ** 2).sum()
    n_inputs = u.shape[-1]
    return RateFit(
        W_rec=w_rec.float(),
        W_in=theta[:, n : n + n_inputs].transpose(1, 2).float(),
        b=theta[:, -1].float(),
        ridge=strengths,
        r2=(1 - residual / total.clamp(min=1e-12)).float(),
        activation=activation,
        alpha=alpha,
        dt_ms=dt,
        rank=rank,
    )
