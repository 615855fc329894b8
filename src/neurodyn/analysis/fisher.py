"""Linear Fisher information of a population, and how its code is allocated over a prior.

Written for the efficient-coding predictions of Ganguli & Simoncelli ("Implicit encoding of
prior probabilities in optimal neural populations", NeurIPS 2010; "Efficient sensory encoding
and Bayesian inference with heterogeneous neural populations", Neural Computation 2014): a
population that maximises a prior-weighted functional of its Fisher information allocates its
units and spikes by the stimulus prior p(s), as power laws of it.

- `responses_by_stimulus`: states of a run's trials `[..., B, N]`, grouped by their stimulus
  on a grid into `[..., A, S, N]` (A stimuli, S trials each).
- `linear_fisher`: the linear Fisher information `I(s) = f'(s)^T Sigma(s)^-1 f'(s)` between
  neighbouring grid stimuli, with the bias-corrected estimator of Kanitscheider, Coen-Cagli,
  Kohn & Pouget (2015), "Measuring Fisher information accurately in correlated neural
  populations", PLoS Comput. Biol. 11:e1004218; refused (or shrunk, if asked) when there are
  too few trials for the units.
- `population_allocation`: tuning curves, each unit's preferred stimulus and gain, and the
  density of preferred stimuli.
- `efficient_code`: what Ganguli & Simoncelli predict for a prior (density, gain, Fisher
  information and discrimination threshold), for their family of objectives.
- `fit_prior_powers`: which power of the prior the population's Fisher information, density
  and gain follow, and which objective of the family that power is optimal for.

The objectives (Ganguli & Simoncelli 2014): maximise `E_p[log I(s)]` (infomax, a bound on the
mutual information) or minimise `E_p[I(s)^-alpha]` (alpha = 1: the expected squared
discrimination threshold, "discrimax"), over the density `d(s)` of preferred stimuli (`int d =
N`) and the gain `g(s)` (`int p g = R`), with tuning widths scaled as `1 / d` so that `I(s)` is
proportional to `d(s)^2 g(s)`. Setting the derivatives of the Lagrangian to zero gives

    d ~ p^((1 + alpha) / (1 + 3 alpha)),   g ~ p^(-2 alpha / (1 + 3 alpha)),
    I ~ p^(2 / (1 + 3 alpha)),             threshold ~ I^(-1/2) ~ p^(-1 / (1 + 3 alpha)),

and infomax is alpha -> 0: density ~ p, constant gain, `I ~ p^2`, threshold ~ 1 / p (the
paper's Table 1); discrimax (alpha = 1) gives `I ~ p^(1/2)` (Morais & Pillow, NeurIPS 2018,
call these "power-law efficient codes", power 2 for infomax and 1/2 for discrimax).

Shapes: `responses [..., A, S, N]`: A stimulus values, S trials (samples) at each, N units, with
any leading axes (an ensemble `E`) kept in every result. Stimuli `[A]` in increasing order;
circular stimuli (`period`, e.g. `2 pi`) lie in one period.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import minimize_scalar

from neurodyn.analysis._arrays import as_float_array
from neurodyn.analysis._result import SavableResult
from neurodyn.errors import ArgumentError, ShapeError

__all__ = [
    "EfficientCode",
    "LinearFisher",
    "PopulationAllocation",
    "PriorPowers",
    "efficient_code",
    "fit_prior_powers",
    "linear_fisher",
    "objective_for_fisher_power",
    "population_allocation",
    "responses_by_stimulus",
]

Prior = Callable[[np.ndarray], np.ndarray]


def _check_stimuli(stimuli: Any, n: int, period: float | None) -> np.ndarray:
    stimuli = as_float_array(stimuli)
    if stimuli.ndim != 1 or len(stimuli) != n:
        raise ShapeError(f"stimuli must be [A={n}], got {tuple(stimuli.shape)}")
    if n < 2 or not np.all(np.diff(stimuli) > 0) or not np.all(np.isfinite(stimuli)):
        raise ArgumentError(
            f"stimuli must be at least 2 finite values in increasing order, got {stimuli.tolist()}"
        )
    if period is not None and not stimuli[-1] - stimuli[0] < period:
        raise ArgumentError(
            f"circular stimuli must lie within one period ({period:g}); they span "
            f"{stimuli[-1] - stimuli[0]:g}: wrap them and sort, or pass period=None"
        )
    return stimuli


def _check_responses(responses: Any) -> np.ndarray:
    responses = as_float_array(responses)
    if responses.ndim < 3:
        raise ShapeError(
            f"responses must be [..., A, S, N] (stimuli, trials, units), got "
            f"{tuple(responses.shape)}"
        )
    if not np.all(np.isfinite(responses)):
        raise ArgumentError("responses hold NaN or infinite values")
    return responses


# --- grouping a run's trials by stimulus -----------------------------------------------------


def responses_by_stimulus(states: Any, stimulus: Any, grid: Any, *, atol: float = 1e-6) -> Any:
    """A run's states grouped by the stimulus of their trial: `[..., B, N]` -> `[..., A, S, N]`.

    Parameters
    ----------
    states : [..., B, N]   one state per trial (e.g. at the end of the stimulus epoch)
    stimulus : [B]         each trial's stimulus value, every one on the grid (to `atol`)
    grid : [A]             the stimulus values; each must have the same number S of trials

    Returns
    -------
    ndarray [..., A, S, N], trials in the order they come in the batch.

    Example
    -------
    >>> states = np.arange(8.0).reshape(4, 2)          # 4 trials, 2 units
    >>> responses_by_stimulus(states, [0.5, 0.0, 0.0, 0.5], [0.0, 0.5])[:, :, 0].tolist()
    [[2.0, 4.0], [0.0, 6.0]]
    """
    states = as_float_array(states)
    stimulus, grid = as_float_array(stimulus), as_float_array(grid)
    if states.ndim < 2 or stimulus.ndim != 1 or states.shape[-2] != len(stimulus):
        raise ShapeError(
            f"states must be [..., B, N] and stimulus [B]; got {tuple(states.shape)} and "
            f"{tuple(stimulus.shape)}"
        )
    if grid.ndim != 1 or len(grid) < 1:
        raise ShapeError(f"grid must be [A] with A >= 1, got {tuple(grid.shape)}")
    distance = np.abs(stimulus[:, None] - grid[None, :])
    index = distance.argmin(axis=1)
    off = distance[np.arange(len(stimulus)), index] > atol
    if off.any():
        raise ArgumentError(
            f"{int(off.sum())} trial(s) have a stimulus off the grid (e.g. "
            f"{stimulus[off][0]:g}); sample the trials at the grid's values"
        )
    counts = np.bincount(index, minlength=len(grid))
    if counts.min() != counts.max() or counts.min() == 0:
        raise ArgumentError(
            f"every grid stimulus needs the same number of trials; counts {counts.tolist()}"
        )
    order = np.argsort(index, kind="stable")
    grouped = states[..., order, :]
    return grouped.reshape(*states.shape[:-2], len(grid), int(counts[0]), states.shape[-1])


# --- linear Fisher information ---------------------------------------------------------------


@dataclass(frozen=True)
class LinearFisher(SavableResult):
    """Linear Fisher information between neighbouring stimuli of a grid.

    Attributes
    ----------
    stimuli : [P]             where it is evaluated: the midpoints of neighbouring grid stimuli
                              (P = A for circular stimuli, wrapped into the grid's period; A - 1
                              otherwise)
    step : [P]                the stimulus difference ds of each pair
    fisher : [..., P]         the estimate (bias-corrected unless `method` says otherwise)
    naive : [..., P]          the plug-in `df^T Sigma^-1 df / ds^2`, biased upwards
    variance : [..., P]       the bias-corrected estimate's sampling variance (Kanitscheider et
                              al. 2015, their variance formula; NaN with shrinkage)
    n_trials : int            trials per stimulus, T
    n_units : int             N
    method : str              "bias-corrected" or "shrinkage <lambda>" (Ledoit-Wolf or given)
    shrinkage : [..., P]      the covariance's shrinkage intensity at each pair (0: none)
    """

    stimuli: np.ndarray
    step: np.ndarray
    fisher: np.ndarray
    naive: np.ndarray
    variance: np.ndarray
    n_trials: int
    n_units: int
    method: str
    shrinkage: np.ndarray

    @property
    def threshold(self) -> np.ndarray:
        """The discrimination threshold `1 / sqrt(I)` at d' = 1 (NaN where I <= 0)."""
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.where(self.fisher > 0, 1.0 / np.sqrt(self.fisher), np.nan)


