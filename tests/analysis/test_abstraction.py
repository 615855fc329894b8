"""CCGP, parallelism and shattering dimensionality on planted geometries with known answers:
a factorised (abstract) code of two binary variables and conditions at orthogonal positions."""

import itertools

import numpy as np
import pytest
import torch

from neurodyn.analysis import (
    Abstraction,
    abstraction,
    balanced_dichotomies,
    ccgp,
    fit_linear_classifier,
    parallelism_score,
    regression_generalisation,
    shattering_dimensionality,
)
from neurodyn.errors import ArgumentError, ShapeError

N_UNITS, PER_CONDITION, NOISE = 40, 60, 0.1


def _samples(means: np.ndarray, rows: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """PER_CONDITION noisy samples around each condition's mean; labels the condition's row."""
    rng = np.random.default_rng(seed)
    states = np.concatenate(
        [m + NOISE * rng.standard_normal((PER_CONDITION, means.shape[1])) for m in means]
    )
    labels = np.repeat(rows, PER_CONDITION, axis=0)
    return states, labels


def _rows(n_variables: int) -> np.ndarray:
    return np.array(list(itertools.product((0, 1), repeat=n_variables)))


def factorised(n_variables: int = 2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Each variable moves the state along its own random direction: an abstract code."""
    rng = np.random.default_rng(seed)
    rows = _rows(n_variables)
    axes = rng.standard_normal((n_variables, N_UNITS))
    axes /= np.linalg.norm(axes, axis=1, keepdims=True)
    means = (2 * rows - 1) @ axes
    return _samples(means, rows, seed + 1)


def orthogonal(n_variables: int = 2, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Each condition at its own orthogonal position (a unit vector): no abstraction."""
    rows = _rows(n_variables)
    means = np.eye(len(rows), N_UNITS)
    return _samples(means, rows, seed + 1)


def test_a_factorised_code_is_abstract_and_reads_out_two_of_its_three_dichotomies():
    states, labels = factorised()
    result = abstraction(states, labels, variables=["colour", "side"])
    assert isinstance(result, Abstraction) and result.n_conditions == 4
    np.testing.assert_allclose(result.ccgp, 1.0)
    np.testing.assert_allclose(result.parallelism, 1.0, atol=0.02)
    # dichotomies: {00,01} (side-independent, linear), {00,10} (linear), {00,11} (XOR, chance)
    assert balanced_dichotomies(4) == [(0, 1), (0, 2), (0, 3)]
    np.testing.assert_allclose(result.dichotomy_accuracy[:2], 1.0)
    assert abs(result.dichotomy_accuracy[2] - 0.5) < 0.1
    assert abs(float(result.shattering) - 5 / 6) < 0.04


def test_conditions_at_orthogonal_positions_shatter_but_do_not_generalise():
    states, labels = orthogonal()
    result = abstraction(states, labels)
    # a decoder trained on two conditions has no component along the two it never saw
    np.testing.assert_allclose(result.ccgp, 0.5, atol=0.1)
    np.testing.assert_allclose(result.parallelism, 0.0, atol=0.1)  # mean estimates
    np.testing.assert_allclose(result.shattering, 1.0)


def test_three_variables_and_the_ensemble_axis_give_each_member_its_own_answer():
    abstract, labels = factorised(3, seed=3)
    scattered, labels_too = orthogonal(3, seed=3)
    assert np.array_equal(labels, labels_too)
    both = torch.tensor(np.stack([abstract, scattered]))  # a tensor is taken as it is
    result = abstraction(both, labels)
    assert result.ccgp.shape == (2, 3) and result.shattering.shape == (2,)
    np.testing.assert_allclose(result.ccgp[0], 1.0)
    np.testing.assert_allclose(result.parallelism[0], 1.0, atol=0.02)
    np.testing.assert_allclose(result.ccgp[1], 0.5, atol=0.1)
    np.testing.assert_allclose(result.parallelism[1], 0.0, atol=0.1)
    # each member's answer is what it gets alone
    alone = ccgp(scattered, labels)
    np.testing.assert_allclose(result.ccgp[1], alone)
    # 8 conditions: 35 balanced dichotomies; a factorised code of 3 reads out some, not all
    assert len(balanced_dichotomies(8)) == 35 and result.dichotomy_accuracy.shape == (2, 35)
    assert 0.6 < result.shattering[0] < 0.9
    assert result.shattering[1] == pytest.approx(1.0, abs=0.005)


def test_the_decoder_is_scikit_learns_ridge_classifier():
    sklearn = pytest.importorskip("sklearn.linear_model")
    rng = np.random.default_rng(5)
    for n_samples, n_units in ((80, 12), (10, 30)):  # the primal and the dual form
        states = rng.standard_normal((n_samples, n_units)) * 3.0
        classes = (rng.random(n_samples) < 0.4).astype(np.int64)
        classes[:2] = (0, 1)
        ridge = 0.05
        weights, bias = fit_linear_classifier(states[None], classes, ridge)
        centred = states - states.mean(axis=0)
        alpha = ridge * (centred**2).sum() / n_units
        peer = sklearn.RidgeClassifier(alpha=alpha).fit(states, classes)
        np.testing.assert_allclose(weights[0], np.ravel(peer.coef_), rtol=1e-8, atol=1e-10)
        np.testing.assert_allclose(bias[0], np.ravel(peer.intercept_)[0], rtol=1e-8, atol=1e-10)


def test_subsampled_dichotomies_are_a_seeded_subset():
    states, labels = orthogonal(4)  # 16 conditions: 6,435 balanced dichotomies
    mean, accuracy = shattering_dimensionality(states, labels, max_dichotomies=12, n_folds=3)
    assert accuracy.shape == (12,) and mean == pytest.approx(1.0, abs=0.02)
    again = shattering_dimensionality(states, labels, max_dichotomies=12, n_folds=3)
    np.testing.assert_array_equal(accuracy, again[1])


def test_bad_inputs_are_named():
    states, labels = factorised()
    with pytest.raises(ArgumentError, match="needs a second binary variable"):
        ccgp(states, labels[:, :1])
    unbalanced = labels.copy()
    unbalanced[(labels[:, 1] == 0), 0] = 0  # with side = 0, colour is always 0
    with pytest.raises(ArgumentError, match="do not split into two balanced dichotomies"):
        ccgp(states, unbalanced, variables=["colour", "side"])
    with pytest.raises(ArgumentError, match="same number"):
        parallelism_score(states, unbalanced)
    with pytest.raises(ArgumentError, match="binary"):
        ccgp(states, labels * 2.5)
    with pytest.raises(ShapeError, match=r"labels must be \[S, V\]"):
        ccgp(states, labels[:-1])
    with pytest.raises(ArgumentError, match="fewer than n_folds"):
        shattering_dimensionality(states, labels, n_folds=PER_CONDITION + 1)
    with pytest.raises(ArgumentError, match="even number"):
        balanced_dichotomies(3)
    with pytest.raises(ArgumentError, match="NaN"):
        ccgp(np.full_like(states, np.nan), labels)


def _square(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Points uniform on [-0.5, 0.5]^2 and their quadrant (1-4, numbered as the public code)."""
    latent = np.random.default_rng(seed).random((n, 2)) - 0.5
    right, up = latent[:, 0] >= 0, latent[:, 1] >= 0
    quadrant = np.select([right & up, ~right & up, ~right & ~up], [1, 2, 3], default=4)
    return latent, quadrant


def test_a_linear_code_of_the_latent_generalises_to_the_quadrant_it_never_saw():
    latent, quadrant = _square(2000, 0)
    mixing = np.random.default_rng(1).standard_normal((2, 30))
    linear = latent @ mixing + 0.01 * np.random.default_rng(2).standard_normal((2000, 30))
    result = regression_generalisation(linear, latent, quadrant, variance=1 / 12)
    assert result.groups == [1, 2, 3, 4] and result.r2.shape == (4,)
    assert np.all(result.r2 > 0.99)
    # a code of the latent through narrow tuning bumps fits each quadrant it saw but does not
    # extrapolate linearly to the one it did not
    centres = np.random.default_rng(3).random((60, 2)) - 0.5
    bumps = np.exp(-((latent[:, None] - centres[None]) ** 2).sum(-1) / (2 * 0.1**2))
    tuned = regression_generalisation(np.stack([linear, bumps[:, :30]]), latent, quadrant)
    assert tuned.r2.shape == (2, 4)
    assert tuned.mean_r2[0] > 0.99 and tuned.mean_r2[1] < 0.5
    with pytest.raises(ArgumentError, match="at least two groups"):
        regression_generalisation(linear, latent, np.ones(2000))
    with pytest.raises(ShapeError, match="one row per sample"):
        regression_generalisation(linear, latent[:-1], quadrant)
