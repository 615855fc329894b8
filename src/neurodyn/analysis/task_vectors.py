"""Compositional task representations: task vectors and their analogies.

From Yang, Joglekar, Song, Newsome & Wang (2019), "Task representations in neural networks
trained to perform many cognitive tasks", Nature Neuroscience 22:297-306, following the paper's
public code (github.com/gyyang/multitask):

- Task vectors (`analysis/taskset.py`): a task's representation is the population state at the
  last step of its first stimulus epoch ('stim1'), averaged over the stimulus conditions of the
  'test' batch (that script keeps the network's noise on), compared in the PCA of the vectors of
  a set of four tasks. The paper's three sets and their compositions (also tested by composing
  rule inputs, `compute_replacerule_performance`) are `neurodyn.studies.yang19.ANALOGIES`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from neurodyn.analysis._result import SavableResult
from neurodyn.analysis.task_variance import task_index
from neurodyn.errors import ArgumentError, ShapeError


@dataclass(frozen=True)
class TaskVectors(SavableResult):
    """One population vector per task, and their principal components.

    Attributes
    ----------
    tasks : list of K task names
    vectors : [K, N]              condition-averaged state of each task
    components : [P, N]           principal axes of the K vectors (unit norm)
    mean : [N]                    their mean, removed before projecting
    projections : [K, P]          each task in PC space
    explained_variance_ratio : [P]
    """

    tasks: list[str]
    vectors: np.ndarray
    components: np.ndarray
    mean: np.ndarray
    projections: np.ndarray
    explained_variance_ratio: np.ndarray


def task_vectors(steady: Mapping[str, Tensor], *, n_components: int = 2) -> TaskVectors:
    """Average each task's states over stimulus conditions, and the PCA of the results.

    The paper (`analysis/taskset.py`) takes the state at the last step of the first stimulus
    epoch of every trial of the task's 'test' batch and averages over trials; PCA is then done
    on the vectors of one set of four tasks (an analogy's), so pass those four.

    Parameters
    ----------
    steady : dict of task name to Tensor [B, N] (one state per trial) or [N]
    n_components : int
        At most K - 1 (K vectors span K - 1 dimensions about their mean) and N.

    Returns
    -------
    TaskVectors
    """
    tasks = list(steady)
    if len(tasks) < 2:
        raise ShapeError(f"need the vectors of at least two tasks, got {tasks}")
    rows = []
    for name in tasks:
        s = steady[name].detach().to(torch.float64).cpu()
        if s.dim() not in (1, 2):
            raise ShapeError(f"steady[{name!r}] must be [B, N] or [N], got {tuple(s.shape)}")
        rows.append(s.mean(0) if s.dim() == 2 else s)
    if len({r.shape[0] for r in rows}) != 1:
        raise ShapeError(f"tasks differ in N: {[r.shape[0] for r in rows]}")
    vectors = torch.stack(rows).numpy()  # [K, N]
    mean = vectors.mean(0)
    _, singular, vh = np.linalg.svd(vectors - mean, full_matrices=False)
    p = min(n_components, len(tasks) - 1, vectors.shape[1])
    variance = singular**2
    components = vh[:p]
    return TaskVectors(
        tasks=tasks,
        vectors=vectors,
        components=components,
        mean=mean,
        projections=(vectors - mean) @ components.T,
        explained_variance_ratio=variance[:p] / max(float(variance.sum()), 1e-300),
    )


@dataclass(frozen=True)
class Analogy(SavableResult):
    """Does `vec(c) + vec(b) - vec(a)` land nearest `vec(d)`? ("a is to b as c is to d")

    Attributes
    ----------
    a, b, c, d : str
    nearest : str             the task whose vector is closest to the composed one
    correct : bool            `nearest == d`
    rank : int                d's place among the candidates by distance to the composed
                              vector (1 = nearest, as when `correct`): graded where nearest-
                              or-not is all or nothing
    tasks : list of K task names (the candidates)
    distances : [K]           Euclidean distance of the composed vector to each task's
    relative_error : float    `||composed - vec(d)|| / ||vec(d) - vec(c)||`
    composed : [N]
    composed_projection : [P] the composed vector in the PCs of the task vectors
    """

    a: str
    b: str
    c: str
    d: str
    nearest: str
    correct: bool
    rank: int
    tasks: list[str]
    distances: np.ndarray
    relative_error: float
    composed: np.ndarray
    composed_projection: np.ndarray


def analogy(
    vectors: TaskVectors, a: str, b: str, c: str, d: str, *, exclude: Sequence[str] = ()
) -> Analogy:
    """Test a compositional analogy among task vectors (Yang et al. 2019, Fig. 6).

    The composed vector `vec(c) + vec(b) - vec(a)` is compared with every task vector; the
    analogy holds when the nearest is `vec(d)`. The inputs a, b, c stay candidates by default
    (with four tasks, leaving them out would make the test trivial); `exclude` removes tasks.

    Parameters
    ----------
    vectors : TaskVectors
    a, b, c, d : task names, e.g. the paper's fdgo, delaygo, fdanti, delayanti (Go, Dly Go,
        Anti, Dly Anti)
    exclude : task names not to consider as answers

    Returns
    -------
    Analogy

    Example
    -------
    >>> steady = {"go": torch.tensor([0.0, 0.0]), "dly go": torch.tensor([1.0, 0.0]),
    ...           "anti": torch.tensor([0.0, 1.0]), "dly anti": torch.tensor([1.1, 1.0])}
    >>> analogy(task_vectors(steady), "go", "dly go", "anti", "dly anti").nearest
    'dly anti'
    """
    tasks = list(vectors.tasks)
    ia, ib, ic, id_ = (task_index(tasks, t) for t in (a, b, c, d))
    for t in exclude:
        task_index(tasks, t)
    v = vectors.vectors
    composed = v[ic] + v[ib] - v[ia]
    distances = np.linalg.norm(v - composed, axis=1)
    candidates = np.array([t not in exclude for t in tasks])
    if not candidates.any():
        raise ArgumentError("exclude leaves no task to compare with; exclude fewer tasks")
    nearest = tasks[int(np.argmin(np.where(candidates, distances, np.inf)))]
    closer = (distances < distances[id_]) & candidates
    return Analogy(
        a=a,
        b=b,
        c=c,
        d=d,
        nearest=nearest,
        correct=nearest == d,
        rank=int(closer.sum()) + 1,
        tasks=tasks,
        distances=distances,
        relative_error=float(distances[id_] / max(np.linalg.norm(v[id_] - v[ic]), 1e-300)),
        composed=composed,
        composed_projection=(composed - vectors.mean) @ vectors.components.T,
    )
