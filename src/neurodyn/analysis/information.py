"""Information flux between successive network states, and recurrence resonance.

Recurrence resonance (RR): the mutual information I between successive states of a recurrent
network can grow as noise is added to every neuron's input, peak at some noise amplitude
r_opt, and fall again (Krauss, Prebeck, Schilling & Metzner 2019, "Recurrence resonance in
three-neuron motifs", Front. Comput. Neurosci. 13:64; Metzner, Schilling, Maier & Krauss 2024,
"Recurrence resonance - noise-enhanced dynamics in recurrent neural networks", Front. Complex
Syst. 2, arXiv 2408.05579). It happens when a network has several attractors but, without
noise, stays trapped in one of them for the whole observation.

The model, a Boltzmann machine with noisy input, N binary neurons updated together:

    u_n(t) = sum_m w_nm y_m(t-1) + b_n + r eta_n(t),     eta_n(t) ~ N(0, 1)
    y_n(t) = 1 with probability sigmoid(u_n(t)), else 0

The paper's networks are "symmetric" Boltzmann machines (SBM); we read that as biases
`b_n = -1/2 sum_m w_nm` (`symmetric_bias`), which makes every neuron's drive
`sum_m w_nm (y_m - 1/2)` odd under flipping all states, so 0 and 1 are equally likely on
average. The same network in +-1 units `s = 2y - 1` has couplings `w / 2` and no bias.

Pieces:

- weight families (`random_weights`, `autapse_weights`, `hopfield_weights`, `nrooks_weights`,
  by name in `WEIGHT_FAMILIES`);
- the dynamics: `simulate_sbm` (numpy, batched over noise levels) and, for small N, the exact
  `sbm_transition_matrix` over all 2^N states;
- measures in bits: `state_information` (plug-in estimate from a simulation) and
  `exact_information` (from a transition matrix and a state distribution), giving the state
  entropy H, the mutual information I between successive states, and D = H - I;
- `resonance_curve` (H, I, D against r) and `ctrnn_information`, the same measures on a
  trained CTRNN's units after `discretise_states`.

A state is coded as the integer `sum_n y_n 2^n` (unit 0 is the lowest bit).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy.special import expit, ndtr

from neurodyn.analysis._result import SavableResult
from neurodyn.errors import ConfigError, ShapeError

if TYPE_CHECKING:
    from neurodyn.models import CTRNN

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
        raise ValueError(f"noise amplitude r must be >= 0, got {r}")
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


def _check_network(weights: np.ndarray, bias: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
    weights, bias = _check_network(weights, bias)
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
    weights, bias = _check_network(weights, bias)
    scalar = np.ndim(r) == 0
    levels = np.atleast_1d(np.asarray(r, dtype=float))
    if (levels < 0).any():
        raise ValueError(f"noise amplitudes must be >= 0, got {levels.tolist()}")
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


# --- information measures -------------------------------------------------------------------


@dataclass(frozen=True)
class Information(SavableResult):
    """Information carried from one state to the next, in bits.

    Attributes
    ----------
    entropy : float              H = H(y_t), the entropy of the states
    mutual_information : float   I = I(y_t; y_{t+1}), the information flux
    divergence : float           D = H - I (the paper's D): the part of H not passed on, equal
                                 to the conditional entropy H(y_{t+1} | y_t) when the state
                                 distribution is stationary
    """

    entropy: float
    mutual_information: float
    divergence: float


def _entropy_bits(p: np.ndarray) -> float:
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def _counts(codes: np.ndarray, n_bins: int) -> np.ndarray:
    if n_bins <= 2**22:
        return np.bincount(codes, minlength=n_bins)
    return np.unique(codes, return_counts=True)[1]


def state_information(states: np.ndarray) -> Information:
    """H, I and D of binary states by the plug-in estimator: the entropies of the histograms of
    states and of pairs of successive states (Krauss et al. 2019; Metzner et al. 2024).

    Parameters
    ----------
    states : [T, N] or [T, B, N]
        0/1 states of N units. With a B axis, B independent runs of the same process: their
        successive pairs are pooled into one histogram.

    Returns
    -------
    Information with H = H(y_t), I = H(y_t) + H(y_{t+1}) - H(y_t, y_{t+1}) and D = H - I, over
    the T - 1 pairs (y_t, y_{t+1}) of each run. The plug-in estimate of I is biased upwards by
    about (K^2 - 2K + 1) / (2 M ln 2) bits for K visited states and M pairs.

    Example
    -------
    >>> cycle = np.array([[0, 0], [1, 0], [1, 1], [0, 1]] * 100)  # four states in turn
    >>> info = state_information(cycle)
    >>> round(info.entropy, 3), round(info.mutual_information, 3), round(info.divergence, 3)
    (2.0, 2.0, 0.0)
    """
    states = np.asarray(states)
    if states.ndim == 2:
        states = states[:, None]
    if states.ndim != 3 or states.shape[0] < 2:
        raise ShapeError(f"states must be [T >= 2, N] or [T, B, N], got {tuple(states.shape)}")
    if states.shape[-1] > 31:
        raise ShapeError(f"pairs of states of at most 31 units fit a code, got {states.shape[-1]}")
    codes = state_codes(states)  # [T, B]
    before, after = codes[:-1].reshape(-1), codes[1:].reshape(-1)
    n_states = 2 ** states.shape[-1]
    total = len(before)
    h_before = _entropy_bits(_counts(before, n_states) / total)
    h_after = _entropy_bits(_counts(after, n_states) / total)
    h_joint = _entropy_bits(_counts(before * n_states + after, n_states**2) / total)
    mutual = max(0.0, h_before + h_after - h_joint)
    return Information(h_before, mutual, h_before - mutual)


def exact_information(transition: np.ndarray, distribution: np.ndarray) -> Information:
    """H, I and D when the state at t is distributed as `distribution [S]` and moves on by
    `transition [S, S]` (rows sum to 1): the joint law of (y_t, y_{t+1}) is
    `distribution[s] transition[s, s']`.

    With the stationary distribution (`stationary_distribution`) these are the measures of an
    infinitely long observation; with `occupancy(transition, initial, steps)` the measures of
    the expected histogram of a run of `steps` steps.

    Example
    -------
    >>> flip = np.array([[0.9, 0.1], [0.1, 0.9]])  # a neuron that keeps its state 90% of steps
    >>> info = exact_information(flip, np.array([0.5, 0.5]))
    >>> round(info.entropy, 4), round(info.mutual_information, 4)  # I = 1 - h(0.1)
    (1.0, 0.531)
    """
    transition = np.asarray(transition, dtype=float)
    p = np.asarray(distribution, dtype=float)
    if transition.ndim != 2 or transition.shape != (len(p), len(p)):
        raise ShapeError(
            f"transition must be [S, S] and distribution [S], got {tuple(transition.shape)} "
            f"and {tuple(p.shape)}"
        )
    p = p / p.sum()
    joint = p[:, None] * transition
    h_before = _entropy_bits(p)
    h_after = _entropy_bits(joint.sum(0))
    mutual = max(0.0, h_before + h_after - _entropy_bits(joint.reshape(-1)))
    return Information(h_before, mutual, h_before - mutual)


def stationary_distribution(transition: np.ndarray, *, doublings: int = 64) -> np.ndarray:
    """The stationary distribution `[S]` of a transition matrix `[S, S]`.

    Found by squaring the lazy chain `(I + P) / 2` `doublings` times (its 2^doublings-th power,
    about 1e19 steps by default) from the uniform distribution: the lazy chain has the same
    stationary distribution and no periodicity, and products of stochastic matrices stay
    accurate where eigenvector solvers struggle with the near-decomposable chains of strong
    weights.
    """
    transition = np.asarray(transition, dtype=float)
    lazy = 0.5 * (transition + np.eye(len(transition)))
    for _ in range(doublings):
        lazy = lazy @ lazy
        lazy /= lazy.sum(1, keepdims=True)
    p = lazy.mean(0)
    return p / p.sum()


def occupancy(transition: np.ndarray, initial: int | np.ndarray, steps: int) -> np.ndarray:
    """The expected fraction of time `[S]` a chain started in `initial` (a state code or a
    distribution `[S]`) spends in each state over its first `steps` states (t = 0 .. steps-1).
    """
    transition = np.asarray(transition, dtype=float)
    if np.ndim(initial) == 0:
        p = np.zeros(len(transition))
        p[int(initial)] = 1.0  # type: ignore[arg-type]
    else:
        p = np.asarray(initial, dtype=float).copy()
    total = np.zeros_like(p)
    for _ in range(steps):
        total += p
        p = p @ transition
    return total / steps


# --- resonance curves -----------------------------------------------------------------------


@dataclass(frozen=True)
class ResonanceCurve(SavableResult):
    """H, I and D of one network against the noise amplitude r.

    Attributes
    ----------
    label : str
    noise_levels : [R]             r, increasing
    entropy : [R]                  H (bits), mean over runs
    mutual_information : [R]       I (bits), mean over runs
    divergence : [R]               D = H - I (bits), mean over runs
    mutual_information_sd : [R]    standard deviation of I over runs (0 for one run or exact)
    steps : int                    observation length; 0 for the stationary (infinite) limit
    runs : int                     runs (or networks) averaged
    """

    label: str
    noise_levels: np.ndarray
    entropy: np.ndarray
    mutual_information: np.ndarray
    divergence: np.ndarray
    mutual_information_sd: np.ndarray
    steps: int
    runs: int

    @property
    def r_opt(self) -> float:
        """The noise amplitude of the largest I (the first, if several tie)."""
        return float(self.noise_levels[int(np.argmax(self.mutual_information))])

    @property
    def i_max(self) -> float:
        """The largest I (bits)."""
        return float(np.max(self.mutual_information))

    def at(self, r: float) -> Information:
        """H, I and D at the noise level nearest `r`."""
        k = int(np.argmin(np.abs(self.noise_levels - r)))
        return Information(
            float(self.entropy[k]), float(self.mutual_information[k]), float(self.divergence[k])
        )


def _curve(
    label: str, levels: np.ndarray, infos: list[list[Information]], steps: int
) -> ResonanceCurve:
    """A ResonanceCurve from `infos[run][level]`."""
    h = np.array([[i.entropy for i in run] for run in infos])
    mi = np.array([[i.mutual_information for i in run] for run in infos])
    d = np.array([[i.divergence for i in run] for run in infos])
    return ResonanceCurve(
        label=label,
        noise_levels=levels,
        entropy=h.mean(0),
        mutual_information=mi.mean(0),
        divergence=d.mean(0),
        mutual_information_sd=mi.std(0),
        steps=steps,
        runs=len(infos),
    )


def _levels(noise_levels: Sequence[float] | np.ndarray) -> np.ndarray:
    levels = np.asarray(noise_levels, dtype=float)
    if levels.ndim != 1 or len(levels) == 0 or (levels < 0).any() or (np.diff(levels) <= 0).any():
        raise ValueError(f"noise_levels must be increasing and >= 0, got {levels.tolist()}")
    return levels


def resonance_curve(
    weights: np.ndarray,
    bias: np.ndarray,
    noise_levels: Sequence[float] | np.ndarray,
    *,
    steps: int | None = 10_000,
    seed: int = 0,
    runs: int = 1,
    exact: bool = False,
    initial: np.ndarray | None = None,
    observe: Sequence[int] | None = None,
    label: str = "",
) -> ResonanceCurve:
    """H, I and D of a noisy Boltzmann machine at each noise amplitude r.

    Simulated (default): `runs` runs of `steps` steps per r, all from the same initial state
    (drawn with `seed` unless given), each measured by `state_information` and averaged. The
    finite observation matters: a probabilistic network escapes any attractor eventually, so
    without noise it looks trapped only over a short enough run (Metzner et al. 2024).

    Exact (`exact=True`, N <= `MAX_EXACT_UNITS`): `exact_information` of the transition matrix
    with the expected occupancy of a run of `steps` steps from the initial state, or with the
    stationary distribution when `steps` is None (the infinite observation).

    Parameters
    ----------
    weights : [N, N]
    bias : [N]
    noise_levels : [R]   increasing noise amplitudes r >= 0
    observe : units to measure (default all); the others still run. Simulation only.

    Example
    -------
    >>> w = autapse_weights(2, 20.0)
    >>> curve = resonance_curve(w, symmetric_bias(w), [0.0, 1e3], steps=None, exact=True)
    >>> np.round(curve.mutual_information, 2).tolist()  # near-certain flips, then pure noise
    [2.0, 0.0]
    """
    weights, bias = _check_network(weights, bias)
    levels = _levels(noise_levels)
    n = len(bias)
    seeds = np.random.SeedSequence(seed).generate_state(runs + 1)
    if initial is None:
        initial = np.random.default_rng(int(seeds[0])).integers(0, 2, n)
    initial = np.asarray(initial)
    if exact:
        if observe is not None:
            raise ValueError("exact curves measure every unit; leave `observe` unset")
        start = int(state_codes(initial))
        infos = []
        for r in levels:
            transition = sbm_transition_matrix(weights, bias, float(r))
            dist = (
                stationary_distribution(transition)
                if steps is None
                else occupancy(transition, start, steps - 1)
            )
            infos.append(exact_information(transition, dist))
        return _curve(label, levels, [infos], steps or 0)
    if steps is None or steps < 2:
        raise ValueError(f"a simulated curve needs steps >= 2, got {steps}")
    units = np.arange(n) if observe is None else np.asarray(observe)
    all_runs = []
    for run in range(runs):
        states = simulate_sbm(
            weights, bias, levels, steps, seed=int(seeds[run + 1]), initial=initial
        )  # [T, R, N]
        all_runs.append([state_information(states[:, k, units]) for k in range(len(levels))])
    return _curve(label, levels, all_runs, steps)


def mean_curve(curves: Sequence[ResonanceCurve], label: str = "") -> ResonanceCurve:
    """The average of curves over the same noise levels (e.g. one per network of a family);
    `mutual_information_sd` becomes the spread of I between the curves."""
    levels = curves[0].noise_levels
    if any(not np.array_equal(c.noise_levels, levels) for c in curves):
        raise ValueError("curves to average must share their noise levels")
    mi = np.stack([c.mutual_information for c in curves])
    return ResonanceCurve(
        label=label or curves[0].label,
        noise_levels=levels,
        entropy=np.mean([c.entropy for c in curves], 0),
        mutual_information=mi.mean(0),
        divergence=np.mean([c.divergence for c in curves], 0),
        mutual_information_sd=mi.std(0),
        steps=curves[0].steps,
        runs=sum(c.runs for c in curves),
    )


# --- continuous networks --------------------------------------------------------------------

DISCRETISATIONS = ("median", "mean", "zero")


def discretise_states(
    states: np.ndarray, method: str = "median", *, min_spread: float = 1e-6
) -> np.ndarray:
    """Binarise continuous activity so the binary measures apply to any network.

    Each unit is 1 where its activity is above its threshold, over time (and trials, pooled):
    its median (`"median"`, default: each unit is on half the time, so every unit can carry
    up to 1 bit), its mean (`"mean"`) or 0 (`"zero"`, e.g. the sign of tanh units). A unit
    whose activity spans less than `min_spread` is constant (all 0): without this, the
    floating-point jitter of a network resting at a fixed point would be read as information.

    Parameters
    ----------
    states : [T, N] or [T, B, N]

    Returns
    -------
    uint8 array of the same shape.

    Example
    -------
    >>> discretise_states(np.array([[0.1, 5.0], [0.3, 5.0], [0.2, 5.0]])).tolist()
    [[0, 0], [1, 0], [0, 0]]
    """
    states = np.asarray(states, dtype=float)
    if states.ndim not in (2, 3):
        raise ShapeError(f"states must be [T, N] or [T, B, N], got {tuple(states.shape)}")
    flat = states.reshape(-1, states.shape[-1])
    if method == "median":
        threshold = np.median(flat, 0)
    elif method == "mean":
        threshold = flat.mean(0)
    elif method == "zero":
        threshold = np.zeros(flat.shape[1])
    else:
        raise ValueError(f"method must be one of {DISCRETISATIONS}, got {method!r}")
    varies = flat.max(0) - flat.min(0) >= min_spread
    return ((states > threshold) & varies).astype(np.uint8)


def ctrnn_information(
    model: CTRNN,
    noise_levels: Sequence[float] | np.ndarray,
    *,
    steps: int = 2000,
    trials: int = 8,
    burn_in: int = 200,
    n_units: int = 4,
    units: Sequence[int] | None = None,
    member: int = 0,
    method: str = "median",
    seed: int = 0,
) -> ResonanceCurve:
    """H, I and D of a CTRNN's units, run freely (zero input) at several recurrent noise
    levels `sigma_rec` (the model's own noise convention, see `neurodyn.models.ctrnn`).

    For each level, a copy of the model with that `sigma_rec` and the same weights runs
    `trials` runs of `burn_in + steps` steps from h = 0; the first `burn_in` steps are dropped,
    the chosen units binarised by `discretise_states` (thresholds per level) and measured by
    `state_information`, pooling the trials. I here is the flux among a few units' coarse
    (above / below median) states, not the network's: with one fixed point and small noise it
    reflects how slowly fluctuations decay, not switching between attractors.

    Parameters
    ----------
    noise_levels : [R]    increasing sigma_rec values (0 runs the deterministic network)
    n_units : int         size of the measured subset, at most 12 or so (2^n states to fill)
    units : which units; default a random subset of `n_units` drawn with `seed`, the same
                          at every level (the paper measures RR in small random subsets of a
                          large network when the whole is out of reach)
    member : the ensemble member to run
    """
    import torch

    from neurodyn.models import CTRNN

    levels = _levels(noise_levels)
    single = model.member(member)  # run only the member asked for
    spec = single.spec
    chosen = (
        np.sort(np.random.default_rng(seed).choice(spec.n_hidden, n_units, replace=False))
        if units is None
        else np.asarray(units)
    )
    x = torch.zeros(burn_in + steps, trials, spec.n_inputs)
    weights = single.state_dict()
    infos = []
    for level in levels:
        copy = CTRNN(dataclasses.replace(spec, sigma_rec=float(level)))
        copy.load_state_dict(weights)
        generator = torch.Generator().manual_seed(seed + 1)
        with torch.no_grad():
            states = copy(x, noise=level > 0, generators=[generator]).states  # [T, 1, B, N]
        kept = states[burn_in:, 0][..., torch.as_tensor(chosen)].double().numpy()
        infos.append(state_information(discretise_states(kept, method)))
    label = f"CTRNN member {member}, units {chosen.tolist()}"
    return _curve(label, levels, [infos], steps)
