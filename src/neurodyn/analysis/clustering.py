"""Functional clusters of units by their task variance (Yang et al. 2019, Fig. 2).

What follows the paper's public code (github.com/gyyang/multitask), and where:

- Normalisation (`analysis/clustering.py`, `normalization_method='max'`, the default, used for
  Fig. 2): each unit's variances divided by its largest over tasks.
- Clusters (`analysis/clustering.py`): scikit-learn's `KMeans` (Lloyd, `n_init=20`,
  `random_state=0`) on the active units' normalised variance for k in `range(2, 30)`; the k of
  largest silhouette score (Euclidean) is kept. Clusters are ordered by the task of largest
  summed normalised variance among their units, units by cluster. scikit-learn is not a
  dependency here: k-means++ with restarts and the silhouette score are written in numpy below.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from neurodyn.analysis._result import SavableResult
from neurodyn.errors import ArgumentError, ShapeError

if TYPE_CHECKING:
    from neurodyn.analysis.task_variance import TaskVariance

# Numbers of clusters tried (clustering.py).
K_RANGE = range(2, 30)


def _kmeans_plus_plus(x: np.ndarray, k: int, rng: np.random.Generator) -> np.ndarray:
    """k-means++ seeding (Arthur & Vassilvitskii 2007): `x [M, D]` -> centres `[k, D]`."""
    centres = [x[rng.integers(len(x))]]
    d2 = ((x - centres[0]) ** 2).sum(1)
    for _ in range(1, k):
        total = d2.sum()
        i = rng.choice(len(x), p=d2 / total) if total > 0 else rng.integers(len(x))
        centres.append(x[i])
        d2 = np.minimum(d2, ((x - x[i]) ** 2).sum(1))
    return np.stack(centres)


def _kmeans(
    x: np.ndarray, k: int, rng: np.random.Generator, n_init: int, max_iter: int, tol: float
) -> tuple[np.ndarray, float]:
    """Lloyd's k-means, best of `n_init` k-means++ starts: labels `[M]` and inertia."""
    sq = (x**2).sum(1)
    # scikit-learn's convention: tol is relative to the data's mean variance per feature
    tol_abs = tol * float(x.var(0).mean())
    best_labels, best_inertia = np.zeros(len(x), dtype=int), np.inf
    for _ in range(n_init):
        centres = _kmeans_plus_plus(x, k, rng)
        for _ in range(max_iter):
            d2 = sq[:, None] - 2 * x @ centres.T + (centres**2).sum(1)[None]  # [M, k]
            labels = d2.argmin(1)
            onehot = (labels[:, None] == np.arange(k)).astype(x.dtype)  # [M, k]
            counts = onehot.sum(0)
            new = onehot.T @ x / np.maximum(counts, 1)[:, None]
            empty = np.flatnonzero(counts == 0)
            if len(empty):
                # as scikit-learn: an empty cluster restarts at the points worst fitted
                worst = np.argsort(-d2[np.arange(len(x)), labels], kind="stable")[: len(empty)]
                new[empty] = x[worst]
            shift = float(((new - centres) ** 2).sum())
            centres = new
            if shift <= tol_abs:
                break
        d2 = ((x[:, None] - centres[None]) ** 2).sum(-1)
        labels = d2.argmin(1)
        inertia = float(d2[np.arange(len(x)), labels].sum())
        if inertia < best_inertia:
            best_labels, best_inertia = labels, inertia
    return best_labels, best_inertia


def silhouette_score(x: np.ndarray, labels: np.ndarray) -> float:
    """Mean silhouette coefficient (Rousseeuw 1987) of a labelling, Euclidean distances.

    `s_i = (b_i - a_i) / max(a_i, b_i)`, with `a_i` the mean distance of point i to the other
    points of its cluster and `b_i` the smallest mean distance to the points of another
    cluster; 0 for a point alone in its cluster (as scikit-learn).

    Parameters
    ----------
    x : [M, D]
    labels : [M] int, with 2 <= number of clusters <= M - 1

    Returns
    -------
    float
        The mean of `s_i` over the M points, in [-1, 1].

    Example
    -------
    >>> x = np.array([[0.0], [1.0], [10.0], [11.0]])
    >>> round(silhouette_score(x, np.array([0, 0, 1, 1])), 4)
    0.8997
    """
    _, labels = np.unique(labels, return_inverse=True)
    n_clusters = labels.max() + 1
    if not 2 <= n_clusters <= len(x) - 1:
        raise ArgumentError(
            f"the silhouette needs 2 to M - 1 = {len(x) - 1} clusters, got {n_clusters}"
        )
    dist = np.sqrt(np.maximum(((x[:, None] - x[None]) ** 2).sum(-1), 0))  # [M, M]
    onehot = labels[:, None] == np.arange(n_clusters)  # [M, C]
    counts = onehot.sum(0)
    sums = dist @ onehot  # [M, C], distance of each point to all points of each cluster
    own = np.arange(len(x)), labels
    size_own = counts[labels]
    a = sums[own] / np.maximum(size_own - 1, 1)
    mean_to = sums / counts
    mean_to[own] = np.inf
    b = mean_to.min(1)
    s = np.where(size_own > 1, (b - a) / np.maximum(np.maximum(a, b), 1e-300), 0.0)
    return float(s.mean())


