"""A current-based leaky integrate-and-fire network, trained by surrogate gradients, with the
CTRNN's interface: ensemble axis, per-member noise streams, readout, structure (Dale's law,
masks, areas), runs on disk.

In discrete time (step dt), each neuron's synaptic current I, membrane potential V, spike s
and filtered spike train r follow

    I_t = a_syn I_{t-1} + W_in x_t + b + W_rec s_{t-1} + noise,      a_syn = exp(-dt / tau_syn)
    V_t = a_mem V_{t-1} + (1 - a_mem) I_t,                             a_mem = exp(-dt / tau_mem)
    s_t = H(V_t - threshold)  (not during the refractory period, when V is held at reset)
    V_t <- reset where s_t = 1
    r_t = a_out r_{t-1} + (1 - a_out) s_t,                             a_out = exp(-dt / tau_readout)
    y_t = W_out r_t + b_out

(tau_mem is the spec's `tau_ms`). The readout and the analyses see the filtered spike trains
r, spikes per step averaged over tau_readout: the rate equivalent of the spiking network.
The Heaviside step H has no useful derivative; the backward pass uses the fast sigmoid's,
1 / (1 + beta |V - threshold| / (threshold - reset))^2 with beta = 10 (the SuperSpike
surrogate, Zenke & Ganguli 2018; Neftci, Mostafa & Zenke 2019), and the reset is not
differentiated through (the spike is detached there), which keeps the gradients stable.

The state a step maps is `[r, s, V, I, refractory steps left]` (`[E, B, 5N]`), so `step` is
the forward pass one step at a time; `Trajectory.states` holds it, `filtered_spikes(states)`
takes r out and `spikes(states)` the spikes. The analyses of states read r
(`activity`); those of the step function (fixed points, cycles, Lyapunov spectra) do not
apply to a map with a threshold and refuse the cell.

Why our own small core, not snntorch or norse: neither has an ensemble axis (E networks as one
batched computation with one noise generator per member), nor neurodyn's structure
constraints; the neuron is a dozen lines of torch, and the benchmark compares it with a plain
snntorch-style loop.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import Tensor

from neurodyn.errors import ConfigError
from neurodyn.models.ctrnn import CTRNN
from neurodyn.models.spec import NetworkSpec, Trajectory

SURROGATE_SLOPE = 10.0


class _SpikeFunction(torch.autograd.Function):
    """H(v) forward, the fast sigmoid's derivative 1 / (1 + beta |v|)^2 backward."""

    @staticmethod
    def forward(v: Tensor) -> Tensor:  # type: ignore[override]
        return (v > 0).to(v.dtype)

    @staticmethod
    def setup_context(ctx, inputs, output) -> None:  # type: ignore[no-untyped-def]
        # the separate context step lets torch.func (vmap in step_jacobian) use the function
        ctx.save_for_backward(inputs[0])

    @staticmethod
    def backward(ctx, grad: Tensor) -> Tensor:  # type: ignore[override]
        (v,) = ctx.saved_tensors
        return grad / (1.0 + SURROGATE_SLOPE * v.abs()) ** 2


def spike_function(v: Tensor) -> Tensor:
    """The spike nonlinearity: 1 where `v > 0`, else 0, with the fast-sigmoid surrogate
    gradient.

    Parameters
    ----------
    v : Tensor
        Membrane potential minus threshold, in units of threshold - reset.

    Returns
    -------
    Tensor
        Spikes (0 or 1), differentiable through the surrogate.
    """
    return _SpikeFunction.apply(v)  # type: ignore[no-any-return]


