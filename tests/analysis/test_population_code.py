"""Population-code measures (Bredenberg, Simoncelli & Savin 2020), checked on planted answers."""

import math

import matplotlib.pyplot as plt
import numpy as np
import pytest
import torch
from matplotlib.figure import Figure

from neurodyn.analysis.population_code import (
    DecodingBiasVariance,
    Engagement,
    TuningSummary,
    boundary_discriminability,
    current_engagement,
    d_prime,
    decoding_bias_variance,
    noise_volume_fraction,
    task_discriminability,
    tuning_summary,
)
from neurodyn.errors import ArgumentError, ShapeError
from neurodyn.plot.population_code import (
    plot_bias_variance,
    plot_discriminability,
    plot_engagement,
    plot_noise_volume_fraction,
    plot_population_tuning,
    plot_preferred_stimuli,
    plot_reward_curves,
)

ANGLES = -math.pi + 2 * math.pi * np.arange(12) / 12  # a 30-degree grid in [-pi, pi)


def von_mises_tuning(angles: np.ndarray, preferred: np.ndarray, kappa: float = 2.0) -> np.ndarray:
    """`[A, N]` bump tuning curves exp(kappa (cos(theta - preferred) - 1))."""
    return np.exp(kappa * (np.cos(angles[:, None] - preferred[None, :]) - 1))


