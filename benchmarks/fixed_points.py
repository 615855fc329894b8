"""Fixed points of one trained network, found by FixedPointFinder and by neurodyn, side by side.

The network: a 128-unit tanh RNN (neurodyn CTRNN with dt = tau, i.e. the discrete map
`h' = tanh(W_rec h + W_in u + b)`) trained on the 3-bit flip-flop, copied into a
`torch.nn.RNN` for FixedPointFinder. Both finders start from the same 1024 states (sampled from
the network's trajectories plus Gaussian noise, as in FixedPointFinder's flip-flop example),
with zero input and the same tolerances (tol_q 1e-12, tol_dq 1e-20, max_iters 5000, tol_unique
1e-3, outlier distance scale 10), both in float32 on the CPU. Each is run once untimed to warm
up, then timed.

FixedPointFinder is not a dependency: point `--fpf-dir` (or FPF_DIR) at a checkout of
github.com/mattgolub/fixed-point-finder (its torch implementation needs only torch and numpy).

Usage: python benchmarks/fixed_points.py --fpf-dir /path/to/fixed-point-finder
Prints a markdown table; paste it into benchmarks/RESULTS.md with the date and machine.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import statistics
import sys
import time

import numpy as np
import torch

from neurodyn import tasks
from neurodyn.analysis.fixed_points import FixedPointOptions, model_fixed_points
from neurodyn.models import CTRNN, CTRNNSpec
from neurodyn.train import TrainOptions, TrainState, evaluate, fit


def train_network(n_hidden: int, steps: int) -> tuple[CTRNN, tasks.Task]:
    task = tasks.get("flipflop")
    spec = CTRNNSpec(
        3, n_hidden, 3, dt_ms=10, tau_ms=10, activation="tanh", sigma_rec=0.0, seeds=(1,)
    )
    options = TrainOptions(steps=steps, batch_size=64, lr=0.003, log_every=100)
    model = fit(TrainState.new(CTRNN(spec), options), task, options, progress=False).model
    for p in model.parameters():
        p.requires_grad_(False)
    return model, task


def as_torch_rnn(model: CTRNN) -> torch.nn.RNN:
    """The same map as a torch.nn.RNN (what FixedPointFinder takes)."""
    n_in, n_hidden = model.spec.n_inputs, model.spec.n_hidden
    rnn = torch.nn.RNN(n_in, n_hidden, nonlinearity="tanh", batch_first=True)
    with torch.no_grad():
        rnn.weight_ih_l0.copy_(model.W_in[0])
        rnn.weight_hh_l0.copy_(model.W_rec[0])
        rnn.bias_ih_l0.copy_(model.b[0])
        rnn.bias_hh_l0.zero_()
    return rnn


def run_fixedpointfinder(rnn, initial_states: np.ndarray, inputs: np.ndarray, hps: dict):
    from FixedPointFinderTorch import FixedPointFinderTorch

    # It prints unconditionally in places; keep the table readable.
    with contextlib.redirect_stdout(io.StringIO()):
        finder = FixedPointFinderTorch(rnn, **hps)
        start = time.perf_counter()
        unique, _ = finder.find_fixed_points(initial_states, inputs)
        seconds = time.perf_counter() - start
    return unique.xstar, unique.qstar, seconds


def run_neurodyn(model: CTRNN, initial_states: torch.Tensor, options: FixedPointOptions):
    start = time.perf_counter()
    fps = model_fixed_points(model, initial_states, torch.zeros(3), options=options)
    return fps, time.perf_counter() - start


def matched(points: np.ndarray, others: np.ndarray, tol: float) -> int:
    """How many of `points` have one of `others` within `tol` (Euclidean)."""
    if len(points) == 0 or len(others) == 0:
        return 0
    dist = np.linalg.norm(points[:, None, :] - others[None, :, :], axis=-1)
    return int((dist.min(1) < tol).sum())


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fpf-dir", default=os.environ.get("FPF_DIR"))
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--train-steps", type=int, default=1500)
    parser.add_argument("--initial-states", type=int, default=1024)
    parser.add_argument("--noise", type=float, default=0.5)
    parser.add_argument("--max-iters", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if not args.fpf_dir:
        sys.exit("give --fpf-dir (a checkout of github.com/mattgolub/fixed-point-finder)")
    sys.path.insert(0, args.fpf_dir)
    torch.manual_seed(0)

    model, task = train_network(args.hidden, args.train_steps)
    accuracy = evaluate(model, task)["flipflop"][0]
    rnn = as_torch_rnn(model)
    batch = task.sample(128, seed=1)
    with torch.no_grad():
        visited = model(batch.x, noise=False).states[:, 0].reshape(-1, args.hidden)
        _, rnn_last = rnn(batch.x.transpose(0, 1))
    # the two networks are the same map
    torch.testing.assert_close(rnn_last[0], visited.reshape(-1, 128, args.hidden)[-1])
    g = torch.Generator().manual_seed(2)
    starts = visited[torch.randint(len(visited), (args.initial_states,), generator=g)]
    starts = starts + args.noise * torch.randn(starts.shape, generator=g)
    inputs = np.zeros((1, 3), dtype=np.float32)

    tol = dict(tol_q=1e-12, tol_dq=1e-20, max_iters=args.max_iters, tol_unique=1e-3)
    hps = dict(tol, outlier_distance_scale=10.0, verbose=False, super_verbose=False)
    options = FixedPointOptions(**tol, outlier_distance_scale=10.0)

    run_fixedpointfinder(rnn, starts[:8].numpy().copy(), inputs, dict(hps, max_iters=10))
    run_neurodyn(model, starts[:8], FixedPointOptions(max_iters=10))  # warm-up
    their_times, our_times = [], []
    for _ in range(args.repeats):  # interleaved, so both see the same machine load
        # a copy: FixedPointFinder writes into the initial-states array it is given
        theirs, their_q, seconds = run_fixedpointfinder(rnn, starts.numpy().copy(), inputs, hps)
        their_times.append(seconds)
        ours, seconds = run_neurodyn(model, starts, options)
        our_times.append(seconds)
    their_s, our_s = statistics.median(their_times), statistics.median(our_times)
    for p in rnn.parameters():  # FixedPointFinder switches gradients off for good
        p.requires_grad_(True)

    print(
        f"flip-flop network: N={args.hidden}, accuracy {accuracy:.3f}; "
        f"{args.initial_states} initial states (trajectories + noise {args.noise}); "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {platform.machine()}; "
        f"median of {args.repeats} runs\n"
    )
    print("| finder | unique points | of which q < 1e-12 | max q | seconds | speed-up |")
    print("|---|---|---|---|---|---|")
    print(
        f"| FixedPointFinder (torch, main @ fpf-dir) | {len(theirs)} | "
        f"{int((their_q < 1e-12).sum())} | {their_q.max():.1e} | {their_s:.2f} | 1.0x |"
    )
    print(
        f"| neurodyn model_fixed_points | {len(ours)} | {int(ours.is_fixed.sum())} | "
        f"{ours.q.max():.1e} | {our_s:.2f} | {their_s / our_s:.1f}x |"
    )
    print(
        f"\nof their {len(theirs)} points, {matched(theirs, ours.states, 1e-3)} are within 1e-3 "
        f"of one of ours; of our {len(ours)}, {matched(ours.states, theirs, 1e-3)} are within "
        f"1e-3 of one of theirs. Ours by stability: {ours.count()}"
    )
    unmatched = [x for x in theirs if np.linalg.norm(ours.states - x, axis=1).min() >= 1e-3]
    for x in unmatched:
        h = torch.as_tensor(x, dtype=torch.float64)[None, None]
        fine = model.to(torch.float64)
        q = 0.5 * float((fine.step(h, torch.zeros(1, 1, 3, dtype=torch.float64)) - h).pow(2).sum())
        model.to(torch.float32)
        print(
            f"their point not in ours: nearest of ours at {np.linalg.norm(ours.states - x, axis=1).min():.2e}, "
            f"its q in float64 {q:.1e}"
        )


if __name__ == "__main__":
    main()
