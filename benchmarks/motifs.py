"""The motif analysis of one 256-unit network of the Driscoll et al. (2024) study, timed step
by step: task-period variance on noise-free trials of the 15 tasks, the Ward clusters of units
and periods, the cluster lesions (every cluster as one batched ensemble, against the same
lesions one network at a time, the way the paper's code and `lesion_effects` do them) and the
fixed points of four task periods. The network is the study's untrained initialisation
(softplus, diagonal W_rec, 20 inputs): no trained one exists on this machine, and the cost
does not depend on the weights' values but on the sizes (a trained network's clusters count
may differ, which scales the lesion step).

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
        times: dict[str, float] = {}
        start = time.perf_counter()
        tasks = run_tasks(run)
        states, batches = noise_free_states(run, model, tasks, args.trials, 0)
        pv = period_variance(states, batches, {t.name: t.periods for t in tasks}).member(0)
        times["variance (15 tasks)"] = time.perf_counter() - start
        start = time.perf_counter()
        clusters = cluster_motifs(pv)
        times["Ward clusters"] = time.perf_counter() - start
        start = time.perf_counter()
        period_lesion_effects(model, clusters.unit_labels, run.task, trials=args.lesion_trials)
        times[f"lesions of {clusters.n_unit_clusters} clusters, batched"] = (
            time.perf_counter() - start
        )
        start = time.perf_counter()
        batch = run.task.sample(args.lesion_trials * 15, seed=0)
        with torch.no_grad():
            for c in range(clusters.n_unit_clusters):
                cut = lesioned(model, np.flatnonzero(clusters.unit_labels == c).tolist())
                outputs = torch.cat([cut(x).outputs for x in batch.x.split(256, dim=1)], 2)
                run.task.performance_by_task(outputs, batch)
        one_by_one = time.perf_counter() - start
        start = time.perf_counter()
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
        times["fixed points of 4 periods"] = time.perf_counter() - start
    total = sum(times.values())
    print(
        f"{platform.machine()}, torch {torch.__version__}, {torch.get_num_threads()} threads; "
        f"N=256, {args.trials} trials per task, {args.lesion_trials} lesion trials per task, "
        f"{args.candidates} fixed-point starts per period"
    )
    print("| step | seconds |\n|---|---|")
    for name, seconds in times.items():
        print(f"| {name} | {seconds:.1f} |")
    print(f"| **total** | **{total:.1f}** |")
    batched = times[next(k for k in times if k.startswith("lesions"))]
    print(
        f"\nlesions one network at a time: {one_by_one:.1f} s; batched {batched:.1f} s "
        f"({one_by_one / batched:.2f}x)"
    )


if __name__ == "__main__":
    main()
