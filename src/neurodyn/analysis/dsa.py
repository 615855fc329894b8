"""Dynamical Similarity Analysis (Ostrow, Eisen, Kozachkov & Fiete, NeurIPS 2023), for many
networks at once.

Each network's states are delay-embedded and a linear operator A is fitted in the leading
singular coordinates of the embedding (a HAVOK-style DMD, as dsa-metric does). Two networks
are compared by how close their operators are up to an orthogonal change of coordinates:

    angular score  theta(A, B) = min over C in O(r) of arccos( <A, C B C^T> / (|A| |B|) )

(the paper's score, our default), or by the squared Wasserstein-2 distance between their
eigenvalue spectra (`score="wasserstein"`, dsa-metric's default since 2.0). Every pair of
K networks is optimised in one batch by Riemannian gradient ascent on O(r) (Cayley steps with
Barzilai-Borwein step sizes), from starts in both components of O(r), keeping the best. dsa-metric optimises a Cayley parametrisation, which cannot reach rotations with an
eigenvalue of -1, pair by pair.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from neurodyn.analysis.latent import Layout, _delay_embed, _trials
from neurodyn.analysis.similarity import SimilarityMatrix
from neurodyn.errors import ArgumentError, ShapeError


def havok_operator(
    states: Tensor,
    *,
    n_delays: int = 1,
    delay_interval: int = 1,
    rank: int | None = None,
    ridge: float = 1e-8,
    layout: Layout = "time-major",
) -> Tensor:
    """The DMD operator `[r, r]` of states `[T, N]` or `[T, B, N]` in their delay embedding's
    leading right-singular coordinates (each row scaled to unit variance by the SVD).

    Trials are embedded separately and share one SVD; successive-step pairs never cross from
    one trial into the next. `A = ((V0^T V0 + ridge I)^-1 V0^T V1)^T` with V0, V1 the
    coordinates at t and t + 1.

    Each singular coordinate's sign, which the SVD leaves free, is fixed by the data: its
    entry of largest magnitude is positive. States in another orthogonal basis (`x Q^T`,
    rotated or reflected) have the same left singular vectors up to those signs, so they
    give the same operator, not one conjugated by a diagonal of +-1.
    """
    x = _trials(states, "states", layout)  # [B, T, N]
    if n_delays < 1 or (n_delays - 1) * delay_interval >= x.shape[1] - 1:
        raise ShapeError(
            f"cannot take {n_delays} delays of {delay_interval} from {x.shape[1]} steps"
        )
    hankel = _delay_embed(x, n_delays, delay_interval)
    n_trials, steps, width = hankel.shape
    u, _, _ = torch.linalg.svd(hankel.reshape(-1, width), full_matrices=False)
    r = u.shape[1] if rank is None else min(rank, u.shape[1])
    u = _canonical_signs(u[:, :r])
    v = u[:, :r].reshape(n_trials, steps, r)  # the rows' singular coordinates
    before, after = v[:, :-1].reshape(-1, r), v[:, 1:].reshape(-1, r)
    gram = before.T @ before + ridge * torch.eye(r, dtype=before.dtype, device=before.device)
    return torch.linalg.solve(gram, before.T @ after).T


def _canonical_signs(u: Tensor) -> Tensor:
    """`u [M, r]` with each column's sign flipped so that its entry of largest magnitude is
    positive (scikit-learn's `svd_flip` rule)."""
    rows = u.abs().argmax(0)
    signs = torch.sign(u[rows, torch.arange(u.shape[1], device=u.device)])
    return u * torch.where(signs == 0, 1.0, signs).to(u.dtype)


def _sign_start(a: Tensor, b: Tensor) -> Tensor:
    """For each pair, the diagonal of +-1 that best aligns `b` with `a` by the spectral
    relaxation of `max_d sum_ij a_ij b_ij d_i d_j`: the signs of the leading eigenvector of
    the symmetric part of `a * b`. `a, b [P, r, r]` -> `[P, r, r]`.

    When `a = D b D` for a diagonal D of +-1 (one operator in another basis whose singular
    coordinates differ in sign), `a * b = D (a * a) D` and the leading eigenvector of
    `a * a`, a non-negative matrix, is positive (Perron-Frobenius): its signs are D's, and
    this start is the exact optimum.
    """
    m = a * b
    _, vectors = torch.linalg.eigh((m + m.transpose(-1, -2)) / 2)
    signs = torch.sign(vectors[..., -1])
    return torch.diag_embed(torch.where(signs == 0, 1.0, signs).to(a.dtype))


def angular_distance(
    a: Tensor,
    b: Tensor,
    *,
    restarts: int = 8,
    iters: int = 300,
    tol: float = 1e-9,
    seed: int = 0,
) -> Tensor:
    """`theta(a[p], b[p])` for every pair p: `a, b [P, r, r]` -> `[P]` radians.

    Maximises `f(C) = <A, C B C^T>` (A, B scaled to unit norm) over orthogonal C by
    Riemannian gradient ascent with Barzilai-Borwein step sizes and the Cayley retraction
    (Wen & Yin 2013): with `W = skew(C^T grad f)` the ascent direction in the Lie algebra,
    `C <- C (I - tau W / 2)^-1 (I + tau W / 2)`, which stays exactly orthogonal and costs
    one r x r solve. Starts: the identity, a reflection, `restarts - 1` random orthogonal
    matrices of each determinant (the retraction never leaves a component of O(r)) and, per
    pair, the diagonal of +-1 that best matches the two operators' signs (exact when they
    differ only by the signs of their coordinates, which the SVD leaves free); all pairs and
    starts run as one batch, starts whose gradient falls below `tol` stop, and the best value
    any iterate of any start reached is kept. The landscape has local optima:
    of 200 random 5 x 5 pairs that are exactly similar, 4 starts of each determinant leave
    16 above 1e-3 rad, 8 leave 2 and 16 none; on 30 network operators of rank 10 (the
    benchmark) 16 starts lower the mean score by 0.0001 rad over 8, at twice the cost.
    """
    if a.shape != b.shape or a.dim() != 3 or a.shape[1] != a.shape[2]:
        raise ShapeError(
            f"need two stacks of square operators of one shape, got {tuple(a.shape)}, {tuple(b.shape)}"
        )
    n_pairs, r, _ = a.shape
    a = (a / a.norm(dim=(1, 2), keepdim=True)).double()
    b = (b / b.norm(dim=(1, 2), keepdim=True)).double()
    g = torch.Generator().manual_seed(seed)
    # starts drawn on the CPU (the same on every device), then moved to the operators'
    starts = torch.linalg.qr(torch.randn(2 * restarts, r, r, generator=g, dtype=torch.float64))[0]
    starts[0] = torch.eye(r, dtype=torch.float64)
    starts[1] = torch.eye(r, dtype=torch.float64)
    flip = torch.linalg.det(starts) < 0
    want_negative = torch.arange(2 * restarts) % 2 == 1  # half the starts in each component
    starts[flip != want_negative, :, 0] *= -1
    starts = starts.to(a.device)
    n_starts = len(starts) + 1
    # one flat batch of (pair, start) problems; converged ones are dropped as we go
    a_all = a.repeat_interleave(n_starts, 0)
    b_all = b.repeat_interleave(n_starts, 0)
    best = torch.full((len(a_all),), -2.0, dtype=torch.float64, device=a.device)
    running = torch.arange(len(a_all), device=a.device)
    c = torch.cat([starts.expand(n_pairs, -1, -1, -1), _sign_start(a, b).unsqueeze(1)], 1).reshape(
        -1, r, r
    )
    a_run, b_run = a_all, b_all
    eye = torch.eye(r, dtype=torch.float64, device=a.device)
    tau = torch.full((len(c), 1, 1), 0.5, dtype=torch.float64, device=a.device)
    last_w = last_step = torch.zeros_like(c)
    for it in range(iters):
        grad = a_run @ c @ b_run.transpose(-1, -2) + a_run.transpose(-1, -2) @ c @ b_run
        # f(C) = <C, grad> / 2: the value at this iterate, for free
        best[running] = torch.maximum(best[running], (c * grad).sum((-1, -2)) / 2)
        m = c.transpose(-1, -2) @ grad
        w = (m - m.transpose(-1, -2)) / 2
        if it > 0:
            # Barzilai-Borwein: the step's length over the gradient change, the long and the
            # short formula alternately (the change is of the descent gradient -w)
            dw = last_w - w
            sy = (last_step * dw).sum((-1, -2), keepdim=True).abs().clamp_min(1e-300)
            if it % 2:
                tau = (last_step * last_step).sum((-1, -2), keepdim=True) / sy
            else:
                tau = sy / (dw * dw).sum((-1, -2), keepdim=True).clamp_min(1e-300)
            tau = tau.clamp(1e-4, 1e4)
        if it % 10 == 9:
            moving = w.abs().amax((-1, -2)) > tol
            if not bool(moving.any()):
                break
            running, c, w, tau = running[moving], c[moving], w[moving], tau[moving]
            a_run, b_run = a_all[running], b_all[running]
        step = tau * w
        c = c @ torch.linalg.solve(eye - step / 2, eye + step / 2)
        last_w, last_step = w, step
    value = best.reshape(n_pairs, n_starts).max(1).values
    return torch.arccos(value.clamp(-1.0, 1.0))


def wasserstein_spectral(a: Tensor, b: Tensor) -> Tensor:
    """Squared 2-Wasserstein distance between the eigenvalues of `a[p]` and `b[p]` as points
    in the complex plane, uniform weights (dsa-metric's 'wasserstein' score): `[P]`."""
    out = []
    for x, y in zip(a, b, strict=True):
        ex = torch.linalg.eigvals(x.double()).cpu().numpy()
        ey = torch.linalg.eigvals(y.double()).cpu().numpy()
        cost = np.abs(ex[:, None] - ey[None, :]) ** 2
        rows, cols = linear_sum_assignment(cost)
        out.append(cost[rows, cols].mean())
    return torch.tensor(out, dtype=torch.float64)


def dsa(
    states: Sequence[Tensor] | Tensor,
    *,
    n_delays: int = 1,
    delay_interval: int = 1,
    rank: int | None = None,
    ridge: float = 1e-8,
    score: str = "angular",
    restarts: int = 8,
    iters: int = 300,
    seed: int = 0,
    labels: Sequence[str] | None = None,
    layout: Layout = "time-major",
) -> SimilarityMatrix:
    """DSA distances between every pair of K networks' states: a list of `[T, B, N_k]` (or
    `[T, N_k]`) tensors, unit counts free, or an ensemble's states `[T, E, B, N]` (K = E).

    Parameters mirror dsa-metric's: `n_delays`, `delay_interval`, `rank` (of the operator;
    must give equal ranks for the angular score), `ridge` (its `lamb`), `score` ('angular',
    the default here and in the paper, or 'wasserstein').

    Parameters
    ----------
    states : sequence of Tensor [T, B, N_k] or [T, N_k], or Tensor [T, E, B, N]
        The K networks' states, time-major (`layout="trials-first"` is deprecated).
    n_delays, delay_interval : int
        The delay embedding (dsa-metric's).
    rank : int, optional
        Rank of each network's operator.
    ridge : float
        Ridge regularisation of the operator fit (dsa-metric's `lamb`).
    score : 'angular' or 'wasserstein'
        How two operators are compared.
    restarts, iters, seed : int
        The optimisation over rotations that aligns two operators.
    labels : sequence of str, optional
        The K networks' names.
    layout : 'time-major' or 'trials-first'
        The order of the axes of `states`.

    Returns
    -------
    SimilarityMatrix
        `values: [K, K]` distances (0 on the diagonal).

    Example
    -------
    >>> t = torch.arange(200, dtype=torch.float64)
    >>> x = torch.stack([torch.cos(0.3 * t), torch.sin(0.3 * t)], -1) * 0.99 ** t[:, None]
    >>> q = torch.tensor([[0.6, -0.8], [0.8, 0.6]], dtype=torch.float64)
    >>> y = torch.stack([torch.cos(0.5 * t), torch.sin(0.5 * t)], -1)
    >>> d = dsa([x, x @ q.T, y]).values
    >>> bool(d[0, 1] < 1e-4), bool(d[0, 2] > 0.01)
    (True, True)
    """
    if score not in ("angular", "wasserstein"):
        raise ArgumentError(f"score must be 'angular' or 'wasserstein', got {score!r}")
    if isinstance(states, Tensor):
        if states.dim() != 4:
            raise ShapeError(
                f"one tensor of states must be an ensemble's [T, E, B, N], got "
                f"{tuple(states.shape)}; pass a list to compare networks of different sizes"
            )
        states = list(states.unbind(1))
    # each network is read once here, so a deprecated layout warns once, from the caller
    trials = [_trials(s, "states", layout) for s in states]
    operators = [
        havok_operator(
            s.transpose(0, 1),
            n_delays=n_delays,
            delay_interval=delay_interval,
            rank=rank,
            ridge=ridge,
        )
        for s in trials
    ]
    if len({op.shape for op in operators}) != 1:
        raise ShapeError(
            "the networks' operators have different ranks "
            f"{sorted({op.shape[0] for op in operators})}; give `rank` (at most the smallest)"
        )
    k = len(operators)
    i, j = torch.triu_indices(k, k, offset=1)
    stack = torch.stack(operators)
    if score == "angular":
        values = angular_distance(stack[i], stack[j], restarts=restarts, iters=iters, seed=seed)
    else:
        values = wasserstein_spectral(stack[i], stack[j])
    matrix = torch.zeros(k, k, dtype=torch.float64)
    values = values.cpu()
    matrix[i, j] = values
    matrix[j, i] = values
    return SimilarityMatrix(
        matrix.numpy(),
        f"dsa_{score}",
        "distance",
        list(labels) if labels is not None else [str(n) for n in range(k)],
    )
