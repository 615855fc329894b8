"""Avalanche analysis on processes whose answers are known: the critical branching process
(tau = 3/2, alpha = 2, gamma = 2, kappa = 1, sigma = 1), a subcritical one (exponential
cut-off, kappa < 1), and independent Poisson units (geometric durations, chance branching)."""

import numpy as np
import pytest

from neurodyn.analysis import (
    AvalancheStatistics,
    avalanche_statistics,
    branching_ratio,
    crackling_noise,
    criticality_curve,
    find_avalanches,
    fit_power_law,
    kappa,
    mean_inter_event_interval,
    simulate_branching_process,
)
from neurodyn.errors import ArgumentError, CorruptFile, ShapeError

pytest.importorskip("powerlaw")


@pytest.fixture(scope="module")
def critical():
    counts = simulate_branching_process(1.0, n_avalanches=8000, seed=1)
    return counts, avalanche_statistics(counts, bin_steps=1)


@pytest.fixture(scope="module")
def subcritical():
    counts = simulate_branching_process(0.5, n_avalanches=5000, seed=2)
    return counts, find_avalanches(counts, bin_steps=1)


def test_avalanches_are_runs_of_active_bins_bounded_by_empty_ones():
    counts = np.array([1, 0, 2, 1, 0, 0, 3, 0, 1, 1, 1, 0, 4])
    found = find_avalanches(counts, bin_steps=1)
    # the runs at both ends may continue outside the recording: left out
    assert found.sizes.tolist() == [3, 3, 3]
    assert found.durations.tolist() == [2, 1, 3]
    assert found.start.tolist() == [2, 6, 8]
    wide = find_avalanches(np.array([0, 0, 1, 1, 0, 0, 0, 0, 2, 0, 0, 0]), bin_steps=2)
    assert wide.sizes.tolist() == [2, 2] and wide.durations.tolist() == [1, 1]
    per_trial = find_avalanches(np.stack([counts, counts[::-1]], axis=1), bin_steps=1)
    assert per_trial.trial.tolist() == [0, 0, 0, 1, 1, 1]


def test_default_bin_is_the_mean_inter_event_interval():
    # 20 Poisson units at 0.01 spikes per step: the pooled population fires every 5 steps
    rng = np.random.default_rng(0)
    counts = rng.poisson(0.01, size=(50_000, 20)).sum(axis=1)
    assert mean_inter_event_interval(counts) == pytest.approx(5.0, rel=0.03)
    assert find_avalanches(counts).bin_steps == 5


def test_critical_branching_process_has_the_mean_field_exponents(critical):
    _, stats = critical
    assert stats.sizes.exponent == pytest.approx(1.5, abs=0.06)
    assert stats.durations.exponent == pytest.approx(2.0, abs=0.15)
    assert stats.kappa == pytest.approx(1.0, abs=0.05)
    assert stats.branching_ratio == pytest.approx(1.0, abs=0.02)
    # a power law, not a log-normal's curved tail, and far better than an exponential
    assert stats.sizes.vs_exponential > 3 and stats.sizes.p_exponential < 0.01
    assert not (stats.sizes.vs_lognormal < 0 and stats.sizes.p_lognormal < 0.05)


def test_crackling_noise_relation_holds_at_criticality(critical):
    _, stats = critical
    assert stats.crackling is not None
    assert stats.crackling.predicted == pytest.approx(2.0, abs=0.35)
    # <S>(D) approaches D^2 from below: short avalanches are not yet scaling
    found = stats.avalanches
    tail = crackling_noise(found, size_exponent=1.5, duration_exponent=2.0, min_duration=5)
    assert tail.predicted == 2.0
    assert 1.65 < tail.fitted < 2.15


def test_subcritical_process_has_a_cut_off_and_kappa_below_one(subcritical, critical):
    counts, found = subcritical
    assert kappa(found.sizes) < 0.92 < 0.95 < critical[1].kappa
    assert branching_ratio(counts) == pytest.approx(0.5, abs=0.03)
    # from x_min = 1 the sizes bend down faster than any power law: a log-normal wins
    fit = fit_power_law(found.sizes, xmin=1)
    assert fit.vs_lognormal < 0 and fit.p_lognormal < 0.01
    assert found.sizes.max() < critical[1].avalanches.sizes.max() / 10


