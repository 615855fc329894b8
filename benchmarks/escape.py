"""Escape statistics for 10,000 noisy trajectories: neurodyn against a per-trajectory NumPy loop,
and the long version of the double-well check against Kramers' formula.

Speed. The network: a 3-unit tanh CTRNN with W_rec = 2 I (alpha 0.1), whose 8 memories are
the corners (+-h*, +-h*, +-h*); noise in the pre-activation as the CTRNN's own noise model
(sqrt(2 / alpha) sigma). The method, the same in both: Euler-Maruyama steps, a check of each
trajectory's memory every 5 steps (the core of the nearest memory, a quarter of the distance
between neighbours; a state outside every core is first relaxed without noise for one time
constant, 10 steps), and a noise-free relaxation that confirms each switch. neurodyn runs all
trajectories as one batch (`simulate_escape`); the reference loops over trajectories and
steps in NumPy, as one writes it for one trajectory. The reference's time is measured on
`--reference` trajectories and scaled to all of them (its trajectories are independent, so
its time is linear in their number); both runs' switching rates are printed to compare.

Kramers. The double well `dx = (x - x^3) dt + sigma dW` (barrier 1/4, curvatures 2 and 1) at
barriers of 4, 5 and 6 D (D = sigma^2 / 2): the rate measured from 10,000 trajectories next to
Kramers' formula and the exact rate (from the exact mean first-passage time into the far
well's core, by quadrature).

Usage: python benchmarks/escape.py [--trajectories 10000] [--reference 100]
"""

from __future__ import annotations

import argparse
import math
import platform
import time

import numpy as np
import torch
from scipy.optimize import brentq

from neurodyn.analysis import additive_noise, poisson_interval, simulate_escape
from neurodyn.analysis.escape import NoiseModel

ALPHA, GAIN, SIGMA, STEPS, CHECK, RELAX, COMMIT = 0.1, 2.0, 0.25, 1000, 5, 200, 10


def corners() -> np.ndarray:
    h_star = brentq(lambda h: math.tanh(GAIN * h) - h, 0.5, 1.5)
    signs = np.array([[(k >> i) & 1 for i in range(3)] for k in range(8)]) * 2 - 1
    return h_star * signs.astype(float)


def network_noise() -> NoiseModel:
    scale = math.sqrt(2 / ALPHA)

    def noisy(h, u, noise):
        return (1 - ALPHA) * h + ALPHA * torch.tanh(GAIN * h + scale * noise)

    def deterministic(h, u):
        return (1 - ALPHA) * h + ALPHA * torch.tanh(GAIN * h)

    return NoiseModel(noisy, deterministic, dt=1.0)


def reference(n_trajectories: int, seed: int) -> tuple[int, float]:
    """The same method, one trajectory at a time in NumPy: (switches, time held)."""
    rng = np.random.default_rng(seed)
    memories = corners()
    core = 0.25 * 2 * abs(memories[0, 0])  # neighbours differ in one coordinate by 2 h*
    scale = math.sqrt(2 / ALPHA)
    switches, held_time = 0, 0.0
    for k in range(n_trajectories):
        held = k % 8
        h = memories[held].copy()
        for step in range(1, STEPS + 1):
            h = (1 - ALPHA) * h + ALPHA * np.tanh(GAIN * h + scale * SIGMA * rng.standard_normal(3))
            if step % CHECK:
                continue
            distance = np.linalg.norm(memories - h, axis=1)
            if distance.min() >= core:  # outside every core: relax a copy one time constant
                moved = h.copy()
                for _ in range(COMMIT):
                    moved = (1 - ALPHA) * moved + ALPHA * np.tanh(GAIN * moved)
                distance = np.linalg.norm(memories - moved, axis=1)
            nearest = int(np.argmin(distance))
            if nearest == held or distance[nearest] >= core:
                continue
            relaxed = h.copy()
            for _ in range(RELAX):
                relaxed = (1 - ALPHA) * relaxed + ALPHA * np.tanh(GAIN * relaxed)
                if np.linalg.norm(memories[nearest] - relaxed) < 0.25 * core:
                    break
            if np.linalg.norm(memories - relaxed, axis=1).argmin() == nearest:
                switches += 1
                held = nearest
        held_time += STEPS
    return switches, held_time


