"""Dynamical Similarity Analysis (Ostrow, Eisen, Kozachkov & Fiete, NeurIPS 2023), for many
networks at once.

Each network's states are delay-embedded and a linear operator A is fitted in the leading
singular coordinates of the embedding (a HAVOK-style DMD, as dsa-metric does). Two networks
are compared by how close their operators are up to an orthogonal change of coordinates:

    angular score  theta(A, B) = min over C in O(r) of arccos( <A, C B C^T> / (|A| |B|) )

(the paper's score, our default), or by the squared Wasserstein-2 distance between their
eigenvalue spectra (`score="wasserstein"`, dsa-metric's default since 2.0). Every pair of
K networks is optimised in one batch: C = Q exp(S) with S skew-symmetric, Q the identity or
a reflection (so both components of O(r) are reached; dsa-metric's Cayley map cannot reach
rotations with an eigenvalue of -1), from several random starts, keeping the best.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from neurodyn.analysis.similarity import SimilarityMatrix
from neurodyn.errors import ShapeError


def _trials(x: Tensor) -> Tensor:
    if x.dim() == 2:
        x = x[None]
    if x.dim() != 3:
        raise ShapeError(f"states must be [T, N] or [B, T, N], got {tuple(x.shape)}")
    return x.detach().to(torch.float64)


def havok_operator(
    states: Tensor,
    *,
    n_delays: int = 1,
    delay_interval: int = 1,
    rank: int | None = None,
    ridge: float = 1e-8,
) -> Tensor:
    """The DMD operator `[r, r]` of states `[B, T, N]` in their delay embedding's leading
    right-singular coordinates (each row scaled to unit variance by the SVD).

    Trials are embedded separately and share one SVD; successive-step pairs never cross from
    one trial into the next. `A = ((V0^T V0 + ridge I)^-1 V0^T V1)^T` with V0, V1 the
    coordinates at t and t + 1.
    """
    x = _trials(states)
    span = (n_delays - 1) * delay_interval
    if n_delays < 1 or span >= x.shape[1] - 1:
        raise ShapeError(
            f"cannot take {n_delays} delays of {delay_interval} from {x.shape[1]} steps"
        )
    steps = x.shape[1] - span
    hankel = torch.cat(
        [x[:, d * delay_interval : d * delay_interval + steps] for d in range(n_delays)], -1
    )
    n_trials, _, width = hankel.shape
    u, _, _ = torch.linalg.svd(hankel.reshape(-1, width), full_matrices=False)
    r = u.shape[1] if rank is None else min(rank, u.shape[1])
    v = u[:, :r].reshape(n_trials, steps, r)  # the rows' singular coordinates
    before, after = v[:, :-1].reshape(-1, r), v[:, 1:].reshape(-1, r)
    gram = before.T @ before + ridge * torch.eye(r, dtype=before.dtype)
    return torch.linalg.solve(gram, before.T @ after).T


def angular_distance(
    a: Tensor,
    b: Tensor,
    *,
    restarts: int = 4,
    iters: int = 500,
    lr: float = 0.05,
    seed: int = 0,
) -> Tensor:
    """`theta(a[p], b[p])` for every pair p: `a, b [P, r, r]` -> `[P]` radians.

    Minimises `|A - C B C^T|^2` (A, B scaled to unit norm) over C = Q exp(S) by Adam on the
    skew-symmetric S, for Q the identity and a reflection, from `restarts` starts each (the
    first at S = 0), all pairs and starts in one batch; the best is kept.
    """
    if a.shape != b.shape or a.dim() != 3 or a.shape[1] != a.shape[2]:
        raise ShapeError(
            f"need two stacks of square operators of one shape, got {tuple(a.shape)}, {tuple(b.shape)}"
        )
    n_pairs, r, _ = a.shape
    a = (a / a.norm(dim=(1, 2), keepdim=True)).double()
    b = (b / b.norm(dim=(1, 2), keepdim=True)).double()
    reflect = torch.eye(r, dtype=torch.float64)
    reflect[0, 0] = -1.0
    cosets = torch.stack([torch.eye(r, dtype=torch.float64), reflect])  # [2, r, r]
    g = torch.Generator().manual_seed(seed)
    start = torch.randn(n_pairs, 2, restarts, r, r, generator=g, dtype=torch.float64)
    start[:, :, 0] = 0.0
    raw = start.requires_grad_(True)
    opt = torch.optim.Adam([raw], lr=lr)
    a_, b_ = a[:, None, None], b[:, None, None]
    q = cosets[None, :, None]

    def aligned() -> Tensor:
        c = q @ torch.linalg.matrix_exp(raw - raw.transpose(-1, -2))
        return c @ b_ @ c.transpose(-1, -2)

    for _ in range(iters):
        opt.zero_grad()
        loss = (a_ - aligned()).square().sum()
        loss.backward()
        opt.step()
    with torch.no_grad():
        cosine = (a_ * aligned()).sum((-1, -2)).reshape(n_pairs, -1).max(1).values
    return torch.arccos(cosine.clamp(-1.0, 1.0))


def wasserstein_spectral(a: Tensor, b: Tensor) -> Tensor:
    """Squared 2-Wasserstein distance between the eigenvalues of `a[p]` and `b[p]` as points
    in the complex plane, uniform weights (dsa-metric's 'wasserstein' score): `[P]`."""
    out = []
    for x, y in zip(a, b, strict=True):
        ex = torch.linalg.eigvals(x.double()).numpy()
        ey = torch.linalg.eigvals(y.double()).numpy()
        cost = np.abs(ex[:, None] - ey[None, :]) ** 2
        rows, cols = linear_sum_assignment(cost)
        out.append(cost[rows, cols].mean())
    return torch.tensor(out, dtype=torch.float64)


def dsa(
    states: Sequence[Tensor],
    *,
    n_delays: int = 1,
    delay_interval: int = 1,
    rank: int | None = None,
    ridge: float = 1e-8,
    score: str = "angular",
    restarts: int = 4,
    iters: int = 500,
    lr: float = 0.05,
    seed: int = 0,
    labels: Sequence[str] | None = None,
) -> SimilarityMatrix:
    """DSA distances between every pair of K networks' states (each `[B, T, N_k]`).

    Parameters mirror dsa-metric's: `n_delays`, `delay_interval`, `rank` (of the operator;
    must give equal ranks for the angular score), `ridge` (its `lamb`), `score` ('angular',
    the default here and in the paper, or 'wasserstein').

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
        raise ValueError(f"score must be 'angular' or 'wasserstein', got {score!r}")
    operators = [
        havok_operator(s, n_delays=n_delays, delay_interval=delay_interval, rank=rank, ridge=ridge)
        for s in states
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
        values = angular_distance(
            stack[i], stack[j], restarts=restarts, iters=iters, lr=lr, seed=seed
        )
    else:
        values = wasserstein_spectral(stack[i], stack[j])
    matrix = torch.zeros(k, k, dtype=torch.float64)
    matrix[i, j] = values
    matrix[j, i] = values
    return SimilarityMatrix(
        matrix.numpy(),
        f"dsa_{score}",
        "distance",
        list(labels) if labels is not None else [str(n) for n in range(k)],
    )
