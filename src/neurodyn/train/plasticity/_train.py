"""Training the circuit: with the local rule (`train_local`, a C++ loop or the same steps in
Python) and, for comparison, with truncated BPTT (`train_bptt`)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import numpy as np
import torch
from torch import Tensor

from neurodyn._extension import load_extension
from neurodyn.errors import ConfigError, EngineUnavailable
from neurodyn.models.stochastic import CircuitSpec, euler_step, tuning
from neurodyn.tasks.bredenberg import StimulusTask
from neurodyn.train.plasticity._circuit import Circuit
from neurodyn.train.plasticity._rule import (
    LocalRule,
    RunningAverages,
    readout_delta,
    reward_hebbian,
)


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
    when NEURODYN_ENGINE asks for Python. The two loops agree per step to float32 rounding,
    not bitwise over a training: rounding differences grow with the number of steps."""
    if os.environ.get("NEURODYN_ENGINE", "auto") in ("python", "reference"):
        return None
    return load_extension(
        "neurodyn_plasticity",
        # the C++ source sits in train/, beside the recurrence's in models/ (package data)
        Path(__file__).parent.with_name("_plasticity.cpp"),
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
        raise EngineUnavailable(
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
