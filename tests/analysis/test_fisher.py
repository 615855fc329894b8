"""Linear Fisher information and the allocation of a population over a prior, on populations
whose answer is known: independent Poisson units of known tuning (closed form Fisher
information), and populations planted as Ganguli & Simoncelli's optimal ones for a prior."""

import math

import numpy as np
import pytest
from scipy.special import i0

from neurodyn.analysis.fisher import (
    efficient_code,
    fit_prior_powers,
    linear_fisher,
    objective_for_fisher_power,
    population_allocation,
    responses_by_stimulus,
)
from neurodyn.errors import ArgumentError, ShapeError

N_UNITS = 12
PHI = -math.pi + 2 * math.pi * np.arange(N_UNITS) / N_UNITS


def von_mises(s, kappa, mu=0.0):
    return np.exp(kappa * np.cos(s - mu)) / (2 * math.pi * i0(kappa))


def tuning(s):
    return 1 + 10 * np.exp(2 * (np.cos(s[:, None] - PHI) - 1))


def tuning_slope(s):
    return -20 * np.sin(s[:, None] - PHI) * np.exp(2 * (np.cos(s[:, None] - PHI) - 1))


def poisson_population(n_stimuli, n_trials, seed):
    grid = -math.pi + 2 * math.pi * np.arange(n_stimuli) / n_stimuli
    rng = np.random.default_rng(seed)
    counts = rng.poisson(tuning(grid)[:, None, :], size=(n_stimuli, n_trials, N_UNITS))
    return counts.astype(float), grid


def test_poisson_population_matches_the_closed_form():
    """Independent Poisson units: I(s) = sum_i f_i'(s)^2 / f_i(s)."""
    counts, grid = poisson_population(36, 2000, seed=1)
    result = linear_fisher(counts, grid)
    truth = (tuning_slope(result.stimuli) ** 2 / tuning(result.stimuli)).sum(1)
    assert result.method == "bias-corrected" and result.fisher.shape == (36,)
    # every point within 3.5 of its own standard errors, the whole curve within 3%
    z = (result.fisher - truth) / np.sqrt(result.variance)
    assert np.abs(z).max() < 3.5
    assert abs(result.fisher.mean() / truth.mean() - 1) < 0.03
    np.testing.assert_allclose(result.threshold, 1 / np.sqrt(result.fisher))


def test_the_bias_correction_removes_the_plug_in_bias_with_few_trials():
    """With T = 40 trials for 12 units the plug-in estimate is far too large; the corrected one
    is unbiased for the finite-difference Fisher information `df^T Sigma^-1 df / ds^2`."""
    grid_size, n_trials = 36, 40
    estimates, naive = [], []
    for seed in range(10):
        counts, grid = poisson_population(grid_size, n_trials, seed)
        result = linear_fisher(counts, grid)
        estimates.append(result.fisher)
        naive.append(result.naive)
    upper = np.roll(grid, -1)
    upper[-1] += 2 * math.pi
    slope = (tuning(upper) - tuning(grid)) / (upper - grid)[:, None]
    truth = (slope**2 / ((tuning(upper) + tuning(grid)) / 2)).sum(1)
    assert np.mean(naive) / truth.mean() > 1.25
    assert abs(np.mean(estimates) / truth.mean() - 1) < 0.05


def test_ensemble_axis_is_kept():
    counts, grid = poisson_population(12, 200, seed=0)
    both = linear_fisher(np.stack([counts, 2 * counts]), grid)
    one = linear_fisher(counts, grid)
    assert both.fisher.shape == (2, 12)
    np.testing.assert_allclose(both.fisher[0], one.fisher)
    # doubling the responses doubles the signal and the noise: the naive estimate is unchanged
    np.testing.assert_allclose(both.naive[1], one.naive)


def test_a_line_stimulus_has_one_point_fewer():
    counts, grid = poisson_population(12, 200, seed=0)
    result = linear_fisher(counts, grid, period=None)
    assert result.stimuli.shape == (11,)
    np.testing.assert_allclose(result.stimuli, (grid[1:] + grid[:-1]) / 2)


