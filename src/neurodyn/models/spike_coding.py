"""The efficient spike-coding network of Boerlin, Machens & Denève (2013), "Predictive coding
of dynamical variables in balanced spiking networks" (PLoS Comput Biol 9:e1003258), with the
synaptic delay and the noise under which Safavi, Chalk, Logothetis & Levina (2024, PNAS
121:e2302730121) find its coding error lowest where its avalanches are most scale-free.

N leaky integrate-and-fire neurons encode a J-dimensional signal x, the leaky integral of a
command c (dx/dt = -lambda x + c), so that a leaky readout of their spikes o,

    dx_hat/dt = -lambda x_hat + D o,

tracks it. Each neuron fires when firing lowers the error |x - x_hat|^2 + mu |r|^2, which
makes its voltage the projection of the error on its decoder column D_i:

    V = D^T (x - x_hat) - mu lambda r,     dV/dt = -lambda V + D^T c + W o + noise,
    W = -(D^T D + mu lambda^2 I),          threshold T_i = (|D_i|^2 + mu lambda^2 + nu lambda) / 2,

with mu and nu the quadratic and linear costs on the filtered rates r (Boerlin et al.'s eq. 9).

In discrete time (step dt) a neuron's own reset, -(|D_i|^2 + mu lambda^2), is immediate, while
the lateral part of W reaches the other neurons `delay_steps` steps later. With no delay only
the neuron furthest above threshold fires in a step (Boerlin et al.'s rule, which keeps the
network from firing together); with a delay every neuron above threshold fires, since none has
yet felt the others' spikes: without noise, neurons of similar decoders fire in volleys that
overshoot (too much synchrony), while noise spreads their voltages apart. Too much noise makes
spikes the error does not call for. The coding error is lowest in between (Chalk, Gutkin &
Denève 2016; Safavi et al. 2024).

Noise models (`noise_model`):

- "voltage": independent Gaussian white noise on each neuron's voltage, of standard deviation
  `noise_std` x the mean threshold per sqrt(ms);
- "input": Gaussian white noise added to the command c in signal space (each neuron sees its
  projection through D^T, so the noise is shared by neurons of similar decoders), of standard
  deviation `noise_std` per sqrt(ms).

Shapes: decoder `D [E, J, N]` (E ensemble members, each with its own decoder), command
`c [T, B, J]`, spikes `o [T, E, B, N]`, readout `x_hat [T, E, B, J]`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import torch
from torch import Tensor

from neurodyn.errors import ArgumentError, ShapeError

NoiseModel = Literal["voltage", "input"]
NOISE_MODELS = ("voltage", "input")


@dataclass(frozen=True)
class SpikeCodingNetwork:
    """An ensemble of efficient spike-coding networks: the decoders and the constants.

    Attributes
    ----------
    decoder : [E, J, N]     each member's decoding weights D (column i: neuron i's)
    tau_ms : float          the signal's and the readout's time constant, 1 / lambda
    cost_l2 : float         mu, the quadratic cost on the filtered rates
    cost_l1 : float         nu, the linear cost: it raises the thresholds, not the resets
    delay_steps : int       steps before a spike reaches the other neurons (0: Boerlin et al.'s
                            one spike per step)
    dt_ms : float           the time step
    """

    decoder: Tensor
    tau_ms: float
    cost_l2: float
    delay_steps: int
    dt_ms: float
    cost_l1: float = 0.0

    def __post_init__(self) -> None:
        if self.decoder.ndim != 3:
            raise ShapeError(
                f"decoder must be [E, J, N], got shape {list(self.decoder.shape)}: "
                "add a leading ensemble axis of 1"
            )
        if self.tau_ms <= 0 or self.dt_ms <= 0:
            raise ArgumentError(
                f"tau_ms={self.tau_ms} and dt_ms={self.dt_ms} must be positive time constants"
            )
        if self.dt_ms >= self.tau_ms:
            raise ArgumentError(
                f"dt_ms={self.dt_ms} must be well below tau_ms={self.tau_ms}: take a smaller step"
            )
        if self.delay_steps < 0 or self.cost_l2 < 0 or self.cost_l1 < 0:
            raise ArgumentError("delay_steps, cost_l1 and cost_l2 must be non-negative")

    @property
    def leak(self) -> float:
        """lambda, per ms."""
        return 1.0 / self.tau_ms

    @property
    def recurrent(self) -> Tensor:
        """W = -(D^T D + mu lambda^2 I): `[E, N, N]`."""
        gram = self.decoder.transpose(1, 2) @ self.decoder
        eye = torch.eye(gram.shape[-1], dtype=gram.dtype)
        return -(gram + self.cost_l2 * self.leak**2 * eye)

    @property
    def thresholds(self) -> Tensor:
        """T_i = (|D_i|^2 + mu lambda^2 + nu lambda) / 2: `[E, N]`."""
        squared = self.decoder.pow(2).sum(dim=1)
        return 0.5 * (squared + self.cost_l2 * self.leak**2 + self.cost_l1 * self.leak)


def spike_coding_network(
    n_neurons: int,
    n_signals: int,
    *,
    n_members: int = 1,
    decoder_norm: float = 0.1,
    tau_ms: float = 20.0,
    cost_l2: float = 0.0,
    cost_l1: float = 0.0,
    delay_steps: int = 1,
    dt_ms: float = 0.1,
    seed: int = 0,
) -> SpikeCodingNetwork:
    """Networks whose decoder columns point in random directions, all of norm `decoder_norm`.

    Parameters
    ----------
    n_neurons : int
        N.
    n_signals : int
        J, the dimension of the encoded signal.
    n_members : int
        E, networks with independent decoders (one per seed of an ensemble).
    decoder_norm : float
        |D_i| for every neuron: the readout's jump per spike, so the code's precision.
    tau_ms, cost_l2, cost_l1, delay_steps, dt_ms
        As in `SpikeCodingNetwork`.
    seed : int
        Seed of the decoder directions.

    Returns
    -------
    SpikeCodingNetwork

    Example
    -------
    >>> net = spike_coding_network(50, 2, n_members=3)
    >>> net.decoder.shape, round(float(net.thresholds[0, 0]), 6)   # |D_i|^2 / 2
    (torch.Size([3, 2, 50]), 0.005)
    """
    if n_neurons < 1 or n_signals < 1 or n_members < 1:
        raise ArgumentError("n_neurons, n_signals and n_members must be at least 1")
    if decoder_norm <= 0:
        raise ArgumentError(f"decoder_norm={decoder_norm} must be positive")
    g = torch.Generator().manual_seed(seed)
    directions = torch.randn(n_members, n_signals, n_neurons, generator=g, dtype=torch.float64)
    decoder = decoder_norm * directions / directions.norm(dim=1, keepdim=True)
    return SpikeCodingNetwork(
        decoder=decoder,
        tau_ms=tau_ms,
        cost_l2=cost_l2,
        cost_l1=cost_l1,
        delay_steps=delay_steps,
        dt_ms=dt_ms,
    )


@dataclass(frozen=True)
class SpikeCodingTrace:
    """A simulation of a spike-coding network.

    Attributes
    ----------
    spikes : [T, E, B, N]   bool, who fired in each step
    signal : [T, B, J]      the encoded signal x
    readout : [T, E, B, J]  the readout x_hat
    dt_ms : float
    """

    spikes: Tensor
    signal: Tensor
    readout: Tensor
    dt_ms: float

    @property
    def coding_error(self) -> Tensor:
        """The readout's mean squared error against the signal, per member: `[E]`."""
        return (self.readout - self.signal[:, None]).pow(2).mean(dim=(0, 2, 3))

    @property
    def population_counts(self) -> Tensor:
        """Spikes per step of each member's whole population: `[T, E, B]` (for the avalanche
        analyses, one member at a time: `population_counts[:, e]`)."""
        return self.spikes.sum(dim=-1)

    @property
    def rates_hz(self) -> Tensor:
        """Each member's mean firing rate per neuron, in Hz: `[E]`."""
        steps = self.spikes.shape[0]
        return self.spikes.double().mean(dim=(0, 2, 3)) * steps / (steps * self.dt_ms / 1000.0)


