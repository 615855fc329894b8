"""Learning the stochastic circuit (`neurodyn.models.stochastic`) with the local,
reward-modulated Hebbian rule of Bredenberg, Simoncelli & Savin (NeurIPS 2020), and the same
circuit trained by truncated BPTT for comparison.

The objective is the stationary expected reward `O = E_theta E_{r|theta}[alpha(D r, theta)]`
(`StimulusTask.reward`). For a symmetric W the circuit samples `p(r | theta)` proportional to
`exp(-2 E / sigma^2)`, and E is linear in W, C and b, so the score-function identity gives

    dO/dW_ij = sigma^-2     E[alpha (r_i r_j - <r_i r_j>_{r|theta})]
    dO/dC_ik = 2 sigma^-2   E[alpha (r_i - <r_i>_{r|theta}) s_k]
    dO/db_i  = 2 sigma^-2   E[alpha (r_i - <r_i>_{r|theta})]

(only the symmetric part of W enters the density). The rule (the authors' code) follows one
sample of each bracket at every Euler step, the conditional means replaced by running averages
`<x> <- (1 - a) <x> + a x` (reset at each trial's start; the rule waits a transient before
it acts, so that they have settled):

    W <- W + dt A eta_W [R (r r^T - <r r^T>) - lambda_W W]
    C <- C + dt A eta_C [R (r s^T - <r s^T>) - lambda_C C]
    b <- b + dt A eta_b [R (r - <r>) - lambda_b b]

with R = alpha(t), the current reward. Its expected step (without the decay) is therefore
`dt A eta_W sigma^2 dO/dW` and `dt A eta sigma^2 / 2` times the C and b gradients: gradient
ascent with a rate per parameter (a test checks this against finite differences of O computed
by quadrature on a 2-unit circuit). The readout D learns by a supervised delta rule (the
gradient of alpha in D): `D += dt A eta_D [-(D r - y) r^T - lambda_D D]` for estimation,
`D += dt A eta_D [gain (t - o) r^T - lambda_D D]` for classification.

One difference from the authors' code, for speed: `n_chains` independent copies of the
circuit (each with its own stimulus and noise) run side by side and each step applies the mean
of their updates. Each chain's update has the authors' expectation, so the mean has it too,
with 1/n_chains of the variance: the same expected learning per step, less noisy, which lets
the study use larger rates than the authors' single chain could (the study's README says
which).

Shapes: B chains, N units, K input channels, k outputs.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from torch import Tensor

from neurodyn._extension import load_extension
from neurodyn.errors import ConfigError
from neurodyn.models.stochastic import CircuitSpec, euler_step, simulate, tuning
from neurodyn.tasks.bredenberg import StimulusTask, wrap


@dataclass(frozen=True)
class Circuit:
    """The learned parameters: W `recurrent [N, N]` (row: to), C `input [N, K]`, b `bias [N]`,
    D `readout [k, N]`."""

    recurrent: Tensor
    input: Tensor
    bias: Tensor
    readout: Tensor

    @property
    def n_units(self) -> int:
        return self.recurrent.shape[0]

    def tensors(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        return self.recurrent, self.input, self.bias, self.readout

    def to_numpy(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name).detach().numpy() for f in dataclasses.fields(self)}


def init_circuit(
    n_units: int,
    task: StimulusTask,
    *,
    seed: int,
    bias: float = 0.0,
    n_tuning: int = 12,
    dtype: torch.dtype = torch.float32,
) -> Circuit:
    """The authors' initialisation: W ~ U(+-0.3 / sqrt N), C ~ U(+-0.5 / sqrt K),
    D ~ U(+-1 / N), b constant (0 for estimation, 0.7 for classification in their code).
    Training runs in the circuit's dtype: float32 by default (drawing the noise, the largest
    cost of a step, is 5x faster than in float64 on CPU)."""
    if n_units < 1:
        raise ConfigError(f"n_units must be at least 1, got {n_units}")
    g = torch.Generator().manual_seed(seed)

    def uniform(shape: tuple[int, ...], half_width: float) -> Tensor:
        return (2 * torch.rand(shape, generator=g, dtype=dtype) - 1) * half_width

    return Circuit(
        recurrent=uniform((n_units, n_units), 0.3 / math.sqrt(n_units)),
        input=uniform((n_units, n_tuning), 0.5 / math.sqrt(n_tuning)),
        bias=torch.full((n_units,), float(bias), dtype=dtype),
        readout=uniform((task.n_outputs, n_units), 1.0 / n_units),
    )


@dataclass(frozen=True)
class LocalRule:
    """Rates (`eta`), decays (`lambda`), the running averages' rate `a` per step, the transient
    (time units) and the overall gain A of the rule. `paper(kind)` gives the authors'."""

    lr_recurrent: float
    lr_input: float
    lr_bias: float
    lr_readout: float
    decay_recurrent: float
    decay_input: float
    decay_bias: float
    decay_readout: float
    average_rate: float = 0.0015
    transient: float = 40.0
    gain: float = 100.0

    def __post_init__(self) -> None:
        if not 0 < self.average_rate <= 1:
            raise ConfigError(f"average_rate must be in (0, 1], got {self.average_rate}")
        if self.transient < 0 or self.gain <= 0:
            raise ConfigError(f"need transient >= 0 and gain > 0; got {self}")

    @classmethod
    def paper(cls, kind: str) -> LocalRule:
        """The constants of the authors' code (estimation: N = 40; classification: N = 25)."""
        if kind == "estimation":
            return cls(5e-6, 5e-6, 5e-6, 5e-6, 0.5 / 25**2, 3 / 25**2, 3 / 25**2, 0.5 / 25**2)
        if kind == "classification":
            return cls(1e-6, 1e-6, 1e-6, 1e-8, 3 / 40**2, 25 / 40 / 10, 2 / 40, 3 / 40**2)
        raise ConfigError(f"no paper constants for task kind {kind!r}")

    def scaled(self, factor: float) -> LocalRule:
        """Every learning rate times `factor` (decays unchanged)."""
        return dataclasses.replace(
            self,
            lr_recurrent=self.lr_recurrent * factor,
            lr_input=self.lr_input * factor,
            lr_bias=self.lr_bias * factor,
            lr_readout=self.lr_readout * factor,
        )


