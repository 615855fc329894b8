"""Neuronal avalanches: detection from population spike counts, power-law fits of their sizes
and durations, Shew's kappa, the branching ratio and the crackling-noise relation.

An avalanche (Beggs & Plenz 2003) is a run of consecutive time bins that each hold at least one
spike, bounded by empty bins. Its size is the number of spikes it holds, its duration the
number of bins. The bin width decides what counts as one cascade; by default it is the mean
inter-event interval of the pooled population spikes (Beggs & Plenz's choice), rounded to whole
time steps. Runs that touch the start or the end of a recording are dropped: their true size is
unknown.

At criticality the sizes and durations follow power laws, P(S) ~ S^-tau and P(D) ~ D^-alpha,
and the mean size of avalanches of one duration grows as <S>(D) ~ D^gamma with
gamma = (alpha - 1) / (tau - 1) (the crackling-noise relation, Sethna, Dahmen & Myers 2001;
Friedman et al. 2012). A critical branching process (each spike causes on average sigma = 1
spikes in the next bin) has tau = 3/2, alpha = 2 and gamma = 2.

Power laws are fitted by maximum likelihood with the lower cut-off x_min chosen by the
Kolmogorov-Smirnov distance (Clauset, Shalizi & Newman 2009) through the `powerlaw` package
(Alstott, Bullmore & Plenz 2014; `pip install 'neurodyn[criticality]'`), which also compares
the power law with an exponential and a log-normal by the normalised log-likelihood ratio
(Vuong's test).
"""

from __future__ import annotations

import dataclasses
import json
import warnings
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import torch

from neurodyn._io import atomic_write
from neurodyn.analysis._result import SavableResult
from neurodyn.errors import ArgumentError, CorruptFile, MissingDependency, ShapeError, excerpt


def _as_counts(counts: Any) -> np.ndarray:
    """Population counts as a float array `[T, B]` (one trial when `[T]`)."""
    if isinstance(counts, torch.Tensor):
        counts = counts.detach().cpu().numpy()
    array = np.asarray(counts, dtype=float)
    if array.ndim == 1:
        array = array[:, None]
    if array.ndim != 2:
        raise ShapeError(
            f"population counts must be [T] or [T, B], got shape {list(array.shape)}: "
            "sum spikes [T, B, N] over their last axis first"
        )
    if not np.all(np.isfinite(array)) or np.any(array < 0):
        raise ArgumentError("population counts must be finite and non-negative")
    return array


def mean_inter_event_interval(counts: Any) -> float:
    """The mean interval, in time steps, between consecutive spikes of the pooled population.

    Parameters
    ----------
    counts : [T] or [T, B]
        Spikes per time step of the whole population, per trial.

    Returns
    -------
    float
        The sum over trials of (last spike time - first spike time) over the sum of
        (spikes - 1): simultaneous spikes count as intervals of zero.
    """
    array = _as_counts(counts)
    span, intervals = 0.0, 0.0
    for trial in array.T:
        times = np.flatnonzero(trial)
        n_events = trial.sum()
        if n_events >= 2:
            span += float(times[-1] - times[0])
            intervals += float(n_events - 1)
    if intervals == 0:
        raise ArgumentError(
            "the network is silent (fewer than two spikes in every trial): there are no "
            "avalanches; raise the input or the noise, or record longer"
        )
    return span / intervals


@dataclass(frozen=True)
class Avalanches(SavableResult):
    """The avalanches of a recording.

    Attributes
    ----------
    sizes : [A]             spikes in each avalanche
    durations : [A]         bins each avalanche lasts
    trial : [A]             the trial (column of the counts) it happened in
    start : [A]             its first bin
    bin_steps : int         time steps per bin
    mean_iei_steps : float  the mean inter-event interval of the pooled spikes (time steps)
    n_bins : int            bins in all trials together
    n_spikes : int          spikes in all trials together
    """

    sizes: np.ndarray
    durations: np.ndarray
    trial: np.ndarray
    start: np.ndarray
    bin_steps: int
    mean_iei_steps: float
    n_bins: int
    n_spikes: int


