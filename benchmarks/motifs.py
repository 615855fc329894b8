"""The motif analysis of one 256-unit network of the Driscoll et al. (2024) study, timed step
by step: task-period variance on noise-free trials of the 15 tasks, the Ward clusters of units
and periods, the cluster lesions (every cluster as one batched ensemble, against the same
lesions one network at a time, the way the paper's code and `lesion_effects` do them) and the
fixed points of four task periods. The network is the study's untrained initialisation
(softplus, diagonal W_rec, 20 inputs): no trained one exists on this machine, and the cost
does not depend on the weights' values but on the sizes (a trained network's clusters count
may differ, which scales the lesion step).

Each step is timed in wall seconds and in CPU seconds of this process (all its threads): on
a machine shared with other jobs the wall time stretches, the CPU time much less; on two
free cores the wall time is about half the CPU time or more.

Usage: python benchmarks/motifs.py [--trials 128] [--lesion-trials 128] [--candidates 128]
"""

from __future__ import annotations

import argparse
import platform
import tempfile
import time

import numpy as np
import torch

from neurodyn.analysis import cluster_motifs, lesioned, period_lesion_effects, period_variance
from neurodyn.analysis.fixed_points import FixedPointOptions
from neurodyn.runs import parse_config, train_run
from neurodyn.runs.fixedpoints import find_run_fixed_points
from neurodyn.runs.motifs import noise_free_states, run_tasks


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=128)
    parser.add_argument("--lesion-trials", type=int, default=128)
    parser.add_argument("--candidates", type=int, default=128)
    args = parser.parse_args()
    config = parse_config(
        {
            "task": {"battery": "driscoll24"},
            "model": {
                "n_hidden": 256,
                "activation": "softplus",
                "rec_init": "diagonal",
                "rec_gain": 1.0,
                "seeds": [0],
            },
            "train": {"steps": 1, "batch_size": 15},
        }
    )
    with tempfile.TemporaryDirectory() as root:
        run = train_run(config, root, run_id="bench", progress=False)
        model = run.load_model()
        times: dict[str, tuple[float, float]] = {}
        print(
            f"{platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} "
            f"threads; N=256, {args.trials} trials per task, {args.lesion_trials} lesion trials "
            f"per task, {args.candidates} fixed-point starts per period\n"
            "| step | wall s | CPU s |\n|---|---|---|",
            flush=True,
        )
        clock = _Clock(times)
        tasks = run_tasks(run)
        states, batches = noise_free_states(run, model, tasks, args.trials, 0)
        pv = period_variance(states, batches, {t.name: t.periods for t in tasks}).member(0)
        clock.lap("variance (15 tasks)")
        clusters = cluster_motifs(pv)
        clock.lap("Ward clusters")
        period_lesion_effects(model, clusters.unit_labels, run.task, trials=args.lesion_trials)
        clock.lap(f"lesions of {clusters.n_unit_clusters} clusters, batched")
        batch = run.task.sample(args.lesion_trials * 15, seed=0)
        with torch.no_grad():
            for c in range(clusters.n_unit_clusters):
                cut = lesioned(model, np.flatnonzero(clusters.unit_labels == c).tolist())
                outputs = torch.cat([cut(x).outputs for x in batch.x.split(256, dim=1)], 2)
                run.task.performance_by_task(outputs, batch)
        one_by_one = clock.lap("(the same lesions one network at a time)", count=False)
        options = FixedPointOptions(max_iters=2000)
        for task, epoch in (
            ("delaygo", "delay1"),
            ("delaygo", "stim1"),
            ("delaygo", "go1"),
            ("fdgo", "stim1"),
        ):
            find_run_fixed_points(
                run,
                task=f"driscoll24.{task}",
                epoch=epoch,
                n_initial=args.candidates,
                options=options,
                model=model,
            )
        clock.lap("fixed points of 4 periods")
    wall = sum(w for w, _ in times.values())
    cpu = sum(c for _, c in times.values())
    print(f"| **total** | **{wall:.1f}** | **{cpu:.1f}** |")
    batched = times[next(k for k in times if k.startswith("lesions"))]
    print(
        f"\nlesions one network at a time: {one_by_one[1]:.1f} CPU s; batched "
        f"{batched[1]:.1f} CPU s ({one_by_one[1] / batched[1]:.2f}x)"
    )


class _Clock:
    """Wall and CPU seconds since the last lap; each lap printed as a table row at once."""

    def __init__(self, times: dict[str, tuple[float, float]]) -> None:
        self.times = times
        self.wall, self.cpu = time.perf_counter(), time.process_time()

    def lap(self, name: str, *, count: bool = True) -> tuple[float, float]:
        now_wall, now_cpu = time.perf_counter(), time.process_time()
        took = (now_wall - self.wall, now_cpu - self.cpu)
        self.wall, self.cpu = now_wall, now_cpu
        if count:
            self.times[name] = took
        print(f"| {name} | {took[0]:.1f} | {took[1]:.1f} |", flush=True)
        return took


if __name__ == "__main__":
    main()
