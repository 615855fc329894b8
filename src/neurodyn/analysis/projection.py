"""Linear projections of network states onto a few axes, to draw them in a plane.

A `Projection` is computed once (by `principal_axes` from a set of states, or taken from a
`PCATrajectories` by `pca_axes`) and then applied to any states of the same network
(`projection.project(h)`), so that fixed points, unstable modes and trajectories share one
set of axes.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from neurodyn.analysis._result import SavableResult
from neurodyn.analysis.trajectories import PCATrajectories
from neurodyn.errors import ShapeError


@dataclass(frozen=True)
class Projection(SavableResult):
    """Orthonormal axes in state space: the coordinates of a state `h` are
    `(h - mean) @ axes.T`.

    Attributes
    ----------
    axes : [D, N]                      unit-norm, orthogonal rows, by decreasing variance
    mean : [N]                         the point placed at the origin
    explained_variance_ratio : [D]     share of the fitted states' variance along each axis
    axis_names : list of str           e.g. `PC1`, `PC2`
    """

    axes: np.ndarray
    mean: np.ndarray
    explained_variance_ratio: np.ndarray
    axis_names: list[str] = field(default_factory=list)

    def project(self, states: np.ndarray) -> np.ndarray:
        """Coordinates `[..., D]` of `states` `[..., N]`."""
        states = np.asarray(states)
        if states.shape[-1] != self.axes.shape[1]:
            raise ShapeError(
                f"states have {states.shape[-1]} units but the projection {self.axes.shape[1]}; "
                "project states of the network the axes were computed from"
            )
        return (states - self.mean) @ self.axes.T


def principal_axes(states: np.ndarray, *, dims: int = 2, name: str = "axis") -> Projection:
    """The first `dims` principal axes of `states` `[P, N]` (SVD of the centred states).

    With fewer than two states (no variance) the axes are the first `dims` unit vectors, so a
    lone point still has coordinates. Axes are named `name 1`, `name 2`, ...

    Parameters
    ----------
    states : [P, N]
        The states to fit.
    dims : int
        How many axes D.
    name : str
        The axes' name stem.

    Returns
    -------
    Projection
        `axes: [D, N]`, `mean: [N]` and the share of variance along each axis.

    Example
    -------
    >>> import numpy as np
    >>> points = np.outer(np.arange(-2.0, 3.0), [0.6, 0.8, 0.0])  # on a line
    >>> projection = principal_axes(points, dims=1)
    >>> np.round(np.abs(projection.axes[0]), 6).tolist(), projection.explained_variance_ratio
    ([0.6, 0.8, 0.0], array([1.]))
    """
    states = np.asarray(states, dtype=float)
    if states.ndim != 2:
        raise ShapeError(f"states must be [P, N], got shape {states.shape}")
    n_units = states.shape[1]
    if dims > n_units:
        raise ShapeError(f"cannot take {dims} axes of {n_units}-dimensional states; ask for fewer")
    names = [f"{name} {i + 1}" for i in range(dims)]
    if len(states) < 2:
        mean = states.mean(0) if len(states) else np.zeros(n_units)
        return Projection(np.eye(dims, n_units), mean, np.zeros(dims), names)
    mean = states.mean(0)
    _, singular, vh = np.linalg.svd(states - mean, full_matrices=False)
    total = float((singular**2).sum())
    share = singular**2 / total if total > 0 else np.zeros_like(singular)
    axes = np.zeros((dims, n_units))
    kept = min(dims, len(vh))
    axes[:kept] = vh[:kept]
    ratio = np.zeros(dims)
    ratio[:kept] = share[:kept]
    return Projection(axes, mean, ratio, names)


def pca_axes(pca: PCATrajectories, *, dims: int = 2) -> Projection:
    """The first `dims` principal components of `pca` as a `Projection` (axes `PC1`, ...), in
    which `pca.condition_means` are already expressed.

    Parameters
    ----------
    pca : PCATrajectories
        The fitted principal components.
    dims : int
        How many components D.

    Returns
    -------
    Projection
        `axes: [D, N]`, `mean: [N]`.
    """
    if dims > len(pca.components):
        raise ShapeError(f"the PCA kept {len(pca.components)} components; ask for at most that")
    return Projection(
        pca.components[:dims],
        pca.mean,
        pca.explained_variance_ratio[:dims],
        [f"PC{i + 1}" for i in range(dims)],
    )
