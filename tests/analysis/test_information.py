"""Information flux and recurrence resonance (Metzner et al. 2024), checked on analytic cases."""

import numpy as np
import pytest
import torch
from scipy.integrate import quad
from scipy.special import expit

from neurodyn.analysis.information import (
    ResonanceCurve,
    ctrnn_information,
    discretise_states,
    exact_information,
    resonance_curve,
    state_information,
    stationary_distribution,
)
from neurodyn.errors import ConfigError
from neurodyn.models import CTRNN, NetworkSpec
from neurodyn.models.boltzmann import (
    autapse_weights,
    family_weights,
    hopfield_weights,
    noisy_firing_probability,
    nrooks_weights,
    random_patterns,
    random_weights,
    sbm_transition_matrix,
    simulate_sbm,
    state_codes,
    symmetric_bias,
)

LEVELS = np.concatenate([[0.0], np.logspace(-1, 2, 16)])


def plug_in_bias(n_states: int, pairs: int) -> float:
    """Expected upward bias of the plug-in I for independent uniform states (bits)."""
    return (n_states**2 - 2 * n_states + 1) / (2 * pairs * np.log(2))


# --- estimators -----------------------------------------------------------------------------


def test_deterministic_cycles_pass_on_all_their_entropy():
    rng = np.random.default_rng(0)
    order = rng.permutation(16)  # one cycle through all 16 states of 4 units
    bits = ((order[:, None] >> np.arange(4)) & 1).astype(np.uint8)
    info = state_information(np.tile(bits, (50, 1)))
    assert info.entropy == pytest.approx(4.0, abs=1e-3)
    assert info.mutual_information == pytest.approx(info.entropy, abs=1e-12)
    assert info.divergence == pytest.approx(0.0, abs=1e-12)
    # a 3-cycle among them: log2(3) bits, all passed on
    info = state_information(np.tile(bits[:3], (200, 1)))
    assert info.mutual_information == pytest.approx(np.log2(3), abs=1e-3)
    assert info.divergence == pytest.approx(0.0, abs=1e-12)


def test_independent_noise_carries_no_information_beyond_the_estimator_bias():
    states = np.random.default_rng(1).integers(0, 2, (40_000, 4))
    info = state_information(states)
    assert info.entropy == pytest.approx(4.0, abs=0.01)
    assert info.mutual_information < 3 * plug_in_bias(16, 40_000)
    assert info.divergence == pytest.approx(info.entropy - info.mutual_information)


def test_trials_are_pooled_without_pairs_across_them():
    # trial 0 rests in state 0, trial 1 in state 1: never a 0 -> 1 step
    states = np.zeros((100, 2, 1), dtype=np.uint8)
    states[:, 1] = 1
    info = state_information(states)
    assert info.entropy == pytest.approx(1.0)
    assert info.mutual_information == pytest.approx(1.0)


def test_exact_information_of_a_sticky_neuron():
    stay = 0.9
    p = np.array([[stay, 1 - stay], [1 - stay, stay]])
    info = exact_information(p, stationary_distribution(p))
    h = -(stay * np.log2(stay) + (1 - stay) * np.log2(1 - stay))
    assert info.entropy == pytest.approx(1.0)
    assert info.mutual_information == pytest.approx(1 - h)


# --- the model ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("u", "r"), [(0.7, 0.3), (-3.0, 1.0), (-3.0, 2.0), (10.0, 4.0), (-10.0, 100.0), (25.0, 1e4)]
)
def test_noisy_firing_probability_matches_adaptive_quadrature(u, r):
    def integrand(eta):
        return expit(u + r * eta) * np.exp(-0.5 * eta**2) / np.sqrt(2 * np.pi)

    # breakpoints around the logistic's step, whose width is about 1 / r in eta
    step = [-u / r + k / r for k in (-40, -5, 0, 5, 40)]
    reference = quad(integrand, -12, 12, points=step, epsabs=1e-15, epsrel=1e-13, limit=500)
    assert noisy_firing_probability(np.array(u), r) == pytest.approx(reference[0], abs=1e-11)


def test_exact_transition_matrix_agrees_with_a_long_simulation():
    weights = random_weights(3, 3.0, seed=4)
    bias = symmetric_bias(weights)
    r = 1.0
    transition = sbm_transition_matrix(weights, bias, r)
    assert np.allclose(transition.sum(1), 1)
    runs = simulate_sbm(weights, bias, np.full(20, r), 5000, seed=5)  # [T, 20, 3]
    codes = state_codes(runs)
    counts = np.zeros((8, 8))
    np.add.at(counts, (codes[:-1].ravel(), codes[1:].ravel()), 1)
    empirical = counts / counts.sum(1, keepdims=True)
    assert np.abs(empirical - transition).max() < 0.03
    simulated = state_information(runs[100:])  # 100 steps of burn-in: the chain mixes fast
    exact = exact_information(transition, stationary_distribution(transition))
    assert simulated.entropy == pytest.approx(exact.entropy, abs=0.02)
    assert simulated.mutual_information == pytest.approx(exact.mutual_information, abs=0.02)


