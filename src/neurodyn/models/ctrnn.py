"""The leaky rate RNN (CTRNN), with an ensemble axis.

Dynamics, Euler-discretised with `alpha = dt_ms / tau_ms` (Song, Yang & Wang 2016):

    h_t = (1 - alpha) h_{t-1} + alpha f(W_in x_t + W_rec h_{t-1} + b + noise_t)
    out_t = W_out h_t + b_out

`noise_t` is Gaussian with standard deviation `sqrt(2 / alpha) * sigma_rec`, so that the
continuous-time process has noise amplitude `sigma_rec` whatever the step size; input noise
of standard deviation `sigma_in * sqrt(2 / alpha)` is added to `x_t` the same way.

One `CTRNN` holds E independent networks (an ensemble: seeds or hyper-parameter variants) as
parameters with a leading `E` axis (`W_rec [E, N, N]`), computed as one batched computation.
Each member is initialised from its own seed, so member e of an ensemble built with
`seeds=(1, 2, 3)` equals a single network built with `seeds=(seeds[e],)`.

Weight convention: `W_rec[e, i, j]` is the weight from unit j onto unit i (`W_rec @ h`).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Self

import torch
from torch import Tensor, nn

from neurodyn.errors import ConfigError
from neurodyn.models._ensemble import EnsembleNetwork
from neurodyn.models.recurrence import (
    ACTIVATIONS,
    SLOPES,
    SLOPES_OF_OUTPUT,
    leaky_recurrence,
    speed_descent,
)
from neurodyn.models.spec import NetworkSpec, Trajectory

# f'(z) of each activation, for Jacobians in closed form
DERIVATIVES = SLOPES


# Initial W_rec, scaled by rec_gain: Gaussian entries of variance gain^2 / N (spectral radius
# about gain), the same Gaussian scaled to spectral radius gain exactly ('radius'), the identity
# (Yang et al. 2019's 'diag', gain 0.5 for softplus and relu), or a random orthogonal matrix
# (their 'randortho').
REC_INITS = ("gaussian", "diagonal", "orthogonal", "radius")


class CTRNN(EnsembleNetwork):
    """Leaky rate RNN with an ensemble axis.

    Parameters: `W_in [E, N, I]`, `W_rec [E, N, N]`, `b [E, N]`, `W_out [E, O, N]`,
    `b_out [E, O]`.

    Example
    -------
    >>> model = CTRNN(NetworkSpec(n_inputs=3, n_hidden=16, n_outputs=3, seeds=(1, 2)))
    >>> traj = model(torch.zeros(10, 4, 3))
    >>> tuple(traj.states.shape)
    (10, 2, 4, 16)
    """

    W_in: nn.Parameter
    W_rec: nn.Parameter
    b: nn.Parameter
    W_out: nn.Parameter
    b_out: nn.Parameter
    h0: nn.Parameter  # only with learn_initial_state

    continuous_time = True  # fixed points are classified on the flow (dt = spec.dt_ms)
    cell_name = "ctrnn"  # the spec's `cell` this class builds (a subclass builds its own)

    @classmethod
    def check_spec(cls, spec: NetworkSpec) -> None:
        if spec.rec_init not in REC_INITS:
            raise ConfigError(f"rec_init must be one of {REC_INITS}, got {spec.rec_init!r}")

    def __init__(self, spec: NetworkSpec) -> None:
        super().__init__()
        if spec.cell != self.cell_name:
            raise ConfigError(f"CTRNN builds the ctrnn cell; use build_model for {spec.cell}")
        self.spec = spec
        self._f = ACTIVATIONS[spec.activation]
        members = [self._init_member(seed) for seed in spec.seeds]
        for name in members[0]:  # the parameters each member's initialisation gives
            self.register_parameter(name, nn.Parameter(torch.stack([m[name] for m in members])))
        if spec.learn_initial_state:
            self.register_parameter("h0", nn.Parameter(torch.zeros(len(spec.seeds), spec.n_hidden)))
        if spec.excitatory_fraction is not None:
            self._dale_init()
        self.constrain_()

    @torch.no_grad()
    def _dale_init(self) -> None:
        """Weights leaving each unit take its sign: |W| times +1 (excitatory) or -f/(1-f)
        (inhibitory, f the excitatory share), so each unit's expected recurrent input is zero
        (a balanced network)."""
        f = self.spec.excitatory_fraction
        assert f is not None
        sign = self.structure()["sign_rec"]
        scale = torch.where(sign > 0, 1.0, f / (1 - f))
        self.W_rec.copy_(self.W_rec.abs() * (sign * scale))
        if self.spec.dale_inputs:
            self.W_in.abs_()
        if self.spec.dale_outputs:
            self.W_out.abs_()

    def _init_member(self, seed: int) -> dict[str, Tensor]:
        # One generator per member, drawn in a fixed order, so a member does not depend on
        # which ensemble it is part of.
        s = self.spec
        g = torch.Generator().manual_seed(int(seed))
        w_in = torch.randn(s.n_hidden, s.n_inputs, generator=g) / math.sqrt(s.n_inputs)
        # drawn for every init, so the other weights of a seed are the same whichever is used
        gaussian = torch.randn(s.n_hidden, s.n_hidden, generator=g)
        if s.rec_init == "diagonal":
            w_rec = s.rec_gain * torch.eye(s.n_hidden)
        elif s.rec_init == "radius":  # Gaussian, scaled to spectral radius rec_gain exactly
            radius = torch.linalg.eigvals(gaussian.double()).abs().max().item()
            w_rec = gaussian * (s.rec_gain / radius)
        elif s.rec_init == "orthogonal":
            q, r = torch.linalg.qr(gaussian)
            w_rec = s.rec_gain * q * torch.sign(torch.diagonal(r))  # Haar-distributed
        else:
            w_rec = gaussian * (s.rec_gain / math.sqrt(s.n_hidden))
        return {
            "W_in": w_in,
            "W_rec": w_rec,
            "b": torch.zeros(s.n_hidden),
            "W_out": torch.randn(s.n_outputs, s.n_hidden, generator=g) / math.sqrt(s.n_hidden),
            "b_out": torch.zeros(s.n_outputs),
        }

    def structure(self) -> dict[str, Tensor]:
        """What the spec allows each weight to be: `sign_rec [N]` (+1 excitatory, -1
        inhibitory presynaptic unit, 0 unconstrained), `mask_rec [N, N]` (1 where a connection
        may exist: areas' connections, no autapses), `sign_in` (+1 or 0) and `mask_out [N]`
        (0 from inhibitory units when `dale_outputs`)."""
        s = self.spec
        n = s.n_hidden
        sign = torch.zeros(n)
        mask_out = torch.ones(n)
        if s.excitatory_fraction is not None:
            n_exc = round(s.excitatory_fraction * n)
            sign[:n_exc], sign[n_exc:] = 1.0, -1.0
            if s.dale_outputs:
                mask_out[n_exc:] = 0.0
        mask = torch.ones(n, n)
        if s.areas is not None and s.area_connections is not None:
            area = torch.repeat_interleave(torch.arange(len(s.areas)), torch.tensor(s.areas))
            allowed = torch.tensor(s.area_connections, dtype=torch.float32)
            mask = allowed[area[:, None], area[None, :]]
        if not s.autapses:
            mask = mask * (1 - torch.eye(n))

        def given(m, *shape: int) -> Tensor:  # a user's mask, or every weight allowed
            return torch.ones(shape) if m is None else torch.tensor(m, dtype=torch.float32)

        sign_in = torch.ones(1) if s.dale_inputs else torch.zeros(1)
        return {
            "sign_rec": sign,
            "mask_rec": mask * given(s.mask_rec, n, n),
            "sign_in": sign_in,
            "mask_out": mask_out,
            "mask_in": given(s.mask_in, n, s.n_inputs),
            "mask_readout": given(s.mask_out, s.n_outputs, n),
        }

    @property
    def constrained(self) -> bool:
        s = self.spec
        return (
            s.excitatory_fraction is not None
            or not s.autapses
            or s.areas is not None
            or s.has_masks
        )

    @torch.no_grad()
    def constrain_(self) -> Self:
        """Project the weights onto what the spec allows, in place: connections outside the
        mask set to 0, and under Dale's law every weight leaving an excitatory unit made
        non-negative and every weight leaving an inhibitory one non-positive (wrong signs
        clipped to 0). Applied at initialisation and after every optimiser step, so the
        parameters themselves always obey the structure and every analysis sees true weights.
        """
        if not (self.constrained or self.spec.dale_inputs or self.spec.dale_outputs):
            return self
        st = {k: v.to(self.W_rec.device) for k, v in self.structure().items()}
        w = self.W_rec * st["mask_rec"]
        sign = st["sign_rec"]  # columns: presynaptic units
        w = torch.where(sign > 0, w.clamp(min=0), torch.where(sign < 0, w.clamp(max=0), w))
        self.W_rec.copy_(w)
        if self.spec.dale_inputs:
            self.W_in.clamp_(min=0)
        if self.spec.dale_outputs:
            self.W_out.copy_(self.W_out.clamp(min=0) * st["mask_out"])
        self.W_in.mul_(st["mask_in"])
        self.W_out.mul_(st["mask_readout"])
        return self

    @property
    def state_size(self) -> int:
        """Size of the state the analyses see (the rates: N)."""
        return self.spec.n_hidden

    def activation(self, z: Tensor) -> Tensor:
        return self._f(z)

    def forward(
        self,
        x: Tensor,
        *,
        h0: Tensor | None = None,
        generators: Sequence[torch.Generator] | None = None,
        noise: bool = True,
        return_drives: bool = False,
    ) -> Trajectory:
        """Run the networks over inputs.

        Parameters
        ----------
        x : Tensor [T, B, I] or [T, E, B, I]
            Inputs, shared by all members or one stream per member.
        h0 : Tensor [E, B, N] or [B, N], optional
            Initial state (default: the learned `h0` when `learn_initial_state`, else zeros).
        generators : one torch.Generator per member, optional
            Source of the recurrent and input noise; member e draws only from generators[e].
            Without them, noise comes from torch's global generator.
        noise : bool
            False runs the deterministic network (for analysis).
        return_drives : bool
            Also return `W_in x_t` and `W_rec h_{t-1}` per step.
        """
        s = self.spec
        xe = self._per_member(x)  # [E, T, B, I]
        n_members, n_steps, batch_size, _ = xe.shape
        alpha = s.alpha
        if noise and s.sigma_in > 0:
            xe = xe + s.sigma_in * math.sqrt(2 / alpha) * self._noise(
                xe.shape[1:], generators, xe.device
            )
        # One matmul projects the inputs of every step (bias included); the loop then does one
        # fused matmul-add and one activation per step.
        x_flat = xe.reshape(n_members, n_steps * batch_size, -1)
        w_in_t = self.W_in.transpose(1, 2)
        drive = torch.baddbmm(self.b[:, None, :], x_flat, w_in_t)
        drive = drive.reshape(n_members, n_steps, batch_size, s.n_hidden)
        drive_in = None
        if return_drives:
            drive_in = torch.bmm(x_flat, w_in_t).reshape(drive.shape)
        if noise and s.sigma_rec > 0:
            shape = (n_steps, batch_size, s.n_hidden)
            drive = drive + s.sigma_rec * math.sqrt(2 / alpha) * self._noise(
                shape, generators, xe.device
            )

        if h0 is None and s.learn_initial_state:
            h = self.h0[:, None].expand(-1, batch_size, -1)
        elif h0 is None:
            h = torch.zeros(n_members, batch_size, s.n_hidden, device=xe.device, dtype=xe.dtype)
        else:
            h = h0 if h0.dim() == 3 else h0[None].expand(n_members, -1, -1)
        rec_drives = None
        if return_drives:
            states_e, rec_drives = self._loop_with_drives(drive, h)
        else:
            # hand-written BPTT (neurodyn.models.recurrence)
            states_e = leaky_recurrence(drive, h, self.W_rec, alpha, s.activation)
        out = torch.baddbmm(
            self.b_out[:, None, :],
            states_e.reshape(n_members, n_steps * batch_size, -1),
            self.W_out.transpose(1, 2),
        ).reshape(n_members, n_steps, batch_size, s.n_outputs)
        return Trajectory(
            states=states_e.transpose(0, 1),
            outputs=out.transpose(0, 1),
            input_drive=drive_in.transpose(0, 1) if drive_in is not None else None,
            recurrent_drive=rec_drives,
        )

    def _loop_with_drives(self, drive: Tensor, h: Tensor) -> tuple[Tensor, Tensor]:
        """The recurrence, also returning `W_rec h_{t-1}` of each step (for analyses).
        `drive [E, T, B, N]`, `h [E, B, N]` -> states `[E, T, B, N]`, drives `[T, E, B, N]`."""
        w_rec_t = self.W_rec.transpose(1, 2)
        states, rec_drives = [], []
        for drive_t in drive.unbind(1):
            rec = torch.bmm(h, w_rec_t)
            rec_drives.append(rec)
            h = torch.lerp(h, self._f(drive_t + rec), self.spec.alpha)
            states.append(h)
        return torch.stack(states, dim=1), torch.stack(rec_drives, dim=0)

    def _preactivation(self, h: Tensor, x: Tensor) -> Tensor:
        """`W_in x + W_rec h + b`: `h [E, B, N]`, `x [E, B, I]` or `[B, I]` -> `[E, B, N]`."""
        if x.dim() == 2:
            x = x[None].expand(self.ensemble_size, -1, -1)
        # two fused multiply-adds: the finder calls this a few hundred times per search
        drive = torch.baddbmm(self.b[:, None], x, self.W_in.mT)
        return torch.baddbmm(drive, h, self.W_rec.mT)

    def step(self, h: Tensor, x: Tensor) -> Tensor:
        """One noise-free step `F(h, x)`, the map whose fixed points the analyses look for.

        Parameters
        ----------
        h : Tensor [E, B, N]
        x : Tensor [E, B, I] or [B, I]

        Returns
        -------
        Tensor [E, B, N]
        """
        pre = self._preactivation(h, x)
        return (1 - self.spec.alpha) * h + self.spec.alpha * self._f(pre)

    def speed_and_gradient(self, x: Tensor) -> LeakySpeed:
        """For a fixed-point search at constant inputs `x [E, B, I]` (or `[B, I]`): the function
        `h [E, B, N] -> (q [E, B], dq/dh [E, B, N])` of the speed `q = |F(h, x) - h|^2 / 2`,
        in closed form, the input's drive `W_in x + b` computed once (a `LeakySpeed`, which
        also runs the finder's descent in C++ on the CPU).

        With `r = F(h) - h = alpha (f(pre) - h)` and `J = (1 - alpha) I + alpha diag(f') W_rec`,
        `dq/dh = J^T r - r = alpha (W_rec^T (f'(pre) r) - r)`.
        """
        if x.dim() == 2:
            x = x[None].expand(self.ensemble_size, -1, -1)
        drive = torch.bmm(x, self.W_in.transpose(1, 2)) + self.b[:, None]
        return LeakySpeed(drive, self.W_rec, self.spec.alpha, self.spec.activation)

    def step_jacobian(self, h: Tensor, x: Tensor) -> Tensor:
        """Jacobian of `step` with respect to h, in closed form.

        `dF/dh = (1 - alpha) I + alpha diag(f'(pre)) W_rec`, with `pre = W_in x + W_rec h + b`.

        Parameters
        ----------
        h : Tensor [E, B, N]
        x : Tensor [E, B, I] or [B, I]

        Returns
        -------
        Tensor [E, B, N, N], `J[e, b, i, j] = dF_i / dh_j`
        """
        alpha = self.spec.alpha
        slope = DERIVATIVES[self.spec.activation](self._preactivation(h, x))  # [E, B, N]
        # one pass over the [E, B, N, N] result (a Levenberg-Marquardt iteration builds one per
        # state: three passes were a third of its time at N = 128), the diagonal in place
        jac = (alpha * slope)[..., None] * self.W_rec[:, None]
        jac.diagonal(dim1=-2, dim2=-1).add_(1 - alpha)
        return jac


@dataclass(frozen=True)
class LeakySpeed:
    """The speed `q(h) = |F(h) - h|^2 / 2` of the leaky map `F(h) = (1 - alpha) h +
    alpha f(W_rec h + drive)` at constant inputs, and its gradient, in closed form
    (`CTRNN.speed_and_gradient`).

    Attributes
    ----------
    drive : Tensor [E, B, N]   `W_in x + b`
    w_rec : Tensor [E, N, N]
    alpha : float
    activation : str
    """

    drive: Tensor
    w_rec: Tensor
    alpha: float
    activation: str

    def __call__(self, h: Tensor) -> tuple[Tensor, Tensor]:
        """q `[E, B]` and dq/dh `[E, B, N]` at `h [E, B, N]`.

        Parameters
        ----------
        h : Tensor [E, B, N]

        Returns
        -------
        (Tensor [E, B], Tensor [E, B, N])
        """
        # in place where a temporary is ours: this runs thousands of times per search
        alpha = self.alpha
        pre = torch.baddbmm(self.drive, h, self.w_rec.transpose(1, 2))
        rates = ACTIVATIONS[self.activation](pre)
        # f' from the rates where it can be (tanh's slope without a second tanh)
        slope_of_output = SLOPES_OF_OUTPUT.get(self.activation)
        if slope_of_output is None:
            weighted = DERIVATIVES[self.activation](pre)
        else:
            weighted = slope_of_output(rates)
        r = rates.sub_(h).mul_(alpha)
        weighted.mul_(r)
        grad = torch.baddbmm(r, weighted, self.w_rec, beta=-alpha, alpha=alpha)
        return r.square().sum(-1).mul_(0.5), grad

    def descend(
        self, h: Tensor, active: Tensor, n_iters: int, settings: Mapping[str, float]
    ) -> tuple[Tensor, Tensor, Tensor, Tensor] | None:
        """The fixed-point finder's descent from `h [E, B, N]` in C++ (`speed_descent`), or
        None where it does not run (then the finder's Python loop does).

        Parameters
        ----------
        h : Tensor [E, B, N]
        active : Tensor [E, B] of bool
        n_iters : int
        settings : mapping
            The descent's settings (see `neurodyn.models.recurrence.speed_descent`).

        Returns
        -------
        (best [E, B, N], q_best [E, B], active [E, B], ran [E, B]) or None
        """
        if h.shape != self.drive.shape:
            return None
        return speed_descent(
            h, self.drive, self.w_rec, active, n_iters, self.alpha, self.activation, settings
        )


def __getattr__(name: str) -> Any:
    if name == "CTRNNSpec":  # the spec of every cell now, under the name of what it is
        warnings.warn(
            "neurodyn.models.ctrnn.CTRNNSpec is renamed NetworkSpec "
            "(neurodyn.models.NetworkSpec); the old name will be removed",
            DeprecationWarning,
            stacklevel=2,
        )
        return NetworkSpec
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