def _binned(array: np.ndarray, bin_steps: int) -> np.ndarray:
    """Counts `[T, B]` summed in bins of `bin_steps` steps: `[T // bin_steps, B]`."""
    n_bins = array.shape[0] // bin_steps
    return array[: n_bins * bin_steps].reshape(n_bins, bin_steps, -1).sum(axis=1)


def find_avalanches(counts: Any, *, bin_steps: int | None = None) -> Avalanches:
    """The avalanches in population spike counts (Beggs & Plenz 2003).

    Parameters
    ----------
    counts : [T] or [T, B]
        Spikes per time step of the whole population (spikes `[T, B, N]` summed over N), one
        column per trial; no avalanche spans two trials.
    bin_steps : int, optional
        Time steps per bin; by default the mean inter-event interval of the pooled spikes,
        rounded, and at least 1.

    Returns
    -------
    Avalanches
        Sizes and durations of the avalanches bounded by empty bins on both sides.

    Raises
    ------
    ArgumentError
        On a silent recording, or when no bin is empty (the bins are too wide to separate
        avalanches).

    Example
    -------
    >>> import numpy as np
    >>> counts = np.array([0, 2, 1, 0, 0, 3, 0, 1, 1, 1, 0])
    >>> found = find_avalanches(counts, bin_steps=1)
    >>> found.sizes.tolist(), found.durations.tolist()
    ([3, 3, 3], [2, 1, 3])
    """
    array = _as_counts(counts)
    iei = mean_inter_event_interval(array)
    if bin_steps is None:
        bin_steps = max(1, round(iei))
    if bin_steps < 1 or bin_steps > array.shape[0]:
        raise ArgumentError(
            f"bin_steps={bin_steps} must be between 1 and the recording's {array.shape[0]} steps"
        )
    binned = _binned(array, bin_steps)
    if not np.any(binned == 0):
        raise ArgumentError(
            f"no bin of {bin_steps} steps is empty, so no avalanche ends: pass a smaller "
            "bin_steps or record a sparser population"
        )
    sizes, durations, trials, starts = [], [], [], []
    for b in range(binned.shape[1]):
        active = binned[:, b] > 0
        edges = np.diff(active.astype(np.int8), prepend=0, append=0)
        begin, end = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
        # a run touching either end of the trial may have begun before or go on after it
        complete = (begin > 0) & (end < len(active))
        cumulative = np.concatenate([[0.0], np.cumsum(binned[:, b])])
        for s, e in zip(begin[complete], end[complete], strict=True):
            sizes.append(cumulative[e] - cumulative[s])
            durations.append(e - s)
            trials.append(b)
            starts.append(s)
    return Avalanches(
        sizes=np.asarray(sizes, dtype=np.int64),
        durations=np.asarray(durations, dtype=np.int64),
        trial=np.asarray(trials, dtype=np.int64),
        start=np.asarray(starts, dtype=np.int64),
        bin_steps=int(bin_steps),
        mean_iei_steps=float(iei),
        n_bins=int(binned.size),
        n_spikes=int(array.sum()),
    )


@dataclass(frozen=True)
class PowerLawFit(SavableResult):
    """A discrete power law P(x) ~ x^-exponent for x_min <= x (<= x_max) fitted by maximum
    likelihood, and its comparison with the alternatives.

    Attributes
    ----------
    exponent : float            the fitted exponent (tau for sizes, alpha for durations)
    exponent_stderr : float     its standard error
    xmin : float                the lower cut-off (chosen by the KS distance unless given)
    xmax : float                the upper cut-off (inf: none)
    n_tail : int                values in [xmin, xmax]
    ks_distance : float         KS distance between the fit and the data in [xmin, xmax]
    vs_exponential : float      normalised log-likelihood ratio, power law against exponential
                                (> 0: the power law fits better)
    p_exponential : float       its significance (small: the sign can be trusted)
    vs_lognormal : float        the same against a log-normal
    p_lognormal : float
    values : [M]                the values fitted (all of them, for the figure)
    """

    exponent: float
    exponent_stderr: float
    xmin: float
    xmax: float
    n_tail: int
    ks_distance: float
    vs_exponential: float
    p_exponential: float
    vs_lognormal: float
    p_lognormal: float
    values: np.ndarray


