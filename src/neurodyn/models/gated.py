"""GRU and LSTM networks with the CTRNN's interface: an ensemble axis, per-member noise
streams, a readout, `step` and `step_jacobian` for the fixed-point finder.

Equations and gate order are torch's (`torch.nn.GRUCell`, `torch.nn.LSTMCell`), so a member's
weights can be copied to and from torch's cells (`to_torch_cell`), and a test checks that both
compute the same thing:

    GRU:  r, z = sigma(W_in[r,z] x + b[r,z] + W_rec[r,z] h + b_rec[r,z])
          n = tanh(W_in[n] x + b[n] + r * (W_rec[n] h + b_rec[n]))
          h' = (1 - z) * n + z * h
    LSTM: i, f, g, o = sigma, sigma, tanh, sigma of (W_in x + b + W_rec h + b_rec)
          c' = f * c + i * g,  h' = o * tanh(c')

The state the analyses see is h for the GRU and the concatenation (h, c) for the LSTM (the
map `(h, c) -> (h', c')` is what has fixed points); the readout reads h. These are discrete-
time maps: `dt_ms` and `tau_ms` set only the task's time step, and fixed points are classified
on the map (eigenvalues against the unit circle). Noise: Gaussian of standard deviation
`sigma_rec` on the input side of every gate's pre-activation, `sigma_in` on the inputs, each
member drawing from its own generator, as in the CTRNN.

Parameters (E members): `W_in [E, G N, I]`, `W_rec [E, G N, N]`, `b [E, G N]`, `b_rec [E, G N]`,
`W_out [E, O, N]`, `b_out [E, O]`, with G = 3 (GRU) or 4 (LSTM). Initialisation: torch's,
uniform in +-1/sqrt(N), from each member's seed; readout as the CTRNN's.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Self

import torch
from torch import Tensor, nn

from neurodyn.errors import ConfigError
from neurodyn.models._ensemble import EnsembleNetwork
from neurodyn.models.spec import NetworkSpec, Trajectory

GATES = {"gru": 3, "lstm": 4}


class GatedRNN(EnsembleNetwork):
    """An ensemble of GRU or LSTM networks (`spec.cell`)."""

    W_in: nn.Parameter
    W_rec: nn.Parameter
    b: nn.Parameter
    b_rec: nn.Parameter
    W_out: nn.Parameter
    b_out: nn.Parameter

    continuous_time = False

    @classmethod
    def check_spec(cls, spec: NetworkSpec) -> None:
        """The leaky network's structure options have no meaning for a gated cell."""
        leaky_only = {
            "excitatory_fraction": spec.excitatory_fraction is not None,
            "autapses": not spec.autapses,
            "areas": spec.areas is not None,
            "learn_initial_state": spec.learn_initial_state,
            "rec_init": spec.rec_init != "gaussian",
            "masks": spec.has_masks,
        }
        used = [name for name, set_ in leaky_only.items() if set_]
        if used:
            raise ConfigError(f"{', '.join(used)} apply to the ctrnn cell only, not to {spec.cell}")

    def __init__(self, spec: NetworkSpec) -> None:
        super().__init__()
        if spec.cell not in GATES:
            raise ConfigError(f"GatedRNN builds cell 'gru' or 'lstm', got {spec.cell!r}")
        self.spec = spec
        members = [self._init_member(seed) for seed in spec.seeds]
        for name in ("W_in", "W_rec", "b", "b_rec", "W_out", "b_out"):
            self.register_parameter(name, nn.Parameter(torch.stack([m[name] for m in members])))

    def _init_member(self, seed: int) -> dict[str, Tensor]:
        s = self.spec
        n, gates = s.n_hidden, GATES[s.cell] * s.n_hidden
        g = torch.Generator().manual_seed(int(seed))
        bound = 1 / math.sqrt(n)

        def uniform(*shape: int) -> Tensor:
            return (torch.rand(*shape, generator=g) * 2 - 1) * bound

        return {
            "W_in": uniform(gates, s.n_inputs),
            "W_rec": uniform(gates, n),
            "b": uniform(gates),
            "b_rec": uniform(gates),
            "W_out": torch.randn(s.n_outputs, n, generator=g) / math.sqrt(n),
            "b_out": torch.zeros(s.n_outputs),
        }

    @property
    def state_size(self) -> int:
        """Size of the state the analyses see: N (GRU) or 2N (LSTM: h and c)."""
        return self.spec.n_hidden * (2 if self.spec.cell == "lstm" else 1)

    def constrain_(self) -> Self:
        """Nothing to project: gated cells take no structural constraints (the spec refuses
        them)."""
        return self

    def _cell(self, state: Tensor, gx: Tensor) -> tuple[Tensor, Tensor]:
        """One step from the input side of the gates `gx [E, B, G N]`: (new state, the
        recurrent side `W_rec h + b_rec`)."""
        n = self.spec.n_hidden
        h = state[..., :n]
        gh = torch.baddbmm(self.b_rec[:, None], h, self.W_rec.transpose(1, 2))
        if self.spec.cell == "gru":
            r, z = torch.sigmoid(gx[..., : 2 * n] + gh[..., : 2 * n]).chunk(2, dim=-1)
            cand = torch.tanh(gx[..., 2 * n :] + r * gh[..., 2 * n :])
            return (1 - z) * cand + z * h, gh
        pre = gx + gh
        i, f, o = (torch.sigmoid(pre[..., k * n : (k + 1) * n]) for k in (0, 1, 3))
        g = torch.tanh(pre[..., 2 * n : 3 * n])
        c = f * state[..., n:] + i * g
        return torch.cat([o * torch.tanh(c), c], dim=-1), gh

    def forward(
        self,
        x: Tensor,
        *,
        h0: Tensor | None = None,
        generators: Sequence[torch.Generator] | None = None,
        noise: bool = True,
        return_drives: bool = False,
    ) -> Trajectory:
        """Run the networks over inputs; as `CTRNN.forward`.

        `h0 [E, B, S]` or `[B, S]` (S = `state_size`); states come back `[T, E, B, S]`. With
        `return_drives`, the input and recurrent sides of every gate's pre-activation (`W_in
        x` and `W_rec h_{t-1}`, `[T, E, B, G N]`).
        """
        s = self.spec
        xe = self._per_member(x)  # [E, T, B, I]
        n_members, n_steps, batch_size, _ = xe.shape
        if noise and s.sigma_in > 0:
            xe = xe + s.sigma_in * self._noise(xe.shape[1:], generators, xe.device)
        x_flat = xe.reshape(n_members, n_steps * batch_size, -1)
        drive_in = torch.bmm(x_flat, self.W_in.transpose(1, 2))  # [E, T B, G N]
        gx = (drive_in + self.b[:, None]).reshape(n_members, n_steps, batch_size, -1)
        if noise and s.sigma_rec > 0:
            gx = gx + s.sigma_rec * self._noise(gx.shape[1:], generators, xe.device)
        if h0 is None:
            state = torch.zeros(n_members, batch_size, self.state_size, device=xe.device)
        else:
            state = h0 if h0.dim() == 3 else h0[None].expand(n_members, -1, -1)
        states, rec_drives = [], []
        for gx_t in gx.unbind(1):
            state, gh = self._cell(state, gx_t)
            states.append(state)
            if return_drives:
                rec_drives.append(gh - self.b_rec[:, None])
        states_t = torch.stack(states)  # [T, E, B, S]
        h = states_t[..., : s.n_hidden]
        out = torch.einsum("tebn,eon->tebo", h, self.W_out) + self.b_out[None, :, None]
        return Trajectory(
            states=states_t,
            outputs=out,
            input_drive=(
                drive_in.reshape(n_members, n_steps, batch_size, -1).transpose(0, 1)
                if return_drives
                else None
            ),
            recurrent_drive=torch.stack(rec_drives) if return_drives else None,
        )

    def step(self, h: Tensor, x: Tensor) -> Tensor:
        """One noise-free step `F(state, x)`: `h [E, B, S]`, `x [E, B, I]` or `[B, I]` ->
        `[E, B, S]`."""
        if x.dim() == 2:
            x = x[None].expand(self.ensemble_size, -1, -1)
        gx = torch.baddbmm(self.b[:, None], x, self.W_in.transpose(1, 2))
        return self._cell(h, gx)[0]

    def step_jacobian(self, h: Tensor, x: Tensor) -> Tensor:
        """Jacobian of `step` with respect to the state, `[E, B, S, S]` with `J[e, b, i, j] =
        dF_i / dh_j`, by reverse-mode differentiation vectorised over the S output
        directions (members and trials are independent, so one pass serves them all)."""
        size = h.shape[-1]
        with torch.enable_grad():
            pullback = torch.func.vjp(lambda state: self.step(state, x), h)[1]
            basis = torch.eye(size, dtype=h.dtype, device=h.device)
            directions = basis[:, None, None, :].expand(size, *h.shape)
            rows = torch.func.vmap(pullback)(directions)[0]  # [S_out, E, B, S_in]
        return rows.permute(1, 2, 0, 3)

    def to_torch_cell(self, index: int = 0) -> nn.GRUCell | nn.LSTMCell:
        """Member `index` as torch's own cell (the same weights)."""
        s = self.spec
        cell = (nn.GRUCell if s.cell == "gru" else nn.LSTMCell)(s.n_inputs, s.n_hidden)
        with torch.no_grad():
            cell.weight_ih.copy_(self.W_in[index])
            cell.weight_hh.copy_(self.W_rec[index])
            cell.bias_ih.copy_(self.b[index])
            cell.bias_hh.copy_(self.b_rec[index])
        return cell