class LIFNetwork(CTRNN):
    """An ensemble of current-based LIF networks (cell `lif`); parameters as the CTRNN's,
    initialised the same way from each member's seed.

    Example
    -------
    >>> spec = NetworkSpec(n_inputs=3, n_hidden=16, n_outputs=2, cell="lif", dt_ms=1.0,
    ...                    tau_ms=20.0, seeds=(1, 2))
    >>> traj = LIFNetwork(spec)(torch.ones(50, 4, 3))
    >>> tuple(traj.states.shape), tuple(traj.outputs.shape)
    ((50, 2, 4, 80), (50, 2, 4, 2))
    """

    continuous_time = False  # a map: its fixed points are classified against the unit circle
    cell_name = "lif"
    spiking = True

    @classmethod
    def check_spec(cls, spec: NetworkSpec) -> None:
        """Refuse what makes no sense for spiking neurons: a threshold at or below the reset,
        non-positive time constants, a step longer than the refractory period, a learned
        initial state (the state holds potentials and refractory counters)."""
        super().check_spec(spec)
        if spec.threshold <= spec.reset:
            raise ConfigError(
                f"threshold={spec.threshold} must lie above reset={spec.reset}: a neuron "
                "would fire at every step"
            )
        for name in ("tau_syn_ms", "tau_readout_ms"):
            value = getattr(spec, name)
            if not math.isfinite(value) or value <= 0:
                raise ConfigError(f"{name} must be a positive time constant, got {value}")
        if spec.refractory_ms < 0:
            raise ConfigError(f"refractory_ms must be non-negative, got {spec.refractory_ms}")
        if 0 < spec.refractory_ms < spec.dt_ms:
            raise ConfigError(
                f"dt_ms={spec.dt_ms} is longer than refractory_ms={spec.refractory_ms}: the "
                "step cannot resolve the refractory period; take a smaller dt or refractory 0"
            )
        if spec.learn_initial_state:
            raise ConfigError("learn_initial_state applies to rate cells, not to lif")

    @property
    def state_size(self) -> int:
        """Size of the state a step maps: 5N (filtered spikes r, spikes s, V, I, refractory
        steps left)."""
        return 5 * self.spec.n_hidden

    def _constants(self) -> tuple[float, float, float, int]:
        s = self.spec
        return (
            math.exp(-s.dt_ms / s.tau_syn_ms),
            math.exp(-s.dt_ms / s.tau_ms),
            math.exp(-s.dt_ms / s.tau_readout_ms),
            round(s.refractory_ms / s.dt_ms),
        )

    def _lif_step(self, state: Tensor, drive: Tensor) -> Tensor:
        """One step from the input drive `W_in x + b (+ noise)` `[E, B, N]`."""
        s = self.spec
        a_syn, a_mem, a_out, n_refractory = self._constants()
        r, spikes, v, current, refractory = state.split(s.n_hidden, dim=-1)
        current = a_syn * current + drive + torch.bmm(spikes, self.W_rec.transpose(1, 2))
        v = a_mem * v + (1 - a_mem) * current
        free = (refractory <= 0).to(v.dtype)
        v = free * v + (1 - free) * s.reset
        spikes = spike_function((v - s.threshold) / (s.threshold - s.reset)) * free
        fired = spikes.detach()  # the reset is not differentiated through
        v = v * (1 - fired) + s.reset * fired
        refractory = fired * n_refractory + (1 - fired) * (refractory - 1).clamp(min=0)
        r = a_out * r + (1 - a_out) * spikes
        return torch.cat([r, spikes, v, current, refractory], dim=-1)

    def filtered_spikes(self, states: Tensor) -> Tensor:
        """The filtered spike trains r (the readout's and the analyses' rates) from states
        `[..., 5N]`: `[..., N]`."""
        return states[..., : self.spec.n_hidden]

    def activity(self, states: Tensor) -> Tensor:
        """What the state analyses (PCA, task variance, `compare`) read: the filtered spike
        trains, each neuron's spikes through the exponential filter of time constant
        `tau_readout_ms` (spikes per step, `r_t = a r_{t-1} + (1 - a) s_t`,
        `a = exp(-dt_ms / tau_readout_ms)`), the same rates the readout sees.

        Parameters
        ----------
        states : Tensor [..., 5N]

        Returns
        -------
        Tensor [..., N]
        """
        return self.filtered_spikes(states)

    def spikes(self, states: Tensor) -> Tensor:
        """The spikes (0 or 1) from states `[..., 5N]`: `[..., N]`."""
        n = self.spec.n_hidden
        return states[..., n : 2 * n]

    def forward(
        self,
        x: Tensor,
        *,
        h0: Tensor | None = None,
        generators: Sequence[torch.Generator] | None = None,
        noise: bool = True,
        return_drives: bool = False,
    ) -> Trajectory:
        """Run the networks over inputs `x [T, B, I]` or `[T, E, B, I]`.

        `h0 [E, B, 5N]` or `[B, 5N]` (zeros by default); states come back `[T, E, B, 5N]`,
        outputs `[T, E, B, O]` read from the filtered spikes. Noise as the CTRNN's: `sigma_in`
        on the inputs, `sigma_rec` on the synaptic current, each scaled by sqrt(2 tau / dt),
        member e drawing from generators[e]. With `return_drives`, `W_in x_t` and
        `W_rec s_{t-1}` per step, `[T, E, B, N]`.
        """
        s = self.spec
        xe = self._per_member(x)  # [E, T, B, I]
        n_members, n_steps, batch_size, _ = xe.shape
        scale = math.sqrt(2 / s.alpha)
        if noise and s.sigma_in > 0:
            xe = xe + s.sigma_in * scale * self._noise(xe.shape[1:], generators, xe.device)
        x_flat = xe.reshape(n_members, n_steps * batch_size, -1)
        drive_in = torch.bmm(x_flat, self.W_in.transpose(1, 2)).reshape(
            n_members, n_steps, batch_size, s.n_hidden
        )
        drive = drive_in + self.b[:, None, None]
        if noise and s.sigma_rec > 0:
            shape = (n_steps, batch_size, s.n_hidden)
            drive = drive + s.sigma_rec * scale * self._noise(shape, generators, xe.device)
        if h0 is None:
            state = torch.zeros(
                n_members, batch_size, self.state_size, device=xe.device, dtype=xe.dtype
            )
        else:
            state = h0 if h0.dim() == 3 else h0[None].expand(n_members, -1, -1)
        states, rec_drives = [], []
        for drive_t in drive.unbind(1):
            if return_drives:
                rec_drives.append(torch.bmm(self.spikes(state), self.W_rec.transpose(1, 2)))
            state = self._lif_step(state, drive_t)
            states.append(state)
        states_t = torch.stack(states)  # [T, E, B, 5N]
        out = torch.einsum("tebn,eon->tebo", self.filtered_spikes(states_t), self.W_out)
        return Trajectory(
            states=states_t,
            outputs=out + self.b_out[None, :, None],
            input_drive=drive_in.transpose(0, 1) if return_drives else None,
            recurrent_drive=torch.stack(rec_drives) if return_drives else None,
        )

    def step(self, h: Tensor, x: Tensor) -> Tensor:
        """One noise-free step: `h [E, B, 5N]`, `x [E, B, I]` or `[B, I]` -> `[E, B, 5N]`."""
        if x.dim() == 2:
            x = x[None].expand(self.ensemble_size, -1, -1)
        drive = torch.baddbmm(self.b[:, None], x, self.W_in.transpose(1, 2))
        return self._lif_step(h, drive)

    def step_jacobian(self, h: Tensor, x: Tensor) -> Tensor:
        """Jacobian of `step` through the surrogate gradient, `[E, B, 5N, 5N]` (the spikes'
        true derivative is zero almost everywhere: the analyses of step functions refuse a
        spiking map; this serves gradient-based tools)."""
        size = h.shape[-1]
        with torch.enable_grad():
            pullback = torch.func.vjp(lambda state: self.step(state, x), h)[1]
            basis = torch.eye(size, dtype=h.dtype, device=h.device)
            directions = basis[:, None, None, :].expand(size, *h.shape)
            rows = torch.func.vmap(pullback)(directions)[0]
        return rows.permute(1, 2, 0, 3)

    def rate_equivalent(self) -> LIFRateEquivalent:
        """The rate network whose fixed points are this network's steady firing
        (`LIFRateEquivalent`), with the same weights."""
        equivalent = LIFRateEquivalent(self.spec)
        equivalent.load_state_dict(self.state_dict())
        return equivalent