@dataclass(frozen=True)
class UnitClusters(SavableResult):
    """Clusters of units by their normalised task variance.

    Attributes
    ----------
    labels : [N] int            cluster of each unit (0..C-1, ordered by preferred task); -1 for
                                inactive units
    n_clusters : int            C, the k of largest silhouette score
    k_values : [R]              numbers of clusters tried
    silhouette : [R]            silhouette score of each (NaN where k could not be fitted)
    order : [M]                 the active units' indices, sorted by cluster (stable within)
    preferred_task : [C] int    task of largest summed normalised variance in each cluster
    tasks : list of K task names
    """

    labels: np.ndarray
    n_clusters: int
    k_values: np.ndarray
    silhouette: np.ndarray
    order: np.ndarray
    preferred_task: np.ndarray
    tasks: list[str]


def cluster_units(
    tv: TaskVariance,
    *,
    k_range: Sequence[int] = K_RANGE,
    n_init: int = 20,
    max_iter: int = 300,
    tol: float = 1e-4,
    seed: int = 0,
) -> UnitClusters:
    """Cluster the active units by normalised task variance, k chosen by silhouette score.

    As Yang et al. (2019), `analysis/clustering.py`: k-means (k-means++ seeding, `n_init`
    restarts, the best inertia kept) for each k, the k of largest mean silhouette kept, then
    clusters renumbered by the task they prefer so that the sorted matrix reads as Fig. 2b.

    Parameters
    ----------
    tv : TaskVariance
    k_range : numbers of clusters to try (paper: 2 to 29); those above the number of distinct
        active units, or not below the number of active units, are skipped (silhouette NaN)
    n_init, max_iter, tol : k-means restarts, iterations, and the stopping shift relative to
        the mean feature variance (scikit-learn's defaults but `n_init`, which the paper sets)
    seed : int
        Seeds k-means++; each k draws from its own stream `(seed, k)`.

    Returns
    -------
    UnitClusters
    """
    if tv.variance.ndim != 2:
        raise ShapeError(
            "cluster_units takes the task variance of one network; pick a member with tv.member(e)"
        )
    active = np.flatnonzero(tv.active)
    x = tv.normalised[active]  # [M, K]
    n_distinct = len(np.unique(x, axis=0)) if len(x) else 0
    k_values = np.array(list(k_range), dtype=int)
    scores = np.full(len(k_values), np.nan)
    fits: dict[int, np.ndarray] = {}
    for i, k in enumerate(k_values):
        # k as large as the distinct points still fits (each its own cluster); the silhouette
        # needs fewer clusters than points
        if k < 2 or k > n_distinct or k >= len(x):
            continue
        rng = np.random.default_rng([seed, int(k)])
        fits[int(k)], _ = _kmeans(x, int(k), rng, n_init, max_iter, tol)
        scores[i] = silhouette_score(x, fits[int(k)])
    if not fits:
        raise ArgumentError(
            f"no k in {list(k_values)} can be fitted to {len(active)} active units "
            f"({n_distinct} distinct): k must be at least 2, at most the distinct units and below "
            "the active units"
        )
    n_clusters = int(k_values[np.nanargmax(scores)])
    raw = fits[n_clusters]
    onehot = raw[:, None] == np.arange(n_clusters)  # [M, C]
    preference = (onehot.T.astype(float) @ x).argmax(1)  # [C]
    rank = np.argsort(preference, kind="stable")  # new cluster j is old cluster rank[j]
    new_of_old = np.empty(n_clusters, dtype=int)
    new_of_old[rank] = np.arange(n_clusters)
    active_labels = new_of_old[raw]
    labels = np.full(len(tv.active), -1, dtype=int)
    labels[active] = active_labels
    return UnitClusters(
        labels=labels,
        n_clusters=n_clusters,
        k_values=k_values,
        silhouette=scores,
        order=active[np.argsort(active_labels, kind="stable")],
        preferred_task=preference[rank],
        tasks=list(tv.tasks),
    )