@dataclass
class RunningAverages:
    """Each chain's running means of `r r^T [B, N, N]`, `r s^T [B, N, K]` and `r [B, N]`."""

    rr: Tensor
    rs: Tensor
    r: Tensor

    @classmethod
    def zeros(
        cls, n_chains: int, n_units: int, n_tuning: int, dtype: torch.dtype
    ) -> RunningAverages:
        z = torch.zeros
        return cls(
            z(n_chains, n_units, n_units, dtype=dtype),
            z(n_chains, n_units, n_tuning, dtype=dtype),
            z(n_chains, n_units, dtype=dtype),
        )

    def update_(self, r: Tensor, s: Tensor, rate: float) -> None:
        # <x> <- (1 - a) <x> + a x, the outer products formed inside baddbmm
        torch.baddbmm(self.rr, r[:, :, None], r[:, None, :], beta=1 - rate, alpha=rate, out=self.rr)
        torch.baddbmm(self.rs, r[:, :, None], s[:, None, :], beta=1 - rate, alpha=rate, out=self.rs)
        self.r.lerp_(r, rate)


def reward_hebbian(
    reward: Tensor, r: Tensor, s: Tensor, averages: RunningAverages
) -> tuple[Tensor, Tensor, Tensor]:
    """The rule's brackets without decay, averaged over chains: `reward [B]`, `r [B, N]`,
    `s [B, K]` -> `(dW [N, N], dC [N, K], db [N])`, where
    `dW = mean_b R_b (r_b r_b^T - <r r^T>_b)` and likewise for C and b."""
    n = reward.shape[0]
    weighted = r * reward[:, None]
    # sum_b R_b <r r^T>_b as one vector-matrix product over the flattened averages
    d_recurrent = (weighted.T @ r - (reward @ averages.rr.flatten(1)).view_as(averages.rr[0])) / n
    d_input = (weighted.T @ s - (reward @ averages.rs.flatten(1)).view_as(averages.rs[0])) / n
    d_bias = (weighted - reward[:, None] * averages.r).mean(0)
    return d_recurrent, d_input, d_bias


def readout_delta(task: StimulusTask, theta: Tensor, r: Tensor, readout: Tensor) -> Tensor:
    """The supervised readout step (the gradient of alpha in D, per the module docstring),
    averaged over chains: `theta [B]`, `r [B, N]` -> `[k, N]`."""
    drive = r @ readout.T
    if task.kind == "estimation":
        error = task.target(theta) - drive  # -(D r - y)
    else:
        error = task.gain * (task.target(theta) - task.output(drive))
    return error.T @ r / r.shape[0]