def _ledoit_wolf(residuals: np.ndarray) -> tuple[np.ndarray, float]:
    """Ledoit & Wolf's (2004) shrinkage of the covariance of centred `residuals [M, N]` towards
    `mu I` (mu its mean variance), with their optimal intensity; the sample covariance is
    `X^T X / M` as in their derivation (and in `sklearn.covariance.ledoit_wolf`)."""
    n_samples, n_units = residuals.shape
    sample = residuals.T @ residuals / n_samples
    mu = np.trace(sample) / n_units
    target_distance = ((sample - mu * np.eye(n_units)) ** 2).sum()
    squares = residuals**2
    spread = (squares.T @ squares / n_samples - sample**2).sum() / n_samples
    intensity = 0.0 if target_distance == 0 else min(spread, target_distance) / target_distance
    return (1 - intensity) * sample + intensity * mu * np.eye(n_units), float(intensity)


def linear_fisher(
    responses: Any,
    stimuli: Any,
    *,
    period: float | None = 2 * math.pi,
    shrinkage: float | str | None = None,
) -> LinearFisher:
    """Linear Fisher information `I(s) = f'(s)^T Sigma(s)^-1 f'(s)` of a population.

    For each pair of neighbouring grid stimuli `s1 < s2` (and the last with the first when
    `period` is given) with T trials each: `f' = (mean(s2) - mean(s1)) / ds`, Sigma the mean
    of the two sample covariances (ddof 1), evaluated at the midpoint. The plug-in estimate is
    biased upwards (a noisy Sigma's inverse is too large on average); the bias-corrected one
    (Kanitscheider et al. 2015, for Gaussian noise of fixed covariance),

        I_bc = I_naive (2T - N - 3) / (2T - 2) - 2N / (T ds^2),

    is unbiased. It needs `2T - 2 > N + 1` (T > (N + 3) / 2 trials per stimulus); with fewer it
    is refused, unless `shrinkage` is given: the pooled covariance is then shrunk towards a
    multiple of the identity (a number in [0, 1], or "ledoit-wolf" for Ledoit & Wolf's optimal
    intensity) and the plug-in estimate is returned, biased (downwards for strong shrinkage),
    with no correction (none is exact for a shrunk covariance).

    Parameters
    ----------
    responses : [..., A, S, N]   S trials at each of A stimuli (leading axes, e.g. an ensemble
                                 `E`, are kept)
    stimuli : [A]                increasing
    period : float or None       the stimulus period (2 pi: angles on the circle); None for a
                                 stimulus on a line
    shrinkage : None, float in [0, 1] or "ledoit-wolf"

    Returns
    -------
    LinearFisher (`fisher [..., P]`; `.threshold`, the d' = 1 discrimination threshold)

    Raises ArgumentError for too few trials without shrinkage, naming T, N and both remedies.

    Example
    -------
    Two independent units with Gaussian noise of variance 1, means 0 and 2 apart (ds = 1):
    the true I is 0 + 4 = 4.

    >>> rng = np.random.default_rng(0)
    >>> means = np.array([[0.0, 0.0], [0.0, 2.0]])               # [A=2, N=2]
    >>> responses = means[:, None, :] + rng.standard_normal((2, 20000, 2))
    >>> result = linear_fisher(responses, [0.0, 1.0], period=None)
    >>> round(float(result.fisher[0]), 1), result.method
    (4.0, 'bias-corrected')
    """
    responses = _check_responses(responses)
    *lead, n_stimuli, n_trials, n_units = responses.shape
    stimuli = _check_stimuli(stimuli, n_stimuli, period)
    if period is not None and not period > 0:
        raise ArgumentError(f"period must be positive or None, got {period}")
    first = np.arange(n_stimuli if period is not None else n_stimuli - 1)
    second = (first + 1) % n_stimuli
    step = stimuli[second] - stimuli[first]
    if period is not None:
        step[-1] += period  # the pair that closes the circle
        midpoints = stimuli[first] + step / 2
        midpoints = stimuli[0] + np.remainder(midpoints - stimuli[0], period)
    else:
        midpoints = stimuli[first] + step / 2
    dof = 2 * n_trials - 2
    if shrinkage is None and not dof > n_units + 1:
        raise ArgumentError(
            f"linear Fisher information needs more than (N + 3) / 2 = {(n_units + 3) / 2:g} "
            f"trials per stimulus for N = {n_units} units, got T = {n_trials}: record more "
            "trials, use fewer units, or pass shrinkage='ledoit-wolf' (biased, not corrected)"
        )
    if isinstance(shrinkage, str) and shrinkage != "ledoit-wolf":
        raise ArgumentError(
            f"shrinkage must be None, a number in [0, 1] or 'ledoit-wolf', got {shrinkage!r}"
        )
    if isinstance(shrinkage, int | float) and not 0 <= shrinkage <= 1:
        raise ArgumentError(f"shrinkage must lie in [0, 1], got {shrinkage}")
    if n_trials < 2:
        raise ShapeError(f"responses need at least 2 trials per stimulus, got S = {n_trials}")

    means = responses.mean(axis=-2)  # [..., A, N]
    residuals = responses - means[..., None, :]
    flat_res = residuals.reshape(-1, n_stimuli, n_trials, n_units)
    flat_means = means.reshape(-1, n_stimuli, n_units)
    n_members = flat_res.shape[0]
    naive = np.empty((n_members, len(first)))
    intensities = np.zeros((n_members, len(first)))
    for m in range(n_members):
        for p, (a, b) in enumerate(zip(first, second, strict=True)):
            pair = np.concatenate([flat_res[m, a], flat_res[m, b]])  # [2T, N], each centred
            if shrinkage is None:
                covariance = pair.T @ pair / dof
            elif shrinkage == "ledoit-wolf":
                covariance, intensities[m, p] = _ledoit_wolf(pair)
            else:
                sample = pair.T @ pair / dof
                mu = np.trace(sample) / n_units
                intensities[m, p] = float(shrinkage)
                covariance = (1 - float(shrinkage)) * sample + float(shrinkage) * mu * np.eye(
                    n_units
                )
            derivative = (flat_means[m, b] - flat_means[m, a]) / step[p]
            try:
                naive[m, p] = derivative @ np.linalg.solve(covariance, derivative)
            except np.linalg.LinAlgError:
                raise ArgumentError(
                    f"the noise covariance between stimuli {stimuli[a]:g} and {stimuli[b]:g} is "
                    "singular (some units never vary, or vary together exactly): drop those "
                    "units or pass shrinkage='ledoit-wolf'"
                ) from None
    if shrinkage is None:
        fisher = naive * (dof - n_units - 1) / dof - 2 * n_units / (n_trials * step**2)
        # the variance of I_bc (Kanitscheider et al. 2015), defined for 2T - N - 5 > 0
        x = n_trials * fisher * step**2
        with np.errstate(divide="ignore", invalid="ignore"):
            variance = (
                2
                * fisher**2
                / (2 * n_trials - n_units - 5)
                * (1 + 4 * (2 * n_trials - 3) / x + 4 * n_units * (2 * n_trials - 3) / x**2)
            )
        if 2 * n_trials - n_units - 5 <= 0:
            variance = np.full_like(fisher, np.nan)
        method = "bias-corrected"
    else:
        fisher = naive
        variance = np.full_like(naive, np.nan)
        method = f"shrinkage {shrinkage}"
    shape = (*lead, len(first))
    return LinearFisher(
        stimuli=midpoints,
        step=step,
        fisher=fisher.reshape(shape),
        naive=naive.reshape(shape),
        variance=variance.reshape(shape),
        n_trials=int(n_trials),
        n_units=int(n_units),
        method=method,
        shrinkage=intensities.reshape(shape),
    )