def test_poisson_population_makes_no_avalanches_beyond_chance():
    rng = np.random.default_rng(3)
    counts = rng.poisson(0.02, size=(100_000, 50)).sum(axis=1)  # one spike per step on average
    found = find_avalanches(counts)
    assert found.bin_steps == 1
    # independent bins: a duration is geometric, P(D = d) = (1 - p0)^(d - 1) p0, p0 = e^-1
    p0 = np.exp(-1.0)
    observed = np.bincount(found.durations, minlength=6)[1:6] / len(found.durations)
    expected = (1 - p0) ** np.arange(5) * p0
    np.testing.assert_allclose(observed, expected, atol=0.01)
    # descendants per ancestor at chance, 1 - e^-1; the drive-robust regression sees none
    assert branching_ratio(counts) == pytest.approx(1 - p0, abs=0.01)
    assert branching_ratio(counts, method="regression") == pytest.approx(0.0, abs=0.02)
    # and an exponential, not a power law, describes both distributions
    for values in (found.durations, found.sizes):
        fit = fit_power_law(values, xmin=1)
        assert fit.vs_exponential < -10 and fit.p_exponential < 1e-6


def test_regression_branching_ratio_is_consistent_under_drive():
    counts = simulate_branching_process(0.9, n_avalanches=100_000, drive=0.5, seed=4)
    assert branching_ratio(counts, method="regression") == pytest.approx(0.9, abs=0.02)


def test_power_law_fit_recovers_a_planted_discrete_exponent():
    # numpy's zipf draws exactly P(k) = k^-a / zeta(a)
    sample = np.random.default_rng(5).zipf(2.5, size=20_000)
    fit = fit_power_law(sample, xmin=1)
    assert fit.exponent == pytest.approx(2.5, abs=0.03)
    assert fit.exponent_stderr < 0.02 and fit.n_tail == 20_000


def test_kappa_of_a_planted_power_law_and_of_a_bump():
    sizes = np.random.default_rng(6).zipf(1.5, size=50_000)
    assert kappa(sizes, largest=100) == pytest.approx(1.0, abs=0.02)
    bump = np.concatenate([sizes[sizes <= 100], np.full(5000, 100)])  # supercritical excess
    assert kappa(bump, largest=100) > 1.05


def test_statistics_save_and_load(critical, tmp_path):
    _, stats = critical
    path = stats.save(tmp_path / "avalanches.npz")
    back = AvalancheStatistics.load(path)
    assert back.kappa == stats.kappa and back.sizes.exponent == stats.sizes.exponent
    np.testing.assert_array_equal(back.avalanches.sizes, stats.avalanches.sizes)
    assert back.crackling is not None and back.crackling.fitted == stats.crackling.fitted
    assert "AvalancheStatistics(" in repr(back) and len(repr(back)) < 400
    (tmp_path / "bad.npz").write_bytes(b"not a zip")
    with pytest.raises(CorruptFile, match="run the analysis again"):
        AvalancheStatistics.load(tmp_path / "bad.npz")


def test_bad_inputs_get_clear_errors():
    with pytest.raises(ArgumentError, match="silent"):
        find_avalanches(np.zeros(100))
    with pytest.raises(ArgumentError, match="silent"):
        branching_ratio(np.zeros(100))
    with pytest.raises(ArgumentError, match="no bin of 2 steps is empty"):
        find_avalanches(np.ones(100), bin_steps=2)
    with pytest.raises(ShapeError, match="sum spikes"):
        find_avalanches(np.zeros((10, 2, 3)))
    with pytest.raises(ArgumentError, match="non-negative"):
        find_avalanches(-np.ones(10))
    with pytest.raises(ArgumentError, match="at least 10"):
        fit_power_law([1, 2, 3])
    with pytest.raises(ArgumentError, match="unknown method"):
        branching_ratio(np.array([0, 1, 2, 0]), method="mr")  # type: ignore[arg-type]


def test_criticality_curve_skips_values_without_avalanches():
    # the last noise level made no avalanches in any repeat: it cannot be the optimum
    nan = float("nan")
    curve = criticality_curve(
        [0.1, 1.0, 10.0], [[1.3, 1.1, nan], [1.2, nan, nan]], coding_error=[[3, 1, 2], [3, 1, 2]]
    )
    assert curve.kappa_optimum == 1.0 and curve.error_minimum == 1.0
    with pytest.raises(ArgumentError, match="every repeat was silent"):
        _ = criticality_curve([0.1, 1.0], [[nan, nan]]).kappa_optimum
    with pytest.raises(ShapeError, match="R = 2"):
        criticality_curve([0.1, 1.0], [[1.0, 1.0, 1.0]])