def speed(n_trajectories: int, n_reference: int) -> None:
    noise = network_noise()
    attractors = torch.as_tensor(corners())
    start = time.perf_counter()
    ours = simulate_escape(
        noise,
        attractors,
        torch.zeros(0, dtype=torch.float64),
        sigma=SIGMA,
        n_steps=STEPS,
        n_per_attractor=n_trajectories // 8,
        check_every=CHECK,
        relax_steps=RELAX,
        commit_steps=COMMIT,
        seed=0,
    )
    ours_s = time.perf_counter() - start
    start = time.perf_counter()
    ref_switches, ref_time = reference(n_reference, seed=1)
    ref_s = (time.perf_counter() - start) * n_trajectories / n_reference
    ours_rate = ours.counts.sum() / ours.time_held.sum()
    print(
        f"{n_trajectories} trajectories x {STEPS} steps, 3 units, 8 memories, sigma {SIGMA}: "
        f"neurodyn {ours_s:.2f} s, per-trajectory NumPy {ref_s:.1f} s (measured on "
        f"{n_reference}, scaled), ratio {ref_s / ours_s:.0f}x"
    )
    ref_low, ref_high = _interval(ref_switches, ref_time)
    print(
        f"  switching rate per step: neurodyn {ours_rate:.3e} ({ours.n_switches} switches), "
        f"reference {ref_switches / ref_time:.3e} [{ref_low:.3e}, {ref_high:.3e}] "
        f"({ref_switches} switches)"
    )


def kramers(n_trajectories: int) -> None:
    dt = 0.02
    well = additive_noise(lambda h, u: h + dt * (h - h**3), dt=dt)
    wells = torch.tensor([[-1.0], [1.0]], dtype=torch.float64)
    print(
        "| barrier / D | sigma | switches | rate | 95% interval | Kramers | exact | rate / Kramers |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for ratio in (4.0, 5.0, 6.0):
        d = 0.25 / ratio
        sigma = math.sqrt(2 * d)
        rate_kramers = math.sqrt(2.0) / (2 * math.pi) * math.exp(-ratio)
        x = np.linspace(-2.5, 0.5, 300_001)
        step = x[1] - x[0]
        u = x**4 / 4 - x**2 / 2
        inner = np.cumsum(np.exp(-(u - u.min()) / d)) * step
        tail = np.cumsum((np.exp((u - u.min()) / d) * inner)[::-1])[::-1] * step / d
        exact = 1 / float(np.interp(-1.0, x, tail))
        result = simulate_escape(
            well,
            wells,
            torch.zeros(0, dtype=torch.float64),
            sigma=sigma,
            n_steps=int(2.0 / exact / dt),
            n_per_attractor=n_trajectories // 2,
            seed=int(ratio),
        )
        n = result.counts.sum()
        time_held = result.time_held.sum()
        low, high = _interval(n, time_held)
        rate = n / time_held
        print(
            f"| {ratio:g} | {sigma:.3f} | {n} | {rate:.3e} | {low:.3e} - {high:.3e} | "
            f"{rate_kramers:.3e} | {exact:.3e} | {rate / rate_kramers:.3f} |"
        )


def _interval(n: int, exposure: float) -> tuple[float, float]:
    low, high = poisson_interval(np.array([n]), np.array([exposure]))
    return float(low[0]), float(high[0])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, default=10_000)
    parser.add_argument("--reference", type=int, default=100)
    parser.add_argument("--skip-kramers", action="store_true")
    args = parser.parse_args()
    print(
        f"{platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{time.strftime('%Y-%m-%d')}"
    )
    speed(args.trajectories, args.reference)
    if not args.skip_kramers:
        kramers(args.trajectories)


if __name__ == "__main__":
    main()