# --- allocation: preferred stimuli, density and gain -----------------------------------------


@dataclass(frozen=True)
class PopulationAllocation(SavableResult):
    """How a population's tuning curves are spread over the stimulus.

    Attributes
    ----------
    stimuli : [A]             the grid
    tuning : [..., A, N]      each unit's mean response at each stimulus
    preferred : [..., N]      each unit's preferred stimulus: where its mean response peaks
    gain : [..., N]           each unit's tuning amplitude: its largest mean response minus its
                              smallest (a rate network's units have offsets; Ganguli &
                              Simoncelli's gain is the amplitude over a zero baseline)
    density : [..., A]        preferred stimuli per unit of stimulus at each grid value, as a
                              share of the units (sums to 1 / grid spacing for an even grid)
    responsive : [..., N]     units whose amplitude exceeds `min_gain` (the others have no
                              preferred stimulus that means anything and are left out of
                              `density`)
    """

    stimuli: np.ndarray
    tuning: np.ndarray
    preferred: np.ndarray
    gain: np.ndarray
    density: np.ndarray
    responsive: np.ndarray


def _cell_widths(stimuli: np.ndarray, period: float | None) -> np.ndarray:
    """The width of the grid cell around each stimulus (half-way to each neighbour)."""
    if period is not None:
        before = np.diff(stimuli, prepend=stimuli[-1] - period)
        after = np.diff(stimuli, append=stimuli[0] + period)
    else:
        gaps = np.diff(stimuli)
        before = np.concatenate([gaps[:1], gaps])
        after = np.concatenate([gaps, gaps[-1:]])
    return (before + after) / 2


