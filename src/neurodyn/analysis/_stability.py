"""Stability of fixed points from the eigenvalues of the map's Jacobian `dF/dh`.

For a continuous-time network simulated as the Euler map `F(h) = h + dt f(h)`, a mode is
unstable when the flow's eigenvalue `(lambda - 1) / dt` has a positive real part; for a
discrete map, when `|lambda| > 1`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

STABILITY = ("stable", "saddle", "unstable", "marginal")

# A float32 eigenvalue of a Jacobian of a few hundred units is good to about 1e-5 (1e-6 for a
# well-conditioned one, a few 1e-4 for a nearly defective pair); a mode whose float32 growth is
# closer than this to a class boundary (growth = +-marginal_tol) is computed again in float64.
RECHECK_MARGIN = 1e-2


@dataclass(frozen=True)
class Linearisation:
    """The sorted spectrum of M points' Jacobians and its stability class.

    Attributes
    ----------
    eigenvalues : [M, N]       of dF/dh, most unstable first
    eigenvectors : [M, N, N]   columns, in the order of `eigenvalues` (None if not given)
    flow_eigenvalues : [M, N]  (eigenvalues - 1) / dt, or NaN for a discrete map
    stability : [M]            'stable', 'saddle', 'unstable' or 'marginal'
    n_unstable : [M]           modes growing by more than `marginal_tol`
    n_marginal : [M]           modes within `marginal_tol` of the boundary
    """

    eigenvalues: np.ndarray
    eigenvectors: np.ndarray | None
    flow_eigenvalues: np.ndarray
    stability: np.ndarray
    n_unstable: np.ndarray
    n_marginal: np.ndarray


def classify(
    eigenvalues: np.ndarray,
    eigenvectors: np.ndarray | None,
    dt: float | None,
    marginal_tol: float,
) -> Linearisation:
    """Sort each point's modes most unstable first and classify the point.

    Parameters
    ----------
    eigenvalues : np.ndarray [M, N] (complex)
    eigenvectors : np.ndarray [M, N, N] (complex, columns), or None (stability needs only
        the eigenvalues)
    dt : float or None
        Euler step of a continuous-time network; None for a discrete map.
    marginal_tol : float
        A mode whose `dt * Re(flow eigenvalue)` (a flow) or `|lambda| - 1` (a map) is within
        this of zero is marginal.
    """
    n_units = eigenvalues.shape[1]
    growth = _growth(eigenvalues, dt)
    order = mode_order(eigenvalues, dt)
    eigenvalues = np.take_along_axis(eigenvalues, order, 1)
    if eigenvectors is not None:
        eigenvectors = np.take_along_axis(eigenvectors, order[:, None, :], 2)
    growth = np.take_along_axis(growth, order, 1)
    n_unstable = (growth > marginal_tol).sum(1)
    n_marginal = (np.abs(growth) <= marginal_tol).sum(1)
    stability = np.where(
        n_unstable == n_units,
        "unstable",
        np.where(n_unstable > 0, "saddle", np.where(n_marginal > 0, "marginal", "stable")),
    )
    flow = (eigenvalues - 1) / dt if dt is not None else np.full_like(eigenvalues, np.nan + 0j)
    return Linearisation(
        eigenvalues=eigenvalues,
        eigenvectors=eigenvectors,
        flow_eigenvalues=flow,
        stability=stability.astype(str),
        n_unstable=n_unstable,
        n_marginal=n_marginal,
    )


def eigenvalues_of(
    jacobians: Tensor, dt: float | None, marginal_tol: float, float32_from: int | None
) -> np.ndarray:
    """Eigenvalues `[M, N]` (complex128, unsorted) of the float64 Jacobians `[M, N, N]`, in
    float32 for networks of at least `float32_from` units (None: never).

    The float32 decomposition takes about half the time of the float64 one from 128 units up
    (see benchmarks/RESULTS.md); its eigenvalues are good to about 1e-5. The points with a
    mode within `RECHECK_MARGIN` of a class boundary (`|growth| = marginal_tol`, as `classify`
    draws it) are decomposed again in float64, so every point is classified as float64
    classifies it.
    """
    n_units = jacobians.shape[-1]
    if float32_from is None or n_units < float32_from or len(jacobians) == 0:
        return torch.linalg.eigvals(jacobians).numpy()
    values = torch.linalg.eigvals(jacobians.float()).to(torch.complex128).numpy()
    distance = np.abs(np.abs(_growth(values, dt)) - marginal_tol)
    recheck = ~(np.isfinite(values).all(1) & (distance >= RECHECK_MARGIN).all(1))
    if recheck.any():
        values[recheck] = torch.linalg.eigvals(jacobians[torch.as_tensor(recheck)]).numpy()
    return values


def _growth(eigenvalues: np.ndarray, dt: float | None) -> np.ndarray:
    """How far each mode is from the stability boundary, in the map's units:
    dt * Re(flow eigenvalue) = Re(lambda) - 1 for a flow, |lambda| - 1 for a map."""
    return eigenvalues.real - 1 if dt is not None else np.abs(eigenvalues) - 1


def mode_order(eigenvalues: np.ndarray, dt: float | None) -> np.ndarray:
    """Indices `[M, N]` sorting each point's modes most unstable first; a complex pair (equal
    growth) with the positive imaginary part first, so that two decompositions of one matrix
    sort alike."""
    growth = _growth(eigenvalues, dt)
    return np.lexsort((-eigenvalues.imag, -growth), axis=1)


def eigenvectors_in_order(jacobians: np.ndarray, eigenvalues: np.ndarray) -> np.ndarray:
    """Eigenvectors `[M, N, N]` (columns) of `jacobians [M, N, N]` in the order of the sorted
    `eigenvalues [M, N]` found before without them.

    The decomposition with eigenvectors computes its eigenvalues by another route (the Schur
    form), equal to rounding error but not necessarily in the same order; each given
    eigenvalue takes the vector of the nearest new one (an assignment, so a degenerate pair
    takes two vectors).
    """
    # a real Jacobian is decomposed as real (LAPACK's dgeev, a few times faster than the
    # complex routine); its eigenvectors come out complex where its eigenvalues are
    values, vectors = np.linalg.eig(np.asarray(jacobians))
    out = np.empty(values.shape + values.shape[-1:], np.complex128)
    for m in range(len(values)):
        cost = np.abs(eigenvalues[m][:, None] - values[m][None, :])
        _, column = linear_sum_assignment(cost)
        out[m] = vectors[m][:, column]
    return out
