"""How well a fitted model recovered the dynamics behind a recording.

Against held-out data (real or synthetic):

- `bits_per_spike`: the Poisson log-likelihood of predicted rates over a constant-rate model of
  each neuron, in bits per spike, as the Neural Latents Benchmark scores co-smoothing (Pei et
  al. 2021, "Neural Latents Benchmark '21", section 3.2; nlb_tools' `bits_per_spike`).
- `co_smoothing`: held-out neurons predicted from a model's latent states through a Poisson
  GLM fitted on the training trials, scored on the test trials in bits per spike.
- `psth_r2`: R^2 of condition-averaged predicted rates against the data's (NLB's PSTH R^2).

Against the ground truth of a synthetic recording:

- `state_r2`: R^2 of the true states from the fitted ones through the best affine map (the
  map is fitted, so the fitted latents may be any invertible transform of the true ones).
- `match_fixed_points`: the fitted network's fixed points mapped by that affine map into the
  true state space and matched one-to-one to the true ones (Hungarian assignment), with their
  distances and whether the matched pairs have the same stability.
- `compare_timescales`: the slowest time constants of the linearised dynamics at the matched
  fixed points (the Jacobian eigenvalues of each network's step), true against fitted.
- DSA to the truth is `neurodyn.analysis.dsa` on the two networks' states.

The scores of one comparison are gathered in a `Recovery` row (`recovery_table` prints many).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
from scipy.optimize import linear_sum_assignment
from torch import Tensor

from neurodyn.analysis._result import SavableResult
from neurodyn.errors import ArgumentError, ShapeError


def _poisson_log_likelihood(rates: Tensor, counts: Tensor) -> Tensor:
    """Sum over the last three axes ([T, B, N] after any leading ones) of log P(counts | rates)."""
    rates = rates.clamp(min=1e-9)
    ll = counts * rates.log() - rates - torch.lgamma(counts + 1)
    return ll.sum((-3, -2, -1))


def bits_per_spike(rates: Tensor, counts: Tensor) -> Tensor:
    """Bits per spike of predicted rates over each neuron's mean rate.

    `(log L(rates) - log L(mean)) / (n_spikes * log 2)`, with `mean` each neuron's mean count per
    bin over the given bins and trials (NLB's null model).

    Parameters
    ----------
    rates : Tensor [T, B, N] or [T, E, B, N]
        Predicted mean counts per bin (positive).
    counts : Tensor [T, B, N]
        Observed spike counts.

    Returns
    -------
    Tensor [] or [E]
        Positive when the rates predict better than each neuron's mean.

    Example
    -------
    >>> g = torch.Generator().manual_seed(0)
    >>> true = torch.rand(40, 30, 5, generator=g) * 2
    >>> counts = torch.poisson(true, generator=g)
    >>> bool(bits_per_spike(true, counts) > 0)
    True
    """
    if counts.dim() != 3:
        raise ShapeError(f"counts must be [T, B, N], got {tuple(counts.shape)}")
    ensemble = rates.dim() == 4
    if ensemble:
        rates = rates.transpose(0, 1)  # [E, T, B, N]
    if tuple(rates.shape[-3:]) != tuple(counts.shape):
        raise ShapeError(
            f"rates {tuple(rates.shape)} and counts {tuple(counts.shape)} differ in [T, B, N]"
        )
    counts = counts.to(rates.dtype)
    n_spikes = counts.sum()
    if n_spikes <= 0:
        raise ArgumentError("the counts hold no spike: bits per spike is undefined")
    null = counts.mean((0, 1), keepdim=True).expand_as(counts)
    gain = _poisson_log_likelihood(rates, counts) - _poisson_log_likelihood(null, counts)
    return gain / (n_spikes * math.log(2))


def _with_bias(x: Tensor) -> Tensor:
    return torch.cat([x, torch.ones(*x.shape[:-1], 1, dtype=x.dtype)], -1)


def fit_poisson_glm(
    features: Tensor, counts: Tensor, *, l2: float = 1e-3, iters: int = 50
) -> Tensor:
    """A Poisson GLM `counts ~ Poisson(exp([features, 1] @ W))` by Newton's method, all neurons
    at once (each neuron's Hessian solved in one batched call).

    Parameters
    ----------
    features : Tensor [M, K]
    counts : Tensor [M, N]
    l2 : float
        Ridge penalty on the weights (not the bias), per sample.
    iters : int
        Newton steps (it converges in a few tens).

    Returns
    -------
    Tensor [K + 1, N]
        The weights, the bias last.
    """
    x = _with_bias(features.double())
    y = counts.double()
    m, d = x.shape
    weights = torch.zeros(d, y.shape[1], dtype=x.dtype)
    weights[-1] = y.mean(0).clamp(min=1e-6).log()
    penalty = torch.full((d,), l2 * m, dtype=x.dtype)
    penalty[-1] = 0.0
    for _ in range(iters):
        eta = (x @ weights).clamp(max=20.0)
        rate = eta.exp()  # [M, N]
        grad = x.T @ (y - rate) - penalty[:, None] * weights  # [D, N]
        hess = torch.einsum("mi,mn,mj->nij", x, rate, x) + torch.diag(penalty)[None]  # [N, D, D]
        step = torch.linalg.solve(hess, grad.T[..., None])[..., 0].T
        weights = weights + step
        if step.abs().max() < 1e-8:
            break
    return weights


@dataclass(frozen=True, repr=False)
class CoSmoothing(SavableResult):
    """Held-out neurons predicted from latents.

    Attributes
    ----------
    bits_per_spike : float
        On the test trials.
    rates : np.ndarray [T, B_test, N_out]
        The predicted mean counts of the held-out neurons on the test trials.
    weights : np.ndarray [K + 1, N_out]
        The GLM from latents (and a bias) to each held-out neuron.
    """

    bits_per_spike: float
    rates: np.ndarray
    weights: np.ndarray


def co_smoothing(
    train_latents: Tensor,
    train_counts: Tensor,
    test_latents: Tensor,
    test_counts: Tensor,
    *,
    l2: float = 1e-3,
) -> CoSmoothing:
    """Co-smoothing: predict held-out neurons from a model's latents (NLB's co-bps).

    The GLM from latents to the held-out neurons is fitted on the training trials (where the
    held-out neurons were recorded too) and scored on the test trials, whose latents the model
    inferred from the held-in neurons alone.

    Parameters
    ----------
    train_latents : Tensor [T, B_train, K]
    train_counts : Tensor [T, B_train, N_out]
        The held-out neurons on the training trials.
    test_latents : Tensor [T, B_test, K]
    test_counts : Tensor [T, B_test, N_out]
    l2 : float
        The GLM's ridge penalty.

    Returns
    -------
    CoSmoothing
    """
    if (
        train_latents.shape[:2] != train_counts.shape[:2]
        or test_latents.shape[:2] != test_counts.shape[:2]
    ):
        raise ShapeError(
            "latents and counts must share [T, B] on both the train and the test trials"
        )
    k = train_latents.shape[-1]
    weights = fit_poisson_glm(
        train_latents.reshape(-1, k), train_counts.reshape(-1, train_counts.shape[-1]), l2=l2
    )
    rates = (_with_bias(test_latents.double()) @ weights).clamp(max=20.0).exp()
    score = float(bits_per_spike(rates, test_counts.double()))
    return CoSmoothing(score, rates.float().numpy(), weights.float().numpy())


def affine_map(source: Tensor, target: Tensor, *, ridge: float = 1e-6) -> Tensor:
    """The least-squares affine map from `source [..., K]` to `target [..., N]` (same leading
    shape), ridge-regularised relative to the source's variance.

    Parameters
    ----------
    source : Tensor [..., K]
    target : Tensor [..., N]
    ridge : float
        Relative to the mean diagonal of the source's Gram matrix; the offset is not shrunk.

    Returns
    -------
    Tensor [K + 1, N]
        `target ~ [source, 1] @ map`.
    """
    if source.shape[:-1] != target.shape[:-1]:
        raise ShapeError(
            f"source {tuple(source.shape)} and target {tuple(target.shape)} differ before the last axis"
        )
    x = _with_bias(source.reshape(-1, source.shape[-1]).double())
    y = target.reshape(-1, target.shape[-1]).double()
    gram = x.T @ x
    penalty = torch.ones(gram.shape[0], dtype=x.dtype)
    penalty[-1] = 0.0
    gram = gram + ridge * gram.diagonal().mean() * torch.diag(penalty)
    return torch.linalg.solve(gram, x.T @ y)


def state_r2(fitted: Tensor, true: Tensor, *, ridge: float = 1e-6) -> float:
    """R^2 of the true states from the fitted ones through the best affine map.

    Parameters
    ----------
    fitted : Tensor [T, B, K]
    true : Tensor [T, B, N]

    Returns
    -------
    float
        `1 - SS_res / SS_tot`, summed over the N true units (so units that vary more count
        more); 1 when the fitted states are an affine image of the true ones.

    Example
    -------
    >>> true = torch.randn(20, 8, 3, generator=torch.Generator().manual_seed(0))
    >>> round(state_r2(true @ torch.randn(3, 5) + 1.0, true), 6)
    1.0
    """
    mapping = affine_map(fitted, true, ridge=ridge)
    predicted = _with_bias(fitted.double()) @ mapping
    residual = ((true.double() - predicted) ** 2).sum()
    total = ((true.double() - true.double().mean((0, 1))) ** 2).sum()
    return float(1 - residual / total.clamp(min=1e-12))


def psth_r2(predicted: Tensor, observed: Tensor, conditions: Tensor) -> float:
    """R^2 of the condition-averaged predictions against the data's (NLB's PSTH R^2).

    Parameters
    ----------
    predicted : Tensor [T, B, N]
        Predicted rates (mean counts per bin).
    observed : Tensor [T, B, N]
    conditions : Tensor [B]
        A condition label per trial; trials of one label are averaged.

    Returns
    -------
    float
        Over every condition, bin and neuron, each neuron weighted by its PSTH variance.
    """
    if predicted.shape != observed.shape or conditions.shape != (observed.shape[1],):
        raise ShapeError("predicted and observed must be [T, B, N] and conditions [B]")
    labels = torch.unique(conditions)
    pred = torch.stack([predicted[:, conditions == c].double().mean(1) for c in labels])
    obs = torch.stack([observed[:, conditions == c].double().mean(1) for c in labels])
    residual = ((pred - obs) ** 2).sum()
    total = ((obs - obs.mean((0, 1))) ** 2).sum()
    return float(1 - residual / total.clamp(min=1e-12))


@dataclass(frozen=True, repr=False)
class FixedPointMatch(SavableResult):
    """Fixed points of a fitted network matched to the true network's.

    Attributes
    ----------
    n_true, n_fitted : int
        Fixed points of each network.
    pairs : np.ndarray [P, 2]
        Matched (true index, fitted index), P = min(n_true, n_fitted).
    distances : np.ndarray [P]
        Each pair's distance in the true state space, relative to the spread (RMS distance to
        the mean) of the true states.
    same_stability : np.ndarray [P] of bool
    """

    n_true: int
    n_fitted: int
    pairs: np.ndarray
    distances: np.ndarray
    same_stability: np.ndarray

    @property
    def stability_agreement(self) -> float:
        """The share of matched pairs with the same stability (NaN with no pair)."""
        return float(self.same_stability.mean()) if len(self.same_stability) else float("nan")


def match_fixed_points(
    true_points: Tensor,
    true_stability: list[str] | np.ndarray,
    fitted_points: Tensor,
    fitted_stability: list[str] | np.ndarray,
    mapping: Tensor,
    *,
    true_spread: float,
) -> FixedPointMatch:
    """Match a fitted network's fixed points to the true ones after the affine alignment.

    Parameters
    ----------
    true_points : Tensor [M_true, N]
    true_stability : [M_true] 'stable', 'saddle', ...
    fitted_points : Tensor [M_fit, K]
    fitted_stability : [M_fit]
    mapping : Tensor [K + 1, N]
        The affine map from fitted to true states (`affine_map(fitted, true)`).
    true_spread : float
        The true states' RMS distance to their mean: distances are given in its units.

    Returns
    -------
    FixedPointMatch
    """
    mapped = _with_bias(fitted_points.double()) @ mapping.double()  # [M_fit, N]
    if len(true_points) and len(mapped):
        cost = torch.cdist(true_points.double(), mapped).numpy()
        rows, cols = linear_sum_assignment(cost)
        distances = cost[rows, cols] / max(true_spread, 1e-12)
    else:
        rows = cols = np.zeros(0, dtype=np.int64)
        distances = np.zeros(0)
    same = np.asarray(true_stability)[rows] == np.asarray(fitted_stability)[cols]
    return FixedPointMatch(
        n_true=len(true_points),
        n_fitted=len(fitted_points),
        pairs=np.stack([rows, cols], 1).astype(np.int64),
        distances=np.asarray(distances, dtype=np.float64),
        same_stability=np.asarray(same, dtype=bool),
    )


def time_constants(eigenvalues: np.ndarray, *, dt_ms: float) -> np.ndarray:
    """Time constants (ms) of a step map's modes: `tau = -dt / ln|lambda|`.

    A mode of eigenvalue `lambda` of the Jacobian of `h_{t+1} = F(h_t)` scales by `|lambda|`
    per step of `dt_ms`: it decays (`tau > 0`) or grows (`tau < 0`, its growth time) by e in
    `|tau|` ms; a marginal mode (`|lambda| = 1`) has `tau = inf`.

    Parameters
    ----------
    eigenvalues : np.ndarray [..., N] (complex or real)
    dt_ms : float
        The step's duration.

    Returns
    -------
    np.ndarray [..., N]

    Example
    -------
    >>> time_constants(np.array([0.9, 1.1]), dt_ms=10.0).round(1).tolist()
    [94.9, -104.9]
    """
    rate = np.log(np.abs(np.asarray(eigenvalues)))  # per step: < 0 decays, > 0 grows
    with np.errstate(divide="ignore"):
        return np.where(rate == 0, np.inf, -dt_ms / rate)


@dataclass(frozen=True, repr=False)
class TimescaleMatch(SavableResult):
    """The slowest timescales of two networks' linearised dynamics at matched fixed points.

    Attributes
    ----------
    true_ms, fitted_ms : np.ndarray [P, k]
        At each matched pair, the time constants (`time_constants`) of the true and the fitted
        point's k slowest modes (largest `|lambda|` first): negative for a growing mode.
    error_decades : np.ndarray [P, k]
        `|log10(|fitted_ms| / |true_ms|)|`: 0 for the same timescale, 1 for ten times off.
    """

    true_ms: np.ndarray
    fitted_ms: np.ndarray
    error_decades: np.ndarray

    @property
    def error(self) -> float:
        """The mean error over pairs and modes, in decades (NaN with no pair)."""
        finite = self.error_decades[np.isfinite(self.error_decades)]
        return float(finite.mean()) if finite.size else math.nan

    @property
    def slowest_true_ms(self) -> float:
        """The median over pairs of the true point's slowest mode's `|tau|` (NaN: no pair)."""
        return float(np.median(np.abs(self.true_ms[:, 0]))) if len(self.true_ms) else math.nan

    @property
    def slowest_fitted_ms(self) -> float:
        """The median over pairs of the fitted point's slowest mode's `|tau|` (NaN: no pair)."""
        return float(np.median(np.abs(self.fitted_ms[:, 0]))) if len(self.fitted_ms) else math.nan


def compare_timescales(
    true_eigenvalues: np.ndarray,
    fitted_eigenvalues: np.ndarray,
    *,
    dt_ms: float,
    n_modes: int = 3,
) -> TimescaleMatch:
    """Compare the slowest timescales of the true and the fitted linearised dynamics at
    matched fixed points, mode by mode.

    The eigenvalues of a fixed point's Jacobian do not change under an invertible affine
    change of coordinates (`J' = A J A^-1`), so they can be compared across networks of other
    sizes, cells and bases without the alignment the states need: a network scored against
    itself in another basis matches exactly. The k slowest modes (those of largest `|lambda|`:
    the memories and slow manifolds a task network computes with, and a saddle's escape
    direction) are compared rank by rank. Whether a mode grows or decays is scored by the
    stability agreement of the matched pair; this compares how slow it is.

    Why eigenvalues at fixed points and not Lyapunov exponents: the recordings' trajectories
    settle into stable points, where the Lyapunov exponents are those of the point's
    Jacobian, so they would add nothing to the stable points' spectra and miss the saddles
    that route the transitions (for a chaotic truth the Lyapunov spectrum would be the one to
    compare: `neurodyn.analysis.lyapunov_spectrum`).

    Parameters
    ----------
    true_eigenvalues : np.ndarray [P, N]
        The Jacobian eigenvalues of the step map at the true point of each matched pair.
    fitted_eigenvalues : np.ndarray [P, K]
        At the fitted point of each pair (K may differ from N).
    dt_ms : float
        The step's duration (both networks step one bin of the recording).
    n_modes : int
        Modes compared per pair (at most min(N, K)).

    Returns
    -------
    TimescaleMatch

    Example
    -------
    >>> true = np.array([[0.99, 0.5]])
    >>> match = compare_timescales(true, np.array([[0.9, 0.2, 0.1]]), dt_ms=10.0, n_modes=1)
    >>> round(match.error, 2)  # tau 995 ms against 95 ms: a decade off
    1.02
    """
    true_eigenvalues = np.asarray(true_eigenvalues)
    fitted_eigenvalues = np.asarray(fitted_eigenvalues)
    if true_eigenvalues.ndim != 2 or fitted_eigenvalues.ndim != 2:
        raise ShapeError(
            f"eigenvalues must be [P, N] and [P, K], got {true_eigenvalues.shape} and "
            f"{fitted_eigenvalues.shape}"
        )
    if len(true_eigenvalues) != len(fitted_eigenvalues):
        raise ShapeError(
            f"{len(true_eigenvalues)} true points but {len(fitted_eigenvalues)} fitted ones: "
            "give the eigenvalues of matched pairs"
        )
    if n_modes < 1:
        raise ArgumentError(f"n_modes must be at least 1, got {n_modes}")
    k = min(n_modes, true_eigenvalues.shape[1], fitted_eigenvalues.shape[1])

    def slowest(eigenvalues: np.ndarray) -> np.ndarray:
        magnitude = np.abs(eigenvalues)
        return -np.sort(-magnitude, axis=1)[:, :k]

    true_ms = time_constants(slowest(true_eigenvalues), dt_ms=dt_ms)
    fitted_ms = time_constants(slowest(fitted_eigenvalues), dt_ms=dt_ms)
    with np.errstate(divide="ignore", invalid="ignore"):
        error = np.abs(np.log10(np.abs(fitted_ms) / np.abs(true_ms)))
    return TimescaleMatch(true_ms, fitted_ms, error)


@dataclass(frozen=True, repr=False)
class Recovery(SavableResult):
    """How well one fitted network recovered a synthetic recording's dynamics (one row of a
    recovery table; NaN where a score does not apply).

    Attributes
    ----------
    model : str
        The fitted model's name (a run id, "rate fit", ...).
    member : int
        Its ensemble member.
    bits_per_spike : float
        Co-smoothing of the held-out neurons on the test trials (`co_smoothing`).
    true_bits_per_spike : float
        The true rates' bits per spike on the same neurons and trials: the ceiling.
    state_r2 : float
        True states from the fitted ones through the best affine map (`state_r2`).
    n_fixed_true, n_fixed_fitted : int
        Fixed points of the true and the fitted network at zero input.
    fixed_point_distance : float
        Mean distance of the matched pairs after alignment, in units of the true states'
        spread (`match_fixed_points`).
    stability_agreement : float
        Share of matched pairs with the same stability.
    dsa_distance : float
        DSA (angular) between the fitted and the true states (`neurodyn.analysis.dsa`).
    psth_r2 : float
        PSTH R^2 of the co-smoothed held-out neurons on the test trials, trials averaged by
        condition (`psth_r2`); NaN where the recording has no condition to average by.
    timescale_error : float
        How far the slowest timescales of the fitted linearised dynamics are from the true
        ones at the matched fixed points, in decades (`compare_timescales`); NaN with no pair.
    slowest_timescale_ms, true_slowest_timescale_ms : float
        The slowest mode's `|tau|` at the matched fitted and true points (median over pairs).
    """

    model: str
    member: int
    bits_per_spike: float
    true_bits_per_spike: float
    state_r2: float
    n_fixed_true: int
    n_fixed_fitted: int
    fixed_point_distance: float
    stability_agreement: float
    dsa_distance: float
    psth_r2: float = math.nan
    timescale_error: float = math.nan
    slowest_timescale_ms: float = math.nan
    true_slowest_timescale_ms: float = math.nan

    def row(self) -> dict[str, float | int | str]:
        """The scores as one row of a table (`recovery_table`)."""
        return {f: getattr(self, f) for f in self.__dataclass_fields__}


def recovery_table(rows: list[Recovery]) -> str:
    """A markdown table of recovery rows, one per fitted model and member.

    Parameters
    ----------
    rows : list of Recovery

    Returns
    -------
    str
        The table, a header and one line per row.
    """
    head = (
        "| model | member | bits/spike (truth) | PSTH R^2 | state R^2 | fixed points true / "
        "fitted | distance | stability agreement | slowest tau ms (truth) | timescales off "
        "(decades) | DSA |"
    )
    lines = [head, "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r.model} | {r.member} | {r.bits_per_spike:.3f} ({r.true_bits_per_spike:.3f}) | "
            f"{r.psth_r2:.3f} | {r.state_r2:.3f} | {r.n_fixed_true} / {r.n_fixed_fitted} | "
            f"{r.fixed_point_distance:.3f} | {r.stability_agreement:.2f} | "
            f"{r.slowest_timescale_ms:.3g} ({r.true_slowest_timescale_ms:.3g}) | "
            f"{r.timescale_error:.2f} | {r.dsa_distance:.3f} |"
        )
    if any(math.isnan(r.psth_r2) for r in rows):
        # a bare nan read as a failed fit
        lines += [
            "",
            "PSTH R^2 nan: the test trials carry no condition to average them by (NLB's "
            "PSTH R^2 needs one with 2 or more values and 4 or more trials a value on "
            "average).",
        ]
    return "\n".join(lines)
