"""Boltzmann machines with noisy input: the networks of recurrence resonance (Krauss et al.
2019; Metzner, Schilling, Maier & Krauss 2024), their weight families and their dynamics.

N binary neurons updated together:

    u_n(t) = sum_m w_nm y_m(t-1) + b_n + r eta_n(t),     eta_n(t) ~ N(0, 1)
    y_n(t) = 1 with probability sigmoid(u_n(t)), else 0

The paper's networks are "symmetric" Boltzmann machines (SBM); we read that as biases
`b_n = -1/2 sum_m w_nm` (`symmetric_bias`), which makes every neuron's drive
`sum_m w_nm (y_m - 1/2)` odd under flipping all states, so 0 and 1 are equally likely on
average. The same network in +-1 units `s = 2y - 1` has couplings `w / 2` and no bias.

- weight families (`random_weights`, `autapse_weights`, `hopfield_weights`, `nrooks_weights`,
  by name in `WEIGHT_FAMILIES`);
- the dynamics: `simulate_sbm` (numpy, batched over noise levels) and, for small N, the exact
  `sbm_transition_matrix` over all 2^N states.

A state is coded as the integer `sum_n y_n 2^n` (unit 0 is the lowest bit). The information
measures on these networks are in `neurodyn.analysis.information`.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from scipy.special import expit, ndtr

from neurodyn.errors import ArgumentError, ConfigError, ShapeError

MAX_EXACT_UNITS = 12  # 2^12 states: a 4096 x 4096 transition matrix (128 MiB) at most

# --- weight families ------------------------------------------------------------------------


def symmetric_bias(weights: np.ndarray) -> np.ndarray:
    """Biases `b_n = -1/2 sum_m w_nm` of a symmetric Boltzmann machine: `[..., N, N]` ->
    `[..., N]`. With them each neuron's drive is `sum_m w_nm (y_m - 1/2)`.

    Example
    -------
    >>> symmetric_bias(np.array([[2.0, -4.0], [0.0, 6.0]])).tolist()
    [1.0, -3.0]
    """
    return -0.5 * np.asarray(weights, dtype=float).sum(-1)


def random_weights(n: int, w: float, *, seed: int) -> np.ndarray:
    """`[n, n]` weights drawn independently from N(0, w^2), autapses included (the paper's
    'random' family: every entry Gaussian with standard deviation w)."""
    return w * np.random.default_rng(seed).standard_normal((n, n))


def autapse_weights(n: int, w: float, *, seed: int = 0) -> np.ndarray:
    """`[n, n]` weights with only self-connections, all `-w` (the 'autapses-only' family).

    Each neuron then is its own two-state system: with w large and no noise it flips every
    step, so the network runs through one 2-cycle (a state and its complement) out of the
    2^(n-1) it has. With symmetric biases the sign does not matter once noise is on (a neuron
    with +w is the -w neuron with its state relabelled every other step); -w makes the r = 0
    attractor a 2-cycle rather than a fixed point. `seed` is unused (the family is fixed).
    """
    del seed
    return -w * np.eye(n)


def random_patterns(n_patterns: int, n: int, *, seed: int) -> np.ndarray:
    """`[n_patterns, n]` patterns of +-1, each entry +1 or -1 with probability 1/2."""
    return np.where(np.random.default_rng(seed).random((n_patterns, n)) < 0.5, -1.0, 1.0)


def hopfield_weights(
    n: int,
    w: float,
    *,
    n_patterns: int = 2,
    seed: int = 0,
    patterns: np.ndarray | None = None,
) -> np.ndarray:
    """`[n, n]` Hebbian weights storing +-1 patterns: `w_nm = (w / n) sum_mu xi_n^mu xi_m^mu`,
    zero diagonal (Hopfield 1982), scaled by w.

    With symmetric biases the network in +-1 units is the classic Hopfield net, whose stored
    patterns and their negatives are fixed points. `patterns [P, n]` (+-1) are drawn with
    `random_patterns(n_patterns, n, seed=seed)` unless given.
    """
    xi = random_patterns(n_patterns, n, seed=seed) if patterns is None else np.asarray(patterns)
    if xi.ndim != 2 or xi.shape[1] != n:
        raise ShapeError(f"patterns must be [P, {n}], got {tuple(xi.shape)}")
    weights = (w / n) * xi.T @ xi
    np.fill_diagonal(weights, 0.0)
    return weights


def nrooks_weights(n: int, w: float, *, seed: int) -> np.ndarray:
    """`[n, n]` weights with exactly one non-zero entry in every row and every column, placed
    like n rooks that do not attack each other (a random permutation), each `+w` or `-w` with
    probability 1/2 (the 'NRooks' family).

    Each neuron copies (or inverts) one other neuron's last state, so with w large and no noise
    the update is a bijection of the 2^n states: every state lies on a cycle, and the network
    stays on the cycle it started on.
    """
    rng = np.random.default_rng(seed)
    columns = rng.permutation(n)
    signs = np.where(rng.random(n) < 0.5, -1.0, 1.0)
    weights = np.zeros((n, n))
    weights[np.arange(n), columns] = w * signs
    return weights


WEIGHT_FAMILIES: dict[str, Callable[..., np.ndarray]] = {
    "random": random_weights,
    "autapses": autapse_weights,
    "hopfield": hopfield_weights,
    "nrooks": nrooks_weights,
}


def family_weights(family: str, n: int, *, seed: int, **params: Any) -> np.ndarray:
    """Weights `[n, n]` of a family by name (`WEIGHT_FAMILIES`), e.g.
    `family_weights("hopfield", 5, seed=0, w=25.0, n_patterns=2)`."""
    if family not in WEIGHT_FAMILIES:
        raise ConfigError(f"unknown weight family {family!r}; families: {sorted(WEIGHT_FAMILIES)}")
    return WEIGHT_FAMILIES[family](n, seed=seed, **params)


# --- dynamics -------------------------------------------------------------------------------


def noisy_firing_probability(u: np.ndarray, r: float) -> np.ndarray:
    """`E[sigmoid(u + r eta)]`, eta ~ N(0, 1): the probability that a neuron with noise-free
    drive `u` (any shape) fires when Gaussian noise of amplitude `r` is added.

    Computed by the trapezoid rule, which converges exponentially for integrands analytic in
    a strip around the real axis. The logistic's poles sit pi / r off the axis in eta, so for
    r <= 1 the rule runs over eta (step 0.1, +-10 standard deviations); for r > 1 over the
    logistic variable instead, `E[sigmoid(u + r eta)] = E_L[Phi((u - L) / r)]` with L
    standard-logistic (sigmoid(x) = P(L < x)), where the poles of L's density sit pi away
    (step 0.25 over +-50). Either way the error is below 1e-20 with at most 401 points;
    Gauss-Hermite quadrature in eta converges slowly once r is large, for the same poles.

    Example
    -------
    >>> float(noisy_firing_probability(np.array(0.0), 5.0))  # the drive's sign is a coin flip
    0.5
    >>> p = noisy_firing_probability(np.array([-10.0, 10.0]), 50.0)
    >>> bool(abs(p.sum() - 1) < 1e-12 and 0.4 < p[0] < 0.5)
    True
    """
    u = np.asarray(u, dtype=float)
    if r < 0:
        raise ArgumentError(f"noise amplitude r must be >= 0, got {r}")
    if r == 0:
        return expit(u)
    flat = u.reshape(-1)
    if r <= 1:
        nodes = 0.1 * np.arange(-100, 101)  # eta
        weight = 0.1 * np.exp(-0.5 * nodes**2) / math.sqrt(2 * math.pi)

        def integrand(part: np.ndarray) -> np.ndarray:
            return expit(part[:, None] + r * nodes)
    else:
        nodes = 0.25 * np.arange(-200, 201)  # L
        weight = 0.25 * expit(nodes) * expit(-nodes)

        def integrand(part: np.ndarray) -> np.ndarray:
            return ndtr((part[:, None] - nodes) / r)

    out = np.empty_like(flat)
    chunk = 10_000
    for start in range(0, len(flat), chunk):
        out[start : start + chunk] = integrand(flat[start : start + chunk]) @ weight
    return out.reshape(u.shape)


def all_states(n: int) -> np.ndarray:
    """`[2^n, n]` every binary state, row s being the state with code s (unit 0 lowest bit)."""
    return ((np.arange(2**n)[:, None] >> np.arange(n)) & 1).astype(float)


def state_codes(states: np.ndarray) -> np.ndarray:
    """Integer codes `sum_n y_n 2^n` of binary states `[..., N]` -> `[...]` (int64)."""
    states = np.asarray(states)
    if states.shape[-1] > 62:
        raise ShapeError(f"at most 62 units fit an int64 code, got {states.shape[-1]}")
    return (states.astype(np.int64) << np.arange(states.shape[-1], dtype=np.int64)).sum(-1)


def check_network(weights: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    weights = np.asarray(weights, dtype=float)
    bias = np.asarray(bias, dtype=float)
    if weights.ndim != 2 or weights.shape[0] != weights.shape[1]:
        raise ShapeError(f"weights must be [N, N], got {tuple(weights.shape)}")
    if bias.shape != weights.shape[:1]:
        raise ShapeError(f"bias must be [{weights.shape[0]}], got {tuple(bias.shape)}")
    return weights, bias


def sbm_transition_matrix(weights: np.ndarray, bias: np.ndarray, r: float) -> np.ndarray:
    """Exact transition probabilities `P [2^N, 2^N]`, `P[s, s'] = P(y(t) = s' | y(t-1) = s)`.

    Given the last state, the neurons fire independently, each with probability
    `noisy_firing_probability(u_n, r)` of its noise-free drive `u_n = sum_m w_nm y_m + b_n`;
    `P[s, s']` is the product over neurons. N is at most `MAX_EXACT_UNITS`.

    Parameters
    ----------
    weights : [N, N]     `weights[n, m]` is the weight from neuron m onto neuron n
    bias : [N]
    r : float            noise amplitude (the paper's r)

    Example
    -------
    >>> p = sbm_transition_matrix(-20 * np.eye(2), np.array([10.0, 10.0]), 0.0)
    >>> np.round(p, 3).tolist()  # each neuron flips: 00 -> 11, 01 -> 10, ...
    [[0.0, 0.0, 0.0, 1.0], [0.0, 0.0, 1.0, 0.0], [0.0, 1.0, 0.0, 0.0], [1.0, 0.0, 0.0, 0.0]]
    """
    weights, bias = check_network(weights, bias)
    n = len(bias)
    if n > MAX_EXACT_UNITS:
        raise ShapeError(
            f"an exact transition matrix has 2^N rows; N = {n} is above {MAX_EXACT_UNITS}. "
            "Simulate (`simulate_sbm`) and use `state_information` instead"
        )
    states = all_states(n)  # [S, N]
    drive = states @ weights.T + bias  # [S, N]
    # 1 - E[sigmoid(u + r eta)] = E[sigmoid(-u + r eta)] (eta is symmetric); computing it
    # directly keeps the small probabilities accurate where p is close to 1.
    log_on = np.log(np.maximum(noisy_firing_probability(drive, r), 1e-300))
    log_off = np.log(np.maximum(noisy_firing_probability(-drive, r), 1e-300))
    log_p = log_on @ states.T + log_off @ (1 - states).T  # [S, S']
    transition = np.exp(log_p)
    return transition / transition.sum(1, keepdims=True)


def simulate_sbm(
    weights: np.ndarray,
    bias: np.ndarray,
    r: float | Sequence[float] | np.ndarray,
    steps: int,
    *,
    seed: int,
    initial: np.ndarray | None = None,
) -> np.ndarray:
    """Run the noisy Boltzmann machine for `steps` synchronous updates.

    Parameters
    ----------
    weights : [N, N]
    bias : [N]
    r : float or [B]
        Noise amplitude; a sequence runs one independent copy of the network per value.
    steps : int
    seed : int
        Seeds the noise and the neurons' coin flips (and the initial state when not given).
    initial : [N] or [B, N], optional
        The state at t = 0 (0/1); by default drawn uniformly at random, the same for every r.

    Returns
    -------
    states : [steps, N] for a scalar r, else [steps, B, N]; uint8, `states[0]` is `initial`.

    Example
    -------
    >>> w = autapse_weights(3, 40.0)
    >>> simulate_sbm(w, symmetric_bias(w), 0.0, 4, seed=0, initial=np.array([1, 0, 0])).tolist()
    [[1, 0, 0], [0, 1, 1], [1, 0, 0], [0, 1, 1]]
    """
    weights, bias = check_network(weights, bias)
    scalar = np.ndim(r) == 0
    levels = np.atleast_1d(np.asarray(r, dtype=float))
    if (levels < 0).any():
        raise ArgumentError(f"noise amplitudes must be >= 0, got {levels.tolist()}")
    n, batch = len(bias), len(levels)
    rng = np.random.default_rng(seed)
    if initial is None:
        state = np.broadcast_to(rng.integers(0, 2, n), (batch, n)).astype(float)
    else:
        state = np.broadcast_to(np.asarray(initial, dtype=float), (batch, n)).copy()
    out = np.empty((steps, batch, n), dtype=np.uint8)
    if steps:
        out[0] = state
    weights_t = weights.T
    noise_scale = levels[:, None]
    chunk = max(1, 1_000_000 // (batch * n))
    # random numbers drawn a chunk of steps at a time: one generator call per chunk instead of
    # two per step, without holding all steps' numbers in memory
    for start in range(1, steps, chunk):
        stop = min(steps, start + chunk)
        eta = rng.standard_normal((stop - start, batch, n))
        coins = rng.random((stop - start, batch, n))
        for k in range(stop - start):
            drive = state @ weights_t + bias + noise_scale * eta[k]
            state = (coins[k] < expit(drive)).astype(float)
            out[start + k] = state
    return out[:, 0] if scalar else out