def test_too_few_trials_is_refused_with_the_remedies():
    counts, grid = poisson_population(12, 7, seed=0)  # (N + 3) / 2 = 7.5 trials needed
    with pytest.raises(ArgumentError, match=r"T = 7.*shrinkage='ledoit-wolf'"):
        linear_fisher(counts, grid)


def test_ledoit_wolf_shrinkage_matches_scikit_learn():
    from sklearn.covariance import ledoit_wolf

    counts, grid = poisson_population(6, 5, seed=3)  # 10 pooled trials for 12 units
    result = linear_fisher(counts, grid, shrinkage="ledoit-wolf")
    assert result.method == "shrinkage ledoit-wolf" and np.all(np.isnan(result.variance))
    pair = np.concatenate([c - c.mean(0) for c in counts[:2]])
    covariance, intensity = ledoit_wolf(pair, assume_centered=True)
    slope = (counts[1].mean(0) - counts[0].mean(0)) / (grid[1] - grid[0])
    assert result.shrinkage[0] == pytest.approx(intensity)
    assert result.fisher[0] == pytest.approx(slope @ np.linalg.solve(covariance, slope))


def test_a_fixed_shrinkage_of_one_keeps_only_the_mean_variance():
    counts, grid = poisson_population(6, 5, seed=3)
    result = linear_fisher(counts, grid, shrinkage=1.0)
    pair = np.concatenate([c - c.mean(0) for c in counts[:2]])
    mean_variance = (pair**2).sum() / (len(pair) - 2) / N_UNITS
    slope = (counts[1].mean(0) - counts[0].mean(0)) / (grid[1] - grid[0])
    assert result.fisher[0] == pytest.approx((slope**2).sum() / mean_variance)


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"shrinkage": "oas"}, ArgumentError, "ledoit-wolf"),
        ({"shrinkage": 1.5}, ArgumentError, r"\[0, 1\]"),
        ({"period": 1.0}, ArgumentError, "one period"),
    ],
)
def test_bad_arguments_are_named(kwargs, error, match):
    counts, grid = poisson_population(6, 50, seed=0)
    with pytest.raises(error, match=match):
        linear_fisher(counts, grid, **kwargs)


def test_bad_shapes_are_named():
    with pytest.raises(ShapeError, match=r"\[\.\.\., A, S, N\]"):
        linear_fisher(np.zeros((3, 4)), [0.0, 1.0, 2.0])
    with pytest.raises(ArgumentError, match="increasing"):
        linear_fisher(np.zeros((3, 4, 2)), [0.0, 2.0, 1.0])


def test_responses_by_stimulus_groups_trials_and_refuses_uneven_counts():
    states = np.arange(16.0).reshape(2, 4, 2)  # [E, B, N]: member 1's trials are 8..15
    grouped = responses_by_stimulus(states, [1.0, 0.0, 1.0, 0.0], [0.0, 1.0])
    assert grouped.shape == (2, 2, 2, 2)
    np.testing.assert_array_equal(grouped[1, :, :, 0], [[10.0, 14.0], [8.0, 12.0]])
    with pytest.raises(ArgumentError, match="same number of trials"):
        responses_by_stimulus(states, [1.0, 0.0, 1.0, 1.0], [0.0, 1.0])
    with pytest.raises(ArgumentError, match="off the grid"):
        responses_by_stimulus(states, [1.0, 0.5, 1.0, 0.0], [0.0, 1.0])


# --- planted efficient populations -----------------------------------------------------------


def planted_population(prior, density_power, gain_power, *, n_units=32, seed=0):
    """Ganguli & Simoncelli's warped population: units at the quantiles of p^density_power,
    tuning widths ~ 1 / density, gains ~ p(preferred)^gain_power; Poisson counts."""
    fine = np.linspace(-math.pi, math.pi, 20001)
    weight = prior(fine) ** density_power
    cdf = np.concatenate([[0], np.cumsum((weight[1:] + weight[:-1]) / 2 * np.diff(fine))])
    cdf /= cdf[-1]
    grid = -math.pi + 2 * math.pi * np.arange(48) / 48
    warped = n_units * np.interp(grid, fine, cdf)
    centres = np.arange(n_units) + 0.5
    preferred = np.interp(centres / n_units, cdf, fine)
    gains = prior(preferred) ** gain_power
    gains = 20 * gains / gains.mean()
    offset = (warped[:, None] - centres + n_units / 2) % n_units - n_units / 2
    rates = 0.1 + gains * np.exp(-(offset**2) / 2)
    rng = np.random.default_rng(seed)
    counts = rng.poisson(rates[:, None, :], size=(48, 400, n_units)).astype(float)
    return counts, grid