@dataclass(frozen=True)
class LearningCurve:
    """The online objective: `time [M]` (time units since the start of training) and
    `objective [M]`, the mean reward over chains and over the `M`-th interval."""

    time: np.ndarray
    objective: np.ndarray


@dataclass(frozen=True)
class Training:
    """A trained circuit and its learning curve."""

    circuit: Circuit
    curve: LearningCurve


NOISE_BLOCK = 1000  # steps of noise drawn at once (and run by one call of the C++ loop)


def _compiled() -> ModuleType | None:
    """The C++ loop (`_plasticity.cpp`, built on first use); None when it cannot be built, or
    when NEURODYN_ENGINE asks for Python: the Python loop gives the same numbers."""
    if os.environ.get("NEURODYN_ENGINE", "auto") in ("python", "reference"):
        return None
    return load_extension(
        "neurodyn_plasticity",
        Path(__file__).with_name("_plasticity.cpp"),
        # reassociation lets the compiler vectorise the loop's sums (about 1.4x at 40 units);
        # not -ffast-math, whose startup code would change float handling process-wide
        (
            "-O3",
            "-fno-math-errno",
            "-fassociative-math",
            "-fno-signed-zeros",
            "-fno-trapping-math",
        ),
    )


def train_local(
    circuit: Circuit,
    task: StimulusTask,
    spec: CircuitSpec,
    rule: LocalRule,
    *,
    n_chains: int,
    n_trials: int,
    trial_time: float,
    seed: int,
    curve_interval: float = 10.0,
    engine: str = "auto",
) -> Training:
    """Train `circuit` with the local rule: `n_trials` trials of `trial_time` time units, each
    starting `n_chains` chains at r = 0.1 with theta drawn from the prior; the stimulus drifts
    (`StimulusTask.step`) and every step after the transient updates W, C, b and D.

    `engine`: "compiled" runs the time loop in C++ (`_plasticity.cpp`; float32 on the CPU),
    "python" in torch, "auto" the first where it can (both take the same noise and agree to
    float32 rounding: a test). The learning curve is the mean reward over chains and over
    consecutive intervals of `curve_interval` time units."""
    if n_chains < 1 or n_trials < 0 or trial_time <= rule.transient:
        raise ConfigError(
            "need n_chains >= 1, n_trials >= 0 and trial_time longer than the rule's "
            f"transient ({rule.transient}); got {n_chains}, {n_trials}, {trial_time}"
        )
    if engine not in ("auto", "compiled", "python"):
        raise ConfigError(f"engine must be auto, compiled or python, got {engine!r}")
    w, c, b, d = (p.detach().clone().contiguous() for p in circuit.tensors())
    compiled = None
    if engine != "python" and w.dtype == torch.float32 and w.device.type == "cpu":
        compiled = _compiled()
    if engine == "compiled" and compiled is None:
        raise RuntimeError(
            "engine='compiled' needs float32 CPU tensors and a C++ compiler (the loop is built "
            "on first use); use engine='auto' to fall back to the Python loop"
        )
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    steps_per_trial = round(trial_time / spec.dt)
    transient_steps = round(rule.transient / spec.dt)
    constants = _constants(task, spec, rule)
    rewards = []
    for _ in range(n_trials):
        theta = torch.from_numpy(task.sample_prior(n_chains, rng)).to(w.dtype)
        r = torch.full((n_chains, w.shape[0]), 0.1, dtype=w.dtype)
        averages = RunningAverages.zeros(n_chains, w.shape[0], c.shape[1], w.dtype)
        for first in range(0, steps_per_trial, NOISE_BLOCK):
            n_steps = min(NOISE_BLOCK, steps_per_trial - first)
            noise = torch.randn((n_steps, n_chains, w.shape[0] + 1), generator=g, dtype=w.dtype)
            if compiled is not None:
                rewards.append(
                    compiled.local_rule_steps(
                        w,
                        c,
                        b,
                        d,
                        theta,
                        r,
                        averages.rr,
                        averages.rs,
                        averages.r,
                        noise,
                        first,
                        transient_steps,
                        *constants,
                    )
                )
            else:
                state = (w, c, b, d, theta, r, averages)
                rewards.append(
                    _python_steps(state, noise, first, transient_steps, task, spec, rule)
                )
    per_step = torch.cat(rewards).double().numpy() if rewards else np.zeros(0)
    curve_steps = max(1, round(curve_interval / spec.dt))
    n_points = len(per_step) // curve_steps
    objective = per_step[: n_points * curve_steps].reshape(n_points, curve_steps).mean(1)
    times = (np.arange(n_points) + 1) * curve_steps * spec.dt
    return Training(Circuit(w, c, b, d), LearningCurve(times, objective))


