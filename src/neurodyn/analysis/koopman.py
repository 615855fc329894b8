"""Koopman eigenvalues, eigenfunctions and modes by extended DMD.

The Koopman operator K of a map F acts on functions of the state, `(K g)(x) = g(F(x))`; it is
linear however nonlinear F is. Extended DMD (Williams, Kevrekidis & Rowley 2015) lifts the
states with a dictionary of functions `psi(x) = (psi_1(x), ..., psi_F(x))` (monomials, radial
bumps, delays) and fits the linear map between successive lifted states; that fit is exactly
DMD on the lifted states, so `edmd` is `neurodyn.analysis.dmd` on `dictionary(states)`:

- eigenvalues: those of the fitted operator (per step; `log(lambda) / dt` per unit of time);
- eigenfunctions: `phi_j(x) = psi(x) . w_j`, with `w_j` a left eigenvector of the operator,
  so that `phi_j(F(x)) = lambda_j phi_j(x)` on the span of the dictionary;
- modes: the vectors `v_j` with `x = sum_j v_j phi_j(x)` (least squares over the data).

Near a stable fixed point, the leading non-trivial Koopman eigenvalues are the eigenvalues of
the Jacobian there (the linearisation), and their products; a dictionary that spans an
invariant subspace of K gives its eigenvalues exactly.

References: Williams, Kevrekidis & Rowley (2015), J. Nonlinear Sci. 25; Brunton, Brunton,
Proctor & Kutz (2016), PLoS ONE 11 (the x2' = lambda (x2 - x1^2) example); Mezic (2005).
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from neurodyn.analysis._result import SavableResult
from neurodyn.analysis.latent import delay_embed, dmd
from neurodyn.errors import ArgumentError, ShapeError

Dictionary = Callable[[Tensor], Tensor]  # states [..., D] -> features [..., F]


@dataclass(frozen=True)
class Monomials:
    """Every monomial of the coordinates up to `degree`, the constant 1 first:
    `1, x_1, ..., x_D, x_1^2, x_1 x_2, ...` (C(D + degree, degree) features)."""

    degree: int = 2

    def __post_init__(self) -> None:
        if self.degree < 1:
            raise ArgumentError(f"Monomials needs degree >= 1, got {self.degree}")

    def __call__(self, x: Tensor) -> Tensor:
        dims = x.shape[-1]
        features = [torch.ones_like(x[..., :1])]
        for order in range(1, self.degree + 1):
            for combo in itertools.combinations_with_replacement(range(dims), order):
                features.append(x[..., list(combo)].prod(-1, keepdim=True))
        return torch.cat(features, -1)


@dataclass(frozen=True, repr=False)
class RadialFeatures:
    """The constant 1, the coordinates, and Gaussian bumps `exp(-|x - c|^2 / (2 width^2))`
    around `centers [C, D]`."""

    centers: np.ndarray
    width: float

    @classmethod
    def from_states(cls, states: Tensor, n_centers: int, *, seed: int = 0) -> RadialFeatures:
        """`n_centers` centres drawn from `states [..., D]`; the width is the median distance
        between them."""
        flat = states.detach().reshape(-1, states.shape[-1]).double()
        g = torch.Generator().manual_seed(seed)
        picks = torch.randperm(len(flat), generator=g)[:n_centers]
        centers = flat[picks]
        distances = torch.cdist(centers, centers)
        width = float(distances[distances > 0].median()) if len(centers) > 1 else 1.0
        return cls(centers.numpy(), width)

    def __repr__(self) -> str:
        return f"RadialFeatures({len(self.centers)} centres, width={self.width:.3g})"

    def __call__(self, x: Tensor) -> Tensor:
        centers = torch.as_tensor(self.centers, dtype=x.dtype, device=x.device)
        squared = (x[..., None, :] - centers).pow(2).sum(-1)
        bumps = torch.exp(-squared / (2 * self.width**2))
        return torch.cat([torch.ones_like(x[..., :1]), x, bumps], -1)


@dataclass(frozen=True)
class KoopmanModes(SavableResult):
    """An extended-DMD approximation of the Koopman operator.

    r eigenvalues; F' = F * n_delays lifted features; D state dimensions.

    Attributes
    ----------
    eigenvalues : [r]               per step (complex), by decreasing modulus
    eigenfunction_weights : [F', r] `phi_j(x) = features(x) @ eigenfunction_weights[:, j]`
    eigenfunction_values : [T', B, r]  the eigenfunctions on the fitted states (T' = T -
                                    (n_delays - 1) * interval)
    modes : [D, r]                  states = Re(eigenfunction_values @ modes.T), least squares
    operator : [r, r]               the fitted operator in the reduced basis (DMD's)
    basis : [F', r]                 the reduced basis
    n_features : int                F, the dictionary's size
    n_delays : int
    interval : int
    dictionary : str                what lifted the states (its repr)
    dt : float                      NaN for a map
    """

    eigenvalues: np.ndarray
    eigenfunction_weights: np.ndarray
    eigenfunction_values: np.ndarray
    modes: np.ndarray
    operator: np.ndarray
    basis: np.ndarray
    n_features: int
    n_delays: int
    interval: int
    dictionary: str
    dt: float

    def __len__(self) -> int:
        return len(self.eigenvalues)

    def continuous_eigenvalues(self) -> np.ndarray:
        """`log(eigenvalues) / dt` (per unit of time), or per step for a map: `[r]`."""
        dt = 1.0 if np.isnan(self.dt) else self.dt
        with np.errstate(divide="ignore"):
            return np.log(self.eigenvalues.astype(complex)) / dt

    def eigenfunctions(self, features: Tensor | np.ndarray) -> np.ndarray:
        """The eigenfunctions at states given by their lifted (and delay-embedded) features
        `[..., F']`: `[..., r]`."""
        return np.asarray(features, dtype=complex) @ self.eigenfunction_weights

    def _summary(self) -> list[tuple[str, str]]:
        lead = ", ".join(f"{v:.3g}" for v in self.eigenvalues[:3])
        return [("eigenvalues", f"{len(self)} ({lead}, ...)"), *super()._summary()]


def edmd(
    states: Tensor,
    dictionary: Dictionary | None = None,
    *,
    rank: int | None = None,
    n_delays: int = 1,
    interval: int = 1,
    dt: float | None = None,
) -> KoopmanModes:
    """Koopman eigenvalues, eigenfunctions and modes of trajectories by extended DMD.

    Parameters
    ----------
    states : Tensor [T, D] or [T, B, D]
        Trajectories, time-major (successive steps of one trial are pairs; trials are never
        joined). Project a large network's states on its leading principal components first:
        the dictionary grows fast with D.
    dictionary : callable [..., D] -> [..., F], optional
        `Monomials(degree)`, `RadialFeatures(...)` or any function of the states (default
        `Monomials(1)`: a constant and the coordinates, i.e. DMD with an offset).
    rank : int, optional
        Keep this many singular directions of the lifted states (default: all above 1e-12 of
        the largest).
    n_delays, interval : int
        Delay-embed the lifted states (a Hankel dictionary).
    dt : float, optional
        Time step, for `continuous_eigenvalues`.

    Returns
    -------
    KoopmanModes

    Example
    -------
    The flow x1' = mu x1, x2' = lam (x2 - x1^2) has the Koopman-invariant subspace
    {x1, x2, x1^2} with eigenvalues mu, lam, 2 mu (Brunton et al. 2016):

    >>> mu, lam, dt = -0.1, -1.0, 0.1
    >>> t = torch.arange(50, dtype=torch.float64)[:, None] * dt
    >>> x1_0 = torch.tensor([1.0, -0.5, 2.0], dtype=torch.float64)
    >>> x2_0 = torch.tensor([0.5, 1.0, -1.0], dtype=torch.float64)
    >>> b = lam / (lam - 2 * mu)
    >>> x1 = x1_0 * torch.exp(mu * t)
    >>> x2 = (x2_0 - b * x1_0**2) * torch.exp(lam * t) + b * x1**2
    >>> koopman = edmd(torch.stack([x1, x2], -1), lambda x: torch.stack(
    ...     [x[..., 0], x[..., 1], x[..., 0] ** 2], -1), dt=dt)
    >>> np.round(np.sort(koopman.continuous_eigenvalues().real), 6).tolist()
    [-1.0, -0.2, -0.1]

    Reference: Williams, Kevrekidis & Rowley (2015), J. Nonlinear Sci. 25, 1307-1346.
    """
    dictionary = dictionary or Monomials(1)
    if states.dim() not in (2, 3):
        raise ShapeError(f"states must be [T, D] or [T, B, D], got {tuple(states.shape)}")
    if dt is not None and not (math.isfinite(dt) and dt > 0):
        raise ArgumentError(f"dt must be a positive number (or None for a map), got {dt}")
    x = states.detach().double()
    if x.dim() == 2:
        x = x[:, None]
    features = dictionary(x)  # [T, B, F]
    if features.dim() != 3 or features.shape[:2] != x.shape[:2]:
        raise ShapeError(
            f"the dictionary must map states [T, B, D] to features [T, B, F], got "
            f"{tuple(features.shape)}"
        )
    if not bool(torch.isfinite(features).all()):
        raise ArgumentError("the dictionary gave non-finite features on these states")
    fit = dmd(features, rank=rank, n_delays=n_delays, interval=interval)
    eigenvalues, right = np.linalg.eig(fit.operator)
    order = np.argsort(-np.abs(eigenvalues), kind="stable")
    eigenvalues, right = eigenvalues[order], right[:, order]
    left = np.linalg.inv(right)  # rows: left eigenvectors, left @ operator = diag(eig) @ left
    weights = fit.basis @ left.T  # [F', r]
    lifted = features if n_delays == 1 else delay_embed(features, n_delays, interval)
    values = lifted.numpy().astype(complex) @ weights  # [T', B, r]
    current = x[: values.shape[0]].reshape(-1, x.shape[-1]).numpy()
    modes = np.linalg.lstsq(values.reshape(-1, values.shape[-1]), current, rcond=None)[0].T
    return KoopmanModes(
        eigenvalues=eigenvalues,
        eigenfunction_weights=weights,
        eigenfunction_values=values,
        modes=modes,
        operator=fit.operator,
        basis=fit.basis,
        n_features=int(features.shape[-1]),
        n_delays=n_delays,
        interval=interval,
        dictionary=repr(dictionary)
        if isinstance(dictionary, Monomials | RadialFeatures)
        else getattr(dictionary, "__name__", type(dictionary).__name__),
        dt=float("nan") if dt is None else float(dt),
    )
