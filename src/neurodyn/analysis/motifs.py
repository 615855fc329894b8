"""Dynamical motifs: task-period variance, Ward clusters of units and of task periods, and the
blocks of task periods that share a cluster of units (Driscoll, Shenoy & Sussillo 2024,
"Flexible multitask computation in recurrent networks utilizes shared dynamical motifs",
Nature Neuroscience 27, 1349-1363, Fig. 3).

What follows the paper's public code (github.com/lauradriscoll/flexible_multitask), and where:

- Task-period variance (`stepnet/analysis/variance.py`, `_compute_variance_bymodel`, its 'LND'
  line): for each task, the network runs without noise; for each epoch but the context period
  (`fix1`, left out: "Ignore fixation period"), each unit's variance over every step and trial
  of the epoch pooled together (numpy's `var` of the `[T * B, N]` states, ddof 0). The columns
  are ordered epoch first (a stable sort by epoch name), so the periods of one kind sit
  together.
- Active units and normalisation (`stepnet/analysis/clustering.py`, `Analysis`): units whose
  variance summed over task periods exceeds 1e-3; each one's variances divided by its largest.
- Clusters (`stepnet/tools_lnd.py`, `make_dendro` and `find_opt_clust_num`): Ward linkage
  (scipy) of the task periods (rows: their normalised variance over active units) and of the
  units (rows: their normalised variance over task periods); each cut into the number of
  clusters of largest silhouette score (Euclidean) among 3 to min(rows, 40) - 1
  (`fcluster(..., 'maxclust')`).

The motif blocks are ours, to read Fig. 3 as a table: the mean normalised variance of each unit
cluster in each task period, and for each unit cluster the task periods where that mean is at
least `block_threshold` (0.5: half of its units' largest variance). A unit cluster engaged in
periods of several tasks is a shared motif.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import torch
from scipy.cluster.hierarchy import dendrogram, fcluster, linkage
from torch import Tensor

from neurodyn.analysis._result import PerUnitVariance, SavableResult
from neurodyn.analysis.clustering import silhouette_score
from neurodyn.errors import ArgumentError, ShapeError
from neurodyn.tasks import Batch

# Units whose variance summed over task periods is at most this are inactive (clustering.py).
ACTIVE_THRESHOLD = 1e-3
# The periods the paper leaves out of the variance (variance.py: 'fix' epochs).
LEFT_OUT = ("context",)


def period_label(task: str, epoch: str) -> str:
    """The column name of a task period.

    Parameters
    ----------
    task : the task's name
    epoch : the epoch's name

    Returns
    -------
    str
        `"<task> <epoch>"`.
    """
    return f"{task} {epoch}"


@dataclass(frozen=True)
class PeriodVariance(PerUnitVariance):
    """Each unit's variance within each task period.

    For an ensemble's states the arrays carry a leading `E` axis; `member(e)` picks one.

    Attributes
    ----------
    labels : list of P names, `"<task> <epoch>"`, the column order
    tasks : list of P task names
    epochs : list of P epoch names
    periods : list of P task periods (stimulus, memory, response, ...)
    variance : [(E,) N, P]      variance over the period's steps and trials pooled
    normalised : [(E,) N, P]    `variance` over each active unit's largest; NaN where inactive
    active : [(E,) N] bool      summed variance above `threshold`
    threshold : float
    """

    labels: list[str]
    tasks: list[str]
    epochs: list[str]
    periods: list[str]
    variance: np.ndarray
    normalised: np.ndarray
    active: np.ndarray
    threshold: float

    what: ClassVar[str] = "period variance"


def period_variance(
    states: Mapping[str, Tensor],
    batches: Mapping[str, Batch],
    periods: Mapping[str, Mapping[str, str]],
    *,
    left_out: tuple[str, ...] = LEFT_OUT,
    threshold: float = ACTIVE_THRESHOLD,
) -> PeriodVariance:
    """Variance of each unit within each task period (Driscoll et al. 2024, Fig. 3).

    Parameters
    ----------
    states : dict of task name to Tensor [T, (E,) B, N]
        Noise-free states of B trials of each task (T and B may differ between tasks).
    batches : dict of task name to Batch
        The trials the states are of (their epochs say which steps make each period).
    periods : dict of task name to {epoch: period}
        Each task's `Task.periods`.
    left_out : periods not analysed (the paper: the context period)
    threshold : float
        Units whose variance summed over task periods is at most this are inactive.

    Returns
    -------
    PeriodVariance
        Arrays `[N, P]` (or `[E, N, P]`), P task periods ordered epoch first.

    Example
    -------
    Two units, one varying in the stimulus period only, one in the response period only:

    >>> from neurodyn import tasks
    >>> task = tasks.get("driscoll24.fdgo", input_noise=0.0)
    >>> batch = task.sample(8, seed=0)
    >>> g = torch.Generator().manual_seed(0)
    >>> noise = torch.randn(batch.n_steps, 8, 2, generator=g)
    >>> h = torch.stack([batch.epoch_mask("stim1"), batch.epoch_mask("go1")], -1) * noise
    >>> pv = period_variance({task.name: h}, {task.name: batch}, {task.name: task.periods})
    >>> pv.labels, (pv.normalised == 1).tolist()
    (['driscoll24.fdgo go1', 'driscoll24.fdgo stim1'], [[False, True], [True, False]])
    """
    if not states:
        raise ShapeError("states is empty: give the states of at least one task")
    if set(batches) != set(states) or not set(states) <= set(periods):
        raise ShapeError(
            f"states, batches and periods must name the same tasks; states: {list(states)}, "
            f"batches: {list(batches)}, periods: {list(periods)}"
        )
    columns: list[tuple[str, str, str, Tensor]] = []
    first = next(iter(states.values()))
    for task, h in states.items():
        batch = batches[task]
        if h.dim() not in (3, 4) or h.shape[-1] != first.shape[-1] or h.dim() != first.dim():
            raise ShapeError(
                f"states[{task!r}] must be [T, (E,) B, N] like the first task's "
                f"{tuple(first.shape)}, got {tuple(h.shape)}"
            )
        if h.shape[0] != batch.n_steps or h.shape[-2] != batch.batch_size:
            raise ShapeError(
                f"states[{task!r}] {tuple(h.shape)} do not match its batch of "
                f"{batch.n_steps} steps and {batch.batch_size} trials"
            )
        for epoch in batch.epochs:
            period = periods[task].get(epoch)
            if period is None:
                raise ArgumentError(
                    f"task {task!r} declares no period for its epoch {epoch!r}; give every "
                    "epoch a period in the task's `periods`"
                )
            if period in left_out:
                continue
            columns.append((task, epoch, period, _pooled_variance(h, batch.epoch_mask(epoch))))
    if not columns:
        raise ArgumentError(f"no task period is left once {list(left_out)} are left out")
    # epoch first, as the code's stable sort by epoch name
    columns.sort(key=lambda c: c[1])
    variance = torch.stack([c[3] for c in columns], -1).cpu().numpy()  # [(E,) N, P]
    active = variance.sum(-1) > threshold
    normalised = np.full_like(variance, np.nan)
    scale = np.broadcast_to(variance.max(-1, keepdims=True), variance.shape)
    normalised[active] = variance[active] / scale[active]
    return PeriodVariance(
        labels=[period_label(t, e) for t, e, _, _ in columns],
        tasks=[c[0] for c in columns],
        epochs=[c[1] for c in columns],
        periods=[c[2] for c in columns],
        variance=variance,
        normalised=normalised,
        active=active,
        threshold=float(threshold),
    )


def _pooled_variance(h: Tensor, mask: Tensor) -> Tensor:
    """Variance over every masked (step, trial) of `h [T, (E,) B, N]` pooled: `[(E,) N]`."""
    h = h.detach().to(torch.float64)
    if h.dim() == 4:
        mask = mask[:, None].expand(-1, h.shape[1], -1)
    w = mask.to(device=h.device, dtype=torch.float64)[..., None]  # [T, (E,) B, 1]
    count = w.sum((0, -2))  # [(E,) 1]
    if (count < 2).any():
        raise ShapeError("a task period holds fewer than two samples: sample more trials")
    mean = (w * h).sum((0, -2), keepdim=True) / count[None, ..., None, :]
    return (w * (h - mean) ** 2).sum((0, -2)) / count


@dataclass(frozen=True)
class MotifClusters(SavableResult):
    """Ward clusters of units and of task periods, and the motif blocks they make.

    Attributes
    ----------
    labels : list of P task-period names (`PeriodVariance.labels`)
    unit_labels : [N] int           cluster of each unit, 0..C-1; -1 for inactive units
    period_labels : [P] int         cluster of each task period, 0..D-1
    n_unit_clusters : int           C, of largest silhouette (`units_at_edge`: largest at the
                                    most clusters tried, so a lower bound)
    n_period_clusters : int         D
    k_values_units, silhouette_units : [R]      numbers of clusters tried and their scores
    k_values_periods, silhouette_periods : [R']
    unit_order : [M]                active units in dendrogram order (the figure's columns)
    period_order : [P]              task periods in dendrogram order (the figure's rows)
    block_mean : [C, P]             mean normalised variance of each unit cluster per period
    blocks : [C, P] bool            `block_mean >= block_threshold`: the cluster's motif
    block_threshold : float
    """

    labels: list[str]
    unit_labels: np.ndarray
    period_labels: np.ndarray
    n_unit_clusters: int
    n_period_clusters: int
    k_values_units: np.ndarray
    silhouette_units: np.ndarray
    k_values_periods: np.ndarray
    silhouette_periods: np.ndarray
    unit_order: np.ndarray
    period_order: np.ndarray
    block_mean: np.ndarray
    blocks: np.ndarray
    block_threshold: float

    @property
    def units_at_edge(self) -> bool:
        """Whether the units' silhouette score was largest at the largest number of clusters
        tried: the network has no number of unit clusters of its own in the range, and
        `n_unit_clusters` is a lower bound (try a larger `k_max`)."""
        return _largest_at_edge(self.silhouette_units)

    @property
    def periods_at_edge(self) -> bool:
        """`units_at_edge` for the task periods' clusters."""
        return _largest_at_edge(self.silhouette_periods)

    def counts_text(self) -> str:
        """'C unit clusters, D task-period clusters', each flagged where its silhouette score
        still rose at the largest number tried."""
        edge = " (silhouette largest at the most tried: a lower bound)"
        return (
            f"{self.n_unit_clusters} unit clusters{edge if self.units_at_edge else ''}, "
            f"{self.n_period_clusters} task-period clusters{edge if self.periods_at_edge else ''}"
        )

    def motifs(self) -> list[list[str]]:
        """For each unit cluster, the task periods of its block."""
        return [[self.labels[p] for p in np.flatnonzero(row)] for row in self.blocks]

    def shared(self) -> list[int]:
        """The unit clusters whose block spans task periods of more than one task."""
        tasks = [label.rsplit(" ", 1)[0] for label in self.labels]
        return [
            c
            for c, row in enumerate(self.blocks)
            if len({tasks[p] for p in np.flatnonzero(row)}) > 1
        ]


def _largest_at_edge(scores: np.ndarray) -> bool:
    tried = np.flatnonzero(~np.isnan(scores))
    return len(tried) > 1 and int(np.nanargmax(scores)) == int(tried[-1])


def _ward(x: np.ndarray, k_max: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Ward clusters of the rows of `x`, k of largest silhouette among 3..min(rows, k_max)-1:
    labels (0-based, in order of first appearance along the dendrogram), leaf order, the k
    tried and their scores."""
    tree = linkage(x, method="ward")
    order = np.asarray(dendrogram(tree, no_plot=True)["leaves"])
    k_values = np.arange(3, min(len(x), k_max))
    scores = np.full(len(k_values), np.nan)
    for i, k in enumerate(k_values):
        labels = fcluster(tree, k, criterion="maxclust")
        if 2 <= len(np.unique(labels)) <= len(x) - 1:
            scores[i] = silhouette_score(x, labels)
    if np.isnan(scores).all():
        raise ArgumentError(
            f"{len(x)} rows are too few to choose a number of clusters from 3 up: "
            "analyse more tasks or a larger network"
        )
    chosen = int(k_values[np.nanargmax(scores)])
    raw = fcluster(tree, chosen, criterion="maxclust")
    # renumber along the dendrogram so the figure's blocks run in order
    _, first = np.unique(raw[order], return_index=True)
    along = raw[order][np.sort(first)]  # the cluster ids as the leaves meet them
    renumber = np.zeros(int(raw.max()) + 1, dtype=int)
    renumber[along] = np.arange(len(along))
    return renumber[raw], order, k_values, scores


def cluster_motifs(
    pv: PeriodVariance, *, k_max: int = 40, block_threshold: float = 0.5
) -> MotifClusters:
    """Ward clusters of units and of task periods, and the motif blocks (Fig. 3).

    Parameters
    ----------
    pv : PeriodVariance of one network (`pv.member(e)` for an ensemble)
    k_max : numbers of clusters tried run from 3 to min(rows, k_max) - 1 (the paper: 40)
    block_threshold : a unit cluster's block holds the task periods where its mean normalised
        variance is at least this

    Returns
    -------
    MotifClusters

    Example
    -------
    Three planted groups of units, each varying in its own two of six task periods:

    >>> base = np.kron(np.eye(3), np.ones((1, 2)))            # [3 groups, 6 periods]
    >>> var = np.repeat(base, 10, axis=0) + 0.01 * np.arange(30)[:, None] % 0.05
    >>> pv = PeriodVariance([f"t{p} go1" for p in range(6)], [f"t{p}" for p in range(6)],
    ...     ["go1"] * 6, ["response"] * 6, var, var / var.max(1, keepdims=True),
    ...     np.ones(30, bool), 1e-3)
    >>> mc = cluster_motifs(pv)
    >>> mc.n_unit_clusters, mc.motifs()[0]
    (3, ['t0 go1', 't1 go1'])
    """
    if pv.is_ensemble:
        raise ShapeError("cluster_motifs takes one network; pick a member with pv.member(e)")
    active = np.flatnonzero(pv.active)
    x = pv.normalised[active]  # [M, P]
    if len(active) < 4:
        raise ArgumentError(
            f"only {len(active)} units are active (summed variance above {pv.threshold}); "
            "clustering needs at least 4: check that the network was trained"
        )
    unit_raw, unit_leaves, k_units, s_units = _ward(x, k_max)
    period_labels, period_order, k_periods, s_periods = _ward(x.T, k_max)
    unit_labels = np.full(len(pv.active), -1, dtype=int)
    unit_labels[active] = unit_raw
    n_units = int(unit_raw.max()) + 1
    block_mean = np.stack([x[unit_raw == c].mean(0) for c in range(n_units)])  # [C, P]
    return MotifClusters(
        labels=list(pv.labels),
        unit_labels=unit_labels,
        period_labels=period_labels,
        n_unit_clusters=n_units,
        n_period_clusters=int(period_labels.max()) + 1,
        k_values_units=k_units,
        silhouette_units=s_units,
        k_values_periods=k_periods,
        silhouette_periods=s_periods,
        unit_order=active[unit_leaves],
        period_order=period_order,
        block_mean=block_mean,
        blocks=block_mean >= block_threshold,
        block_threshold=float(block_threshold),
    )


__all__ = [
    "ACTIVE_THRESHOLD",
    "LEFT_OUT",
    "MotifClusters",
    "PeriodVariance",
    "cluster_motifs",
    "period_label",
    "period_variance",
]