def _powerlaw() -> Any:
    try:
        import powerlaw
    except ImportError:
        raise MissingDependency(
            "power-law fits need the powerlaw package: pip install 'neurodyn[criticality]'"
        ) from None
    return powerlaw


def fit_power_law(
    values: Any,
    *,
    xmin: float | None = None,
    xmax: float | None = None,
    discrete: bool = True,
) -> PowerLawFit:
    """Fit a power law to avalanche sizes or durations (Clauset, Shalizi & Newman 2009).

    Parameters
    ----------
    values : [M]
        Positive values (sizes or durations).
    xmin : float, optional
        The lower cut-off; by default the one that minimises the KS distance.
    xmax : float, optional
        An upper cut-off (a network's size for avalanche sizes, say); none by default.
    discrete : bool
        Fit the discrete power law (integers: sizes, durations in bins).

    Returns
    -------
    PowerLawFit
        The exponent and its error, the cut-offs, and the likelihood-ratio comparisons against
        an exponential and a log-normal.

    Raises
    ------
    ArgumentError
        With fewer than 10 values or a non-positive one.
    MissingDependency
        Without the `powerlaw` package.
    """
    data = np.asarray(values, dtype=float).ravel()
    if data.size < 10:
        raise ArgumentError(
            f"a power-law fit needs at least 10 values, got {data.size}: record longer"
        )
    if np.any(data <= 0) or not np.all(np.isfinite(data)):
        raise ArgumentError("power-law fits take positive finite values")
    powerlaw = _powerlaw()
    with warnings.catch_warnings():
        # powerlaw warns on every fit that hits an edge of its parameter search (an exponential
        # with a tiny rate against heavy-tailed data, say); the comparison still holds
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            fit = powerlaw.Fit(data, discrete=discrete, xmin=xmin, xmax=xmax, verbose=False)
            r_exp, p_exp = fit.distribution_compare(
                "power_law", "exponential", normalized_ratio=True
            )
            r_log, p_log = fit.distribution_compare("power_law", "lognormal", normalized_ratio=True)
            # powerlaw 2 renamed the standard error (`sigma` still works, with a warning)
            stderr = getattr(fit.power_law, "standard_err", None)
            if stderr is None:
                stderr = fit.power_law.sigma
    upper = np.inf if xmax is None else float(xmax)
    in_tail = (data >= fit.xmin) & (data <= upper)
    return PowerLawFit(
        exponent=float(fit.power_law.alpha),
        exponent_stderr=float(stderr),
        xmin=float(fit.xmin),
        xmax=upper,
        n_tail=int(in_tail.sum()),
        ks_distance=float(fit.power_law.D),
        vs_exponential=float(r_exp),
        p_exponential=float(p_exp),
        vs_lognormal=float(r_log),
        p_lognormal=float(p_log),
        values=data,
    )