def population_allocation(
    responses: Any,
    stimuli: Any,
    *,
    period: float | None = 2 * math.pi,
    min_gain: float = 1e-6,
) -> PopulationAllocation:
    """Tuning curves, preferred stimuli, gains and the density of preferred stimuli.

    Parameters
    ----------
    responses : [..., A, S, N]   or mean responses `[..., A, 1, N]`
    stimuli : [A]                increasing
    period : float or None       2 pi for angles (the grid's cells wrap), None on a line
    min_gain : float             units with a smaller amplitude count as unresponsive

    Returns
    -------
    PopulationAllocation

    Example
    -------
    >>> stimuli = np.array([-1.0, 0.0, 1.0])
    >>> tuning = np.array([[0.0, 0.0, 1.0], [2.0, 1.0, 0.0], [1.0, 2.0, 0.0]])  # [A, N]
    >>> allocation = population_allocation(tuning[:, None, :], stimuli, period=None)
    >>> allocation.preferred.tolist(), allocation.gain.tolist()
    ([0.0, 1.0, -1.0], [2.0, 2.0, 1.0])
    >>> (allocation.density * 3).round(3).tolist()  # a third of the units per unit width
    [1.0, 1.0, 1.0]
    """
    responses = _check_responses(responses)
    n_stimuli = responses.shape[-3]
    stimuli = _check_stimuli(stimuli, n_stimuli, period)
    tuning = responses.mean(axis=-2)  # [..., A, N]
    peak = tuning.argmax(axis=-2)  # [..., N]
    gain = tuning.max(axis=-2) - tuning.min(axis=-2)
    responsive = gain > min_gain
    one_hot = (peak[..., None, :] == np.arange(n_stimuli)[:, None]) & responsive[..., None, :]
    counts = one_hot.sum(axis=-1)  # [..., A]
    total = np.maximum(responsive.sum(axis=-1, keepdims=True), 1)
    density = counts / total / _cell_widths(stimuli, period)
    return PopulationAllocation(
        stimuli=stimuli,
        tuning=tuning,
        preferred=stimuli[peak],
        gain=gain,
        density=density,
        responsive=responsive,
    )


