"""What the trajectory analyses (limit cycles, Lyapunov spectra) share with the fixed-point
finder: one or E networks' step function `F(h, u)` on a batch of states `[E, K, N]` at
constant inputs `[E, K, I]`, and its tangent map `V -> dF/dh V` on many vectors at once."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

from neurodyn.analysis._descent import JacobianFn, StepFn, jacobians
from neurodyn.errors import ShapeError

# (h [E, K, N], u [E, K, I], V [E, K, N, k]) -> (F(h, u), dF/dh V)
TangentFn = Callable[[Tensor, Tensor, Tensor], tuple[Tensor, Tensor]]


def batch_of_states(initial_states: Tensor, inputs: Tensor) -> tuple[Tensor, Tensor, bool]:
    """`initial_states [K, N]` or `[E, K, N]` and constant `inputs [I]`, `[K, I]` or
    `[E, K, I]` as `(h [E, K, N], u [E, K, I], ensemble)`, detached, inputs in the states'
    dtype. `ensemble` says whether the caller passed the E axis (else E = 1)."""
    if initial_states.dim() not in (2, 3):
        raise ShapeError(
            f"initial_states must be [K, N] or [E, K, N], got {tuple(initial_states.shape)}"
        )
    ensemble = initial_states.dim() == 3
    h = initial_states.detach().clone()
    if not ensemble:
        h = h[None]
    n_members, n_states, _ = h.shape
    u = inputs.detach().to(h.dtype)
    if u.dim() == 1:
        u = u.expand(n_members, n_states, -1)
    elif u.dim() == 2:
        if u.shape[0] != n_states:
            raise ShapeError(f"inputs [K, I] must have K = {n_states} rows, got {tuple(u.shape)}")
        u = u.expand(n_members, -1, -1)
    elif u.dim() != 3 or u.shape[:2] != (n_members, n_states):
        raise ShapeError(f"inputs must be [I], [K, I] or [E, K, I], got {tuple(inputs.shape)}")
    return h, u.contiguous(), ensemble


def with_ensemble_axis(fn: Callable[[Tensor, Tensor], Tensor], ensemble: bool) -> StepFn:
    """`fn` taking `[E, K, ...]`: as it is for an ensemble, else applied to member 0."""
    if ensemble:
        return fn
    return lambda h, x: fn(h[0], x[0])[None]


def tangent_map(step_fn: StepFn, jacobian_fn: JacobianFn | None = None) -> TangentFn:
    """The step and its tangent map on k vectors per state, `V [E, K, N, k] -> J V`.

    With the Jacobian in closed form (`jacobian_fn`, `[E, K, N, N]`) one batched matmul.
    Without, automatic differentiation of `step_fn`: forward mode, vectorised over the k
    vectors, when k is well under N (k Jacobian-vector products cost less than N rows);
    else the full Jacobian by rows (`jacobians`), which has less overhead per call.
    """
    if jacobian_fn is not None:

        def by_jacobian(h: Tensor, u: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
            return step_fn(h, u), jacobian_fn(h, u) @ v

        return by_jacobian

    def by_autodiff(h: Tensor, u: Tensor, v: Tensor) -> tuple[Tensor, Tensor]:
        if 8 * v.shape[-1] > h.shape[-1]:
            return step_fn(h, u), jacobians(step_fn, h, u) @ v

        def along(direction: Tensor) -> Tensor:
            return torch.func.jvp(lambda state: step_fn(state, u), (h,), (direction,))[1]

        pushed = torch.func.vmap(along, in_dims=-1, out_dims=-1)(v)
        return step_fn(h, u), pushed

    return by_autodiff
