"""Measures of a population code for a circular stimulus.

Written to reproduce the analyses of Bredenberg, Simoncelli & Savin (NeurIPS 2020),
"Learning efficient task-dependent representations with synaptic plasticity": a stochastic
rate circuit (`neurodyn.models.stochastic`) driven by an angle theta learns to estimate theta
or to classify its sign (`neurodyn.tasks.bredenberg`), and these functions describe the code
it learns:

- `tuning_summary`: tuning curves, preferred angles and their histogram (does the code
  over-represent the likely angles, or the angles near the class boundary?);
- `decoding_bias_variance`: the readout's bias and variance at each angle;
- `d_prime`, `boundary_discriminability`, `task_discriminability`: how well the readout's
  drive separates two angles, or the two classes;
- `noise_volume_fraction`: how much of the circuit's noise falls where the readout looks;
- `current_engagement`: how strongly the recurrent circuit drives the units compared with the
  feed-forward input.

Input convention: responses recorded at A fixed test angles, `rates [A, S, N]` (S samples per
angle, pooled over time and trials; N units) and `angles [A]` in radians in [-pi, pi).
Every function takes numpy arrays or torch tensors and computes in float64 numpy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurodyn.analysis._arrays import as_float_array
from neurodyn.analysis._result import SavableResult
from neurodyn.errors import ArgumentError, ShapeError
from neurodyn.tasks.bredenberg import wrap

# Test angles given by the user (e.g. as `math.pi / 6`) are matched to the grid up to this.
ANGLE_MATCH_TOL = 1e-6


def _check_angles(angles: Any, n_angles: int | None = None) -> np.ndarray:
    angles = as_float_array(angles)
    if angles.ndim != 1 or (n_angles is not None and len(angles) != n_angles):
        expected = "[A]" if n_angles is None else f"[A={n_angles}]"
        raise ShapeError(f"angles must be {expected}, got {tuple(angles.shape)}")
    if not np.all(np.isfinite(angles)) or np.any(angles < -math.pi) or np.any(angles >= math.pi):
        raise ArgumentError(
            "angles must be finite radians in [-pi, pi); wrap them first, e.g. "
            f"np.remainder(angles + pi, 2 pi) - pi; got {angles.tolist()}"
        )
    return angles


def _check_rates(rates: Any, name: str = "rates") -> np.ndarray:
    rates = as_float_array(rates)
    if rates.ndim != 3:
        raise ShapeError(
            f"{name} must be [A, S, N] (angles, samples, units), got {tuple(rates.shape)}"
        )
    if not np.all(np.isfinite(rates)):
        raise ArgumentError(f"{name} holds NaN or infinite values")
    return rates


# --- tuning ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class TuningSummary(SavableResult):
    """Tuning curves of a population to a circular stimulus.

    Attributes
    ----------
    angles : [A]            the test angles (radians)
    tuning : [A, N]         each unit's mean rate at each angle
    preferred : [N]         each unit's preferred angle: the angle of its largest mean rate
                            (ties go to the first of them in `angles` order)
    preferred_share : [A]   fraction of units preferring each angle (sums to 1)
    population_mean : [A]   mean over units of `tuning`
    population_sem : [A]    standard error of that mean across units (ddof 1)
    """

    angles: np.ndarray
    tuning: np.ndarray
    preferred: np.ndarray
    preferred_share: np.ndarray
    population_mean: np.ndarray
    population_sem: np.ndarray


def tuning_summary(rates: Any, angles: Any) -> TuningSummary:
    """Tuning curves, preferred angles and their histogram.

    Parameters
    ----------
    rates : [A, S, N]   responses at each test angle (S samples, N >= 2 units)
    angles : [A]        the test angles, radians in [-pi, pi)

    Returns
    -------
    TuningSummary

    Example
    -------
    >>> angles = np.array([-np.pi / 2, 0.0, np.pi / 2])
    >>> rates = np.zeros((3, 4, 2))
    >>> rates[1, :, 0] = 1.0  # unit 0 fires at 0
    >>> rates[2, :, 1] = 3.0  # unit 1 fires at pi / 2
    >>> summary = tuning_summary(rates, angles)
    >>> np.degrees(summary.preferred).tolist(), summary.preferred_share.tolist()
    ([0.0, 90.0], [0.0, 0.5, 0.5])
    >>> summary.population_mean.tolist()
    [0.0, 0.5, 1.5]
    """
    rates = _check_rates(rates)
    n_angles, _, n_units = rates.shape
    angles = _check_angles(angles, n_angles)
    if n_units < 2:
        raise ShapeError(f"rates must hold at least 2 units for an SEM, got N = {n_units}")
    tuning = rates.mean(axis=1)
    preferred_index = tuning.argmax(axis=0)
    return TuningSummary(
        angles=angles,
        tuning=tuning,
        preferred=angles[preferred_index],
        preferred_share=np.bincount(preferred_index, minlength=n_angles) / n_units,
        population_mean=tuning.mean(axis=1),
        population_sem=tuning.std(axis=1, ddof=1) / math.sqrt(n_units),
    )


# --- decoding error -------------------------------------------------------------------------


@dataclass(frozen=True)
class DecodingBiasVariance(SavableResult):
    """Bias and variance of a readout's output at each test angle (a result, not an exception).

    Attributes
    ----------
    angles : [A]           the test angles (radians)
    bias : [A, k]          mean over samples of `target - output`
    variance : [A, k]      variance over samples of the output (ddof 0)
    squared_bias : [A]     `sum_k bias^2`
    total_variance : [A]   `sum_k variance`; with `squared_bias` it sums to the mean squared
                           error `mean |target - output|^2` at each angle
    """

    angles: np.ndarray
    bias: np.ndarray
    variance: np.ndarray
    squared_bias: np.ndarray
    total_variance: np.ndarray


def decoding_bias_variance(outputs: Any, targets: Any, angles: Any) -> DecodingBiasVariance:
    """Split the readout's mean squared error at each angle into squared bias and variance.

    Parameters
    ----------
    outputs : [A, S, k]   the readout's output for S samples at each angle (k = 2 for the
                          estimation task's `(cos theta, sin theta)`, 1 for classification)
    targets : [A, k]      what the output should be at each angle
    angles : [A]          the test angles, radians in [-pi, pi) (kept for plotting)

    Returns
    -------
    DecodingBiasVariance

    Example
    -------
    >>> outputs = np.array([[[0.5], [1.5]], [[2.0], [2.0]]])  # [A=2, S=2, k=1]
    >>> result = decoding_bias_variance(outputs, np.array([[0.0], [3.0]]), np.array([0.0, 1.0]))
    >>> result.bias[:, 0].tolist(), result.variance[:, 0].tolist()
    ([-1.0, 1.0], [0.25, 0.0])
    """
    outputs = as_float_array(outputs)
    targets = as_float_array(targets)
    if outputs.ndim != 3:
        raise ShapeError(
            f"outputs must be [A, S, k] (angles, samples, outputs), got {tuple(outputs.shape)}"
        )
    n_angles, _, n_outputs = outputs.shape
    if targets.shape != (n_angles, n_outputs):
        raise ShapeError(
            f"targets must be [A={n_angles}, k={n_outputs}] like outputs [A, S, k], "
            f"got {tuple(targets.shape)}"
        )
    angles = _check_angles(angles, n_angles)
    bias = targets - outputs.mean(axis=1)
    variance = outputs.var(axis=1)
    return DecodingBiasVariance(
        angles=angles,
        bias=bias,
        variance=variance,
        squared_bias=(bias**2).sum(axis=1),
        total_variance=variance.sum(axis=1),
    )


# --- discriminability -----------------------------------------------------------------------


def d_prime(z_a: Any, z_b: Any) -> float:
    """Discriminability of two samples of a scalar: `|mean_a - mean_b| / sqrt((var_a +
    var_b) / 2)`, variances with ddof 0.

    Parameters
    ----------
    z_a : [S_a]
        One sample (e.g. the readout's drive `D r` at one angle).
    z_b : [S_b]
        The other sample.

    Returns
    -------
    float
        d' >= 0.

    Raises
    ------
    ArgumentError
        When both samples are constant (d' is then undefined).

    Example
    -------
    >>> d_prime(np.array([-1.0, 1.0]), np.array([1.0, 3.0]))
    2.0
    """
    z_a, z_b = as_float_array(z_a), as_float_array(z_b)
    for name, z in (("z_a", z_a), ("z_b", z_b)):
        if z.ndim != 1 or len(z) == 0:
            raise ShapeError(f"{name} must be a non-empty [S] array, got {tuple(z.shape)}")
    pooled_variance = (z_a.var() + z_b.var()) / 2
    if pooled_variance <= 0:
        raise ArgumentError("d' is undefined: both samples are constant (zero pooled variance)")
    return float(abs(z_a.mean() - z_b.mean()) / math.sqrt(pooled_variance))


def _check_projections(projections: Any, angles: Any) -> tuple[np.ndarray, np.ndarray]:
    projections = as_float_array(projections)
    if projections.ndim != 2:
        raise ShapeError(
            f"projections must be [A, S] (angles, samples), got {tuple(projections.shape)}"
        )
    return projections, _check_angles(angles, projections.shape[0])


def _angle_index(angles: np.ndarray, angle: float, pair_name: str) -> int:
    """Index of the test angle equal to `angle` on the circle (so pi finds -pi)."""
    distance = np.abs(wrap(angles - angle))
    index = int(distance.argmin())
    if not np.isclose(distance[index], 0.0, rtol=0.0, atol=ANGLE_MATCH_TOL):
        grid = ", ".join(f"{d:.6g}" for d in np.degrees(angles))
        raise ArgumentError(
            f"pair {pair_name!r}: angle {angle:.6g} rad ({math.degrees(angle):.6g} deg) is not "
            f"one of the test angles (degrees: {grid}); pick angles from the grid"
        )
    return index


def boundary_discriminability(
    projections: Any, angles: Any, pairs: Mapping[str, tuple[float, float]]
) -> dict[str, float]:
    """d' between the projections at each named pair of test angles.

    Parameters
    ----------
    projections : [A, S]   a scalar projection of the responses (e.g. the classification
                           readout's drive `D r`) for S samples at each angle
    angles : [A]           the test angles, radians in [-pi, pi)
    pairs : name -> (angle_1, angle_2) in radians, e.g. `{"at boundary": (-0.1, 0.1),
            "away": (1.47, 1.67)}`; each angle must be one of `angles` (up to 1e-6 rad, on the
            circle: pi matches -pi)

    Returns
    -------
    dict of pair name -> d' (`d_prime`)

    Example
    -------
    >>> angles = np.array([-1.0, 0.0, 1.0])
    >>> projections = np.array([[-1.0, 1.0], [1.0, 3.0], [5.0, 7.0]])
    >>> boundary_discriminability(projections, angles, {"near": (-1.0, 0.0), "far": (-1.0, 1.0)})
    {'near': 2.0, 'far': 6.0}
    """
    projections, angles = _check_projections(projections, angles)
    result = {}
    for name, (angle_1, angle_2) in pairs.items():
        first = _angle_index(angles, angle_1, name)
        second = _angle_index(angles, angle_2, name)
        result[name] = d_prime(projections[first], projections[second])
    return result


def task_discriminability(projections: Any, angles: Any) -> float:
    """d' between all samples at angles theta > 0 and all at theta < 0: how well a projection
    separates the classification task's two classes over the whole test grid.

    Samples at theta == 0 and theta == -pi exactly are left out: they lie on the class
    boundary (the task labels both "upper"), so they belong to neither side of this contrast.

    Parameters
    ----------
    projections : [A, S]   a scalar projection of the responses at each angle
    angles : [A]           the test angles, radians in [-pi, pi)

    Returns
    -------
    float
        d' of the samples at theta > 0 against those at theta < 0.

    Example
    -------
    >>> angles = np.array([-np.pi, -1.0, 0.0, 1.0])
    >>> projections = np.array([[9.0, 9.0], [-2.0, 0.0], [9.0, 9.0], [0.0, 2.0]])
    >>> task_discriminability(projections, angles)
    2.0
    """
    projections, angles = _check_projections(projections, angles)
    upper, lower = angles > 0, (angles < 0) & (angles != -math.pi)
    if not upper.any() or not lower.any():
        raise ArgumentError(
            "task_discriminability needs test angles on both sides of 0 (other than 0 and "
            f"-pi); got {angles.tolist()}"
        )
    return d_prime(projections[upper].ravel(), projections[lower].ravel())


# --- noise and the readout ------------------------------------------------------------------


def noise_volume_fraction(rates: Any, readout: Any) -> np.ndarray:
    """The share of the noise volume that falls in the readout's subspace, per test angle.

    At each angle, with `Sigma [N, N]` the covariance of the rates over samples and `V [N, k]`
    an orthonormal basis of the readout's row space (its top-k right singular vectors),

        fraction = det(V^T Sigma V) / prod(top-k eigenvalues of Sigma)

    the noise volume seen through the readout over the largest noise volume any k-dimensional
    subspace sees (that of the principal noise subspace). It lies in [0, 1] (the eigenvalues of
    `V^T Sigma V` interlace those of Sigma: Cauchy, Ky Fan), equals 1 when the readout spans the
    top-k noise principal components and is near 0 when the readout looks where there is little
    noise. It does not depend on the readout's scale or on which basis of its row space the
    rows are.

    The authors' code also has an entropy-ratio variant (a ratio of Gaussian entropies, i.e. of
    log-determinants), which is not bounded: log-determinants change sign as volumes cross 1.
    We use the determinant ratio.

    Parameters
    ----------
    rates : [A, S, N]    responses at each test angle (S >= 2 samples)
    readout : [k, N]     the linear readout D, of rank k (k <= N)

    Returns
    -------
    [A] fractions in [0, 1]

    Raises ArgumentError when the readout's rows are linearly dependent, or when the covariance at
    an angle has fewer than k directions with noise (e.g. rates that never vary).

    Example
    -------
    >>> rng = np.random.default_rng(0)
    >>> rates = rng.standard_normal((1, 2000, 2)) * np.array([1.0, 0.1])  # var 1 and 0.01
    >>> noise_volume_fraction(rates, np.array([[1.0, 0.0]])).round(3).tolist()
    [1.0]
    >>> float(noise_volume_fraction(rates, np.array([[0.0, 1.0]]))[0]) < 0.02
    True
    """
    rates = _check_rates(rates)
    readout = as_float_array(readout)
    n_angles, n_samples, n_units = rates.shape
    if readout.ndim != 2 or readout.shape[1] != n_units or not 1 <= readout.shape[0] <= n_units:
        raise ShapeError(
            f"readout must be [k, N={n_units}] with 1 <= k <= N, got {tuple(readout.shape)}"
        )
    if n_samples < 2:
        raise ShapeError(f"rates must hold at least 2 samples per angle, got S = {n_samples}")
    k = readout.shape[0]
    _, singular_values, right_vectors = np.linalg.svd(readout, full_matrices=False)
    if not singular_values[-1] > 1e-10 * singular_values[0]:
        raise ArgumentError(
            f"the readout's {k} rows are linearly dependent (singular values "
            f"{singular_values.tolist()}); drop the redundant rows"
        )
    basis = right_vectors[:k].T  # [N, k]
    fractions = np.empty(n_angles)
    for a in range(n_angles):
        covariance = np.atleast_2d(np.cov(rates[a], rowvar=False))
        top = np.linalg.eigvalsh(covariance)[::-1][:k]
        if not (top[0] > 0 and top[-1] > 1e-12 * top[0]):
            raise ArgumentError(
                f"the rates' covariance at angle index {a} (rates[{a}]) has fewer than k = {k} "
                f"directions with noise (top eigenvalues {top.tolist()}); the fraction is "
                "undefined there: record more samples or check that the circuit is noisy"
            )
        sign, log_seen = np.linalg.slogdet(basis.T @ covariance @ basis)
        # rounding can make a volume that is exactly 0 or exactly the maximum overshoot slightly
        fractions[a] = 0.0 if sign <= 0 else np.exp(log_seen - np.log(top).sum())
    return np.clip(fractions, 0.0, 1.0)


# --- recurrent versus input drive -----------------------------------------------------------


@dataclass(frozen=True)
class Engagement(SavableResult):
    """How strongly the recurrent circuit drives the units, compared with the input.

    Attributes
    ----------
    recurrent : [A]   mean over samples and units of the recurrent current `|W r|`
    input : [A]       mean over units of the feed-forward current `|C s(theta)|`
    ratio : float     `mean(recurrent) / mean(input)` over the angles; above 1 the recurrent
                      circuit drives the units more than the stimulus does
    """

    recurrent: np.ndarray
    input: np.ndarray
    ratio: float


def current_engagement(
    rates: Any, inputs: Any, recurrent_weights: Any, input_weights: Any
) -> Engagement:
    """Size of the recurrent current `W r` against the feed-forward current `C s(theta)`.

    The leak and the bias b are left out: the question is how much the circuit's own
    recurrence, rather than the stimulus, drives the units. Currents are compared by their
    absolute values per unit, since excitation and inhibition both drive a unit.

    Parameters
    ----------
    rates : [A, S, N]              responses at each test angle
    inputs : [A, K]                the input tuning curves s(theta) at each test angle
                                   (`neurodyn.models.stochastic.tuning`)
    recurrent_weights : [N, N]     W (row: to, column: from); `W r` is `rates @ W.T`
    input_weights : [N, K]         C

    Returns
    -------
    Engagement

    Example
    -------
    >>> rates = np.ones((2, 3, 4))  # every unit at rate 1
    >>> engagement = current_engagement(rates, np.ones((2, 1)), 2 * np.eye(4), np.ones((4, 1)))
    >>> engagement.recurrent.tolist(), engagement.input.tolist(), engagement.ratio
    ([2.0, 2.0], [1.0, 1.0], 2.0)
    """
    rates = _check_rates(rates)
    inputs = as_float_array(inputs)
    recurrent_weights = as_float_array(recurrent_weights)
    input_weights = as_float_array(input_weights)
    n_angles, _, n_units = rates.shape
    if recurrent_weights.shape != (n_units, n_units):
        raise ShapeError(
            f"recurrent_weights must be [N={n_units}, N={n_units}], "
            f"got {tuple(recurrent_weights.shape)}"
        )
    if input_weights.ndim != 2 or input_weights.shape[0] != n_units:
        raise ShapeError(
            f"input_weights must be [N={n_units}, K], got {tuple(input_weights.shape)}"
        )
    n_inputs = input_weights.shape[1]
    if inputs.shape != (n_angles, n_inputs):
        raise ShapeError(
            f"inputs must be [A={n_angles}, K={n_inputs}] (K from input_weights [N, K]), "
            f"got {tuple(inputs.shape)}"
        )
    # one angle at a time: W r for all samples at once would be another [A, S, N] array
    recurrent = np.array([np.abs(rates[a] @ recurrent_weights.T).mean() for a in range(n_angles)])
    input_current = np.abs(inputs @ input_weights.T).mean(axis=1)
    if not input_current.mean() > 0:
        raise ArgumentError("the input current C s(theta) is zero at every angle; no ratio to take")
    return Engagement(
        recurrent=recurrent,
        input=input_current,
        ratio=float(recurrent.mean() / input_current.mean()),
    )