# --- Ganguli & Simoncelli's predictions ------------------------------------------------------


def _normalised_power(prior: np.ndarray, power: float, widths: np.ndarray) -> np.ndarray:
    values = prior**power
    return values / (values * widths).sum()


@dataclass(frozen=True)
class EfficientCode(SavableResult):
    """The optimal population of Ganguli & Simoncelli for a prior, on a grid.

    Attributes
    ----------
    stimuli : [A]
    prior : [A]          p(s) (as given, normalised over the grid)
    alpha : float        the objective: 0 infomax (maximise E[log I]), else minimise E[I^-alpha]
    density : [A]        preferred stimuli per unit of stimulus, for N = `n_units`
    gain : [A]           tuning amplitude, with mean rate `E_p[g] = total_rate`
    fisher : [A]         `d^2 g` (the Fisher information up to the tuning shape's constant)
    threshold : [A]      `1 / sqrt(fisher)` (up to the same constant)
    n_units : float
    total_rate : float
    """

    stimuli: np.ndarray
    prior: np.ndarray
    alpha: float
    density: np.ndarray
    gain: np.ndarray
    fisher: np.ndarray
    threshold: np.ndarray
    n_units: float
    total_rate: float

    @property
    def powers(self) -> dict[str, float]:
        """The power of the prior each quantity follows."""
        a = self.alpha
        return {
            "density": (1 + a) / (1 + 3 * a),
            "gain": -2 * a / (1 + 3 * a),
            "fisher": 2 / (1 + 3 * a),
            "threshold": -1 / (1 + 3 * a),
        }


