"""Training E networks as one ensemble against training them one by one.

Times `neurodyn.train.fit` (data generation per member, forward, backward, per-member
clipping, Adam) for an ensemble of E seeds in one model, against E separate single-network
trainings of the same seeds, side by side in one run. Both give the same weights (a test
checks it for E=3), so the ratio is what batching buys.

Usage: python benchmarks/ensemble.py [--members 32] [--hidden 64] [--batch 64] [--task flipflop]
Prints a markdown table; paste it into benchmarks/RESULTS.md with the date and machine.
"""

from __future__ import annotations

import argparse
import platform
import time

import torch

from neurodyn import tasks
from neurodyn.models import CTRNN, NetworkSpec
from neurodyn.train import TrainOptions, TrainState, fit


def seconds_per_step(task, seeds: tuple[int, ...], args) -> float:
    spec = NetworkSpec(
        task.n_inputs,
        args.hidden,
        task.n_outputs,
        dt_ms=task.dt_ms,
        tau_ms=args.tau_ms,
        activation="tanh",
        seeds=seeds,
    )
    options = TrainOptions(steps=args.steps + 2, batch_size=args.batch, log_every=10**9)
    state = TrainState.new(CTRNN(spec), options)
    fit(state, task, options, until_step=2, progress=False)  # warm-up
    start = time.perf_counter()
    fit(state, task, options, progress=False)
    return (time.perf_counter() - start) / args.steps


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--members", type=int, default=32)
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--task", default="flipflop")
    parser.add_argument("--tau-ms", type=float, default=20.0)
    args = parser.parse_args()
    task = tasks.get(args.task)
    seeds = tuple(range(1, args.members + 1))
    ensemble = seconds_per_step(task, seeds, args)
    one = seconds_per_step(task, seeds[:1], args)
    separate = sum(seconds_per_step(task, (s,), args) for s in seeds)
    print(
        f"task {args.task}, N={args.hidden}, B={args.batch}, T={task.n_steps}, E={args.members}; "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.processor() or platform.machine()}\n"
    )
    print("| training | ms per step (all networks) | vs E separate |")
    print("|---|---|---|")
    print(f"| {args.members} separate trainings, E=1 each | {1e3 * separate:.1f} | 1.0x |")
    print(
        f"| one ensemble, E={args.members} | {1e3 * ensemble:.1f} | {separate / ensemble:.1f}x faster |"
    )
    print(
        f"| one network, E=1 | {1e3 * one:.1f} | E={args.members} costs {ensemble / one:.1f}x this |"
    )


if __name__ == "__main__":
    main()