@pytest.mark.parametrize(
    ("alpha", "density_power", "gain_power", "fisher_power"),
    [(0.0, 1.0, 0.0, 2.0), (1.0, 0.5, -0.5, 0.5)],  # infomax, discrimax
)
def test_planted_efficient_populations_give_back_their_powers(
    alpha, density_power, gain_power, fisher_power
):
    prior = lambda s: von_mises(s, 2.0)  # noqa: E731
    code = efficient_code(prior, np.linspace(-3, 3, 7), alpha=alpha)
    assert code.powers["density"] == pytest.approx(density_power)
    assert code.powers["gain"] == pytest.approx(gain_power)
    assert code.powers["fisher"] == pytest.approx(fisher_power)
    counts, grid = planted_population(prior, density_power, gain_power)
    fisher = linear_fisher(counts, grid)
    allocation = population_allocation(counts, grid)
    powers = fit_prior_powers(fisher, allocation, prior)
    assert powers.fisher_power == pytest.approx(fisher_power, abs=0.25 * fisher_power)
    assert powers.threshold_power == pytest.approx(-powers.fisher_power / 2)
    assert abs(powers.density_power - density_power) < 3 * powers.density_power_se
    assert powers.gain_power == pytest.approx(gain_power, abs=0.1)
    if alpha:
        assert powers.objective_alpha == pytest.approx(alpha, abs=0.2)


def test_a_uniform_population_follows_no_power_of_the_prior():
    prior = lambda s: von_mises(s, 2.0)  # noqa: E731
    counts, grid = planted_population(lambda s: np.ones_like(s), 1.0, 0.0)
    powers = fit_prior_powers(
        linear_fisher(counts, grid), population_allocation(counts, grid), prior
    )
    assert abs(powers.fisher_power) < 0.2
    assert abs(powers.density_power) < 3 * powers.density_power_se


def test_efficient_code_meets_its_constraints():
    grid = -math.pi + 2 * math.pi * np.arange(24) / 24
    width = 2 * math.pi / 24
    code = efficient_code(lambda s: von_mises(s, 1.5), grid, alpha=0.5, n_units=40, total_rate=7)
    assert (code.density * width).sum() == pytest.approx(40)
    assert (code.prior * code.gain * width).sum() == pytest.approx(7)
    slope = np.polyfit(np.log(code.prior), np.log(code.fisher), 1)[0]
    assert slope == pytest.approx(code.powers["fisher"])
    with pytest.raises(ArgumentError, match="positive"):
        efficient_code(np.zeros(24), grid)


def test_objective_for_fisher_power_inverts_the_family():
    for alpha in (0.0, 0.5, 1.0, 3.0):
        power = efficient_code(np.ones(3), [0.0, 1.0, 2.0], alpha=alpha).powers["fisher"]
        assert objective_for_fisher_power(power) == pytest.approx(alpha)
    assert math.isnan(objective_for_fisher_power(2.5))


def test_population_allocation_density_and_unresponsive_units():
    grid = np.array([0.0, 1.0, 2.0, 3.0])
    tuning = np.zeros((4, 3))
    tuning[1, 0] = tuning[1, 1] = 2.0  # two units prefer 1.0; unit 2 never responds
    allocation = population_allocation(tuning[:, None, :], grid, period=4.0)
    assert allocation.responsive.tolist() == [True, True, False]
    assert allocation.density.tolist() == [0.0, 1.0, 0.0, 0.0]
    assert allocation.gain.tolist() == [2.0, 2.0, 0.0]


def test_results_save_and_load(tmp_path):
    counts, grid = poisson_population(12, 100, seed=0)
    result = linear_fisher(counts, grid)
    loaded = type(result).load(result.save(tmp_path / "fisher.npz"))
    np.testing.assert_array_equal(loaded.fisher, result.fisher)
    assert loaded.method == result.method and "fisher=[12] float64" in repr(result)