class LIFRateEquivalent(LIFNetwork):
    """The mean-field rate network of a `lif` network: each neuron's filtered spike train
    replaced by its steady firing rate under the steady synaptic current, where the analyses of
    the step function (fixed points) apply.

    With rates r (spikes per step) held, the synaptic current settles at
    `I = (W_in x + b + W_rec r) / (1 - a_syn)`, and a neuron under a constant current
    `I > threshold` climbs from the reset to the threshold in
    `k(I) = (tau_ms / dt_ms) ln((I - reset) / (I - threshold))` steps (the potential relaxes
    to I with a_mem = exp(-dt / tau_ms)), then rests `refractory_ms / dt_ms` steps:

        phi(I) = 1 / (k(I) + n_refractory)  (at most 1 spike per step; 0 for I <= threshold)
        r_t = a_out r_{t-1} + (1 - a_out) phi(I(r_{t-1}, x_t))

    the readout's filter over the rates, so a fixed point r* = phi(I(r*, x)) is a steady
    firing pattern of the spiking network. The spiking network's period is the whole number
    ceil(k) + n_refractory; phi is its smooth continuation (the standard LIF rate, Gerstner
    et al. 2014, ch. 8), within a step of the period. States are rates `[E, B, N]`.

    Example
    -------
    >>> spec = NetworkSpec(n_inputs=1, n_hidden=2, n_outputs=1, cell="lif", dt_ms=1.0,
    ...                    tau_ms=20.0, sigma_rec=0.0)
    >>> net = LIFNetwork(spec).rate_equivalent()
    >>> rates = net.steady_rate(torch.tensor([0.5, 2.0]))   # currents below and above 1
    >>> [round(float(r), 4) for r in rates]                 # 1 / (20 ln 2) above
    [0.0, 0.0721]
    """

    spiking = False
    # the CTRNN's closed-form speed gradient is of the rate CTRNN's step, not of this one
    speed_and_gradient = None  # type: ignore[assignment]

    @property
    def state_size(self) -> int:
        """N: the rates."""
        return self.spec.n_hidden

    def activity(self, states: Tensor) -> Tensor:
        """The rates themselves."""
        return states

    def steady_rate(self, current: Tensor) -> Tensor:
        """phi(I): spikes per step of a neuron under the constant synaptic current `I`."""
        s = self.spec
        n_refractory = round(s.refractory_ms / s.dt_ms)
        above = current > s.threshold
        # the log is taken only where it is defined, so its gradient is never NaN elsewhere
        safe = torch.where(above, current, torch.full_like(current, s.threshold + 1.0))
        steps = (s.tau_ms / s.dt_ms) * torch.log((safe - s.reset) / (safe - s.threshold))
        rate = (1.0 / (steps + n_refractory)).clamp(max=1.0)
        return torch.where(above, rate, torch.zeros_like(rate))

    def _rate_step(self, r: Tensor, drive: Tensor) -> Tensor:
        a_syn, _, a_out, _ = self._constants()
        current = (drive + torch.bmm(r, self.W_rec.transpose(1, 2))) / (1 - a_syn)
        return a_out * r + (1 - a_out) * self.steady_rate(current)

    def step(self, h: Tensor, x: Tensor) -> Tensor:
        """One step of the rates: `h [E, B, N]`, `x [E, B, I]` or `[B, I]` -> `[E, B, N]`."""
        if x.dim() == 2:
            x = x[None].expand(self.ensemble_size, -1, -1)
        return self._rate_step(h, torch.baddbmm(self.b[:, None], x, self.W_in.transpose(1, 2)))

    def forward(
        self,
        x: Tensor,
        *,
        h0: Tensor | None = None,
        generators: Sequence[torch.Generator] | None = None,
        noise: bool = True,
        return_drives: bool = False,
    ) -> Trajectory:
        """The rates over inputs `x [T, B, I]` or `[T, E, B, I]`, noise-free (the mean
        field has none): states `[T, E, B, N]`, outputs `[T, E, B, O]`."""
        xe = self._per_member(x)  # [E, T, B, I]
        n_members, _, batch_size, _ = xe.shape
        state = (
            torch.zeros(n_members, batch_size, self.state_size, dtype=xe.dtype)
            if h0 is None
            else (h0 if h0.dim() == 3 else h0[None].expand(n_members, -1, -1))
        )
        states = []
        for x_t in xe.unbind(1):
            state = self.step(state, x_t)
            states.append(state)
        states_t = torch.stack(states)
        out = torch.einsum("tebn,eon->tebo", states_t, self.W_out)
        return Trajectory(states=states_t, outputs=out + self.b_out[None, :, None])
