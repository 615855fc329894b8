"""The leaky recurrence of the CTRNN, with a hand-written backward pass (BPTT).

    pre_t = drive_t + W_rec h_{t-1}
    h_t   = (1 - alpha) h_{t-1} + alpha f(pre_t)

`drive_t` already holds everything that does not depend on the state (input projection, bias,
noise), so the loop over time does one fused matmul-add, one activation and one leaky update
per step and nothing else.

Why hand-written: under autograd every step records its operations, and the backward pass
computes `dL/dW_rec` as T separate small matmuls accumulated one by one. Here the forward pass
records nothing, the backward pass walks time with one matmul-add per step (the gradient
flowing to the previous state), and the weight gradient is one large matmul over all steps at
the end: `dL/dW_rec = sum_t g_t^T h_{t-1}` with `g_t = dL/dpre_t`. The answer is autograd's
(checked by tests for every activation), the work is about a third less and much better
shaped for BLAS.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Mapping
from pathlib import Path

import torch
from torch import Tensor

from neurodyn._extension import load_extension
from neurodyn.errors import ConfigError, excerpt

# f(z), and f'(z) (for the backward pass and Jacobians).
ACTIVATIONS = {
    "relu": torch.relu,
    "tanh": torch.tanh,
    "softplus": torch.nn.functional.softplus,
    "retanh": lambda z: torch.tanh(torch.relu(z)),
    # the identity: a linear RNN, whose input-output map is a convolution with a sum of
    # exponentials (Li, Han, E & Li 2022; neurodyn.analysis.memory_kernels)
    "linear": lambda z: z,
}
SLOPES = {
    "relu": lambda z: (z > 0).to(z.dtype),
    "tanh": lambda z: 1 - torch.tanh(z) ** 2,
    "softplus": torch.sigmoid,
    "retanh": lambda z: (z > 0).to(z.dtype) * (1 - torch.tanh(z) ** 2),
    "linear": torch.ones_like,
}
# f'(z) from y = f(z) where that is cheaper than from z (tanh: 1 - y^2, no second tanh), for
# code that has just computed f(z)
SLOPES_OF_OUTPUT = {
    "tanh": lambda y: y.square().neg_().add_(1),
    "relu": lambda y: (y > 0).to(y.dtype),
}


_ACTIVATION_CODES = {"relu": 0, "tanh": 1, "softplus": 2, "retanh": 3, "linear": 4}
ENGINES = ("auto", "compiled", "inductor", "python", "reference")


# the finder's options `speed_descent` reads, in the order the C++ loop takes them (then
# stop_below, the q at which a state stops)
DESCENT_SETTINGS = ("lr", "lr_increase", "lr_decrease", "min_lr", "tol_dq", "max_grad_norm")

# the C++ loops' compiler flags (part of their build's name in the cache): -fopenmp-simd, the
# descent's sums over units vectorised (its pragmas only, no OpenMP runtime); no errno and no
# traps from maths functions, so that its square roots vectorise (no result changes)
EXTENSION_FLAGS = ("-O3", "-fopenmp-simd", "-fno-math-errno", "-fno-trapping-math")


def _compiled():
    """The C++ time loops (`_recurrence.cpp`, built on first use); None when they cannot be
    built, and the Python loops run instead."""
    return load_extension(
        "neurodyn_recurrence", Path(__file__).with_name("_recurrence.cpp"), EXTENSION_FLAGS
    )


def requested_engine() -> str:
    """The engine NEURODYN_ENGINE names ('auto' when unset), checked, without building or
    loading anything: what a caller asks before the C++ loops may be built (a build can wait
    on another process, and a signal must then find the trainer's handlers in place)."""
    choice = os.environ.get("NEURODYN_ENGINE", "auto")
    if choice not in ENGINES:
        raise ConfigError(
            f"the environment variable NEURODYN_ENGINE must be one of {', '.join(ENGINES)}, "
            f"got {excerpt(choice)}: set it to one of these or unset it"
        )
    return choice


def engine(device: torch.device | str = "cpu") -> str:
    """Which implementation runs the time loops on `device`: 'compiled' (the C++ loops, CPU),
    'python' (the same algorithm in Python), 'inductor' (the plain loop and its autograd
    backward compiled by `torch.compile`, and the trainer's Adam step with it; on CUDA captured
    in CUDA graphs) or 'reference' (the plain loop differentiated by autograd: slow, for
    checking). Chosen by the environment variable NEURODYN_ENGINE (auto, compiled, inductor,
    python, reference; default auto: compiled on CPU when it builds, else python; inductor
    only when named, see `_inductor_recurrence`).

    The engines agree per pass (one forward and backward) to float rounding, not bitwise: over
    a training the differences grow (on pdm, 64 units, W_rec apart by 1.5e-8 after one step
    and 4e-4 after 100), so a seed gives the same weights only with the same engine. A run
    records its engine (`neurodyn.runs.RunInfo.engine`) and a resume on another one warns."""
    choice = requested_engine()
    if choice in ("python", "reference", "inductor"):
        return choice
    if torch.device(device).type != "cpu":
        return "python"
    if _compiled() is None:
        if choice == "compiled":
            raise ConfigError(
                "NEURODYN_ENGINE=compiled but the C++ loops could not be built (is a C++ "
                "compiler installed?); unset it to use the Python loops"
            )
        return "python"
    return "compiled"


@functools.cache
def _inductor_recurrence(device_type: str) -> Callable[..., Tensor]:
    """`leaky_recurrence_reference` through `torch.compile` (inductor): the time loop is
    unrolled into one graph, its backward derived by autograd and compiled with it, the
    element-wise work of each step fused into generated kernels around the matmuls. On CUDA
    the graphs are captured in CUDA graphs ("reduce-overhead"), which removes the per-step
    kernel launches. Shapes are static: each new (trial length, batch, size, dtype) compiles
    once (seconds to minutes, cached on disk by torch), so it suits fixed-length trials."""
    mode = "reduce-overhead" if device_type == "cuda" else None
    return torch.compile(leaky_recurrence_reference, dynamic=False, mode=mode)


def _run(drive: Tensor, h0: Tensor, w_rec_t: Tensor, alpha: float, activation: str):
    """The forward loop. `drive [E, T, B, N]`, `h0 [E, B, N]`, `w_rec_t [E, N, N]` (W_rec
    transposed). Returns `states [E, T, B, N]` and `pre [E, T, B, N]`.

    Step t reads and writes the slices `[:, t]`; batched BLAS takes their stride, so the
    ensemble-major layout needs no copies."""
    f = ACTIVATIONS[activation]
    states = torch.empty_like(drive)
    pre = torch.empty_like(drive)
    h = h0
    for t in range(drive.shape[1]):
        torch.baddbmm(drive[:, t], h, w_rec_t, out=pre[:, t])
        # lerp is the leaky update h + alpha (f(pre) - h) in one kernel
        h = torch.lerp(h, f(pre[:, t]), alpha, out=states[:, t])
    return states, pre


def speed_descent(
    h: Tensor,
    drive: Tensor,
    w_rec: Tensor,
    active: Tensor,
    n_iters: int,
    alpha: float,
    activation: str,
    settings: Mapping[str, float],
) -> tuple[Tensor, Tensor, Tensor, Tensor] | None:
    """The fixed-point finder's descent on the leaky map's speed, in C++: `n_iters` iterations
    of `neurodyn.analysis._descent._descend_dense` with the closed-form speed of
    `CTRNN.speed_and_gradient` (see `_recurrence.cpp`). None where the C++ loops do not run
    (another device, NEURODYN_ENGINE naming another engine, no build): the caller's Python
    loop runs instead.

    Parameters
    ----------
    h : Tensor [E, K, N]
    drive : Tensor [E, K, N]
        `W_in u + b` of each state's input.
    w_rec : Tensor [E, N, N]
    active : Tensor [E, K] of bool
    n_iters : int
    alpha : float
    activation : str
    settings : mapping
        `DESCENT_SETTINGS` and stop_below, as the finder's options name them (stop_below: the
        q at which a state stops).

    Returns
    -------
    (best [E, K, N], q_best [E, K], active [E, K], ran [E, K] int64) or None
    """
    if engine(h.device) != "compiled":
        return None
    best, q_best, still, ran = _compiled().speed_descent(
        h,
        drive,
        w_rec,
        active,
        n_iters,
        alpha,
        _ACTIVATION_CODES[activation],
        *(float(settings[k]) for k in DESCENT_SETTINGS),
        float(settings["stop_below"]),
    )
    return best, q_best, still, ran


def _forward(
    drive: Tensor, h0: Tensor, w_rec: Tensor, alpha: float, activation: str, chosen: str
) -> tuple[Tensor, Tensor]:
    """States and pre-activations `[E, T, B, N]` by the `chosen` engine's forward loop."""
    w_rec_t = w_rec.transpose(1, 2)
    if chosen == "compiled":
        states, pre = _compiled().forward(
            drive, h0, w_rec_t.contiguous(), alpha, _ACTIVATION_CODES[activation]
        )
        return states, pre
    return _run(drive, h0, w_rec_t, alpha, activation)


def _backward_loop(grad_states: Tensor, slope: Tensor, w_rec: Tensor, alpha: float):
    """dL/dpre `[E, T, B, N]` and the total dL/dh_1 `[E, B, N]` from the direct gradients
    `grad_states [E, T, B, N]` and `slope = alpha f'(pre)`."""
    n_steps = grad_states.shape[1]
    grad_pre = torch.empty_like(grad_states)
    delta = grad_states[:, n_steps - 1]  # total dL/dh_t, walking back in time
    for t in range(n_steps - 1, 0, -1):
        g = torch.mul(delta, slope[:, t], out=grad_pre[:, t])
        # dL/dh_{t-1} = direct + (1 - alpha) dL/dh_t + g_t W_rec
        delta = torch.baddbmm(torch.add(grad_states[:, t - 1], delta, alpha=1 - alpha), g, w_rec)
    torch.mul(delta, slope[:, 0], out=grad_pre[:, 0])
    return grad_pre, delta


class _LeakyRecurrence(torch.autograd.Function):
    @staticmethod
    def forward(ctx, drive, h0, w_rec, alpha, activation, chosen):  # type: ignore[override]
        ctx.engine = chosen
        states, pre = _forward(drive, h0, w_rec, alpha, activation, chosen)
        # alpha * f'(pre), all steps in one vectorised pass (not inside the loop)
        slope = SLOPES[activation](pre).mul_(alpha)
        ctx.save_for_backward(states, slope, h0, w_rec)
        ctx.alpha = alpha
        return states

    @staticmethod
    def backward(ctx, grad_states):  # type: ignore[override]
        states, slope, h0, w_rec = ctx.saved_tensors
        alpha = ctx.alpha
        n_members, _, _, n_hidden = states.shape
        grad_states = grad_states.contiguous()
        if ctx.engine == "compiled":
            grad_pre, delta = _compiled().backward(grad_states, slope, w_rec.contiguous(), alpha)
        else:
            grad_pre, delta = _backward_loop(grad_states, slope, w_rec, alpha)
        g0 = grad_pre[:, 0]
        grad_h0 = None
        if ctx.needs_input_grad[1]:
            grad_h0 = torch.baddbmm(delta, g0, w_rec, beta=1 - alpha)
        grad_w = None
        if ctx.needs_input_grad[2]:
            # dL/dW_rec[e] = sum_t g_t^T h_{t-1}: one matmul over all later steps and trials
            # (steps 1.. against states 0..T-2, both views of contiguous tensors), plus step 0
            later = grad_pre[:, 1:].reshape(n_members, -1, n_hidden).transpose(1, 2)
            earlier = states[:, :-1].reshape(n_members, -1, n_hidden)
            grad_w = torch.baddbmm(torch.bmm(g0.transpose(1, 2), h0), later, earlier)
        return grad_pre, grad_h0, grad_w, None, None, None


def leaky_recurrence(
    drive: Tensor, h0: Tensor, w_rec: Tensor, alpha: float, activation: str
) -> Tensor:
    """States of the leaky recurrence over all steps.

    Parameters
    ----------
    drive : Tensor [E, T, B, N]
        Everything that enters the pre-activation besides `W_rec h` (input, bias, noise).
    h0 : Tensor [E, B, N]
    w_rec : Tensor [E, N, N]
        `W_rec[e, i, j]` is the weight from unit j onto unit i.
    alpha : float
        dt / tau.
    activation : str
        One of relu, tanh, softplus, retanh, linear.

    Returns
    -------
    Tensor [E, T, B, N]
        `h_1 ... h_T`. Differentiable in drive, h0 and w_rec (hand-written BPTT); without
        gradients it runs the bare loop.
    """
    if activation not in ACTIVATIONS:
        raise ConfigError(f"activation must be one of {sorted(ACTIVATIONS)}, got {activation!r}")
    chosen = engine(drive.device)
    if chosen == "reference":
        return leaky_recurrence_reference(drive, h0, w_rec, alpha, activation)
    if chosen == "inductor":
        return _inductor_recurrence(drive.device.type)(drive, h0, w_rec, alpha, activation)
    h0 = h0.expand(drive.shape[0], *drive.shape[2:]).contiguous()
    drive = drive.contiguous()
    if torch.is_grad_enabled() and (drive.requires_grad or h0.requires_grad or w_rec.requires_grad):
        return _LeakyRecurrence.apply(drive, h0, w_rec, alpha, activation, chosen)
    return _forward(drive, h0, w_rec, alpha, activation, chosen)[0]


def leaky_recurrence_reference(
    drive: Tensor, h0: Tensor, w_rec: Tensor, alpha: float, activation: str
) -> Tensor:
    """The same recurrence written plainly and differentiated by autograd: the reference the
    hand-written backward pass is tested against. Shapes as `leaky_recurrence`."""
    f = ACTIVATIONS[activation]
    h = h0.expand(drive.shape[0], *drive.shape[2:])
    states = []
    for t in range(drive.shape[1]):
        h = (1 - alpha) * h + alpha * f(drive[:, t] + h @ w_rec.transpose(1, 2))
        states.append(h)
    return torch.stack(states, dim=1)
