"""Rat-like trajectories: neurodyn's generator (all trajectories advanced together, one tensor
step per time step) against a straightforward per-trajectory Python generator of the same
motion model; and path-integration training steps per second at the grid-fragmentation
study's size.

The motion model (Banino et al. 2018; Sorscher et al. 2019): per step a turn of
dt * N(0, 11.52 rad/s), a Rayleigh(0.82 m/s) speed, and within 3 cm of a wall a turn along it
and a quarter of the speed; a step that would cross a wall is not taken. Both generators
implement it; their random streams differ, so the script checks their statistics agree (mean
speed, share of steps near a wall) rather than the paths.

Usage: python benchmarks/navigation.py [--trajectories 64 512] [--steps 20 100]
           [--train-steps 20]
"""

from __future__ import annotations

import argparse
import math
import platform
import random
import tempfile
import time

import numpy as np
import torch

import neurodyn
from neurodyn.tasks import hairpin_maze, random_trajectories, square_arena
from neurodyn.tasks.navigation import (
    BORDER_M,
    ROTATION_STD,
    SPEED_SCALE,
    WALL_SLOWDOWN,
    Environment,
)


def _nearest(x: float, y: float, walls) -> tuple[float, float, float]:
    best = (math.inf, 0.0, 0.0)
    for x0, y0, x1, y1 in walls:
        ex, ey = x1 - x0, y1 - y0
        t = min(1.0, max(0.0, ((x - x0) * ex + (y - y0) * ey) / (ex * ex + ey * ey)))
        dx, dy = x0 + t * ex - x, y0 + t * ey - y
        d = math.hypot(dx, dy)
        if d < best[0]:
            best = (d, dx / max(d, 1e-9), dy / max(d, 1e-9))
    return best


def _crosses(x: float, y: float, nx: float, ny: float, walls) -> bool:
    rx, ry = nx - x, ny - y
    for x0, y0, x1, y1 in walls:
        sx, sy = x1 - x0, y1 - y0
        denom = rx * sy - ry * sx
        if abs(denom) < 1e-12:
            continue
        t = ((x0 - x) * sy - (y0 - y) * sx) / denom
        u = ((x0 - x) * ry - (y0 - y) * rx) / denom
        if 0 <= t <= 1 and 0 <= u <= 1:
            return True
    return False


def reference_trajectory(
    env: Environment, n_steps: int, dt: float, rng: random.Random
) -> np.ndarray:
    """One trajectory `[n_steps + 1, 2]`, one Python step at a time."""
    x_min, x_max, y_min, y_max = env.extent
    while True:
        x, y = rng.uniform(x_min, x_max), rng.uniform(y_min, y_max)
        if _nearest(x, y, env.walls)[0] >= BORDER_M:
            break
    heading = rng.uniform(0, 2 * math.pi)
    path = [(x, y)]
    for _ in range(n_steps):
        d, tx, ty = _nearest(x, y, env.walls)
        fx, fy = math.cos(heading), math.sin(heading)
        angle = math.atan2(tx * fy - ty * fx, tx * fx + ty * fy)
        speed = SPEED_SCALE * math.sqrt(-2 * math.log(1 - rng.random()))
        turn = 0.0
        if d < BORDER_M and abs(angle) < math.pi / 2:
            turn = math.copysign(math.pi / 2 - abs(angle), angle)
            speed *= WALL_SLOWDOWN
        heading += turn + rng.gauss(0, ROTATION_STD) * dt
        nx, ny = x + speed * dt * math.cos(heading), y + speed * dt * math.sin(heading)
        if not _crosses(x, y, nx, ny, env.walls):
            x, y = nx, ny
        path.append((x, y))
    return np.array(path)


def statistics(paths: np.ndarray, env: Environment, dt: float) -> tuple[float, float]:
    """Mean speed (m/s) and share of positions within a border width of a wall."""
    speed = np.linalg.norm(np.diff(paths, axis=0), axis=-1).mean() / dt
    flat = paths.reshape(-1, 2)
    near = np.mean([_nearest(float(x), float(y), env.walls)[0] < BORDER_M for x, y in flat[:5000]])
    return float(speed), float(near)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trajectories", type=int, nargs="+", default=[64, 512])
    parser.add_argument("--steps", type=int, nargs="+", default=[20, 100])
    parser.add_argument("--train-steps", type=int, default=20)
    args = parser.parse_args()
    print(
        f"{platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"numpy {np.__version__}"
    )
    dt = 0.02
    print(
        "| environment | B | T | per-trajectory Python s | neurodyn s | ratio | speed ref / ours (m/s) | near wall ref / ours |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for env in (square_arena(1.5), hairpin_maze(1.5, 10)):
        for batch in args.trajectories:
            for n_steps in args.steps:
                rng = random.Random(0)
                start = time.perf_counter()
                ref = np.stack(
                    [reference_trajectory(env, n_steps, dt, rng) for _ in range(batch)], 1
                )
                t_ref = time.perf_counter() - start
                start = time.perf_counter()
                ours = random_trajectories(
                    env, batch, n_steps, dt_s=dt, generator=torch.Generator().manual_seed(0)
                )
                t_ours = time.perf_counter() - start
                s_ref, n_ref = statistics(ref, env, dt)
                s_ours, n_ours = statistics(ours.position.numpy(), env, dt)
                print(
                    f"| {env.name} | {batch} | {n_steps} | {t_ref:.3f} | {t_ours:.3f} | "
                    f"{t_ref / t_ours:.1f}x | {s_ref:.2f} / {s_ours:.2f} | {n_ref:.3f} / {n_ours:.3f} |"
                )
    # training at the study's size (studies/grid_fragmentation/config.yaml)
    config = neurodyn.parse_config(
        {
            "task": {
                "name": "path_integration",
                "params": {
                    "arena_size_m": 1.5,
                    "n_place_cells": 256,
                    "trial_ms": 400.0,
                    "boundary_rays": 8,
                },
            },
            "model": {"n_hidden": 256, "tau_ms": 20.0, "activation": "relu", "sigma_rec": 0.0},
            "train": {
                "steps": args.train_steps,
                "batch_size": 64,
                "log_every": args.train_steps,
                "eval_batch_size": 64,
            },
        }
    )
    task = config.make_task()
    start = time.perf_counter()
    for seed in range(10):
        task.sample(64, seed=seed)
    t_sample = (time.perf_counter() - start) / 10
    with tempfile.TemporaryDirectory() as root:
        start = time.perf_counter()
        neurodyn.train_run(config, root, progress=False)
        t_train = time.perf_counter() - start
    print(
        f"\npath integration at the study's size (N=256, B=64, T=21, 256 place cells, 8 rays): "
        f"one batch {t_sample * 1000:.0f} ms; {args.train_steps} training steps with set-up "
        f"{t_train:.1f} s = {args.train_steps / t_train:.2f} steps/s"
    )


if __name__ == "__main__":
    main()