def test_autapse_network_limits():
    """Without noise and with strong weights every neuron with an inhibitory autapse flips
    each step (drive -w/2 when on, +w/2 when off; sigmoid(-20) = 2e-9), so the 5-neuron
    network alternates between a state and its complement: H = I = 1 bit, D = 0. With
    overwhelming noise each neuron is a fair coin: H = 5 bits, I = 0."""
    weights = autapse_weights(5, 40.0)
    bias = symmetric_bias(weights)
    quiet = state_information(simulate_sbm(weights, bias, 0.0, 2000, seed=0))
    assert quiet.entropy == pytest.approx(1.0, abs=1e-3)
    assert quiet.mutual_information == pytest.approx(1.0, abs=1e-3)
    assert quiet.divergence == pytest.approx(0.0, abs=1e-9)
    loud = state_information(simulate_sbm(weights, bias, 1e4, 20_000, seed=0))
    assert loud.entropy == pytest.approx(5.0, abs=0.01)
    assert loud.mutual_information < 2 * plug_in_bias(32, 20_000)
    exact = exact_information(
        sbm_transition_matrix(weights, bias, 1e4), np.full(32, 1 / 32)
    ).mutual_information
    assert exact < 1e-3


def test_autapse_network_resonates_as_in_the_paper():
    """Metzner et al. (2024), autapses-only network of 5 neurons: I about 1 bit without noise,
    a peak near r = 4 with H near 5 and I near 4.5 bits, and I about 0.1 bit at r = 50."""
    weights = autapse_weights(5, 22.0)
    curve = resonance_curve(weights, symmetric_bias(weights), LEVELS, steps=10_000, seed=1)
    assert 0 < curve.r_opt < LEVELS[-1]  # an interior maximum
    assert 2.0 <= curve.r_opt <= 8.0
    assert curve.i_max > 4.2
    assert curve.at(curve.r_opt).entropy > 4.5
    assert curve.mutual_information[0] < 3.0
    assert curve.at(50.0).mutual_information < 0.3
    # an infinitely long observation finds every attractor even without noise: no resonance
    stationary = resonance_curve(weights, symmetric_bias(weights), LEVELS, steps=None, exact=True)
    assert stationary.r_opt == 0.0
    assert np.all(np.diff(stationary.mutual_information) < 1e-9)


def test_nrooks_weights_have_one_entry_per_row_and_column():
    for seed in range(5):
        for n in (1, 4, 9):
            w = nrooks_weights(n, 3.0, seed=seed)
            nonzero = w != 0
            assert (nonzero.sum(0) == 1).all() and (nonzero.sum(1) == 1).all()
            assert set(np.abs(w[nonzero]).tolist()) == {3.0}
    # without noise the update permutes the states: every state has exactly one successor
    # and one predecessor
    w = nrooks_weights(4, 60.0, seed=3)
    transition = sbm_transition_matrix(w, symmetric_bias(w), 0.0)
    assert np.allclose(np.sort(transition, 1)[:, -1], 1) and np.allclose(transition.sum(0), 1)


def test_hopfield_weights_store_their_patterns():
    patterns = random_patterns(1, 5, seed=2)
    w = hopfield_weights(5, 25.0, patterns=patterns)
    assert np.allclose(w, w.T) and np.allclose(np.diag(w), 0)
    transition = sbm_transition_matrix(w, symmetric_bias(w), 0.0)
    for xi in (patterns[0], -patterns[0]):  # the pattern and its negative are fixed points
        code = int(state_codes((xi > 0).astype(int)))
        assert transition[code, code] > 0.999
    assert np.allclose(family_weights("hopfield", 5, seed=2, w=25.0, n_patterns=1), w)
    with pytest.raises(ConfigError, match="unknown weight family"):
        family_weights("rooks", 5, seed=0, w=1.0)


def test_resonance_curve_saves_and_loads(tmp_path):
    weights = autapse_weights(2, 20.0)
    curve = resonance_curve(weights, symmetric_bias(weights), LEVELS[:4], steps=200, runs=2)
    loaded = ResonanceCurve.load(curve.save(tmp_path / "curve.npz"))
    assert loaded.label == curve.label and loaded.runs == 2
    assert np.array_equal(loaded.mutual_information, curve.mutual_information)


# --- continuous networks --------------------------------------------------------------------


def test_discretise_states_splits_at_the_median_and_keeps_constant_units_off():
    states = np.stack([np.arange(10.0), np.full(10, 3.0), np.full(10, 3.0) + 1e-9], -1)
    binary = discretise_states(states)
    assert binary[:, 0].tolist() == [0] * 5 + [1] * 5
    assert not binary[:, 1:].any()


def test_ctrnn_with_inhibitory_autapses_resonates_like_the_boltzmann_machine():
    """alpha = 1 and W_rec = -3 I: every tanh unit flips sign each step once noise has pushed
    it off 0, a 2-cycle it rarely leaves (I = H = 1 bit); moderate noise makes it slip into
    other phase combinations (I up to 4 bits); strong noise drowns the flips."""
    spec = NetworkSpec(n_inputs=1, n_hidden=4, n_outputs=1, activation="tanh", dt_ms=10, tau_ms=10)
    model = CTRNN(spec)
    with torch.no_grad():
        model.W_rec.copy_(-3.0 * torch.eye(4)[None])
    levels = [0.0, 0.05, 1.0, 10.0]
    curve = ctrnn_information(model, levels, steps=2000, trials=1, burn_in=50, n_units=4)
    assert curve.mutual_information[0] == 0.0  # at rest at h = 0
    assert curve.mutual_information[1] == pytest.approx(1.0, abs=0.01)
    assert curve.r_opt == 1.0 and curve.i_max > 2.5
    assert curve.mutual_information[-1] < 0.3
    with torch.no_grad():
        model.W_rec.zero_()  # each step's state is a fresh draw: nothing passed on
    flat = ctrnn_information(model, [0.1], steps=2000, trials=1, burn_in=50, n_units=4)
    assert flat.entropy[0] == pytest.approx(4.0, abs=0.01)
    assert flat.mutual_information[0] < 2 * plug_in_bias(16, 1999)