def kappa(
    sizes: Any,
    *,
    exponent: float = 1.5,
    smallest: int = 1,
    largest: int | None = None,
    n_points: int = 10,
) -> float:
    """Shew's kappa: how far the cumulative size distribution lies from a reference power law.

    kappa = 1 + mean_k [F_ref(beta_k) - F(beta_k)], with F the empirical cumulative
    distribution of the sizes in [smallest, largest], F_ref that of the discrete power law
    P(S) ~ S^-exponent on the same range, and beta_k `n_points` logarithmically spaced sizes
    in it (Shew, Yang, Petermann, Roy & Plenz 2009, J Neurosci 29:15595). kappa is near 1 at
    criticality, below 1 when large avalanches are too rare (subcritical), above 1 when they
    are too common (supercritical, a bump in the tail).

    Parameters
    ----------
    sizes : [A]
        Avalanche sizes.
    exponent : float
        The reference power law's exponent (3/2, the critical branching process's).
    smallest, largest : int
        The size range compared; `largest` defaults to the largest size seen (pass the
        network's size N for Shew's choice).
    n_points : int
        Sizes at which the two distributions are compared (Shew et al. use 10).

    Returns
    -------
    float
        kappa.

    Example
    -------
    >>> import numpy as np
    >>> s = np.arange(1, 101)
    >>> sizes = np.repeat(s, np.round(1e5 * s ** -1.5).astype(int))
    >>> round(kappa(sizes), 2)
    1.0
    """
    data = np.asarray(sizes, dtype=float).ravel()
    if data.size == 0:
        raise ArgumentError("kappa needs at least one avalanche: the network may be silent")
    if largest is None:
        largest = int(data.max())
    if not 1 <= smallest < largest:
        raise ArgumentError(
            f"kappa compares sizes from smallest={smallest} to largest={largest}: it needs "
            "1 <= smallest < largest (avalanches of more than one size)"
        )
    data = data[(data >= smallest) & (data <= largest)]
    support = np.arange(smallest, largest + 1, dtype=float)
    reference = np.cumsum(support**-exponent)
    reference /= reference[-1]
    betas = np.unique(np.floor(np.geomspace(smallest, largest, n_points)).astype(int))
    f_ref = reference[betas - smallest]
    f_data = np.searchsorted(np.sort(data), betas, side="right") / max(len(data), 1)
    return float(1.0 + np.mean(f_ref - f_data))


def branching_ratio(
    counts: Any,
    *,
    bin_steps: int = 1,
    method: Literal["ratio", "regression"] = "ratio",
) -> float:
    """The branching ratio sigma: spikes in a bin per spike in the bin before.

    Parameters
    ----------
    counts : [T] or [T, B]
        Spikes per time step of the whole population, per trial.
    bin_steps : int
        Time steps per bin (as for `find_avalanches`).
    method : {"ratio", "regression"}
        "ratio": sum_t n[t+1] / sum_t n[t] over the bins with n[t] > 0, the maximum-likelihood
        estimate of a branching process (Heyde & Seneta 1972; Beggs & Plenz 2003's descendants
        per ancestor); for independent units of mean count m per bin it gives chance,
        1 - exp(-m), not 0. "regression": the slope of n[t+1] against n[t] over all bins, which
        stays consistent when an external drive adds spikes (Wilting & Priesemann 2018, lag 1)
        and is 0 for independent units.

    Returns
    -------
    float
        sigma.
    """
    binned = _binned(_as_counts(counts), bin_steps)
    now, after = binned[:-1].ravel(), binned[1:].ravel()
    if now.sum() == 0:
        raise ArgumentError(
            "the network is silent: the branching ratio needs spikes; raise the input or noise"
        )
    if method == "ratio":
        ancestors = now > 0
        return float(after[ancestors].sum() / now[ancestors].sum())
    if method == "regression":
        if np.var(now) == 0:
            raise ArgumentError("the counts do not vary: the regression slope is undefined")
        return float(np.cov(now, after, bias=True)[0, 1] / np.var(now))
    raise ArgumentError(f"unknown method {method!r}: use 'ratio' or 'regression'")


@dataclass(frozen=True)
class CracklingNoise(SavableResult):
    """The crackling-noise relation: <S>(D) ~ D^gamma with gamma = (alpha - 1) / (tau - 1).

    Attributes
    ----------
    predicted : float           (alpha - 1) / (tau - 1) from the two fitted exponents
    fitted : float              gamma from the slope of log <S>(D) against log D
    fitted_stderr : float       the slope's standard error
    difference : float          fitted - predicted
    durations : [K]             the durations regressed over (each with >= `min_count` avalanches)
    mean_sizes : [K]            the mean size of avalanches of each duration
    """

    predicted: float
    fitted: float
    fitted_stderr: float
    difference: float
    durations: np.ndarray
    mean_sizes: np.ndarray


