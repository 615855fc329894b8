"""Fixed points of one trained network, found by FixedPointFinder and by neurodyn, side by side.

The network: a 128-unit tanh RNN (neurodyn CTRNN with dt = tau, i.e. the discrete map
`h' = tanh(W_rec h + W_in u + b)`) trained on the 3-bit flip-flop, copied into a
`torch.nn.RNN` for FixedPointFinder. Both finders start from the same 1024 states (sampled from
the network's trajectories plus Gaussian noise, as in FixedPointFinder's flip-flop example),
with zero input and the same tolerances (tol_q 1e-12, tol_dq 1e-20, max_iters 5000, tol_unique
1e-3, outlier distance scale 10), both in float32 on the CPU. Each is run once untimed to warm
up, then timed.

FixedPointFinder is not a dependency: point `--fpf-dir` (or FPF_DIR) at a checkout of
github.com/mattgolub/fixed-point-finder (its torch implementation needs only torch and numpy),
or pass `--no-fpf` to leave its row out.

A second table times the optimisation loop alone, at a fixed count of `--iters` gradient
iterations for every state (issue 7):

- neurodyn's descent (`find_fixed_points` with every stopping rule off: tol_q and slow_q at the
  smallest positive float, tol_dq 0, min_lr 0, no Newton, no outlier test; each state's
  `n_iters` is checked to equal `--iters`), once as one dense batch (`check_every = iters`: no
  compaction, no restart of Adam's moments) and once as it runs by default (`check_every` 25:
  a device sync, a gather and a scatter every 25 iterations). What it still does that the JAX
  loop does not: per-state gradient clipping to norm 1, a per-state learning rate that grows
  after an accepted step and halves after a rejected one, and the accept / reject bookkeeping
  (a rejected step restarts the state's moments).
- a JAX reference (skipped when jax / optax are not installed: `pip install 'neurodyn[bench]'`):
  plain batched `optax.adam` on the sum over states of q (its gradient is each state's own), a
  constant learning rate `--jax-lr` (default 0.01, neurodyn's initial rate; FixedPointFinder's
  lr_init 1.0 is the start of a plateau schedule, too large for a constant rate), for exactly
  `--iters` iterations in one jitted `lax.fori_loop`, in float32 with full-precision matmuls
  (no TF32 on a GPU, as torch's float32). Compiled once first (the compile time is reported
  apart), then timed with `block_until_ready`. It has no de-duplication: its states with
  q < 1e-12 are de-duplicated here (greedy, lowest q first, within tol_unique) to compare its
  points with the finders'.

The torch finders run on `--device` (default cuda when torch sees one, else cpu; the network is
trained on the CPU either way, so every machine analyses the same network); JAX runs on its
default backend.

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
        start = time.perf_counter()
        unique, _ = finder.find_fixed_points(initial_states, inputs)
        seconds = time.perf_counter() - start
    return unique.xstar, unique.qstar, seconds


def run_neurodyn(model: CTRNN, initial_states: torch.Tensor, options: FixedPointOptions):
    start = time.perf_counter()
    inputs = torch.zeros(3, device=initial_states.device)
    fps = model_fixed_points(model, initial_states, inputs, options=options)
    return fps, time.perf_counter() - start  # fps holds NumPy arrays: the device is synced


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


def unique_points(states: np.ndarray, q: np.ndarray, tol: float) -> np.ndarray:
    """Greedy de-duplication: lowest q first, drop every state within `tol` of a kept one."""
    order = np.argsort(q, kind="stable")
    kept: list[np.ndarray] = []
    for x in states[order]:
        if not kept or np.linalg.norm(np.stack(kept) - x, axis=1).min() >= tol:
            kept.append(x)
    return np.stack(kept) if kept else np.zeros((0, states.shape[1]), states.dtype)


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


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--fpf-dir", default=os.environ.get("FPF_DIR"))
    parser.add_argument("--no-fpf", action="store_true", help="leave FixedPointFinder out")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--hidden", type=int, default=128)
    parser.add_argument("--train-steps", type=int, default=1500)
    parser.add_argument("--initial-states", type=int, default=1024)
    parser.add_argument("--noise", type=float, default=0.5)
    parser.add_argument("--max-iters", type=int, default=5000)
    parser.add_argument("--iters", type=int, default=5000, help="the fixed-count loops' count")
    parser.add_argument("--jax-lr", type=float, default=0.01)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    use_fpf = not args.no_fpf
    if use_fpf and not args.fpf_dir:
        sys.exit(
            "give --fpf-dir (a checkout of github.com/mattgolub/fixed-point-finder), "
            "or --no-fpf to leave it out"
        )
    if use_fpf:
        sys.path.insert(0, args.fpf_dir)
    use_jax = jax_available()
    device = torch.device(args.device)
    torch.manual_seed(0)

    model, task = train_network(args.hidden, args.train_steps)  # on the CPU, as everywhere
    accuracy = evaluate(model, task).performance["flipflop"][0]
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
    starts_np = starts.numpy().copy()
    model, rnn, starts = model.to(device), rnn.to(device), starts.to(device)

    tol = dict(tol_q=1e-12, tol_dq=1e-20, max_iters=args.max_iters, tol_unique=1e-3)
    hps = dict(tol, outlier_distance_scale=10.0, verbose=False, super_verbose=False)
    options = FixedPointOptions(**tol, outlier_distance_scale=10.0)
    loop_settings = {  # row label -> check_every
        "one dense batch (check_every = iters)": args.iters,
        "as by default (check_every 25)": 25,
    }

    # warm-up: each contender once, untimed
    if use_fpf:
        run_fixedpointfinder(rnn, starts_np[:8].copy(), inputs, dict(hps, max_iters=10))
    run_neurodyn(model, starts[:8], FixedPointOptions(max_iters=10))
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
    for _ in range(args.repeats):  # interleaved, so all see the same machine load
        if use_fpf:
            # a copy: FixedPointFinder writes into the initial-states array it is given
            theirs, their_q, seconds = run_fixedpointfinder(rnn, starts_np.copy(), inputs, hps)
            times.setdefault("fpf", []).append(seconds)
        ours, seconds = run_neurodyn(model, starts, options)
        times.setdefault("ours", []).append(seconds)
        loops = {}
        for label, check_every in loop_settings.items():
            loops[label], seconds = run_neurodyn(
                model, starts, fixed_count_options(args.iters, check_every)
            )
            times.setdefault(label, []).append(seconds)
            if not (loops[label].n_iters == args.iters).all():
                sys.exit(f"neurodyn's loop ({label}) did not run every state {args.iters} times")
        if use_jax:
            jax_states, jax_q, seconds = reference.run(starts_np)
            times.setdefault("jax", []).append(seconds)
    median = {name: statistics.median(t) for name, t in times.items()}
    if use_fpf:
        for p in rnn.parameters():  # FixedPointFinder switches gradients off for good
            p.requires_grad_(True)

    hardware = torch.cuda.get_device_name(device) if device.type == "cuda" else platform.machine()
    print(
        f"flip-flop network: N={args.hidden}, accuracy {accuracy:.3f}; "
        f"{args.initial_states} initial states (trajectories + noise {args.noise}); "
        f"torch {torch.__version__} on {device} ({hardware}), {torch.get_num_threads()} threads; "
        f"median of {args.repeats} runs\n"
    )
    print("| finder | unique points | of which q < 1e-12 | max q | seconds | speed-up |")
    print("|---|---|---|---|---|---|")
    base = median["fpf"] if use_fpf else median["ours"]
    if use_fpf:
        print(
            f"| FixedPointFinder (torch, main @ fpf-dir) | {len(theirs)} | "
            f"{int((their_q < 1e-12).sum())} | {their_q.max():.1e} | {median['fpf']:.2f} | 1.0x |"
        )
    else:
        print("| FixedPointFinder | skipped (--no-fpf) | | | | |")
    print(
        f"| neurodyn model_fixed_points | {len(ours)} | {int(ours.is_fixed.sum())} | "
        f"{ours.q.max():.1e} | {median['ours']:.2f} | {base / median['ours']:.1f}x |"
    )

    print(
        f"\nThe optimisation loop alone, every state {args.iters} gradient iterations, "
        f"float32 ({'JAX ' + jax_backend() if use_jax else 'JAX not installed'})\n"
    )
    print(
        "| loop | states with q < 1e-12 (float64 q of the final states) "
        "| seconds | ms per iteration | vs JAX loop |"
    )
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
            f"| JAX optax.adam(lr {args.jax_lr}) in jit(fori_loop), compile excluded | "
            f"{int((speed64(model, jax_states) < 1e-12).sum())} | {median['jax']:.2f} | "
            f"{1e3 * median['jax'] / args.iters:.3f} | 1.0x |"
        )
    else:
        print("| JAX reference | skipped: jax / optax not installed | | | |")

    if use_fpf:
        print(
            f"\nof their {len(theirs)} points, {matched(theirs, ours.states, 1e-3)} are within "
            f"1e-3 of one of ours; of our {len(ours)}, {matched(ours.states, theirs, 1e-3)} are "
            f"within 1e-3 of one of theirs. Ours by stability: {ours.count()}"
        )
    if use_jax:
        converged = jax_q < 1e-12  # as its loop computes q, in float32
        jax_unique = unique_points(jax_states[converged], jax_q[converged], 1e-3)
        print(
            f"\nJAX: compile {compile_s:.2f} s (excluded above); {int(converged.sum())} of "
            f"{len(jax_q)} states ({converged.mean():.1%}) end with q < 1e-12 (float32 q), "
            f"max q {jax_q.max():.1e}, median {np.median(jax_q):.1e}; those are "
            f"{len(jax_unique)} unique points (tol 1e-3), of which "
            f"{matched(jax_unique, ours.states, 1e-3)} are within 1e-3 of one of ours. "
            f"Of our {len(ours)} points, {matched(ours.states, jax_states[converged], 1e-3)} have "
            f"a converged JAX final state within 1e-3 ({matched(ours.states, jax_states, 1e-3)} "
            "counting every JAX final state)"
            + (
                f"; of FixedPointFinder's {len(theirs)}, "
                f"{matched(theirs, jax_states[converged], 1e-3)} "
                f"({matched(theirs, jax_states, 1e-3)})."
                if use_fpf
                else "."
            )
        )
    if not use_fpf:
        return
    unmatched = [x for x in theirs if np.linalg.norm(ours.states - x, axis=1).min() >= 1e-3]
    for x in unmatched:
        print(
            f"their point not in ours: nearest of ours at "
            f"{np.linalg.norm(ours.states - x, axis=1).min():.2e}, "
            f"its q in float64 {speed64(model, x[None])[0]:.1e}"
        )


def jax_backend() -> str:
    import jax

    return f"{jax.__version__} on {jax.default_backend()} ({jax.devices()[0].device_kind})"


if __name__ == "__main__":
    main()