def _constants(
    task: StimulusTask, spec: CircuitSpec, rule: LocalRule
) -> tuple[list[float], list[float], list[float], int]:
    """The C++ loop's constants: the circuit's, the stimulus and task's, the rule's (rates as
    `dt A eta`), and whether the task is classification."""
    scale = spec.dt * rule.gain
    circuit = [spec.dt, spec.sigma, spec.leak_r, spec.alpha, spec.beta, spec.gamma]
    stimulus = [task.kappa, task.mu, task.sigma_s, task.boundary, task.gain]
    rates = [rule.lr_recurrent, rule.lr_input, rule.lr_bias, rule.lr_readout]
    decays = [rule.decay_recurrent, rule.decay_input, rule.decay_bias, rule.decay_readout]
    return (
        [*circuit, spec.r_min, spec.r_max],
        stimulus,
        [rule.average_rate, *(scale * eta for eta in rates), *decays],
        int(task.kind == "classification"),
    )


def _python_steps(
    state: tuple[Tensor, Tensor, Tensor, Tensor, Tensor, Tensor, RunningAverages],
    noise: Tensor,
    first: int,
    transient_steps: int,
    task: StimulusTask,
    spec: CircuitSpec,
    rule: LocalRule,
) -> Tensor:
    """`noise [S, B, N + 1]`'s steps of the rule in torch, updating `state` (W, C, b, D, theta,
    r and the running averages) in place from trial step `first`; the mean reward of each step
    `[S]`."""
    w, c, b, d, theta, r, averages = state
    scale = spec.dt * rule.gain
    rewards = torch.empty(len(noise), dtype=w.dtype)
    for t, xi in enumerate(noise):
        theta.copy_(task.step(theta, xi[:, -1], spec.dt))
        s = tuning(theta, c.shape[1])
        r.copy_(euler_step(r, s, w, c, b, spec, xi[:, :-1]))
        reward = task.reward(theta, r @ d.T)
        averages.update_(r, s, rule.average_rate)
        rewards[t] = reward.mean()
        if first + t < transient_steps:
            continue
        d_w, d_c, d_b = reward_hebbian(reward, r, s, averages)
        d_d = readout_delta(task, theta, r, d)
        w += scale * rule.lr_recurrent * (d_w - rule.decay_recurrent * w)
        c += scale * rule.lr_input * (d_c - rule.decay_input * c)
        b += scale * rule.lr_bias * (d_b - rule.decay_bias * b)
        d += scale * rule.lr_readout * (d_d - rule.decay_readout * d)
    return rewards