def crackling_noise(
    found: Avalanches,
    *,
    size_exponent: float,
    duration_exponent: float,
    min_duration: int = 2,
    max_duration: float = np.inf,
    min_count: int = 10,
) -> CracklingNoise:
    """Compare the exponent of <S>(D) with the one the size and duration exponents predict.

    Parameters
    ----------
    found : Avalanches
        The avalanches.
    size_exponent, duration_exponent : float
        tau and alpha (from `fit_power_law`).
    min_duration, max_duration : int
        The durations the slope is fitted over (a single bin's avalanche is not yet scaling).
    min_count : int
        Durations seen fewer times are left out (their mean size is too noisy).

    Returns
    -------
    CracklingNoise
        Predicted and fitted gamma.
    """
    if size_exponent <= 1:
        raise ArgumentError(f"size_exponent={size_exponent} must exceed 1 for gamma to exist")
    values, inverse, count = np.unique(found.durations, return_inverse=True, return_counts=True)
    mean_sizes = np.bincount(inverse, weights=found.sizes) / count
    keep = (values >= min_duration) & (values <= max_duration) & (count >= min_count)
    if keep.sum() < 3:
        raise ArgumentError(
            f"only {int(keep.sum())} durations have {min_count} or more avalanches: the "
            "crackling-noise slope needs 3; record longer or lower min_count"
        )
    x, y = np.log(values[keep].astype(float)), np.log(mean_sizes[keep])
    slope, intercept = np.polyfit(x, y, 1)
    residual = y - (slope * x + intercept)
    stderr = np.sqrt(residual @ residual / max(len(x) - 2, 1) / np.sum((x - x.mean()) ** 2))
    predicted = (duration_exponent - 1.0) / (size_exponent - 1.0)
    return CracklingNoise(
        predicted=float(predicted),
        fitted=float(slope),
        fitted_stderr=float(stderr),
        difference=float(slope - predicted),
        durations=values[keep],
        mean_sizes=mean_sizes[keep],
    )


@dataclass(frozen=True)
class AvalancheStatistics(SavableResult):
    """Everything `avalanche_statistics` measures on one recording.

    Attributes
    ----------
    avalanches : Avalanches
    sizes : PowerLawFit         the fit to the sizes (tau)
    durations : PowerLawFit     the fit to the durations (alpha)
    kappa : float               Shew's kappa of the sizes
    branching_ratio : float     sigma by the ratio estimator
    crackling : CracklingNoise | None   None when too few durations recur to fit the slope
    """

    avalanches: Avalanches
    sizes: PowerLawFit
    durations: PowerLawFit
    kappa: float
    branching_ratio: float
    crackling: CracklingNoise | None

    def save(self, path: str | Path) -> Path:
        """Write the statistics and their parts atomically to one `.npz` file at `path`."""
        arrays: dict[str, np.ndarray] = {}
        plain: dict[str, Any] = {"kappa": self.kappa, "branching_ratio": self.branching_ratio}
        for name in _PARTS:
            part = getattr(self, name)
            if part is None:
                continue
            plain[name] = {}
            for f in dataclasses.fields(part):
                value = getattr(part, f.name)
                if isinstance(value, np.ndarray):
                    arrays[f"{name}.{f.name}"] = value
                else:
                    plain[name][f.name] = value
        arrays["__json__"] = np.array(json.dumps(plain))

        def write(tmp: Path) -> None:
            with tmp.open("wb") as fh:
                np.savez(fh, **arrays)  # type: ignore[arg-type]  # numpy stubs

        return atomic_write(Path(path), write)

    @classmethod
    def load(cls, path: str | Path) -> AvalancheStatistics:
        """The statistics saved at `path`; `CorruptFile` if it is not such a file."""
        try:
            with np.load(path, allow_pickle=False) as data:
                plain = json.loads(str(data["__json__"]))
                parts: dict[str, Any] = {}
                for name, kind in _PARTS.items():
                    if name not in plain:
                        parts[name] = None
                        continue
                    values = dict(plain[name])
                    for f in dataclasses.fields(kind):
                        if f"{name}.{f.name}" in data.files:
                            values[f.name] = data[f"{name}.{f.name}"]
                    parts[name] = kind(**values)
        except FileNotFoundError:
            raise
        except (OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile) as err:
            raise CorruptFile(
                f"{path} cannot be read as saved AvalancheStatistics ({excerpt(str(err), 80)}): "
                "delete it and run the analysis again"
            ) from None
        return cls(kappa=plain["kappa"], branching_ratio=plain["branching_ratio"], **parts)


