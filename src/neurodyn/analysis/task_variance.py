"""Task variance of units (and the fractional variance of two tasks).

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
- Fractional task variance (`analysis/variance.py`, `_compute_hist_varprop`):
  `(var_a - var_b) / (var_a + var_b)` over the units whose variance summed over the two tasks
  alone exceeds 1e-3, as a 20-bin histogram on [-1, 1].

Functional clusters of units are in `neurodyn.analysis.clustering`, cluster lesions in
`neurodyn.analysis.lesions` (both also importable from here), compositional task vectors (the
paper's `analysis/taskset.py`) in `neurodyn.analysis.task_vectors`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import ClassVar, Literal

import numpy as np
import torch
from torch import Tensor

from neurodyn.analysis._result import PerUnitVariance, SavableResult
from neurodyn.analysis.clustering import K_RANGE, UnitClusters, cluster_units, silhouette_score
from neurodyn.analysis.lesions import LesionEffects, lesion_effects, lesioned, lesioned_copies
from neurodyn.errors import ArgumentError, ShapeError, TaskNotFound, nearest_names

# Units whose variance summed over tasks is at most this are inactive (clustering.py).
ACTIVE_THRESHOLD = 1e-3


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
class TaskVariance(PerUnitVariance):
    """Each unit's variance across stimulus conditions in each task.

    For an ensemble's states every array has a leading `E` axis, one row per member; pick one
    member with `member(e)` for the analyses that take one network (`cluster_units`,
    `fractional_variance`, the plots).

    Attributes
    ----------
    tasks : list of K task names, the column order
    variance : [(E,) N, K]      variance across trials, averaged over the epoch's steps
    normalised : [(E,) N, K]    `variance` divided by each unit's max ('max') or sum ('sum')
                                over tasks; NaN in the rows of inactive units
    active : [(E,) N] bool      summed variance over tasks above `threshold`
    threshold : float
    normalisation : str         'max' or 'sum'
    """

    tasks: list[str]
    variance: np.ndarray
    normalised: np.ndarray
    active: np.ndarray
    threshold: float
    normalisation: str

    what: ClassVar[str] = "task variance"


def _one_network(tv: TaskVariance, analysis: str) -> None:
    if tv.is_ensemble:
        raise ShapeError(
            f"{analysis} takes the task variance of one network; pick a member with tv.member(e)"
        )


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
    states : dict of task name to Tensor [T, (E,) B, N]
        Noise-free states of B trials that span the task's stimulus conditions (T, B may differ
        between tasks, E and N may not). With the ensemble axis E, each member's variance is
        computed as if alone.
    masks : dict of task name to Tensor [T, (E,) B] of bool
        The steps to use. The paper uses stimulus onset to the end of the trial (every epoch
        after the first fixation), e.g. `~batch.epoch_mask("fix1") & batch.trial_mask()`. For
        an ensemble, `[T, B]` applies the same mask to every member.
    threshold : float
        Units whose variance summed over tasks is at most this are inactive (paper: 1e-3).
    normalisation : 'max' or 'sum'
        Divide each active unit's variances by its max over tasks (the paper's Fig. 2) or sum.

    Returns
    -------
    TaskVariance
        Arrays `[N, K]` and `[N]`, or `[E, N, K]` and `[E, N]` for an ensemble.

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
    first = states[tasks[0]]
    ensemble = first.dim() == 4
    n_units = first.shape[-1]
    # every task must share the network's axes: (E,) and N
    shared = (first.shape[1],) if ensemble else ()
    layout = "[T, E, B, N]" if ensemble else "[T, B, N]"
    mask_layout = "[T, E, B] or [T, B]" if ensemble else "[T, B]"
    columns = []
    for name in tasks:
        h, mask = states[name], masks[name]
        if h.dim() not in (3, 4) or h.shape[-1] != n_units or tuple(h.shape[1:-2]) != shared:
            raise ShapeError(
                f"states[{name!r}] must be {layout} like the first task's "
                f"{tuple(first.shape)} (same E and N), got {tuple(h.shape)}"
            )
        if ensemble and tuple(mask.shape) == (h.shape[0], h.shape[2]):
            mask = mask[:, None].expand(-1, h.shape[1], -1)  # one mask for every member
        if tuple(mask.shape) != tuple(h.shape[:-1]):
            raise ShapeError(
                f"masks[{name!r}] must be {mask_layout} for states {tuple(h.shape)}, "
                f"got {tuple(masks[name].shape)}"
            )
        columns.append(_variance_over_trials(h, mask, name))
    variance = torch.stack(columns, -1).cpu().numpy()  # [(E,) N, K]
    active = variance.sum(-1) > threshold
    if normalisation == "max":
        scale = variance.max(-1, keepdims=True)
    elif normalisation == "sum":
        scale = variance.sum(-1, keepdims=True)
    else:
        raise ArgumentError(f"normalisation must be 'max' or 'sum', got {normalisation!r}")
    normalised = np.full_like(variance, np.nan)
    normalised[active] = variance[active] / np.broadcast_to(scale, variance.shape)[active]
    return TaskVariance(
        tasks=tasks,
        variance=variance,
        normalised=normalised,
        active=active,
        threshold=float(threshold),
        normalisation=normalisation,
    )


def _variance_over_trials(h: Tensor, mask: Tensor, name: str) -> Tensor:
    """Variance across the masked trials of `h: [T, (E,) B, N]`, averaged over the steps
    that keep at least two trials; `[(E,) N]`. Each member's steps are its own."""
    h = h.detach().to(torch.float64)
    w = mask.to(device=h.device, dtype=torch.float64)[..., None]  # [T, (E,) B, 1]
    count = w.sum(-2)  # [T, (E,) 1]
    mean = (w * h).sum(-2) / count.clamp(min=1)  # [T, (E,) N]
    var = (w * (h - mean.unsqueeze(-2)) ** 2).sum(-2) / count.clamp(min=1)  # [T, (E,) N]
    use = count >= 2  # [T, (E,) 1]
    if not use.any(0).all():
        raise ShapeError(
            f"masks[{name!r}] keeps no step with at least two trials"
            + (" for some member" if h.dim() == 4 else "")
            + ": the variance across trials is undefined; check the epoch chosen"
        )
    return (var * use).sum(0) / use.sum(0)


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
    _one_network(tv, "fractional_variance")
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


__all__ = [
    "ACTIVE_THRESHOLD",
    "K_RANGE",
    "FractionalVariance",
    "LesionEffects",
    "TaskVariance",
    "UnitClusters",
    "cluster_units",
    "fractional_variance",
    "lesion_effects",
    "lesioned",
    "lesioned_copies",
    "silhouette_score",
    "task_index",
    "task_variance",
]
