"""Information flux between successive network states, and recurrence resonance.

Recurrence resonance (RR): the mutual information I between successive states of a recurrent
network can grow as noise is added to every neuron's input, peak at some noise amplitude
r_opt, and fall again (Krauss, Prebeck, Schilling & Metzner 2019, "Recurrence resonance in
three-neuron motifs", Front. Comput. Neurosci. 13:64; Metzner, Schilling, Maier & Krauss 2024,
"Recurrence resonance - noise-enhanced dynamics in recurrent neural networks", Front. Complex
Syst. 2, arXiv 2408.05579). It happens when a network has several attractors but, without
noise, stays trapped in one of them for the whole observation.

The networks (Boltzmann machines with noisy input, r the noise amplitude), their weight
families and their dynamics are in `neurodyn.models.boltzmann`. Here:

- measures in bits: `state_information` (plug-in estimate from a simulation) and
  `exact_information` (from a transition matrix and a state distribution), giving the state
  entropy H, the mutual information I between successive states, and D = H - I;
- `resonance_curve` (H, I, D against r) and `ctrnn_information`, the same measures on a
  trained CTRNN's units after `discretise_states`.

A state is coded as the integer `sum_n y_n 2^n` (unit 0 is the lowest bit).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from neurodyn.analysis._result import SavableResult
from neurodyn.errors import ArgumentError, ShapeError
from neurodyn.models import CTRNN
from neurodyn.models.boltzmann import (
    check_network,
    sbm_transition_matrix,
    simulate_sbm,
    state_codes,
)

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
        raise ArgumentError(f"noise_levels must be increasing and >= 0, got {levels.tolist()}")
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

    Returns
    -------
    ResonanceCurve
        H, I and D (bits) at each of the R noise levels, `[R]` each.

    Example
    -------
    >>> from neurodyn.models.boltzmann import autapse_weights, symmetric_bias
    >>> w = autapse_weights(2, 20.0)
    >>> curve = resonance_curve(w, symmetric_bias(w), [0.0, 1e3], steps=None, exact=True)
    >>> np.round(curve.mutual_information, 2).tolist()  # near-certain flips, then pure noise
    [2.0, 0.0]
    """
    weights, bias = check_network(weights, bias)
    levels = _levels(noise_levels)
    n = len(bias)
    seeds = np.random.SeedSequence(seed).generate_state(runs + 1)
    if initial is None:
        initial = np.random.default_rng(int(seeds[0])).integers(0, 2, n)
    initial = np.asarray(initial)
    if exact:
        if observe is not None:
            raise ArgumentError("exact curves measure every unit; leave `observe` unset")
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
        raise ArgumentError(f"a simulated curve needs steps >= 2, got {steps}")
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
        raise ArgumentError(
            "curves to average must share their noise levels; compute them over the same levels"
        )
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
        raise ArgumentError(f"method must be one of {DISCRETISATIONS}, got {method!r}")
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