_PARTS: dict[str, type] = {
    "avalanches": Avalanches,
    "sizes": PowerLawFit,
    "durations": PowerLawFit,
    "crackling": CracklingNoise,
}


def avalanche_statistics(
    counts: Any,
    *,
    bin_steps: int | None = None,
    n_units: int | None = None,
) -> AvalancheStatistics:
    """Avalanches, their power-law fits, kappa, sigma and the crackling-noise relation.

    Parameters
    ----------
    counts : [T] or [T, B]
        Spikes per time step of the whole population, per trial.
    bin_steps : int, optional
        Time steps per bin; the mean inter-event interval by default.
    n_units : int, optional
        The population's size: kappa's largest size (Shew et al.'s choice); the largest size
        seen by default.

    Returns
    -------
    AvalancheStatistics

    Example
    -------
    >>> counts = simulate_branching_process(1.0, n_avalanches=2000, seed=0)
    >>> stats = avalanche_statistics(counts, bin_steps=1)
    >>> 0.9 < stats.kappa < 1.1, 0.9 < stats.branching_ratio < 1.1
    (True, True)
    """
    found = find_avalanches(counts, bin_steps=bin_steps)
    if len(found.sizes) < 10:
        raise ArgumentError(
            f"only {len(found.sizes)} avalanches: the statistics need at least 10; record longer"
        )
    size_fit = fit_power_law(found.sizes)
    duration_fit = fit_power_law(found.durations)
    largest = n_units if n_units is not None else int(found.sizes.max())
    try:
        crackling: CracklingNoise | None = crackling_noise(
            found,
            size_exponent=size_fit.exponent,
            duration_exponent=duration_fit.exponent,
        )
    except ArgumentError:
        crackling = None
    return AvalancheStatistics(
        avalanches=found,
        sizes=size_fit,
        durations=duration_fit,
        kappa=kappa(found.sizes, largest=max(largest, 2)),
        branching_ratio=branching_ratio(counts, bin_steps=found.bin_steps),
        crackling=crackling,
    )


def simulate_branching_process(
    sigma: float,
    *,
    n_avalanches: int,
    drive: float = 0.0,
    max_generations: int = 10_000,
    seed: int = 0,
) -> np.ndarray:
    """Population counts of a Galton-Watson branching process with Poisson(sigma) offspring:
    the reference model of avalanche analyses (planted exponents).

    Without drive, each avalanche starts from one spike and runs until it dies out (or for
    `max_generations`), with an empty bin between avalanches; sizes then follow
    P(S) ~ S^-3/2 and durations P(D) ~ D^-2 at sigma = 1, with an exponential cut-off below.
    With `drive` > 0 the process is one stationary recording of `n_avalanches` bins in which
    each bin also receives Poisson(drive) spikes from outside.

    Parameters
    ----------
    sigma : float
        Mean offspring per spike (the branching ratio).
    n_avalanches : int
        Avalanches to simulate (without drive) or bins (with drive).
    drive : float
        Mean external spikes per bin.
    max_generations : int
        Longest avalanche simulated (a critical process's durations are unbounded).
    seed : int
        Random seed.

    Returns
    -------
    [T]
        Spikes per bin.
    """
    if sigma < 0 or drive < 0:
        raise ArgumentError("sigma and drive must be non-negative")
    rng = np.random.default_rng(seed)
    if drive > 0:
        counts = np.zeros(n_avalanches, dtype=np.int64)
        for t in range(1, n_avalanches):
            counts[t] = rng.poisson(sigma * counts[t - 1] + drive)
        return counts
    pieces = [np.zeros(1, dtype=np.int64)]
    for _ in range(n_avalanches):
        generation = [1]
        while generation[-1] > 0 and len(generation) < max_generations:
            generation.append(int(rng.poisson(sigma * generation[-1])))
        if generation[-1] != 0:
            generation.append(0)
        pieces.append(np.asarray(generation, dtype=np.int64))
    return np.concatenate(pieces)


