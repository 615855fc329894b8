"""Probing a trained circuit: its responses to a grid of stimulus angles and the task
performance they give."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from neurodyn.models.stochastic import CircuitSpec, simulate, tuning
from neurodyn.tasks.bredenberg import StimulusTask, wrap
from neurodyn.train.plasticity._circuit import Circuit


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
