"""Trial generation speed, in trial-steps per second: neurodyn's tasks against neurogym's
`Dataset` (the way neurogym users feed a network), side by side in one run.

- PerceptualDecisionMaking: neurodyn `pdm` vs neurogym `PerceptualDecisionMaking-v0`.
- The Yang et al. 2019 battery, 20 tasks mixed: neurodyn `yang19` (one batch mixes the tasks)
  vs neurogym's `yang19` collection under `ScheduleEnvs` with a random schedule.

Both at dt = 20 ms (the paper's step; neurogym's default is 100 ms, which would give it 5x
fewer steps per trial), batch 64. Only real trial steps count: neurodyn pads a batch to its
longest trial, and padding is not counted; neurogym's Dataset cuts a continuous stream of trials
into sequences, so all its steps count.

The Yang battery is timed on its three random streams (`stream: 1`, the layout of runs made
before stream 2; `stream: 2`, one block of uniforms for every per-trial value and the input
noise drawn once over the whole batch; `stream: 3`, the default: stream 2's trials with the
noise's normals from a cheaper sampler). Rounds interleave the contenders (neurogym,
then each neurodyn generator, `--min-time` seconds each) and the table gives the median rate
of each over `--rounds` rounds, so a load that comes and goes on a shared machine hits all of
them alike.

Needs neurogym (`pip install 'neurodyn[neurogym]'`; it pins numpy, so use a separate
environment, or install it and its pure-Python dependencies with `--no-deps` into a folder on
PYTHONPATH, gymnasium at the 0.29 it pins: with 1.x its `Dataset` fails in `seed`). Without
it only neurodyn's rows are printed.

`--clock cpu` times by this thread's CPU time instead of the wall clock: with `--threads 1`
both tools compute on the calling thread (numpy and torch), so on a machine shared with other
work the time a process waits for a core does not count against either.

`--threads` sets torch's intra-op threads (default: torch's own choice). On a machine whose
cores are busy with other work, several threads wait on each other at every operation large
enough to be split, which can slow trial generation many times over; `--threads 1` measures the
generator itself (neurogym's numpy runs on one thread either way).

Freed memory is kept for reuse as in training (`NEURODYN_MALLOC=keep`, see `neurodyn._malloc`);
`--system-malloc` measures with glibc's defaults.

Usage: python benchmarks/task_generation.py [--batch 64] [--seq-len 100] [--min-time 2]
    [--rounds 5] [--threads N] [--clock wall|cpu] [--system-malloc]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections.abc import Callable

import torch

from neurodyn import tasks
from neurodyn._malloc import keep_freed_memory
from neurodyn.tasks.yang19 import battery

CLOCKS = {"wall": time.perf_counter, "cpu": time.thread_time}


def rate(make_batch: Callable[[], int], min_time: float, clock: str = "wall") -> float:
    """Trial-steps per second of `make_batch` (which returns the steps it made), by the wall
    clock or by the CPU time of this thread (`clock="cpu"`)."""
    now = CLOCKS[clock]
    make_batch()
    steps, start = 0, now()
    while now() - start < min_time:
        steps += make_batch()
    return steps / (now() - start)


def real_steps(batch) -> int:
    """Steps inside trials (each trial's end, the end of its last epoch), padding excluded."""
    return int(batch.trial["end"].sum())


def neurodyn_maker(name: str, batch_size: int, stream: int) -> Callable[[], int]:
    """A function that makes one batch of neurodyn's `name` and returns its real steps."""
    task = battery(dt_ms=20.0, stream=stream) if name == "yang19" else tasks.get(name, dt_ms=20.0)
    generator = torch.Generator().manual_seed(0)
    return lambda: real_steps(task.sample(batch_size, generator=generator))


def neurogym_maker(kind: str, batch_size: int, seq_len: int) -> Callable[[], int] | None:
    """A function that makes one batch of neurogym's `Dataset` and returns its steps; None
    when neurogym is not installed."""
    try:
        import neurogym as ngym
        from neurogym.envs.collections import get_collection
        from neurogym.utils.scheduler import RandomSchedule
        from neurogym.wrappers import ScheduleEnvs
    except ImportError:
        return None
    if kind == "pdm":
        env = ngym.make("PerceptualDecisionMaking-v0", dt=20)
    else:
        envs = [ngym.make(name, dt=20) for name in get_collection("yang19")]
        env = ScheduleEnvs(envs, RandomSchedule(len(envs)), env_input=True)
    dataset = ngym.Dataset(env, batch_size=batch_size, seq_len=seq_len)

    def make_batch() -> int:
        inputs, _ = dataset()
        return inputs.shape[0] * inputs.shape[1]

    return make_batch


def interleaved(
    makers: dict[str, Callable[[], int]], rounds: int, min_time: float, clock: str = "wall"
) -> dict:
    """Median trial-steps per second of each maker over `rounds` rounds, the makers taking
    turns within each round."""
    rates: dict[str, list[float]] = {label: [] for label in makers}
    for _ in range(rounds):
        for label, make_batch in makers.items():
            rates[label].append(rate(make_batch, min_time, clock))
    return {label: statistics.median(values) for label, values in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seq-len", type=int, default=100)
    parser.add_argument("--min-time", type=float, default=2.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", type=int, default=None)
    parser.add_argument(
        "--clock",
        choices=sorted(CLOCKS),
        default="wall",
        help="'cpu': this thread's CPU time (with --threads 1 both tools run on it)",
    )
    parser.add_argument(
        "--system-malloc", action="store_true", help="glibc's default allocator thresholds"
    )
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    # as training does (the CLI sets it), keep freed memory for reuse (neurodyn._malloc): a
    # batch's tensors are megabytes, allocated and freed every batch; the setting is the
    # process's, so neurogym runs with it too
    os.environ["NEURODYN_MALLOC"] = "system" if args.system_malloc else "keep"
    allocator = "kept (mallopt)" if keep_freed_memory() else "glibc default"
    print(
        f"batch {args.batch}, dt 20 ms; torch {torch.__version__}, {torch.get_num_threads()} "
        f"threads; freed memory: {allocator}; medians of {args.rounds} interleaved rounds of "
        f"{args.min_time} s each, {args.clock} clock"
    )
    print()
    print("| task | neurogym M trial-steps/s | neurodyn M trial-steps/s | neurodyn / neurogym |")
    print("|---|---|---|---|")
    for label, name, streams in (
        ("PerceptualDecisionMaking", "pdm", (1,)),
        ("Yang et al. 2019, 20 tasks mixed", "yang19", (1, 2, 3)),
    ):
        makers: dict[str, Callable[[], int]] = {}
        theirs = neurogym_maker(name, args.batch, args.seq_len)
        if theirs is not None:
            makers["neurogym"] = theirs
        for stream in streams:
            makers[f"stream {stream}"] = neurodyn_maker(name, args.batch, stream)
        medians = interleaved(makers, args.rounds, args.min_time, args.clock)
        for stream in streams:
            ours = medians[f"stream {stream}"]
            row = label if len(streams) == 1 else f"{label}, stream {stream}"
            if theirs is None:
                print(f"| {row} | not installed | {ours / 1e6:.3f} | - |", flush=True)
            else:
                ng = medians["neurogym"]
                print(
                    f"| {row} | {ng / 1e6:.3f} | {ours / 1e6:.3f} | {ours / ng:.1f}x |", flush=True
                )


if __name__ == "__main__":
    main()