@dataclass(frozen=True)
class CriticalityCurve(SavableResult):
    """kappa (and, where there is one, a coding error) against a control parameter, over
    repeats (seeds): what the criticality figures draw.

    Attributes
    ----------
    control : [R]               the control parameter's values (a noise amplitude, say)
    kappa : [S, R]              kappa per repeat and value
    coding_error : [S, R]       the coding error per repeat and value (empty `[0, R]`: none)
    control_name : str          the control parameter's name, for axis labels
    """

    control: np.ndarray
    kappa: np.ndarray
    coding_error: np.ndarray
    control_name: str

    @property
    def kappa_optimum(self) -> float:
        """The control value whose mean kappa over repeats is closest to 1 (values where no
        repeat had avalanches are skipped)."""
        return _best(self.control, np.abs(_mean_over_repeats(self.kappa) - 1.0), "kappa")

    @property
    def error_minimum(self) -> float:
        """The control value of the lowest mean coding error (NaN without one)."""
        if self.coding_error.size == 0:
            return float("nan")
        return _best(self.control, _mean_over_repeats(self.coding_error), "coding error")


def _mean_over_repeats(values: np.ndarray) -> np.ndarray:
    """The mean over repeats `[S, R] -> [R]`, NaN where every repeat is NaN (no warning)."""
    counted = np.sum(np.isfinite(values), axis=0)
    total = np.nansum(values, axis=0)
    return np.where(counted > 0, total / np.maximum(counted, 1), np.nan)


def _best(control: np.ndarray, badness: np.ndarray, name: str) -> float:
    if not np.any(np.isfinite(badness)):
        raise ArgumentError(f"no control value has a {name}: every repeat was silent or failed")
    return float(control[np.nanargmin(badness)])


def criticality_curve(
    control: Any,
    kappa: Any,
    *,
    coding_error: Any = None,
    control_name: str = "noise",
) -> CriticalityCurve:
    """Gather kappa (and a coding error) measured at each value of a control parameter.

    Parameters
    ----------
    control : [R]
        The control parameter's values, increasing.
    kappa : [S, R] or [R]
        kappa per repeat (seed) and value.
    coding_error : [S, R] or [R], optional
        A coding error (an MSE) at the same points.
    control_name : str
        The parameter's name.

    Returns
    -------
    CriticalityCurve

    Example
    -------
    >>> curve = criticality_curve([0.1, 0.2, 0.4], [[1.3, 1.02, 0.8]], coding_error=[[3, 1, 2]])
    >>> curve.kappa_optimum, curve.error_minimum
    (0.2, 0.2)
    """
    values = np.asarray(control, dtype=float).ravel()
    kappas = np.atleast_2d(np.asarray(kappa, dtype=float))
    errors = (
        np.zeros((0, len(values)))
        if coding_error is None
        else np.atleast_2d(np.asarray(coding_error, dtype=float))
    )
    for name, array in (("kappa", kappas), ("coding_error", errors)):
        if array.ndim != 2 or array.shape[1] != len(values):
            raise ShapeError(
                f"{name} must be [S, R] with R = {len(values)} control values, "
                f"got shape {list(array.shape)}"
            )
    return CriticalityCurve(
        control=values, kappa=kappas, coding_error=errors, control_name=control_name
    )