def efficient_code(
    prior: Any,
    stimuli: Any,
    *,
    alpha: float = 0.0,
    n_units: float = 1.0,
    total_rate: float = 1.0,
    period: float | None = 2 * math.pi,
) -> EfficientCode:
    """Ganguli & Simoncelli's optimal density, gain, Fisher information and threshold.

    Parameters
    ----------
    prior : [A] or callable      p(s) on the grid, or a function returning it
    stimuli : [A]                increasing
    alpha : float >= 0           0: infomax; 1: discrimax (minimise E[threshold^2]); see the
                                 module docstring for the powers
    n_units, total_rate : float  the constraints `int d = N` and `E_p[g] = R`
    period : float or None       the grid's period (for its cell widths)

    Returns
    -------
    EfficientCode

    Example
    -------
    Infomax puts the density where the prior is, keeps the gain flat, and squares the prior
    in the Fisher information:

    >>> stimuli = np.array([0.0, 1.0, 2.0, 3.0])
    >>> code = efficient_code(np.array([0.1, 0.2, 0.3, 0.4]), stimuli, n_units=10, period=None)
    >>> code.density.round(3).tolist(), code.gain.round(3).tolist()
    ([1.0, 2.0, 3.0, 4.0], [1.0, 1.0, 1.0, 1.0])
    >>> (code.fisher / code.fisher[0]).round(3).tolist()
    [1.0, 4.0, 9.0, 16.0]
    """
    stimuli = as_float_array(stimuli)
    values = as_float_array(prior(stimuli) if callable(prior) else prior)
    stimuli = _check_stimuli(stimuli, len(values), period)
    if values.shape != stimuli.shape or not np.all(values > 0):
        raise ArgumentError(
            "the prior must be positive at every grid stimulus (a power law of it is undefined "
            "where it is 0); restrict the grid to the prior's support"
        )
    if not (alpha >= 0 and math.isfinite(alpha)):
        raise ArgumentError(f"alpha must be a finite number >= 0, got {alpha}")
    widths = _cell_widths(stimuli, period)
    p = values / (values * widths).sum()
    powers = EfficientCode(stimuli, p, float(alpha), p, p, p, p, 0.0, 0.0).powers
    density = n_units * _normalised_power(p, powers["density"], widths)
    gain = p ** powers["gain"]
    gain = total_rate * gain / (p * gain * widths).sum()
    fisher = density**2 * gain
    return EfficientCode(
        stimuli=stimuli,
        prior=p,
        alpha=float(alpha),
        density=density,
        gain=gain,
        fisher=fisher,
        threshold=1 / np.sqrt(fisher),
        n_units=float(n_units),
        total_rate=float(total_rate),
    )


def objective_for_fisher_power(power: float) -> float:
    """The objective exponent alpha of the family whose optimum has `I ~ p^power`:
    `power = 2 / (1 + 3 alpha)`, so alpha = (2 / power - 1) / 3 (0: infomax, power 2; 1:
    discrimax, power 1/2).

    Parameters
    ----------
    power : float   the power of the prior in the Fisher information, `I ~ p^power`

    Returns
    -------
    float: alpha, or NaN for a power outside (0, 2], which no member of the family gives

    Example
    -------
    >>> objective_for_fisher_power(2.0), objective_for_fisher_power(0.5)
    (0.0, 1.0)
    """
    if not 0 < power <= 2:
        return float("nan")
    return (2 / power - 1) / 3


# --- fitting powers of the prior -------------------------------------------------------------


@dataclass(frozen=True)
class PriorPowers(SavableResult):
    """Which power of the prior a population follows (one network).

    Attributes
    ----------
    fisher_power, fisher_power_se : float   slope of log I(s) on log p(s) (least squares over
                                            the points where I > 0) and its standard error
    fisher_r2 : float                       how well the line fits
    fisher_points : int                     points used (I <= 0 cannot be logged)
    threshold_power : float                 `-fisher_power / 2` (threshold ~ I^-1/2)
    density_power, density_power_se : float the maximum-likelihood gamma of "preferred stimuli
                                            drawn with density ~ p^gamma" and its standard error
    gain_power, gain_power_se : float       slope of log gain on log p(preferred), over units
    objective_alpha : float                 the objective whose optimum has this Fisher power
                                            (`objective_for_fisher_power`): 0 infomax, 1
                                            discrimax, NaN outside the family
    """

    fisher_power: float
    fisher_power_se: float
    fisher_r2: float
    fisher_points: int
    threshold_power: float
    density_power: float
    density_power_se: float
    gain_power: float
    gain_power_se: float
    objective_alpha: float