def leaky_signal(command: Tensor, *, tau_ms: float, dt_ms: float) -> Tensor:
    """x of dx/dt = -x / tau + c by the Euler steps the network takes, from x = 0.

    Parameters
    ----------
    command : [T, B, J]
        c.
    tau_ms, dt_ms : float
        The leak's time constant and the step.

    Returns
    -------
    [T, B, J]
        x after each step.
    """
    x = torch.zeros_like(command[0])
    out = torch.empty_like(command)
    decay = 1.0 - dt_ms / tau_ms
    for t in range(command.shape[0]):
        x = decay * x + dt_ms * command[t]
        out[t] = x
    return out


def random_command(
    n_steps: int,
    n_trials: int,
    n_signals: int,
    *,
    dt_ms: float = 0.1,
    tau_ms: float = 20.0,
    amplitude: float = 1.0,
    smoothing_ms: float = 50.0,
    seed: int = 0,
) -> Tensor:
    """A command whose signal x wanders smoothly with standard deviation about `amplitude`:
    c = x_target / tau + dx_target/dt for x_target a Gaussian process of correlation time
    `smoothing_ms` (an Ornstein-Uhlenbeck process smoothed once more).

    Parameters
    ----------
    n_steps, n_trials, n_signals : int
        T, B, J.
    dt_ms, tau_ms : float
        The step and the network's time constant.
    amplitude : float
        The signal's standard deviation.
    smoothing_ms : float
        Its correlation time.
    seed : int
        Random seed.

    Returns
    -------
    [T, B, J]
        c, float64.
    """
    g = torch.Generator().manual_seed(seed)
    decay = math.exp(-dt_ms / smoothing_ms)
    kick = math.sqrt(1 - decay**2)
    state = torch.randn(n_trials, n_signals, generator=g, dtype=torch.float64)
    smooth = state.clone()
    target = torch.empty(n_steps, n_trials, n_signals, dtype=torch.float64)
    for t in range(n_steps):
        noise = torch.randn(n_trials, n_signals, generator=g, dtype=torch.float64)
        state = decay * state + kick * noise
        smooth = decay * smooth + (1 - decay) * state
        target[t] = smooth
    target *= amplitude / target.std().clamp_min(1e-12)
    derivative = torch.diff(target, dim=0, prepend=target[:1]) / dt_ms
    return target / tau_ms + derivative