def samples_with_covariance(covariance: np.ndarray, n_samples: int, seed: int) -> np.ndarray:
    """`[S, N]` samples whose sample covariance (ddof 1) is exactly `covariance`."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((n_samples, len(covariance)))
    x -= x.mean(0)
    whiten = np.linalg.inv(np.linalg.cholesky(np.cov(x, rowvar=False)))
    return x @ whiten.T @ np.linalg.cholesky(covariance).T


def random_rotation(n: int, seed: int) -> np.ndarray:
    q, r = np.linalg.qr(np.random.default_rng(seed).standard_normal((n, n)))
    return q * np.sign(np.diag(r))


# --- tuning ---------------------------------------------------------------------------------


def test_tuning_summary_recovers_planted_preferred_angles_and_their_histogram():
    rng = np.random.default_rng(0)
    counts = np.array([0, 1, 2, 3, 8, 12, 12, 8, 3, 2, 1, 0])  # units per preferred angle
    preferred_index = rng.permutation(np.repeat(np.arange(12), counts))
    planted = ANGLES[preferred_index]
    tuning = von_mises_tuning(ANGLES, planted)  # [A, N]
    rates = tuning[:, None, :] + 0.01 * rng.standard_normal((12, 50, len(planted)))

    summary = tuning_summary(rates, ANGLES)

    np.testing.assert_array_equal(summary.preferred, planted)
    np.testing.assert_allclose(summary.preferred_share, counts / counts.sum())
    assert summary.preferred_share.sum() == pytest.approx(1.0)
    analytic_mean = tuning.mean(1)
    np.testing.assert_allclose(summary.population_mean, analytic_mean, atol=2e-3)
    analytic_sem = tuning.std(1, ddof=1) / math.sqrt(len(planted))
    np.testing.assert_allclose(summary.population_sem, analytic_sem, atol=2e-3)
    assert summary.tuning.shape == (12, len(planted))


def test_tuning_summary_takes_tensors_and_saves(tmp_path):
    preferred = ANGLES[[2, 5, 5, 9]]
    rates = torch.tensor(von_mises_tuning(ANGLES, preferred))[:, None, :].repeat(1, 3, 1)
    summary = tuning_summary(rates, torch.tensor(ANGLES))
    np.testing.assert_allclose(summary.preferred, preferred)
    loaded = TuningSummary.load(summary.save(tmp_path / "tuning.npz"))
    np.testing.assert_array_equal(loaded.preferred_share, summary.preferred_share)


def test_tuning_summary_rejects_bad_shapes_and_angles():
    with pytest.raises(ShapeError, match=r"rates must be \[A, S, N\]"):
        tuning_summary(np.zeros((12, 5)), ANGLES)
    with pytest.raises(ShapeError, match=r"angles must be \[A=12\]"):
        tuning_summary(np.zeros((12, 5, 3)), ANGLES[:-1])
    with pytest.raises(ArgumentError, match=r"\[-pi, pi\)"):
        tuning_summary(np.zeros((12, 5, 3)), ANGLES + 1.0)


# --- decoding error -------------------------------------------------------------------------


def test_bias_and_variance_of_an_offset_noisy_readout():
    rng = np.random.default_rng(1)
    n_samples = 4000
    offset, sd = np.array([0.3, -0.2]), np.array([0.1, 0.5])
    targets = np.stack([np.cos(ANGLES), np.sin(ANGLES)], axis=-1)  # [A, 2]
    outputs = targets[:, None, :] + offset + sd * rng.standard_normal((12, n_samples, 2))

    result = decoding_bias_variance(outputs, targets, ANGLES)

    np.testing.assert_allclose(result.bias, np.broadcast_to(-offset, (12, 2)), atol=0.04)
    np.testing.assert_allclose(result.variance, np.broadcast_to(sd**2, (12, 2)), rtol=0.1)
    np.testing.assert_allclose(result.squared_bias, (offset**2).sum(), rtol=0.15)
    np.testing.assert_allclose(result.total_variance, (sd**2).sum(), rtol=0.1)
    # squared bias and variance add up to the mean squared error
    mse = ((targets[:, None, :] - outputs) ** 2).sum(-1).mean(1)
    np.testing.assert_allclose(result.squared_bias + result.total_variance, mse)
    np.testing.assert_array_equal(result.angles, ANGLES)


def test_decoding_bias_variance_rejects_mismatched_targets():
    with pytest.raises(ShapeError, match=r"targets must be \[A=12, k=2\]"):
        decoding_bias_variance(np.zeros((12, 5, 2)), np.zeros((12, 1)), ANGLES)


# --- discriminability -----------------------------------------------------------------------


def test_d_prime_of_two_unit_gaussians_two_apart():
    rng = np.random.default_rng(2)
    z_a, z_b = rng.standard_normal(20_000), 2.0 + rng.standard_normal(30_000)
    assert d_prime(z_a, z_b) == pytest.approx(2.0, abs=0.05)
    assert d_prime(z_b, z_a) == d_prime(z_a, z_b)
    with pytest.raises(ArgumentError, match="constant"):
        d_prime(np.ones(3), np.ones(4))


def standardised_noise(n_samples: int, seed: int) -> np.ndarray:
    """`[S]` with mean exactly 0 and variance (ddof 0) exactly 1."""
    z = np.random.default_rng(seed).standard_normal(n_samples)
    return (z - z.mean()) / z.std()


def test_boundary_discriminability_picks_the_named_angles():
    # the projection's mean at angle index a is a, its spread 1: d' is the index difference
    projections = np.arange(12.0)[:, None] + standardised_noise(100, seed=3)
    pairs = {
        "near boundary": (ANGLES[5], ANGLES[7]),  # -30 and 30 degrees: 2 apart
        "wraps": (math.pi, ANGLES[3]),  # pi is the grid's -pi (index 0): 3 apart
        "given as rounded floats": (math.radians(-90), math.radians(60)),  # indices 3, 8
    }
    result = boundary_discriminability(projections, ANGLES, pairs)
    assert list(result) == list(pairs)
    assert result["near boundary"] == pytest.approx(2.0)
    assert result["wraps"] == pytest.approx(3.0)
    assert result["given as rounded floats"] == pytest.approx(5.0)


def test_boundary_discriminability_raises_on_an_angle_off_the_grid():
    projections = np.zeros((12, 10))
    with pytest.raises(ArgumentError, match=r"'off grid'.*not one of the test angles"):
        boundary_discriminability(projections, ANGLES, {"off grid": (ANGLES[1], 0.1)})


def test_task_discriminability_contrasts_the_half_circles_and_leaves_out_the_boundary():
    z = standardised_noise(200, seed=4)
    projections = np.where(ANGLES[:, None] > 0, 1.0, -1.0) + z  # [A, S]
    # the boundary angles -pi (index 0) and 0 (index 6) would ruin the contrast if counted
    projections[0] = 100.0
    projections[6] = -100.0
    assert task_discriminability(projections, ANGLES) == pytest.approx(2.0)


# --- noise volume fraction ------------------------------------------------------------------


EIGENVALUES = np.array([1.0, 0.5, 0.2, 0.05, 0.01])


def planted_rates(n_angles: int = 3, n_samples: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """`rates [A, S, 5]` whose covariance at every angle is exactly Q diag(EIGENVALUES) Q^T,
    and the eigenvectors `Q [5, 5]` (column i has eigenvalue EIGENVALUES[i])."""
    q = random_rotation(len(EIGENVALUES), seed=5)
    covariance = q @ np.diag(EIGENVALUES) @ q.T
    rates = np.stack(
        [5.0 + samples_with_covariance(covariance, n_samples, seed=a) for a in range(n_angles)]
    )
    return rates, q


def test_noise_volume_fraction_is_one_along_the_largest_noise():
    rates, q = planted_rates()
    np.testing.assert_allclose(noise_volume_fraction(rates, 3.0 * q[:, [0]].T), 1.0, atol=1e-6)
    # k = 2: any basis of the top-2 noise plane
    readout = np.array([[1.0, 2.0], [-0.5, 1.5]]) @ q[:, :2].T
    np.testing.assert_allclose(noise_volume_fraction(rates, readout), 1.0, atol=1e-6)


def test_noise_volume_fraction_is_small_where_the_noise_is_small():
    rates, q = planted_rates()
    fraction = noise_volume_fraction(rates, -0.7 * q[:, [4]].T)  # eigenvalue 0.01, top 1
    np.testing.assert_allclose(fraction, 0.01, rtol=1e-6)


def test_noise_volume_fraction_of_a_two_dimensional_readout_on_a_diagonal_covariance():
    l1, l2, l3 = 2.0, 0.8, 0.3
    rates = samples_with_covariance(np.diag([l1, l2, l3]), 300, seed=6)[None]
    readout = np.array([[0.0, 1.0, 1.0], [0.0, 2.0, -1.0]])  # spans the l2 and l3 axes
    np.testing.assert_allclose(
        noise_volume_fraction(rates, readout), (l2 * l3) / (l1 * l2), rtol=1e-6
    )


@pytest.mark.parametrize("k", [1, 2])
def test_noise_volume_fraction_lies_in_the_unit_interval(k):
    rng = np.random.default_rng(7 + k)
    for _ in range(20):
        mixing = rng.standard_normal((6, 6)) * rng.uniform(0.1, 3.0, 6)
        rates = rng.standard_normal((4, 30, 6)) @ mixing
        fraction = noise_volume_fraction(rates, rng.standard_normal((k, 6)))
        assert fraction.shape == (4,)
        assert np.all((fraction >= 0) & (fraction <= 1))


def test_noise_volume_fraction_names_a_degenerate_angle_and_a_bad_readout():
    rates, q = planted_rates()
    rates[1] = 2.0  # no noise at angle index 1
    with pytest.raises(ArgumentError, match="angle index 1"):
        noise_volume_fraction(rates, q[:, [0]].T)
    with pytest.raises(ArgumentError, match="linearly dependent"):
        noise_volume_fraction(planted_rates()[0], np.ones((2, 5)))
    with pytest.raises(ShapeError, match=r"readout must be \[k, N=5\]"):
        noise_volume_fraction(rates, np.ones((1, 4)))


# --- engagement -----------------------------------------------------------------------------


def test_current_engagement_of_planted_currents():
    n_units, n_inputs = 4, 3
    levels = np.arange(1.0, 13.0)  # rate of every unit at each of the 12 angles
    rates = np.broadcast_to(levels[:, None, None], (12, 20, n_units))
    inputs = np.zeros((12, n_inputs))
    inputs[:, 0] = levels  # only the first tuning curve is on
    input_weights = np.full((n_units, n_inputs), 0.5)

    engagement = current_engagement(rates, inputs, -2.0 * np.eye(n_units), input_weights)

    np.testing.assert_allclose(engagement.recurrent, 2.0 * levels)  # |W r| = 2 r
    np.testing.assert_allclose(engagement.input, 0.5 * levels)  # |C s| = 0.5 s_0
    assert engagement.ratio == pytest.approx(4.0)


def test_current_engagement_rejects_mismatched_weights():
    rates = np.ones((12, 5, 4))
    with pytest.raises(ShapeError, match=r"recurrent_weights must be \[N=4, N=4\]"):
        current_engagement(rates, np.ones((12, 3)), np.eye(3), np.ones((4, 3)))
    with pytest.raises(ShapeError, match=r"inputs must be \[A=12, K=3\]"):
        current_engagement(rates, np.ones((12, 2)), np.eye(4), np.ones((4, 3)))


# --- figures --------------------------------------------------------------------------------


@pytest.fixture
def summary() -> TuningSummary:
    preferred = ANGLES[[2, 5, 5, 6, 9]]
    rates = von_mises_tuning(ANGLES, preferred)[:, None, :].repeat(4, axis=1)
    return tuning_summary(rates, ANGLES)


@pytest.fixture
def decoding_error() -> DecodingBiasVariance:
    rng = np.random.default_rng(8)
    targets = np.stack([np.cos(ANGLES), np.sin(ANGLES)], axis=-1)
    outputs = targets[:, None, :] + 0.1 * rng.standard_normal((12, 30, 2))
    return decoding_bias_variance(outputs, targets, ANGLES)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_plot_preferred_stimuli_draws_a_bar_per_angle_and_the_prior(summary):
    fig = plot_preferred_stimuli(summary, prior=(0.0, 0.75))
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    heights = sorted(p.get_height() for p in ax.patches)
    assert len(ax.patches) == 12
    assert heights[-1] == pytest.approx(0.4)  # two of the five units prefer 0
    (prior_line,) = ax.get_lines()
    # the prior's share over all bins sums to about 1, like the bars'
    assert prior_line.get_ydata()[:-1].sum() * 12 / 360 == pytest.approx(1.0, rel=1e-3)
    assert len(plot_preferred_stimuli(summary, prior=None).axes[0].get_lines()) == 0


def test_plot_population_tuning_overlays_labelled_summaries(summary):
    fig = plot_population_tuning({"estimation": summary, "classification": summary})
    ax = fig.axes[0]
    assert len(ax.get_lines()) == 2
    np.testing.assert_allclose(ax.get_lines()[0].get_ydata(), summary.population_mean)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["estimation", "classification"]
    assert isinstance(plot_population_tuning(summary), Figure)


def test_plot_bias_variance_draws_bias_and_variance_per_result(decoding_error):
    fig = plot_bias_variance({"before": decoding_error, "after": decoding_error})
    lines = fig.axes[0].get_lines()
    assert len(lines) == 4
    np.testing.assert_allclose(lines[1].get_ydata(), decoding_error.total_variance)


def test_plot_noise_volume_fraction_draws_a_curve_per_label():
    fractions = {"before": np.full(12, 0.2), "after": np.linspace(0.0, 1.0, 12)}
    fig = plot_noise_volume_fraction(ANGLES, fractions)
    lines = fig.axes[0].get_lines()
    assert len(lines) == 2
    np.testing.assert_allclose(lines[1].get_ydata(), fractions["after"])
    np.testing.assert_allclose(lines[1].get_xdata(), np.degrees(ANGLES))


def test_plot_discriminability_sets_labelled_bars_side_by_side():
    d_primes = {
        "estimation": {"boundary": 1.0, "away": 2.0},
        "classification": {"boundary": 3.0, "away": 0.5},
    }
    fig = plot_discriminability(d_primes)
    ax = fig.axes[0]
    assert len(ax.patches) == 4
    assert sorted(p.get_height() for p in ax.patches) == [0.5, 1.0, 2.0, 3.0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["boundary", "away"]
    assert len(plot_discriminability({"boundary": 1.0}).axes[0].patches) == 1


def test_plot_engagement_draws_a_bar_per_label():
    engagements = {
        f"sigma = {s}": Engagement(recurrent=np.ones(2), input=np.ones(2), ratio=r)
        for s, r in [(0.1, 0.5), (0.2, 1.5), (0.4, 2.5)]
    }
    fig = plot_engagement(engagements)
    assert [p.get_height() for p in fig.axes[0].patches] == [0.5, 1.5, 2.5]


def test_plot_learning_curves_draws_raw_and_running_mean_lines():
    time = np.arange(200.0)
    curves = {"sigma = 0.2": (time, -np.exp(-time / 50)), "sigma = 0.4": (time, -time / 200)}
    fig = plot_reward_curves(curves, smoothing_window=10)
    lines = fig.axes[0].get_lines()
    assert len(lines) == 4
    running_mean = lines[3].get_ydata()
    assert len(running_mean) == 191
    # the running mean of a straight line is the line itself, shifted to each window's centre
    np.testing.assert_allclose(running_mean, -lines[3].get_xdata() / 200 - 0.5 / 200)