def _slope(x: np.ndarray, y: np.ndarray) -> tuple[float, float, float]:
    """Least-squares slope of y on x, its standard error and r^2."""
    if len(x) < 3 or np.ptp(x) == 0:
        return float("nan"), float("nan"), float("nan")
    design = np.stack([x, np.ones_like(x)], axis=1)
    coef, *_ = np.linalg.lstsq(design, y, rcond=None)
    residual = y - design @ coef
    dof = len(x) - 2
    sxx = ((x - x.mean()) ** 2).sum()
    se = math.sqrt((residual**2).sum() / dof / sxx)
    total = ((y - y.mean()) ** 2).sum()
    r2 = 1 - (residual**2).sum() / total if total > 0 else float("nan")
    return float(coef[0]), se, float(r2)


def _density_power(
    preferred_index: np.ndarray, log_prior: np.ndarray, widths: np.ndarray
) -> tuple[float, float]:
    """Maximum likelihood of gamma for preferred stimuli (grid indices) drawn from the grid
    with probability ~ p^gamma x cell width; its standard error from the observed information,
    `N Var_q[log p]` under the fitted law q."""
    n = len(preferred_index)
    if n < 2 or np.ptp(log_prior) == 0:
        return float("nan"), float("nan")
    observed = log_prior[preferred_index].sum()
    log_w = np.log(widths)

    def negative_log_likelihood(gamma: float) -> float:
        logits = gamma * log_prior + log_w
        top = logits.max()
        return -(gamma * observed - n * (top + math.log(np.exp(logits - top).sum())))

    found = minimize_scalar(negative_log_likelihood, bounds=(-20.0, 20.0), method="bounded")
    gamma = float(found.x)
    logits = gamma * log_prior + log_w
    q = np.exp(logits - logits.max())
    q /= q.sum()
    spread = (q * log_prior**2).sum() - (q * log_prior).sum() ** 2
    return gamma, (1 / math.sqrt(n * spread) if spread > 0 else float("nan"))


def fit_prior_powers(
    fisher: LinearFisher,
    allocation: PopulationAllocation,
    prior: Prior,
    *,
    period: float | None = 2 * math.pi,
) -> PriorPowers:
    """The powers of the prior that one network's Fisher information, density and gain follow.

    Parameters
    ----------
    fisher : LinearFisher              of one network (`fisher [P]`: for an ensemble, the
                                       result of `linear_fisher(responses[e], ...)`)
    allocation : PopulationAllocation  of the same network (`preferred [N]`)
    prior : callable                   p(s) for an array of stimuli (e.g. a task's
                                       `prior_density`); positive everywhere on the grid
    period : float or None             as given to `population_allocation`

    Returns
    -------
    PriorPowers (infomax predicts Fisher 2, density 1, gain 0, threshold -1)
    """
    values = np.asarray(fisher.fisher, dtype=float)
    if values.ndim != 1 or allocation.preferred.ndim != 1:
        raise ShapeError(
            "fit_prior_powers fits one network: give the results of one member (e.g. "
            "linear_fisher(responses[e], ...)), not an ensemble's "
            f"fisher {tuple(values.shape)}"
        )
    prior_at_fisher = as_float_array(prior(fisher.stimuli))
    prior_at_grid = as_float_array(prior(allocation.stimuli))
    if not (np.all(prior_at_fisher > 0) and np.all(prior_at_grid > 0)):
        raise ArgumentError("the prior must be positive at every stimulus of the grid")
    usable = values > 0
    power, se, r2 = _slope(np.log(prior_at_fisher[usable]), np.log(values[usable]))
    responsive = allocation.responsive
    index = np.searchsorted(allocation.stimuli, allocation.preferred[responsive])
    widths = _cell_widths(allocation.stimuli, period)
    density_power, density_se = _density_power(index, np.log(prior_at_grid), widths)
    gains = allocation.gain[responsive]
    gain_power, gain_se, _ = _slope(np.log(prior_at_grid[index]), np.log(gains))
    return PriorPowers(
        fisher_power=power,
        fisher_power_se=se,
        fisher_r2=r2,
        fisher_points=int(usable.sum()),
        threshold_power=-power / 2,
        density_power=density_power,
        density_power_se=density_se,
        gain_power=gain_power,
        gain_power_se=gain_se,
        objective_alpha=objective_for_fisher_power(power),
    )
