"""Task variance, functional clusters of units and cluster lesions.

The analyses of Yang, Joglekar, Song, Newsome & Wang (2019), "Task representations in neural
networks trained to perform many cognitive tasks", Nature Neuroscience 22:297-306. What follows
the paper's public code (github.com/gyyang/multitask), and where:

- Task variance (`analysis/variance.py`): for each task, the network is run without noise
  (`sigma_rec=0`, no input noise) on the task's 'test' batch, a grid of stimulus conditions with
  one timing. The variance across trials (numpy's `var`, ddof 0) is taken at each step from the
  end of the first fixation epoch (stimulus onset) to the end of the trial, then averaged over
  those steps. The caller chooses the steps with the masks.
- Active units (`analysis/clustering.py`, `analysis/variance.py`): units whose variance summed
  over tasks exceeds 1e-3; the others are left out of clustering and of fractional variance.
- Normalisation (`analysis/clustering.py`, `normalization_method='max'`, the default, used for
  Fig. 2): each unit's variances divided by its largest over tasks.
- Clusters (`analysis/clustering.py`): scikit-learn's `KMeans` (Lloyd, `n_init=20`,
  `random_state=0`) on the active units' normalised variance for k in `range(2, 30)`; the k of
  largest silhouette score (Euclidean) is kept. Clusters are ordered by the task of largest
  summed normalised variance among their units, units by cluster. scikit-learn is not a
  dependency here: k-means++ with restarts and the silhouette score are written in numpy below.
- Fractional task variance (`analysis/variance.py`, `_compute_hist_varprop`):
  `(var_a - var_b) / (var_a + var_b)` over the units whose variance summed over the two tasks
  alone exceeds 1e-3, as a 20-bin histogram on [-1, 1].
- Lesions (`network.py`, `Model.lesion_units`; `analysis/clustering.py`, `lesions`): a unit is
  lesioned by zeroing its outgoing weights, to the other units and to the outputs; its inputs
  and bias stay. Each cluster is lesioned in turn; the effect is the change in performance per
  task from the intact network.

Compositional task vectors (the paper's `analysis/taskset.py`) are in
`neurodyn.analysis.task_vectors`.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import torch
from torch import Tensor

from neurodyn.analysis._result import SavableResult
from neurodyn.errors import ShapeError, TaskNotFound, nearest_names
from neurodyn.models import Network

# Units whose variance summed over tasks is at most this are inactive (clustering.py).
ACTIVE_THRESHOLD = 1e-3
# Numbers of clusters tried (clustering.py).
K_RANGE = range(2, 30)


def task_index(tasks: Sequence[str], name: str) -> int:
    if name not in tasks:
        hint = nearest_names(name, tasks)
        raise TaskNotFound(
            f"{name!r} is not one of the analysed tasks {list(tasks)}"
            + (f"; did you mean {hint}?" if hint else "")
        )
    return list(tasks).index(name)


# ----------------------------------------------------------------------------- task variance


@dataclass(frozen=True)
class TaskVariance(SavableResult):
    """Each unit's variance across stimulus conditions in each task.

    Attributes
    ----------
    tasks : list of K task names, the column order
    variance : [N, K]      variance across trials, averaged over the epoch's steps
    normalised : [N, K]    `variance` divided by each unit's max ('max') or sum ('sum') over
                           tasks; NaN in the rows of inactive units
    active : [N] bool      summed variance over tasks above `threshold`
    threshold : float
    normalisation : str    'max' or 'sum'
    """

    tasks: list[str]
    variance: np.ndarray
    normalised: np.ndarray
    active: np.ndarray
    threshold: float
    normalisation: str


def task_variance(
    states: Mapping[str, Tensor],
    masks: Mapping[str, Tensor],
    *,
    threshold: float = ACTIVE_THRESHOLD,
    normalisation: Literal["max", "sum"] = "max",
) -> TaskVariance:
    """Variance of each unit across the trials of each task (Yang et al. 2019, Fig. 2).

    At each step, the variance across the trials the mask keeps there (ddof 0); then the mean
    over the steps where at least two trials are kept. With one timing for all trials, as in
    the paper's 'test' batches, this is exactly its `h.var(axis=1).mean(axis=0)`.

    Parameters
    ----------
    states : dict of task name to Tensor [T, B, N]
        Noise-free states of B trials that span the task's stimulus conditions (T, B may differ
        between tasks, N may not).
    masks : dict of task name to Tensor [T, B] of bool
        The steps to use. The paper uses stimulus onset to the end of the trial (every epoch
        after the first fixation), e.g. `~batch.epoch_mask("fix1") & batch.trial_mask()`.
    threshold : float
        Units whose variance summed over tasks is at most this are inactive (paper: 1e-3).
    normalisation : 'max' or 'sum'
        Divide each active unit's variances by its max over tasks (the paper's Fig. 2) or sum.

    Returns
    -------
    TaskVariance

    Example
    -------
    >>> theta = torch.linspace(0, 2 * torch.pi, 9)[:-1]  # 8 conditions
    >>> tuned = torch.stack([torch.cos(theta), torch.zeros(8)], -1).expand(5, 8, 2)
    >>> mask = torch.ones(5, 8, dtype=torch.bool)
    >>> tv = task_variance({"go": tuned, "anti": tuned.flip(-1)}, {"go": mask, "anti": mask})
    >>> np.round(tv.variance, 3).tolist(), tv.normalised.tolist()
    ([[0.5, 0.0], [0.0, 0.5]], [[1.0, 0.0], [0.0, 1.0]])
    """
    tasks = list(states)
    if not tasks:
        raise ShapeError("states is empty: give the states of at least one task")
    if set(masks) != set(tasks):
        raise ShapeError(
            f"masks must name the same tasks as states; states: {tasks}, masks: {list(masks)}"
        )
    n_units = states[tasks[0]].shape[-1]
    columns = []
    for name in tasks:
        h, mask = states[name], masks[name]
        if h.dim() != 3 or h.shape[-1] != n_units:
            raise ShapeError(
                f"states[{name!r}] must be [T, B, N={n_units}] (one network; pick a member "
                f"first), got {tuple(h.shape)}"
            )
        if tuple(mask.shape) != tuple(h.shape[:2]):
            raise ShapeError(
                f"masks[{name!r}] must be [T, B] = {tuple(h.shape[:2])}, got {tuple(mask.shape)}"
            )
        h = h.detach().to(torch.float64)
        w = mask.to(device=h.device, dtype=torch.float64)[..., None]  # [T, B, 1]
        count = w.sum(1)  # [T, 1]
        mean = (w * h).sum(1) / count.clamp(min=1)  # [T, N]
        var = (w * (h - mean[:, None]) ** 2).sum(1) / count.clamp(min=1)  # [T, N]
        use = count[:, 0] >= 2
        if not use.any():
            raise ShapeError(
                f"masks[{name!r}] keeps no step with at least two trials: the variance across "
                "trials is undefined; check the epoch chosen"
            )
        columns.append(var[use].mean(0))
    variance = torch.stack(columns, 1).cpu().numpy()  # [N, K]
    active = variance.sum(1) > threshold
    if normalisation == "max":
        scale = variance.max(1, keepdims=True)
    elif normalisation == "sum":
        scale = variance.sum(1, keepdims=True)
    else:
        raise ValueError(f"normalisation must be 'max' or 'sum', got {normalisation!r}")
    normalised = np.full_like(variance, np.nan)
    normalised[active] = variance[active] / scale[active]
    return TaskVariance(
        tasks=tasks,
        variance=variance,
        normalised=normalised,
        active=active,
        threshold=float(threshold),
        normalisation=normalisation,
    )


# ----------------------------------------------------------------------------- clustering


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

    Example
    -------
    >>> x = np.array([[0.0], [1.0], [10.0], [11.0]])
    >>> round(silhouette_score(x, np.array([0, 0, 1, 1])), 4)
    0.8997
    """
    _, labels = np.unique(labels, return_inverse=True)
    n_clusters = labels.max() + 1
    if not 2 <= n_clusters <= len(x) - 1:
        raise ValueError(
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
    k_range : numbers of clusters to try (paper: 2 to 29); those that are not below the number
        of distinct active units are skipped (silhouette NaN)
    n_init, max_iter, tol : k-means restarts, iterations, and the stopping shift relative to
        the mean feature variance (scikit-learn's defaults but `n_init`, which the paper sets)
    seed : int
        Seeds k-means++; each k draws from its own stream `(seed, k)`.

    Returns
    -------
    UnitClusters
    """
    active = np.flatnonzero(tv.active)
    x = tv.normalised[active]  # [M, K]
    n_distinct = len(np.unique(x, axis=0)) if len(x) else 0
    k_values = np.array(list(k_range), dtype=int)
    scores = np.full(len(k_values), np.nan)
    fits: dict[int, np.ndarray] = {}
    for i, k in enumerate(k_values):
        if k < 2 or k >= n_distinct:
            continue
        rng = np.random.default_rng([seed, int(k)])
        fits[int(k)], _ = _kmeans(x, int(k), rng, n_init, max_iter, tol)
        scores[i] = silhouette_score(x, fits[int(k)])
    if not fits:
        raise ValueError(
            f"no k in {list(k_values)} can be fitted to {len(active)} active units "
            f"({n_distinct} distinct): k must be at least 2 and below the distinct units"
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


# ----------------------------------------------------------------------------- fractional variance


@dataclass(frozen=True)
class FractionalVariance(SavableResult):
    """Fractional task variance of two tasks, `(var_a - var_b) / (var_a + var_b)`, per unit.

    +1: a unit that varies only in task a; -1: only in b; 0: equally in both.

    Attributes
    ----------
    task_a, task_b : str
    values : [M]        one per unit kept
    units : [M]         their indices
    histogram : [20]    counts over `bin_edges`
    bin_edges : [21]    20 equal bins on [-1, 1] (as the paper)
    """

    task_a: str
    task_b: str
    values: np.ndarray
    units: np.ndarray
    histogram: np.ndarray
    bin_edges: np.ndarray

    def shares(self, edge: float = 0.8) -> tuple[float, float, float]:
        """The histogram's shape in three numbers: the shares of units kept that vary mostly
        in b (FTV < -edge), in both (|FTV| <= edge) and mostly in a (FTV > edge).

        A disjoint pair puts its units in the two outer shares, a pair served by the same
        units in the middle one, and an inclusive pair in the middle and one outer share. NaN
        when no unit is kept."""
        if len(self.values) == 0:
            return (float("nan"),) * 3
        only_b = float(np.mean(self.values < -edge))
        only_a = float(np.mean(self.values > edge))
        return only_b, 1.0 - only_a - only_b, only_a


def fractional_variance(
    tv: TaskVariance, task_a: str, task_b: str, *, threshold: float | None = None
) -> FractionalVariance:
    """Fractional task variance of each unit for a pair of tasks (Yang et al. 2019, Fig. 3).

    As the paper's `_compute_hist_varprop`, units are kept when their variance summed over the
    two tasks alone exceeds the threshold (not over all tasks, as `tv.active`).

    Parameters
    ----------
    tv : TaskVariance
    task_a, task_b : names among `tv.tasks`
    threshold : float, optional
        Default `tv.threshold`.

    Returns
    -------
    FractionalVariance
    """
    var_a = tv.variance[:, task_index(tv.tasks, task_a)]
    var_b = tv.variance[:, task_index(tv.tasks, task_b)]
    total = var_a + var_b
    units = np.flatnonzero(total > (tv.threshold if threshold is None else threshold))
    values = (var_a[units] - var_b[units]) / total[units]
    histogram, edges = np.histogram(values, bins=20, range=(-1.0, 1.0))
    return FractionalVariance(
        task_a=task_a,
        task_b=task_b,
        values=values,
        units=units,
        histogram=histogram,
        bin_edges=edges,
    )


# ----------------------------------------------------------------------------- lesions


def lesioned(
    model: Network, units: Tensor | Sequence[int], *, member: int | None = None
) -> Network:
    """A copy of `model` with `units` lesioned: their outgoing weights set to zero.

    As the paper's `Model.lesion_units`: the columns of `W_rec` (to every unit, itself
    included) and of `W_out` that leave the listed units are zeroed, so they no longer affect
    the network or its output; their input weights and bias are kept. The model passed in is
    not changed.

    Parameters
    ----------
    model : Network with E members
    units : LongTensor [U] or sequence of int
        Unit indices (of one network: clusters are found per network).
    member : int, optional
        Lesion only this ensemble member; by default every member loses the same units.

    Returns
    -------
    CTRNN

    Example
    -------
    >>> from neurodyn.models import CTRNN, NetworkSpec
    >>> net = CTRNN(NetworkSpec(n_inputs=1, n_hidden=3, n_outputs=1))
    >>> cut = lesioned(net, [1])
    >>> bool((cut.W_rec[0, :, 1] == 0).all()), bool((net.W_rec[0, :, 1] != 0).all())
    (True, True)
    """
    index = torch.as_tensor(units, dtype=torch.long).reshape(-1)
    n_hidden = model.spec.n_hidden
    if len(index) and (index.min() < 0 or index.max() >= n_hidden):
        raise ShapeError(f"unit indices must lie in [0, {n_hidden}), got {index.tolist()}")
    if member is not None and not 0 <= member < model.ensemble_size:
        raise ShapeError(f"member must lie in [0, {model.ensemble_size}), got {member}")
    copy_ = copy.deepcopy(model)
    members = slice(None) if member is None else slice(member, member + 1)
    with torch.no_grad():
        index = index.to(copy_.W_rec.device)
        copy_.W_rec[members, :, index] = 0.0
        copy_.W_out[members, :, index] = 0.0
    return copy_


@dataclass(frozen=True)
class LesionEffects(SavableResult):
    """Performance per task of the intact network and with each cluster lesioned.

    Attributes
    ----------
    tasks : list of K task names
    intact : [K]            performance of the intact network
    lesioned : [C, K]       performance with cluster c lesioned
    change : [C, K]         `lesioned - intact` (negative: the cluster is needed)
    cluster_sizes : [C]
    """

    tasks: list[str]
    intact: np.ndarray
    lesioned: np.ndarray
    change: np.ndarray
    cluster_sizes: np.ndarray


def lesion_effects(
    model: Network,
    labels: np.ndarray | Tensor,
    evaluate: Callable[[Network], Mapping[str, float]],
    *,
    member: int | None = None,
) -> LesionEffects:
    """Lesion each cluster of units in turn and measure performance per task (Fig. 2d).

    Parameters
    ----------
    model : Network
        The network whose units were clustered (for an ensemble, `model.member(e)`, or give
        `member`).
    labels : [N] int
        Cluster of each unit, -1 for units in none (`UnitClusters.labels`).
    evaluate : callable
        `evaluate(model) -> {task: performance}`, e.g. mean performance on a few hundred
        random trials per task (the paper: 256, with the training noise).
    member : int, optional
        Passed to `lesioned`.

    Returns
    -------
    LesionEffects
    """
    labels = np.asarray(labels.cpu() if isinstance(labels, Tensor) else labels, dtype=int)
    if labels.shape != (model.spec.n_hidden,):
        raise ShapeError(
            f"labels must be [N] = ({model.spec.n_hidden},), one per unit, got {labels.shape}"
        )
    intact = dict(evaluate(model))
    tasks = list(intact)
    clusters = np.unique(labels[labels >= 0])
    rows, sizes = [], []
    for c in clusters:
        units = np.flatnonzero(labels == c)
        perf = evaluate(lesioned(model, units.tolist(), member=member))
        rows.append([float(perf[t]) for t in tasks])
        sizes.append(len(units))
    base = np.array([float(intact[t]) for t in tasks])
    after = np.array(rows, dtype=float).reshape(len(clusters), len(tasks))
    return LesionEffects(
        tasks=tasks,
        intact=base,
        lesioned=after,
        change=after - base,
        cluster_sizes=np.array(sizes, dtype=int),
    )
