"""Time one training step (forward, backward, Adam) of neurodyn's CTRNN against what users run
today, side by side in one run:

- the continuous-time RNN of the public neurogym / Yang-lab PyTorch tutorials: an `nn.Linear`
  input layer and an `nn.Linear` recurrent layer called inside a Python loop over time steps,
  then an `nn.Linear` readout (written here from that public description);
- a JAX reference, `lax.scan` over time + `jit` + `optax.adam`, ensembles by `vmap` (skipped
  when jax / optax are not installed: `pip install 'neurodyn[bench]'`);
- neurodyn's CTRNN with the engine chosen automatically, and with its Python loops;
- with `--inductor`, neurodyn's CTRNN under NEURODYN_ENGINE=inductor: the loop, its backward
  and Adam through `torch.compile` (CUDA graphs on a GPU). Its compile time (the first step,
  for this shape) is reported apart and kept out of the steady-state time.

All do the same maths (relu, alpha = dt/tau = 0.2, no noise, MSE on every output), get the same
data and use Adam. The step's FLOPs are counted (forward: recurrent, input and readout matmuls;
backward: twice the recurrent and readout ones and the input weights' gradient) and set against
this machine's matmul rate, measured here on a 2048 x 2048 matmul.

Usage: python benchmarks/train_step.py [--grid cpu|full|smoke|small] [--min-time 1.0]
[--device cpu|cuda] [--inductor]
`--grid cpu` (default, `make bench`) times the sizes a 2-core CPU can do in minutes; `--grid
full` adds N in {64, 256, 1024} x B in {64, 512} x E in {1, 32} (for a GPU); `--grid small`
the two single networks (N 64 and 256, B 64). Runs on CUDA when torch sees one (or as
`--device` says); `--time-steps` sets T. Prints markdown tables for benchmarks/RESULTS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from collections.abc import Callable

import torch
from torch import nn

from neurodyn._malloc import keep_freed_memory
from neurodyn.models import CTRNN, NetworkSpec
from neurodyn.models.recurrence import engine
from neurodyn.train.trainer import adam

T_STEPS, N_INPUTS, N_OUTPUTS, ALPHA = 100, 85, 33, 0.2
CPU_GRID = [(64, 64, 1), (64, 64, 32), (256, 64, 1), (256, 64, 32), (256, 512, 1), (1024, 64, 1)]
SMOKE_GRID = [(16, 8, 1), (16, 8, 2)]
SMALL_GRID = [(64, 64, 1), (256, 64, 1)]
FULL_GRID = [(n, b, e) for n in (64, 256, 1024) for b in (64, 512) for e in (1, 32)]


class TutorialCTRNN(nn.Module):
    """The tutorial network: Linear layers and a Python loop over time."""

    def __init__(self, n_inputs: int, n_hidden: int, n_outputs: int, alpha: float) -> None:
        super().__init__()
        self.alpha = alpha
        self.input2h = nn.Linear(n_inputs, n_hidden)
        self.h2h = nn.Linear(n_hidden, n_hidden)
        self.fc = nn.Linear(n_hidden, n_outputs)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        hidden = torch.zeros(x.shape[1], self.h2h.out_features, device=x.device)
        states = []
        for t in range(x.shape[0]):
            h_new = torch.relu(self.input2h(x[t]) + self.h2h(hidden))
            hidden = hidden * (1 - self.alpha) + h_new * self.alpha
            states.append(hidden)
        return self.fc(torch.stack(states))


def step_flops(n: int, b: int, e: int) -> float:
    """Multiply-adds x 2 of one training step of E networks."""
    rec, inp, out = (2.0 * b * T_STEPS * n * k for k in (n, N_INPUTS, N_OUTPUTS))
    return e * (3 * rec + 2 * inp + 3 * out)


def synchronise(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def time_step(step: Callable[[], object], device: torch.device, min_time: float) -> float:
    """Median milliseconds of `step` after warm-up, over at least `min_time` seconds (3 runs
    at least)."""
    for _ in range(2):
        step()
    synchronise(device)
    times: list[float] = []
    while len(times) < 3 or sum(times) < min_time:
        start = time.perf_counter()
        step()
        synchronise(device)
        times.append(time.perf_counter() - start)
        if len(times) >= 50:
            break
    return statistics.median(times) * 1e3


def matmul_rate(device: torch.device) -> float:
    """GFLOP/s of a 2048 x 2048 float32 matmul on this device."""
    a = torch.randn(2048, 2048, device=device)
    seconds = time_step(lambda: a @ a, device, 1.0) / 1e3
    return 2 * 2048**3 / seconds / 1e9


def tutorial_step(n: int, b: int, device: torch.device):
    x = torch.randn(T_STEPS, b, N_INPUTS, device=device)
    y = torch.randn(T_STEPS, b, N_OUTPUTS, device=device)
    model = TutorialCTRNN(N_INPUTS, n, N_OUTPUTS, ALPHA).to(device)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        ((model(x) - y) ** 2).mean().backward()
        opt.step()

    return step


def neurodyn_step(n: int, b: int, e: int, device: torch.device):
    x = torch.randn(T_STEPS, b, N_INPUTS, device=device)
    y = torch.randn(T_STEPS, 1, b, N_OUTPUTS, device=device)
    spec = NetworkSpec(N_INPUTS, n, N_OUTPUTS, sigma_rec=0.0, seeds=tuple(range(e)))
    model = CTRNN(spec).to(device)
    opt = adam(list(model.parameters()), 1e-3)  # the trainer's: fused where torch has it

    def step() -> None:
        opt.zero_grad(set_to_none=True)
        out = model(x, noise=False).outputs
        # per-member mean squared error, summed: each member gets its own gradient
        ((out - y) ** 2).mean(dim=(0, 2, 3)).sum().backward()
        opt.step()

    return step


def jax_step(n: int, b: int, e: int):
    """The JAX reference, or None when jax / optax are missing."""
    try:
        import jax
        import jax.numpy as jnp
        import optax
    except ImportError:
        return None

    def init(key):
        k1, k2, k3 = jax.random.split(key, 3)
        return {
            "w_in": jax.random.normal(k1, (N_INPUTS, n)) / N_INPUTS**0.5,
            "w_rec": jax.random.normal(k2, (n, n)) * (0.9 / n**0.5),
            "b": jnp.zeros(n),
            "w_out": jax.random.normal(k3, (n, N_OUTPUTS)) / n**0.5,
            "b_out": jnp.zeros(N_OUTPUTS),
        }

    def loss(params, x, y):
        drive = x @ params["w_in"] + params["b"]  # [T, B, N], hoisted out of the loop

        def cell(h, d):
            h = (1 - ALPHA) * h + ALPHA * jax.nn.relu(d + h @ params["w_rec"])
            return h, h

        _, states = jax.lax.scan(cell, jnp.zeros((x.shape[1], n)), drive)
        return jnp.mean((states @ params["w_out"] + params["b_out"] - y) ** 2)

    optimiser = optax.adam(1e-3)

    def update(params, opt_state, x, y):
        grads = jax.grad(loss)(params, x, y)
        updates, opt_state = optimiser.update(grads, opt_state, params)
        return optax.apply_updates(params, updates), opt_state

    params = jax.vmap(init)(jax.random.split(jax.random.PRNGKey(0), e))
    opt_state = jax.vmap(optimiser.init)(params)
    update_all = jax.jit(jax.vmap(update, in_axes=(0, 0, None, None)))
    x = jax.random.normal(jax.random.PRNGKey(1), (T_STEPS, b, N_INPUTS))
    y = jax.random.normal(jax.random.PRNGKey(2), (T_STEPS, b, N_OUTPUTS))
    state = {"params": params, "opt": opt_state}

    def step() -> None:
        state["params"], state["opt"] = update_all(state["params"], state["opt"], x, y)
        jax.block_until_ready(state["params"])

    return step


def main() -> None:
    global T_STEPS
    parser = argparse.ArgumentParser()
    parser.add_argument("--grid", choices=("cpu", "full", "smoke", "small"), default="cpu")
    parser.add_argument("--device", choices=("cpu", "cuda"), default=None)
    parser.add_argument(
        "--inductor", action="store_true", help="add the torch.compile engine (inductor)"
    )
    parser.add_argument("--min-time", type=float, default=1.0)
    parser.add_argument(
        "--time-steps", type=int, default=T_STEPS, help="trial length T (default 100)"
    )
    parser.add_argument(
        "--system-malloc", action="store_true", help="glibc's default allocator thresholds"
    )
    args = parser.parse_args()
    # the steps of a trial, read by every contender below (the inductor engine unrolls the
    # loop, so its compile time grows with T: a short T measures it on a small machine)
    T_STEPS = args.time_steps
    # as the CLI's training does, keep freed memory for reuse (neurodyn._malloc); the setting
    # is the process's, so every contender here runs with it (it speeds the tutorial loop up too)
    os.environ["NEURODYN_MALLOC"] = "system" if args.system_malloc else "keep"
    torch.manual_seed(0)
    allocator = "kept (mallopt)" if keep_freed_memory() else "glibc default"
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    grid = {"cpu": CPU_GRID, "full": FULL_GRID, "smoke": SMOKE_GRID, "small": SMALL_GRID}[args.grid]
    rate = matmul_rate(device)
    ours_engine = engine(device)
    print(
        f"device {device} ({torch.cuda.get_device_name() if device.type == 'cuda' else platform.processor() or platform.machine()}), "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads; matmul rate {rate:.0f} GFLOP/s; "
        f"T={T_STEPS}, I={N_INPUTS}, O={N_OUTPUTS}; neurodyn engine: {ours_engine}; freed memory: {allocator}"
    )
    print()
    extra_head = (
        " inductor ms | inductor vs neurodyn | inductor compile s |" if args.inductor else ""
    )
    print(
        "| N | B | E | tutorial ms | JAX ms | neurodyn ms | neurodyn (Python loops) ms "
        "| vs tutorial | vs JAX | FLOP time ms | vs FLOP time |" + extra_head
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|" + "---|" * (3 if args.inductor else 0))
    for n, b, e in grid:
        tut = time_step(tutorial_step(n, b, device), device, args.min_time) if e == 1 else None
        jax_fn = jax_step(n, b, e)
        jx = time_step(jax_fn, device, args.min_time) if jax_fn is not None else None
        ours = time_step(neurodyn_step(n, b, e, device), device, args.min_time)
        os.environ["NEURODYN_ENGINE"] = "python"
        python_loops = time_step(neurodyn_step(n, b, e, device), device, args.min_time)
        extra = ""
        if args.inductor:
            os.environ["NEURODYN_ENGINE"] = "inductor"
            step = neurodyn_step(n, b, e, device)
            start = time.perf_counter()
            step()  # compiles the loop, its backward and the Adam step for this shape
            synchronise(device)
            compile_s = time.perf_counter() - start
            inductor = time_step(step, device, args.min_time)
            extra = f" {inductor:.1f} | {ours / inductor:.2f}x | {compile_s:.0f} |"
        del os.environ["NEURODYN_ENGINE"]
        flop_ms = step_flops(n, b, e) / (rate * 1e9) * 1e3

        def fmt(v: float | None) -> str:
            return "-" if v is None else f"{v:.1f}"

        print(
            f"| {n} | {b} | {e} | {fmt(tut)} | {fmt(jx)} | {ours:.1f} | {python_loops:.1f} | "
            f"{'-' if tut is None else f'{tut / ours:.2f}x'} | "
            f"{'-' if jx is None else f'{jx / ours:.2f}x'} | {flop_ms:.1f} | {ours / flop_ms:.2f}x |"
            + extra,
            flush=True,
        )


if __name__ == "__main__":
    main()
