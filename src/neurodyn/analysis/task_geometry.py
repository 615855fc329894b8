"""Do tasks share a representation? Separability and variance ratio of their trajectories, and
the eigenvalue outliers of the connectivity (Turner & Barak 2023).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from neurodyn.analysis._result import SavableResult
from neurodyn.errors import ShapeError


def _points(x: Tensor, name: str) -> Tensor:
    if x.dim() != 2:
        raise ShapeError(
            f"{name} must be [M, N] (states stacked over steps and trials), got {tuple(x.shape)}"
        )
    return x.detach().to(torch.float64)


@dataclass(frozen=True)
class Separability(SavableResult):
    """Cross-validated accuracy of a linear classifier telling two sets of states apart.

    Attributes
    ----------
    accuracy : float       mean held-out accuracy over folds (0.5: inseparable, 1: separable)
    fold_accuracy : [F]
    n_per_class : int      states per class used (classes are balanced by subsampling)
    """

    accuracy: float
    fold_accuracy: np.ndarray
    n_per_class: int


def _fit_logistic(x: Tensor, y: Tensor, l2: float, iters: int = 100) -> tuple[Tensor, Tensor]:
    w = torch.zeros(x.shape[1], dtype=x.dtype, requires_grad=True)
    b = torch.zeros((), dtype=x.dtype, requires_grad=True)
    opt = torch.optim.LBFGS([w, b], max_iter=iters, line_search_fn="strong_wolfe")

    def closure() -> Tensor:
        opt.zero_grad()
        loss = (
            torch.nn.functional.binary_cross_entropy_with_logits(x @ w + b, y)
            + l2 * w.square().sum()
        )
        loss.backward()
        return loss

    opt.step(closure)
    return w.detach(), b.detach()


def linear_separability(
    states_a: Tensor,
    states_b: Tensor,
    *,
    folds: int = 5,
    l2: float = 1e-3,
    max_per_class: int = 2000,
    seed: int = 0,
) -> Separability:
    """How well a linear readout tells task A's states from task B's, on held-out states.

    L2-regularised logistic regression on standardised states, k-fold cross-validated, with
    the classes balanced (each subsampled to the smaller size, at most `max_per_class`).

    Parameters
    ----------
    states_a : Tensor [Ma, N]
    states_b : Tensor [Mb, N]

    Returns
    -------
    Separability
    """
    a, b = _points(states_a, "states_a"), _points(states_b, "states_b")
    if a.shape[1] != b.shape[1]:
        raise ShapeError(f"states_a and states_b differ in N: {a.shape[1]} vs {b.shape[1]}")
    g = torch.Generator().manual_seed(seed)
    n = min(len(a), len(b), max_per_class)
    if n < folds:
        raise ShapeError(
            f"need at least {folds} states per class for {folds}-fold validation, got {n}"
        )
    a = a[torch.randperm(len(a), generator=g)[:n]]
    b = b[torch.randperm(len(b), generator=g)[:n]]
    x = torch.cat([a, b])
    y = torch.cat([torch.zeros(n, dtype=x.dtype), torch.ones(n, dtype=x.dtype)])
    order = torch.randperm(2 * n, generator=g)
    x, y = x[order], y[order]
    fold_of = torch.arange(2 * n) % folds
    scores = []
    for k in range(folds):
        train, test = fold_of != k, fold_of == k
        mean, std = x[train].mean(0), x[train].std(0).clamp(min=1e-8)
        w, bias = _fit_logistic((x[train] - mean) / std, y[train], l2)
        predicted = (((x[test] - mean) / std) @ w + bias) > 0
        scores.append(float((predicted == y[test].bool()).double().mean()))
    return Separability(
        accuracy=float(np.mean(scores)), fold_accuracy=np.array(scores), n_per_class=n
    )


@dataclass(frozen=True)
class VarianceRatio(SavableResult):
    """Between-task over within-task variance of states (a one-way ANOVA F statistic on all
    units together).

    Attributes
    ----------
    f_ratio : float         (between sum of squares / (G - 1)) / (within sum of squares / (M - G))
    between : float         between-group sum of squares, sum_g M_g ||mu_g - mu||^2
    within : float          within-group sum of squares, sum_g sum_i ||x_i - mu_g||^2
    """

    f_ratio: float
    between: float
    within: float


def variance_ratio(*groups: Tensor) -> VarianceRatio:
    """F ratio of the states of G >= 2 tasks, each `[M_g, N]`.

    Large when tasks occupy different regions of state space, about 1 when their states are
    drawn from one distribution.
    """
    if len(groups) < 2:
        raise ShapeError("variance_ratio needs at least two groups of states")
    xs = [_points(g, f"group {i}") for i, g in enumerate(groups)]
    everything = torch.cat(xs)
    mu = everything.mean(0)
    between = sum(len(x) * float((x.mean(0) - mu).square().sum()) for x in xs)
    within = sum(float((x - x.mean(0)).square().sum()) for x in xs)
    n_groups, n_points = len(xs), len(everything)
    f_ratio = (between / (n_groups - 1)) / (within / (n_points - n_groups))
    return VarianceRatio(f_ratio=float(f_ratio), between=float(between), within=float(within))


@dataclass(frozen=True)
class ConnectivitySpectrum(SavableResult):
    """Eigenvalues of a recurrent weight matrix and its outliers.

    Attributes
    ----------
    eigenvalues : [N]          sorted by decreasing modulus
    n_outliers : int           eigenvalues with modulus above `radius`
    radius : float
    singular_values : [N]      of W, decreasing (how low-rank the structure is)
    """

    eigenvalues: np.ndarray
    n_outliers: int
    radius: float
    singular_values: np.ndarray


def count_outliers(w_rec: Tensor, *, radius: float = 1.0) -> np.ndarray:
    """How many eigenvalues of each recurrent weight matrix lie outside the circle of `radius`.

    The one count of W_rec outliers in the package (`connectivity_spectrum`, the fixed points
    across training and the simplicity-bias study use it). The eigenvalues are computed in
    float64 whatever the weights' dtype: a trained network can hold an eigenvalue within
    float32 rounding of the unit circle, and the count must not depend on the dtype the
    weights were stored in.

    Parameters
    ----------
    w_rec : Tensor [N, N] or [E, N, N]
        Recurrent weights of one network or of an ensemble.
    radius : float
        Eigenvalues with modulus strictly above it count.

    Returns
    -------
    np.ndarray [] or [E], int
        The count of each matrix (0-dimensional for one matrix: `int(...)` reads it).

    Example
    -------
    >>> w = torch.diag(torch.tensor([1.5, -1.2, 0.5]))
    >>> int(count_outliers(w)), count_outliers(torch.stack([w, w / 2])).tolist()
    (2, [2, 0])
    """
    if w_rec.dim() not in (2, 3) or w_rec.shape[-1] != w_rec.shape[-2]:
        raise ShapeError(f"w_rec must be [N, N] or [E, N, N], got {tuple(w_rec.shape)}")
    moduli = np.abs(np.linalg.eigvals(w_rec.detach().cpu().double().numpy()))
    return (moduli > radius).sum(-1)


def connectivity_spectrum(w_rec: Tensor, *, radius: float = 1.0) -> ConnectivitySpectrum:
    """Eigenvalues of `W_rec [N, N]` and how many lie outside the circle of `radius`.

    Trained networks typically keep a bulk of eigenvalues inside the unit circle (inherited
    from the random initialisation) plus a few outliers that carry the learned dynamics
    (Turner & Barak 2023; Schuessler et al. 2020).
    """
    if w_rec.dim() != 2 or w_rec.shape[0] != w_rec.shape[1]:
        raise ShapeError(f"w_rec must be square [N, N], got {tuple(w_rec.shape)}")
    w = w_rec.detach().cpu().double().numpy()
    eigenvalues = np.linalg.eigvals(w)
    eigenvalues = eigenvalues[np.argsort(-np.abs(eigenvalues), kind="stable")]
    return ConnectivitySpectrum(
        eigenvalues=eigenvalues,
        n_outliers=int(count_outliers(w_rec, radius=radius)),
        radius=float(radius),
        singular_values=np.linalg.svd(w, compute_uv=False),
    )


def low_rank_approximation(w_rec: Tensor, rank: int) -> Tensor:
    """The best rank-`rank` approximation of `W_rec [N, N]` (truncated SVD)."""
    u, s, vh = torch.linalg.svd(w_rec.detach(), full_matrices=False)
    return (u[:, :rank] * s[:rank]) @ vh[:rank]
