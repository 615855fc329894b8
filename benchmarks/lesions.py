"""Cluster lesions of a Yang-sized network: one lesioned copy per call (the loop) against the
lesions as batched ensembles (`lesion_effects(..., members_per_call=K)`), as the yang19 study
evaluates them: the 20 tasks of the battery, 256 trials each, a noise-free 256-unit CTRNN,
one performance per task and lesion. The network's weights are random (the arithmetic is a
trained one's) and its units fall into 12 clusters. Both give the same table (checked here).

Usage: python benchmarks/lesions.py [--hidden 256] [--trials 256] [--clusters 12] [--per-call 4 8 13]
"""

from __future__ import annotations

import argparse
import platform
import time

import numpy as np
import torch

from neurodyn.analysis.lesions import lesion_effects
from neurodyn.models import CTRNN, Network, NetworkSpec
from neurodyn.tasks import yang19_battery


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--hidden", type=int, default=256)
    parser.add_argument("--trials", type=int, default=256)
    parser.add_argument("--clusters", type=int, default=12)
    parser.add_argument("--per-call", type=int, nargs="+", default=[4, 8, 13])
    args = parser.parse_args()
    multitask = yang19_battery()
    net = CTRNN(NetworkSpec(multitask.n_inputs, args.hidden, multitask.n_outputs, seeds=(0,)))
    labels = np.random.default_rng(0).integers(0, args.clusters, args.hidden)
    batches = {t.name: t.sample(args.trials, seed=1) for t in multitask.tasks}

    def evaluate(model: Network) -> dict[str, list[float]]:
        out = {}
        for task in multitask.tasks:
            batch = batches[task.name]
            x = multitask.embed(task.name, batch).x
            with torch.no_grad():
                outputs = model(x, noise=False).outputs[: batch.n_steps]
            out[task.name] = [
                float(task.performance(outputs[:, e], batch)) for e in range(outputs.shape[1])
            ]
        return out

    def one(model: Network) -> dict[str, float]:
        return {task: values[0] for task, values in evaluate(model).items()}

    print(
        f"{args.hidden} units, {len(multitask.tasks)} tasks x {args.trials} trials, "
        f"{args.clusters} clusters; torch {torch.__version__}, {torch.get_num_threads()} threads, "
        f"{platform.machine()}\n"
    )
    print("| lesions | seconds | speed-up |")
    print("|---|---|---|")
    start = time.perf_counter()
    loop = lesion_effects(net, labels, one)
    loop_seconds = time.perf_counter() - start
    print(f"| one lesioned copy per call (loop) | {loop_seconds:.1f} | 1x |", flush=True)
    for k in args.per_call:
        start = time.perf_counter()
        batched = lesion_effects(net, labels, evaluate, members_per_call=k)
        seconds = time.perf_counter() - start
        assert np.array_equal(batched.lesioned, loop.lesioned), "batched lesions differ"
        print(
            f"| batched, {k} networks per call | {seconds:.1f} | {loop_seconds / seconds:.2f}x |",
            flush=True,
        )


if __name__ == "__main__":
    main()
