"""Trial generation speed, in trial-steps per second: neurodyn's tasks against neurogym's
`Dataset` (the way neurogym users feed a network), side by side in one run.

- PerceptualDecisionMaking: neurodyn `pdm` vs neurogym `PerceptualDecisionMaking-v0`.
- The Yang et al. 2019 battery, 20 tasks mixed: neurodyn `yang19` (one batch mixes the tasks)
  vs neurogym's `yang19` collection under `ScheduleEnvs` with a random schedule.

Both at dt = 20 ms (the paper's step; neurogym's default is 100 ms, which would give it 5x
fewer steps per trial), batch 64. Only real trial steps count: neurodyn pads a batch to its
longest trial, and padding is not counted; neurogym's Dataset cuts a continuous stream of trials
into sequences, so all its steps count.

Needs neurogym (`pip install 'neurodyn[neurogym]'`; it pins numpy 2.2, so use a separate
environment). Without it only neurodyn's rows are printed.

`--threads` sets torch's intra-op threads (default: torch's own choice). On a machine whose
cores are busy with other work, several threads wait on each other at every operation large
enough to be split, which can slow trial generation many times over; `--threads 1` measures the
generator itself (neurogym's numpy runs on one thread either way).

Usage: python benchmarks/task_generation.py [--batch 64] [--seq-len 100] [--min-time 3]
    [--threads N]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import torch

from neurodyn import tasks
from neurodyn.tasks.yang19 import battery


def rate(make_batch: Callable[[], int], min_time: float) -> float:
    """Trial-steps per second of `make_batch` (which returns the steps it made)."""
    make_batch()
    steps, start = 0, time.perf_counter()
    while time.perf_counter() - start < min_time:
        steps += make_batch()
    return steps / (time.perf_counter() - start)


def real_steps(batch) -> int:
    """Steps inside trials (the latest epoch end of each trial), padding excluded."""
    if batch.parts:
        return sum(real_steps(part) for part in batch.parts.values())
    ends = [v for k, v in batch.trial.items() if k.endswith("_end")]
    return int(torch.stack(ends).amax(0).sum())


def neurodyn_rate(name: str, batch_size: int, min_time: float) -> float:
    task = battery(dt_ms=20.0) if name == "yang19" else tasks.get(name, dt_ms=20.0)
    generator = torch.Generator().manual_seed(0)
    return rate(lambda: real_steps(task.sample(batch_size, generator=generator)), min_time)


def neurogym_rate(kind: str, batch_size: int, seq_len: int, min_time: float) -> float | None:
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

    return rate(make_batch, min_time)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--seq-len", type=int, default=100)
    parser.add_argument("--min-time", type=float, default=3.0)
    parser.add_argument("--threads", type=int, default=None)
    args = parser.parse_args()
    if args.threads is not None:
        torch.set_num_threads(args.threads)
    print(
        f"batch {args.batch}, dt 20 ms; torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    print()
    print("| task | neurogym M trial-steps/s | neurodyn M trial-steps/s | neurodyn / neurogym |")
    print("|---|---|---|---|")
    for label, ours_name, kind in (
        ("PerceptualDecisionMaking", "pdm", "pdm"),
        ("Yang et al. 2019, 20 tasks mixed", "yang19", "yang19"),
    ):
        theirs = neurogym_rate(kind, args.batch, args.seq_len, args.min_time)
        ours = neurodyn_rate(ours_name, args.batch, args.min_time)
        ratio = "-" if theirs is None else f"{ours / theirs:.1f}x"
        theirs_text = "not installed" if theirs is None else f"{theirs / 1e6:.3f}"
        print(f"| {label} | {theirs_text} | {ours / 1e6:.3f} | {ratio} |", flush=True)


if __name__ == "__main__":
    main()
