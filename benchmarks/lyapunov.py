"""Lyapunov exponents of a 256-unit network: neurodyn (every trajectory in one batch) against a
straightforward per-trajectory NumPy/SciPy implementation of the same QR (Benettin) method;
and the Lorenz spectrum over a long run, against its published values.

The network: a CTRNN h' = (-h + tanh(W h)) / tau, W Gaussian with gain g = 1.5 (chaotic),
dt / tau = 0.1, float64, K trajectories from random states. Both sides take the same steps
from the same states and the same initial tangent vectors, so their exponents agree to
rounding (checked). The reference loops over trajectories and steps in Python: for the
largest exponent one tangent vector (J v = (1 - a) v + a f'(pre) * (W v), normalised each
step); for the full spectrum the Jacobian built each step, `Q <- J Q` and `scipy.linalg.qr`.

A second row times the largest exponent of a small network (32 units, 256 trajectories), where
the reference's cost is Python work per step rather than arithmetic.

Usage: python benchmarks/lyapunov.py [--units 256] [--trajectories 64] [--steps 500]
           [--small-units 32] [--small-trajectories 256] [--spectrum-trajectories 8]
           [--spectrum-steps 100] [--lorenz-time 500]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import scipy.linalg
import torch

from neurodyn import CTRNN, NetworkSpec
from neurodyn.analysis import StepFunctions, lyapunov_spectrum, model_lyapunov_spectrum

ALPHA = 0.1


def network(n_units: int, gain: float = 1.5) -> CTRNN:
    spec = NetworkSpec(
        n_inputs=1,
        n_hidden=n_units,
        n_outputs=1,
        activation="tanh",
        rec_gain=gain,
        dt_ms=10.0,
        tau_ms=100.0,
        sigma_rec=0.0,
    )
    model = CTRNN(spec).double()
    with torch.no_grad():
        model.b.zero_()
    return model


def reference_largest(w: np.ndarray, starts: np.ndarray, vectors: np.ndarray, steps: int):
    """Per trajectory, per step: the step, the tangent vector pushed and normalised."""
    out = []
    for h, v in zip(starts, vectors, strict=True):
        h, v, total = h.copy(), v / np.linalg.norm(v), 0.0
        for _ in range(steps):
            pre = w @ h
            slope = 1 - np.tanh(pre) ** 2
            v = (1 - ALPHA) * v + ALPHA * slope * (w @ v)
            h = (1 - ALPHA) * h + ALPHA * np.tanh(pre)
            norm = np.linalg.norm(v)
            total += np.log(norm)
            v = v / norm
        out.append(total / steps)
    return np.array(out)


def reference_spectrum(w: np.ndarray, starts: np.ndarray, frames: np.ndarray, steps: int):
    """Per trajectory, per step: the Jacobian, Q <- J Q, and a QR decomposition."""
    n = w.shape[0]
    out = []
    for h, q in zip(starts, frames, strict=True):
        h, total = h.copy(), np.zeros(q.shape[1])
        for _ in range(steps):
            pre = w @ h
            jac = (1 - ALPHA) * np.eye(n) + ALPHA * (1 - np.tanh(pre) ** 2)[:, None] * w
            q, r = scipy.linalg.qr(jac @ q, mode="economic")
            total += np.log(np.abs(np.diag(r)))
            h = (1 - ALPHA) * h + ALPHA * np.tanh(pre)
        out.append(np.sort(total / steps)[::-1])
    return np.array(out)


def initial_frames(n_trajectories: int, n_units: int, k: int, seed: int = 0) -> np.ndarray:
    """The orthonormal tangent vectors neurodyn starts from (its `seed=` stream)."""
    g = torch.Generator().manual_seed(seed)
    start = torch.randn(1, n_trajectories, n_units, k, generator=g, dtype=torch.float64)
    return torch.linalg.qr(start)[0][0].numpy()


def timed(fn):
    start = time.perf_counter()
    result = fn()
    return result, time.perf_counter() - start


def lorenz_check(total_time: float, dt: float = 0.01) -> None:
    sigma, rho, beta = 10.0, 28.0, 8 / 3

    def field(h):
        x, y, z = h[..., 0], h[..., 1], h[..., 2]
        return torch.stack([sigma * (y - x), x * (rho - z) - y, x * y - beta * z], -1)

    def field_jacobian(h):
        x, y, z = h[..., 0], h[..., 1], h[..., 2]
        one, zero = torch.ones_like(x), torch.zeros_like(x)
        rows = [
            [-sigma * one, sigma * one, zero],
            [rho - z, -one, -x],
            [y, x, -beta * one],
        ]
        return torch.stack([torch.stack(r, -1) for r in rows], -2)

    def stages(h):
        eye = torch.eye(3, dtype=h.dtype)
        k1, j1 = field(h), field_jacobian(h)
        k2, j2 = field(h + dt / 2 * k1), field_jacobian(h + dt / 2 * k1) @ (eye + dt / 2 * j1)
        k3, j3 = field(h + dt / 2 * k2), field_jacobian(h + dt / 2 * k2) @ (eye + dt / 2 * j2)
        k4, j4 = field(h + dt * k3), field_jacobian(h + dt * k3) @ (eye + dt * j3)
        return h + dt / 6 * (k1 + 2 * k2 + 2 * k3 + k4), eye + dt / 6 * (j1 + 2 * j2 + 2 * j3 + j4)

    starts = torch.tensor([[1.0, 1.0, 20.0], [-5.0, 3.0, 30.0]], dtype=torch.float64)
    spectrum, seconds = timed(
        lambda: lyapunov_spectrum(
            lambda h, u: stages(h)[0],
            starts,
            torch.zeros(1, dtype=torch.float64),
            n_steps=int(total_time / dt),
            n_transient=1000,
            dt=dt,
            step_functions=StepFunctions(jacobian=lambda h, u: stages(h)[1]),
        )
    )
    mean, spread = spectrum.mean(), spectrum.spread()
    print(
        f"\nLorenz (RK4, dt {dt}, {total_time:g} time units, 2 trajectories, {seconds:.1f} s): "
        + ", ".join(f"{m:.3f} ± {s:.3f}" for m, s in zip(mean, spread, strict=True))
        + f"; published 0.906, 0, -14.57; Kaplan-Yorke {spectrum.kaplan_yorke.mean():.3f} "
        "(published 2.062)"
    )


def largest_row(n: int, n_trajectories: int, steps: int) -> None:
    model = network(n)
    w = model.W_rec[0].detach().numpy()
    starts = torch.randn(
        n_trajectories, n, generator=torch.Generator().manual_seed(1), dtype=torch.float64
    )
    ours, ours_s = timed(
        lambda: model_lyapunov_spectrum(
            model, starts, torch.zeros(1), n_steps=steps, n_exponents=1, n_history=1
        )
    )
    vectors = initial_frames(n_trajectories, n, 1)[..., 0]
    ref, ref_s = timed(lambda: reference_largest(w, starts.numpy(), vectors, steps))
    diff = np.abs(ref - ours.exponents[:, 0] * model.spec.dt_ms).max()
    print(
        f"| largest exponent | {n} | {n_trajectories} x {steps} | {ref_s:.2f} | {ours_s:.2f} | "
        f"{ref_s / ours_s:.1f}x | {diff:.1e} |"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--units", type=int, default=256)
    parser.add_argument("--trajectories", type=int, default=64)
    parser.add_argument("--steps", type=int, default=500)
    parser.add_argument("--small-units", type=int, default=32, help="0: no small-network row")
    parser.add_argument("--small-trajectories", type=int, default=256)
    parser.add_argument("--spectrum-trajectories", type=int, default=8)
    parser.add_argument("--spectrum-steps", type=int, default=100)
    parser.add_argument("--lorenz-time", type=float, default=500.0)
    args = parser.parse_args()
    n, k_traj = args.units, args.trajectories
    print(
        f"{platform.machine()}, torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"numpy {np.__version__}; N={n}, float64, g=1.5, dt/tau={ALPHA}"
    )
    print(
        "\n| what | N | trajectories x steps | reference s | neurodyn s | ratio | max difference |"
    )
    print("|---|---|---|---|---|---|---|")
    largest_row(n, k_traj, args.steps)
    if args.small_units:
        # where Python work per step, not arithmetic, is the reference's cost
        largest_row(args.small_units, args.small_trajectories, args.steps)
    model = network(n)
    w = model.W_rec[0].detach().numpy()
    starts = torch.randn(k_traj, n, generator=torch.Generator().manual_seed(1), dtype=torch.float64)

    k_spec, steps = args.spectrum_trajectories, args.spectrum_steps
    few = starts[:k_spec]
    ours, ours_s = timed(
        lambda: model_lyapunov_spectrum(model, few, torch.zeros(1), n_steps=steps, n_history=1)
    )
    frames = initial_frames(k_spec, n, n)
    ref, ref_s = timed(lambda: reference_spectrum(w, few.numpy(), frames, steps))
    diff = np.abs(ref - ours.exponents * model.spec.dt_ms).max()
    print(
        f"| full spectrum ({n} exponents) | {n} | {k_spec} x {steps} | {ref_s:.2f} | {ours_s:.2f} | "
        f"{ref_s / ours_s:.1f}x | {diff:.1e} |"
    )
    if args.lorenz_time > 0:
        lorenz_check(args.lorenz_time)


if __name__ == "__main__":
    main()