def train_bptt(
    circuit: Circuit,
    task: StimulusTask,
    spec: CircuitSpec,
    *,
    n_chains: int,
    n_updates: int,
    window_time: float,
    lr: float,
    seed: int,
    warmup_time: float = 40.0,
) -> Training:
    """Train `circuit` by truncated backpropagation through time, for comparison with the
    local rule: `n_chains` chains run on continuously (stimulus drifting, rates carried over,
    starting after `warmup_time` without learning), and every `window_time` time units Adam
    (rate `lr`) steps on minus the window's mean reward, differentiated through the
    Euler-Maruyama steps with their noise held fixed (the reparametrisation of the noise).
    The classification reward is differentiated without its output clipping
    (`StimulusTask.smooth_reward`). The learning curve has one point per window, of the reward
    as the local rule sees it."""
    if n_chains < 1 or n_updates < 0 or window_time <= 0:
        raise ConfigError(
            f"need n_chains >= 1, n_updates >= 0, window_time > 0; got {n_chains}, "
            f"{n_updates}, {window_time}"
        )
    params = [p.detach().clone().requires_grad_(True) for p in circuit.tensors()]
    w, c, b, d = params
    optimiser = torch.optim.Adam(params, lr=lr)
    rng = np.random.default_rng(seed)
    g = torch.Generator().manual_seed(seed)
    theta = torch.from_numpy(task.sample_prior(n_chains, rng)).to(w.dtype)
    r = torch.full((n_chains, w.shape[0]), 0.1, dtype=w.dtype)

    def run(n_steps: int, r: Tensor, theta: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        smooth = reward = torch.zeros((), dtype=w.dtype)
        for _ in range(n_steps):
            noise = torch.randn((n_chains, w.shape[0] + 1), generator=g, dtype=w.dtype)
            theta = task.step(theta, noise[:, -1], spec.dt)
            r = euler_step(r, tuning(theta, c.shape[1]), w, c, b, spec, noise[:, :-1])
            drive = r @ d.T
            smooth = smooth + task.smooth_reward(theta, drive).mean()
            reward = reward + task.reward(theta, drive.detach()).mean()
        return r, theta, smooth / n_steps, reward / n_steps

    with torch.no_grad():
        r, theta, _, _ = run(round(warmup_time / spec.dt), r, theta)
    window = round(window_time / spec.dt)
    times, objective = [], []
    for update in range(n_updates):
        r, theta, smooth, reward = run(window, r, theta)
        optimiser.zero_grad()
        (-smooth).backward()
        optimiser.step()
        r = r.detach()
        times.append(warmup_time + (update + 1) * window_time)
        objective.append(float(reward))
    trained = Circuit(*(p.detach() for p in params))
    return Training(trained, LearningCurve(np.array(times), np.array(objective)))


@dataclass(frozen=True)
class Probe:
    """Responses at fixed test angles, no learning: `angles [A]`, `rates [A, S, N]`,
    `drive [A, S, k]` (the readout's drive `D r`), `inputs [A, K]` (`s(theta)`)."""

    angles: np.ndarray
    rates: np.ndarray
    drive: np.ndarray
    inputs: np.ndarray


def probe_angles(n: int = 12) -> np.ndarray:
    """The authors' test grid: n angles `-pi + 2 pi k / n` (the tuning curves' centres)."""
    return -math.pi + 2 * math.pi * np.arange(n) / n


def probe(
    circuit: Circuit,
    spec: CircuitSpec,
    angles: np.ndarray,
    *,
    n_chains: int = 8,
    hold_time: float = 200.0,
    transient: float = 20.0,
    record_interval: float = 0.2,
    seed: int = 0,
) -> Probe:
    """Hold each angle for `transient + hold_time` time units in `n_chains` chains (all angles
    simulated as one batch) and record the rates every `record_interval` after the transient:
    `S = n_chains * hold_time / record_interval` samples per angle."""
    angles = np.asarray(angles, dtype=np.float64)
    w, c, b, d = (p.detach() for p in circuit.tensors())
    n_angles = len(angles)
    theta = torch.from_numpy(np.repeat(angles, n_chains)).to(w.dtype)
    s = tuning(theta, c.shape[1])
    r0 = torch.full((len(theta), w.shape[0]), 0.1, dtype=w.dtype)
    every = max(1, round(record_interval / spec.dt))
    n_steps = round((transient + hold_time) / spec.dt)
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        kept = simulate(r0, s, w, c, b, spec, n_steps=n_steps, generator=g, record_every=every)
    kept = kept[round(transient / spec.dt) // every :]  # [T', A * n_chains, N]
    rates = kept.reshape(len(kept), n_angles, n_chains, -1).permute(1, 2, 0, 3)
    rates = rates.reshape(n_angles, -1, w.shape[0])
    drive = rates @ d.T
    inputs = tuning(torch.from_numpy(angles), c.shape[1])
    return Probe(angles, rates.double().numpy(), drive.double().numpy(), inputs.numpy())


def probe_performance(probe: Probe, task: StimulusTask) -> float:
    """The prior-weighted test objective at the probe's angles (the authors' `mean_error`):
    estimation, the mean squared error `|y - D r|^2`; classification, the share of samples on
    the wrong side (`o > 1/2` for the other class), leaving out angles on a class boundary
    (theta = boundary or boundary + pi: their label is a convention, and the authors' test
    grid has both)."""
    theta = torch.from_numpy(probe.angles)
    drive = torch.from_numpy(probe.drive)
    weights = task.prior_density(probe.angles)
    if task.kind == "estimation":
        per_angle = ((task.target(theta)[:, None, :] - drive) ** 2).sum(-1).mean(-1)
    else:
        said_upper = task.output(drive[..., 0]) > 0.5
        per_angle = (said_upper != (task.target(theta) > 0.5)).double().mean(-1)
        offset = np.abs(wrap(probe.angles - task.boundary))
        on_boundary = np.isclose(offset, 0.0, atol=1e-9) | np.isclose(offset, math.pi)
        weights = np.where(on_boundary, 0.0, weights)
    return float((per_angle.numpy() * weights).sum() / weights.sum())
