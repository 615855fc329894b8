"""Fixed points of trained flip-flop networks, found by FixedPointFinder and by neurodyn, side by side.

The networks: tanh RNNs of N = 32, 128 and 256 units (`--hidden`; neurodyn CTRNN with
dt = tau, i.e. the discrete map `h' = tanh(W_rec h + W_in u + b)`) trained on the 3-bit
flip-flop, each copied into a `torch.nn.RNN` for FixedPointFinder. A 3-bit flip-flop network
has 27 fixed points: 8 stable memories at the corners of a cube, 12 index-1 saddles on its
edges, 6 index-2 on its faces, 1 index-3 at its centre.

Per network, interleaved `--repeats` times after one warm-up each (medians reported): both
finders from the same 1024 starts (the network's trajectories plus Gaussian noise, as in
FixedPointFinder's flip-flop example), zero input, the same tolerances (tol_q 1e-12, tol_dq
1e-20, max_iters 5000, tol_unique 1e-3, outlier distance scale 10), float32 on the CPU
(neurodyn: float32 descent, float64 Levenberg-Marquardt and linearisation); neurodyn with and
without its saddle-targeting starts, and from only the first `--few-starts` starts with them.
Each row gives the points found, how many of FixedPointFinder's are within 1e-3 of one of
neurodyn's, the wall-clock and CPU time (of this process: on a machine shared with other jobs
the CPU time is the steadier figure) and, for neurodyn, the time to read the eigenvectors
afterwards (computed when first read; FixedPointFinder's time includes its eigenvectors).
Then neurodyn alone from `--many-starts` starts at the largest N.

FixedPointFinder is not a dependency: point `--fpf-dir` (or FPF_DIR) at a checkout of
github.com/mattgolub/fixed-point-finder (its torch implementation needs only torch and numpy),
or pass `--no-fpf` to leave it out. `--cache DIR` keeps the trained networks between runs.

`--loop-table` adds the descent loop alone at a fixed count of `--iters` iterations for every
state, against a JAX reference (plain batched `optax.adam` in one jitted `lax.fori_loop`,
skipped when jax / optax are not installed: `pip install 'neurodyn[bench]'`).

Usage: python benchmarks/fixed_points.py --fpf-dir /path/to/fixed-point-finder [--device cpu]
Prints markdown tables; paste them into benchmarks/RESULTS.md with the date and machine.
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
from neurodyn.analysis.fixed_points import (
    FixedPointOptions,
    frozen_copy,
    model_fixed_points,
    speed,
)
from neurodyn.models import CTRNN, NetworkSpec
from neurodyn.train import TrainOptions, TrainState, evaluate, fit


def train_network(n_hidden: int, steps: int) -> tuple[CTRNN, tasks.Task]:
    task = tasks.get("flipflop")
    spec = NetworkSpec(
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
        start, cpu = time.perf_counter(), time.process_time()
        unique, _ = finder.find_fixed_points(initial_states, inputs)
        seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    return unique.xstar, unique.qstar, seconds, cpu


def run_neurodyn(model: CTRNN, initial_states: torch.Tensor, options: FixedPointOptions):
    """(points, seconds, CPU seconds of this process, seconds to read the eigenvectors after)"""
    start, cpu = time.perf_counter(), time.process_time()
    inputs = torch.zeros(3, device=initial_states.device)
    fps = model_fixed_points(model, initial_states, inputs, options=options)
    # fps holds NumPy arrays: the device is synced
    seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
    start = time.perf_counter()
    fps.eigenvectors  # noqa: B018  (computed when first read)
    return fps, seconds, cpu, time.perf_counter() - start


def fixed_count_options(iters: int, check_every: int) -> FixedPointOptions:
    """Settings under which neurodyn's descent runs every state for exactly `iters` iterations
    and does nothing else of note.

    No state can stop: `q < tol_q` never holds (tol_q must be positive; the smallest positive
    float64 is 0 in float32, and q >= 0), an accepted step never improves q by less than
    tol_dq = 0, and a rate is never below min_lr = 0. With slow_q as small, no state is kept as
    a point, so no Jacobian or eigen-decomposition follows; newton=False skips Newton.
    """
    tiny = float(np.finfo(np.float64).tiny)
    return FixedPointOptions(
        tol_q=tiny,
        slow_q=tiny,
        tol_dq=0.0,
        min_lr=0.0,
        max_iters=iters,
        newton=False,
        outlier_distance_scale=None,
        check_every=check_every,
    )


class JaxReference:
    """Plain batched Adam on q(h) = 0.5 |F(h) - h|^2 in JAX: `iters` iterations of
    `optax.adam(lr)` in one jitted `lax.fori_loop`, for the map
    `F(h) = (1 - alpha) h + alpha tanh(W_rec h + W_in u + b)` of `model` (member 0)."""

    def __init__(self, model: CTRNN, inputs: np.ndarray, iters: int, lr: float) -> None:
        import jax
        import jax.numpy as jnp
        import optax

        self.jax = jax
        alpha = model.spec.alpha
        params = {
            "w_rec": jnp.asarray(model.W_rec[0].cpu().numpy()),
            "w_in": jnp.asarray(model.W_in[0].cpu().numpy()),
            "b": jnp.asarray(model.b[0].cpu().numpy()),
            "u": jnp.asarray(inputs[0]),
        }
        optimiser = optax.adam(lr)

        def q_of(params, h):  # h [K, N] -> q [K]
            # "highest": true float32 matmuls (a GPU would otherwise use TF32, as torch does not)
            rec = jnp.dot(h, params["w_rec"].T, precision="highest")
            drive = jnp.dot(params["w_in"], params["u"], precision="highest") + params["b"]
            step = (1 - alpha) * h + alpha * jnp.tanh(rec + drive)
            return 0.5 * jnp.sum((step - h) ** 2, axis=-1)

        # the sum over states: each state's gradient is its own q's
        grad = jax.grad(lambda h, params: q_of(params, h).sum())

        def descend(params, h0):
            def body(_, carry):
                h, state = carry
                updates, state = optimiser.update(grad(h, params), state)
                return optax.apply_updates(h, updates), state

            h, _ = jax.lax.fori_loop(0, iters, body, (h0, optimiser.init(h0)))
            return h, q_of(params, h)

        self.params = params
        self.speed = jax.jit(q_of)
        self.descend = jax.jit(descend)

    def compile(self, initial_states: np.ndarray) -> float:
        """Compile for these shapes; returns the seconds it took."""
        start = time.perf_counter()
        self.compiled = self.descend.lower(self.params, initial_states).compile()
        return time.perf_counter() - start

    def run(self, initial_states: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
        """(final states [K, N], their q [K] in float32, seconds of the loop)."""
        h0 = self.jax.device_put(initial_states)
        self.jax.block_until_ready(h0)  # the transfer is not the loop's
        start = time.perf_counter()
        h, q = self.jax.block_until_ready(self.compiled(self.params, h0))
        seconds = time.perf_counter() - start
        return np.asarray(h), np.asarray(q), seconds


def jax_available() -> bool:
    # On a GPU, JAX would otherwise take 75% of its memory at start, beside torch's.
    os.environ.setdefault("XLA_PYTHON_CLIENT_PREALLOCATE", "false")
    try:
        import jax  # noqa: F401
        import optax  # noqa: F401
    except ImportError:
        return False
    return True


def speed64(model: CTRNN, states: np.ndarray) -> np.ndarray:
    """q of each state `[K, N]`, evaluated in float64 (the states as they are, e.g. float32)."""
    fine = frozen_copy(model, torch.float64)
    h = torch.tensor(states, dtype=torch.float64, device=model.W_rec.device)[None]
    u = torch.zeros(1, len(states), model.spec.n_inputs, dtype=torch.float64, device=h.device)
    with torch.no_grad():
        return speed(fine.step, h, u)[0].cpu().numpy()


def matched(points: np.ndarray, others: np.ndarray, tol: float) -> int:
    """How many of `points` have one of `others` within `tol` (Euclidean)."""
    if len(points) == 0 or len(others) == 0:
        return 0
    dist = np.linalg.norm(points[:, None, :] - others[None, :, :], axis=-1)
    return int((dist.min(1) < tol).sum())


def flipflop_setup(
    n_hidden: int, train_steps: int, n_starts: int, noise: float, cache: str | None
) -> tuple[CTRNN, float, torch.nn.RNN, torch.Tensor]:
    """A trained flip-flop network (from `cache` when it holds one), its accuracy, the same map
    as a torch.nn.RNN, and `n_starts` initial states `[K, N]` (trajectories + noise)."""
    path = None if cache is None else os.path.join(cache, f"flipflop_N{n_hidden}.pt")
    task = tasks.get("flipflop")
    if path is not None and os.path.exists(path):
        model = torch.load(path, weights_only=False)
    else:
        model, task = train_network(n_hidden, train_steps)  # on the CPU, as everywhere
        if path is not None:
            os.makedirs(cache, exist_ok=True)  # type: ignore[arg-type]
            torch.save(model, path)
    accuracy = evaluate(model, task).performance["flipflop"][0]
    rnn = as_torch_rnn(model)
    batch = task.sample(128, seed=1)
    with torch.no_grad():
        visited = model(batch.x, noise=False).states[:, 0].reshape(-1, n_hidden)
        _, rnn_last = rnn(batch.x.transpose(0, 1))
    # the two networks are the same map
    torch.testing.assert_close(rnn_last[0], visited.reshape(-1, 128, n_hidden)[-1])
    g = torch.Generator().manual_seed(2)
    starts = visited[torch.randint(len(visited), (n_starts,), generator=g)]
    starts = starts + noise * torch.randn(starts.shape, generator=g)
    return model, accuracy, rnn, starts


def compare_with_fpf(args: argparse.Namespace, n_hidden: int, device: torch.device) -> None:
    """The table of one network: FixedPointFinder and neurodyn on the same starts, interleaved."""
    model, accuracy, rnn, starts = flipflop_setup(
        n_hidden, args.train_steps, args.initial_states, args.noise, args.cache
    )
    inputs = np.zeros((1, 3), dtype=np.float32)
    starts_np = starts.numpy().copy()
    model, rnn, starts = model.to(device), rnn.to(device), starts.to(device)
    tol = dict(tol_q=1e-12, tol_dq=1e-20, max_iters=args.max_iters, tol_unique=1e-3)
    hps = dict(tol, outlier_distance_scale=10.0, verbose=False, super_verbose=False)
    rows = {  # label -> (options, number of starts)
        f"neurodyn, {args.initial_states} starts": (
            FixedPointOptions(**tol, outlier_distance_scale=10.0),
            args.initial_states,
        ),
        f"neurodyn, {args.initial_states} starts + saddle starts": (
            FixedPointOptions(**tol, outlier_distance_scale=10.0, saddle_starts=True),
            args.initial_states,
        ),
        f"neurodyn, {args.few_starts} starts + saddle starts": (
            FixedPointOptions(**tol, outlier_distance_scale=10.0, saddle_starts=True),
            args.few_starts,
        ),
    }
    # warm-up: each contender once, untimed
    if not args.no_fpf:
        run_fixedpointfinder(rnn, starts_np[:8].copy(), inputs, dict(hps, max_iters=10))
    run_neurodyn(model, starts[:8], FixedPointOptions(max_iters=10, saddle_starts=True))
    times: dict[str, list[float]] = {}
    cpu_times: dict[str, list[float]] = {}
    vector_times: dict[str, list[float]] = {}
    found = {}
    for _ in range(args.repeats):  # interleaved, so all see the same machine load
        if not args.no_fpf:
            # a copy: FixedPointFinder writes into the initial-states array it is given
            theirs, their_q, seconds, cpu = run_fixedpointfinder(rnn, starts_np.copy(), inputs, hps)
            times.setdefault("fpf", []).append(seconds)
            cpu_times.setdefault("fpf", []).append(cpu)
        for label, (options, n_starts) in rows.items():
            found[label], seconds, cpu, vectors = run_neurodyn(model, starts[:n_starts], options)
            times.setdefault(label, []).append(seconds)
            cpu_times.setdefault(label, []).append(cpu)
            vector_times.setdefault(label, []).append(vectors)
    median = {name: statistics.median(t) for name, t in times.items()}
    cpu_median = {name: statistics.median(t) for name, t in cpu_times.items()}
    if not args.no_fpf:
        for p in rnn.parameters():  # FixedPointFinder switches gradients off for good
            p.requires_grad_(True)
    print(
        f"\n### N = {n_hidden} (accuracy {accuracy:.3f}), median of {args.repeats} "
        "interleaved runs\n"
    )
    print(
        "| finder | points (stable / saddles) | points per kind of start | max q "
        "| of FixedPointFinder's matched | seconds | speed-up | CPU seconds | CPU speed-up "
        "| CPU speed-up per round: median (range) | eigenvectors read after (s) |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|")
    base, cpu_base = median.get("fpf"), cpu_median.get("fpf")
    if base is not None:
        print(
            f"| FixedPointFinder, {args.initial_states} starts | {len(theirs)} | | "
            f"{their_q.max():.1e} | | {base:.3f} | 1.0x | {cpu_base:.3f} | 1.0x | | (included) |"
        )
    for label in rows:
        fps = found[label]
        counts = fps.count()
        kinds = ", ".join(f"{k} {v}" for k, v in fps.points_by_start().items())
        match = f"{matched(theirs, fps.states, 1e-3)} of {len(theirs)}" if base else "n/a"
        ratio = f"{base / median[label]:.1f}x" if base else "n/a"
        cpu_ratio = f"{cpu_base / cpu_median[label]:.1f}x" if cpu_base else "n/a"
        # each round's FixedPointFinder time over this row's, seconds apart: robust to the
        # machine's load changing between rounds, which moves the ratio of medians
        fpf_cpu = cpu_times.get("fpf", [])
        rounds = [a / b for a, b in zip(fpf_cpu, cpu_times[label][: len(fpf_cpu)], strict=True)]
        per_round = (
            f"{statistics.median(rounds):.1f}x ({min(rounds):.1f}-{max(rounds):.1f})"
            if rounds
            else "n/a"
        )
        print(
            f"| {label} | {len(fps)} ({counts['stable']} / {counts['saddle']}) | {kinds} | "
            f"{fps.q.max():.1e} | {match} | {median[label]:.3f} | {ratio} | "
            f"{cpu_median[label]:.3f} | {cpu_ratio} | {per_round} | "
            f"{statistics.median(vector_times[label]):.3f} |"
        )


def many_starts(args: argparse.Namespace, n_hidden: int, device: torch.device) -> None:
    """neurodyn alone from `--many-starts` starts (median of `--repeats`)."""
    model, _, _, starts = flipflop_setup(
        n_hidden, args.train_steps, args.many_starts, args.noise, args.cache
    )
    model, starts = model.to(device), starts.to(device)
    options = FixedPointOptions(
        tol_q=1e-12,
        tol_dq=1e-20,
        max_iters=args.max_iters,
        tol_unique=1e-3,
        outlier_distance_scale=10.0,
        saddle_starts=True,
    )
    seconds, cpu_seconds = [], []
    for _ in range(args.repeats):
        fps, s, cpu, _ = run_neurodyn(model, starts, options)
        seconds.append(s)
        cpu_seconds.append(cpu)
    counts = fps.count()
    print(
        f"\n{args.many_starts} starts at N = {n_hidden} (+ saddle starts): "
        f"{len(fps)} points ({counts['stable']} stable, {counts['saddle']} saddles), "
        f"median {statistics.median(seconds):.2f} s of {args.repeats} "
        f"({statistics.median(cpu_seconds):.2f} s CPU)"
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fpf-dir", default=os.environ.get("FPF_DIR"))
    parser.add_argument("--no-fpf", action="store_true", help="leave FixedPointFinder out")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--hidden", type=int, nargs="+", default=[32, 128, 256])
    parser.add_argument("--train-steps", type=int, default=1500)
    parser.add_argument("--cache", help="folder to keep the trained networks in between runs")
    parser.add_argument("--initial-states", type=int, default=1024)
    parser.add_argument("--few-starts", type=int, default=128)
    parser.add_argument("--many-starts", type=int, default=16384, help="at the largest N")
    parser.add_argument("--noise", type=float, default=0.5)
    parser.add_argument("--max-iters", type=int, default=5000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument(
        "--loop-table", action="store_true", help="also time the descent loop against JAX"
    )
    parser.add_argument("--iters", type=int, default=5000, help="the loop table's count")
    parser.add_argument("--jax-lr", type=float, default=0.01)
    args = parser.parse_args()
    if not args.no_fpf and not args.fpf_dir:
        sys.exit(
            "give --fpf-dir (a checkout of github.com/mattgolub/fixed-point-finder), "
            "or --no-fpf to leave it out"
        )
    if not args.no_fpf:
        sys.path.insert(0, args.fpf_dir)
    device = torch.device(args.device)
    torch.manual_seed(0)
    hardware = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.machine()
    print(
        f"flip-flop networks (3 bits: 27 points, 8 stable and 19 saddles); starts from the "
        f"trajectories + noise {args.noise}, zero input; torch {torch.__version__} on {device} "
        f"({hardware}), {torch.get_num_threads()} threads"
    )
    for n_hidden in args.hidden:
        compare_with_fpf(args, n_hidden, device)
    if args.many_starts:
        many_starts(args, max(args.hidden), device)
    if args.loop_table:
        loop_table(args, args.hidden[0], device)


def loop_table(args: argparse.Namespace, n_hidden: int, device: torch.device) -> None:
    """neurodyn's descent loop at a fixed count of iterations against plain Adam in JAX."""
    use_jax = jax_available()
    model, _, _, starts = flipflop_setup(
        n_hidden, args.train_steps, args.initial_states, args.noise, args.cache
    )
    inputs = np.zeros((1, 3), dtype=np.float32)
    starts_np = starts.numpy().copy()
    model, starts = model.to(device), starts.to(device)
    loop_settings = {  # row label -> check_every
        "one dense batch (check_every = iters)": args.iters,
        "as by default (check_every 25)": 25,
    }
    for check_every in loop_settings.values():
        run_neurodyn(model, starts[:8], fixed_count_options(10, min(check_every, 10)))
    if use_jax:
        reference = JaxReference(model, inputs, args.iters, args.jax_lr)
        # the same map: q at the initial states agrees with neurodyn's (float32 both)
        with torch.no_grad():
            q_ours = speed(model.step, starts[None], torch.zeros(1, len(starts), 3, device=device))
        q_jax = np.asarray(reference.speed(reference.params, starts_np))
        np.testing.assert_allclose(q_jax, q_ours[0].cpu().numpy(), rtol=1e-4)
        compile_s = reference.compile(starts_np)
        reference.run(starts_np)
    times: dict[str, list[float]] = {}
    loops = {}
    for _ in range(args.repeats):
        for label, check_every in loop_settings.items():
            loops[label], seconds, _, _ = run_neurodyn(
                model, starts, fixed_count_options(args.iters, check_every)
            )
            times.setdefault(label, []).append(seconds)
            if not (loops[label].n_iters == args.iters).all():
                sys.exit(f"neurodyn's loop ({label}) did not run every state {args.iters} times")
        if use_jax:
            jax_states, _, seconds = reference.run(starts_np)
            times.setdefault("jax", []).append(seconds)
    median = {name: statistics.median(t) for name, t in times.items()}
    print(
        f"\nThe optimisation loop alone at N = {n_hidden}, every state {args.iters} gradient "
        f"iterations, float32 ({'JAX ' + jax_backend() if use_jax else 'JAX not installed'})\n"
    )
    print("| loop | states with q < 1e-12 | seconds | ms per iteration | vs JAX loop |")
    print("|---|---|---|---|---|")
    for label in loop_settings:
        final_q = loops[label].final_q  # float64
        vs_jax = f"{median[label] / median['jax']:.1f}x the time" if use_jax else "n/a"
        print(
            f"| neurodyn descent, {label} | {int((final_q < 1e-12).sum())} | "
            f"{median[label]:.2f} | {1e3 * median[label] / args.iters:.3f} | {vs_jax} |"
        )
    if use_jax:
        print(
            f"| JAX optax.adam(lr {args.jax_lr}) in jit(fori_loop), compile {compile_s:.2f} s "
            f"excluded | {int((speed64(model, jax_states) < 1e-12).sum())} | "
            f"{median['jax']:.2f} | {1e3 * median['jax'] / args.iters:.3f} | 1.0x |"
        )


def jax_backend() -> str:
    import jax

    return f"{jax.__version__} on {jax.default_backend()} ({jax.devices()[0].device_kind})"


if __name__ == "__main__":
    main()