def simulate_spike_coding(
    network: SpikeCodingNetwork,
    command: Tensor,
    *,
    noise_std: float | Tensor = 0.0,
    noise_model: NoiseModel = "voltage",
    seed: int = 0,
) -> SpikeCodingTrace:
    """Run an ensemble of spike-coding networks on a command (see the module docstring).

    Parameters
    ----------
    network : SpikeCodingNetwork
        E members.
    command : [T, B, J]
        c, the same for every member.
    noise_std : float or [E]
        The noise's amplitude (one per member: a sweep of noise levels is one simulation).
    noise_model : {"voltage", "input"}
        Where the noise enters.
    seed : int
        Seed of the noise.

    Returns
    -------
    SpikeCodingTrace
        Spikes, signal and readout.

    Example
    -------
    >>> net = spike_coding_network(40, 1, delay_steps=0)
    >>> command = torch.full((4000, 1, 1), 0.05, dtype=torch.float64)   # x -> 1
    >>> trace = simulate_spike_coding(net, command)
    >>> bool(trace.coding_error[0] < 0.01)
    True
    """
    decoder = network.decoder
    n_members, n_signals, n_neurons = decoder.shape
    if command.ndim != 3 or command.shape[-1] != n_signals:
        raise ShapeError(
            f"command must be [T, B, J] with J = {n_signals}, got {list(command.shape)}"
        )
    if noise_model not in NOISE_MODELS:
        raise ArgumentError(f"unknown noise_model {noise_model!r}: use one of {NOISE_MODELS}")
    dtype = decoder.dtype
    command = command.to(dtype)
    n_steps, n_trials, _ = command.shape
    sigma = torch.as_tensor(noise_std, dtype=dtype).reshape(-1)
    if sigma.numel() == 1:
        sigma = sigma.expand(n_members)
    if sigma.numel() != n_members or torch.any(sigma < 0):
        raise ArgumentError(
            f"noise_std must be one non-negative number or one per member ({n_members})"
        )
    dt, leak = network.dt_ms, network.leak
    thresholds = network.thresholds[:, None, :]  # [E, 1, N]
    recurrent = network.recurrent
    reset = -torch.diagonal(recurrent, dim1=1, dim2=2)[:, None, :]  # [E, 1, N]
    lateral = recurrent + torch.diag_embed(reset[:, 0])  # W without its diagonal
    if noise_model == "voltage":
        step_noise = (sigma * network.thresholds.mean(dim=1) * math.sqrt(dt))[:, None, None]
    else:
        step_noise = (sigma * math.sqrt(dt))[:, None, None]
    g = torch.Generator().manual_seed(seed)
    voltage = torch.zeros(n_members, n_trials, n_neurons, dtype=dtype)
    readout = torch.zeros(n_members, n_trials, n_signals, dtype=dtype)
    spikes = torch.zeros(n_steps, n_members, n_trials, n_neurons, dtype=torch.bool)
    readouts = torch.empty(n_steps, n_members, n_trials, n_signals, dtype=dtype)
    delay = network.delay_steps
    decay = 1.0 - dt * leak
    for t in range(n_steps):
        drive = command[t].expand(n_members, n_trials, n_signals)
        if noise_model == "input":
            noise = torch.randn(n_members, n_trials, n_signals, generator=g, dtype=dtype)
            drive = drive + step_noise * noise / dt
        voltage = decay * voltage + dt * torch.bmm(drive, decoder)
        if noise_model == "voltage":
            noise = torch.randn(n_members, n_trials, n_neurons, generator=g, dtype=dtype)
            voltage = voltage + step_noise * noise
        if delay > 0:
            if t >= delay:
                # few neurons fire in a step: adding the rows of W of those that did costs far
                # less than the dense product with the spike vector (N^2 per trial)
                member, trial, neuron = spikes[t - delay].nonzero(as_tuple=True)
                voltage.view(-1, n_neurons).index_add_(
                    0, member * n_trials + trial, lateral[member, neuron]
                )
            fired = voltage > thresholds
        else:
            # Boerlin et al.'s rule: the neuron furthest above threshold fires alone, and
            # the others feel it at once
            above = voltage - thresholds
            best = above.argmax(dim=-1, keepdim=True)
            fired = torch.zeros_like(voltage, dtype=torch.bool).scatter_(
                -1, best, above.gather(-1, best) > 0
            )
            voltage = voltage + torch.bmm(fired.to(dtype), lateral)
        voltage = voltage - reset * fired
        readout = decay * readout + torch.bmm(fired.to(dtype), decoder.transpose(1, 2))
        spikes[t] = fired
        readouts[t] = readout
    signal = leaky_signal(command, tau_ms=network.tau_ms, dt_ms=dt)
    return SpikeCodingTrace(spikes=spikes, signal=signal, readout=readouts, dt_ms=dt)
