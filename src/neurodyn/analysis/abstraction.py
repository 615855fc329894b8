"""The geometry of abstraction: cross-condition generalisation, parallelism, shattering.

Bernardi et al. (2020, Cell, "The geometry of abstraction in the hippocampus and prefrontal
cortex") call a binary variable *abstract* in a population when a linear decoder of it,
trained on some conditions, generalises to conditions it never saw. Johnston & Fusi (2023,
Nat. Commun., "Abstract representations emerge naturally in neural networks trained to perform
multiple tasks") use these measures to show that abstraction grows with the number of tasks
a network learns. Three measures:

- `ccgp`: cross-condition generalisation performance. For a variable v and each other variable
  w, train a linear decoder of v on the trials where w takes one value, test it on the trials
  where w takes the other, and average over (w, value): Johnston & Fusi's split of the latent
  space by the other variables. 1 for a factorised (abstract) code with little noise, about
  chance (0.5) when the conditions sit at unrelated positions.
- `parallelism_score`: the coding vectors of v (condition mean with v = 1 minus its partner with
  v = 0) are parallel in an abstract code: the mean cosine between them, maximised over the
  ways to pair the conditions (Bernardi et al.). 1 for a factorised code, 0 for conditions at
  orthogonal positions.
- `shattering_dimensionality`: the cross-validated accuracy of a linear decoder averaged over
  every balanced dichotomy of the conditions: how many ways of splitting the conditions the
  code can read out linearly. A factorised code of two variables reads out two of its three
  dichotomies (the XOR one sits at chance): 0.83; conditions at orthogonal positions read out
  all: 1.

Input convention: `states [(E,) S, N]` (S samples, pooled over trials and the time steps the
caller chose, of N units; E ensemble members, optional) and `labels [S, V]`: the value (0 or 1,
or booleans) of each of V binary variables on each sample. A condition is one combination of
the V values. Decoders are ridge-regularised least-squares linear classifiers (scikit-learn's
`RidgeClassifier` with the same `alpha` gives the same weights), computed in float64 and
batched over members.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from neurodyn.analysis._arrays import as_array, as_float_array
from neurodyn.analysis._result import SavableResult
from neurodyn.errors import ArgumentError, ShapeError

# The most conditions per side of a variable for which the parallelism score tries every
# pairing (8! = 40,320 pairings).
MAX_PAIRED_CONDITIONS = 8


def _check(states: Any, labels: Any) -> tuple[np.ndarray, np.ndarray, bool]:
    """States as `[E, S, N]` float64 (a single network gets E = 1), labels as `[S, V]` int,
    and whether the states had an ensemble axis."""
    x = as_float_array(states)
    if x.ndim not in (2, 3):
        raise ShapeError(
            f"states must be [S, N] or [E, S, N] (samples, units), got {tuple(x.shape)}"
        )
    if not np.all(np.isfinite(x)):
        raise ArgumentError("states hold NaN or infinite values")
    ensemble = x.ndim == 3
    x = x if ensemble else x[None]
    y = as_array(labels)
    if y.ndim == 1:
        y = y[:, None]
    if y.ndim != 2 or y.shape[0] != x.shape[1]:
        raise ShapeError(
            f"labels must be [S, V] with S = {x.shape[1]} samples (one row per sample of states), "
            f"got {tuple(y.shape)}"
        )
    if y.dtype == bool:
        y = y.astype(np.int64)
    if not np.all((y == 0) | (y == 1)):
        raise ArgumentError(
            "labels must be binary (0/1 or booleans), one column per variable; threshold a "
            "continuous variable first, e.g. labels = latent > 0"
        )
    return x, y.astype(np.int64), ensemble


def fit_linear_classifier(
    states: np.ndarray, classes: np.ndarray, ridge: float = 1e-3
) -> tuple[np.ndarray, np.ndarray]:
    """A ridge-regularised least-squares linear classifier of 0/1 `classes`, per member.

    The ridge regression (`fit_linear_regression`) onto targets -1/+1: the weights minimise
    ||X w + b - t||^2 + alpha ||w||^2 with
    alpha = `ridge` times the centred states' mean squared norm per unit, so that `ridge` does
    not depend on the states' scale (scikit-learn's `RidgeClassifier(alpha=alpha)` gives the
    same `w` and `b`).

    Parameters
    ----------
    states : [E, S, N] float64
    classes : [S] int, 0 or 1
    ridge : float
        Regularisation relative to the states' scale (> 0).

    Returns
    -------
    weights : [E, N], bias : [E]
    """
    targets = 2.0 * classes - 1.0
    weights, bias = fit_linear_regression(states, targets[:, None], ridge)
    return weights[..., 0], bias[..., 0]


def _accuracy(
    states: np.ndarray, classes: np.ndarray, weights: np.ndarray, bias: np.ndarray
) -> np.ndarray:
    """[E] fraction of samples on the right side of each member's boundary (a sample on it
    counts half)."""
    score = np.einsum("esn,en->es", states, weights) + bias[:, None]
    sign = 2.0 * classes - 1.0
    return np.mean(np.where(score == 0, 0.5, (score * sign > 0).astype(np.float64)), axis=1)


def _names(variables: Sequence[str] | None, n: int) -> list[str]:
    if variables is None:
        return [f"v{i}" for i in range(n)]
    if len(variables) != n:
        raise ArgumentError(f"{len(variables)} variable names given for {n} label columns")
    return list(variables)


def _ccgp(x: np.ndarray, y: np.ndarray, v: int, names: list[str], ridge: float) -> np.ndarray:
    others = [w for w in range(y.shape[1]) if w != v]
    if not others:
        raise ArgumentError(
            f"CCGP of {names[v]!r} needs a second binary variable to split the conditions by "
            "(labels has one column); add the variable that the decoder must generalise across"
        )
    scores = []
    for w in others:
        for value in (0, 1):
            train, test = y[:, w] == value, y[:, w] != value
            for part, where in ((train, "trained on"), (test, "tested on")):
                if len(np.unique(y[part, v])) < 2:
                    raise ArgumentError(
                        f"CCGP of {names[v]!r}: the samples with {names[w]} "
                        f"{'=' if where == 'trained on' else '!='} {value} hold only one value "
                        f"of {names[v]!r}, so the conditions do not split into two balanced "
                        "dichotomies; sample every combination of the variables"
                    )
            weights, bias = fit_linear_classifier(x[:, train], y[train, v], ridge)
            scores.append(_accuracy(x[:, test], y[test, v], weights, bias))
    return np.mean(scores, axis=0)


def ccgp(
    states: Any,
    labels: Any,
    *,
    variables: Sequence[str] | None = None,
    ridge: float = 1e-3,
) -> np.ndarray:
    """Cross-condition generalisation performance of each binary variable.

    Parameters
    ----------
    states : [(E,) S, N]
    labels : [S, V] 0/1 or bool
        V >= 2 binary variables; every combination of a variable and another's value must hold
        both values of the first.
    variables : names of the V variables (for messages), default v0, v1, ...
    ridge : float
        The decoder's regularisation (`fit_linear_classifier`).

    Returns
    -------
    [(E,) V] float64
        Test accuracy of a decoder of each variable trained where another variable takes one
        value and tested where it takes the other, averaged over the other variables and
        their two values; chance is 0.5.
    """
    x, y, ensemble = _check(states, labels)
    names = _names(variables, y.shape[1])
    out = np.stack([_ccgp(x, y, v, names, ridge) for v in range(y.shape[1])], axis=-1)
    return out if ensemble else out[0]


def _conditions(y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct label rows `[C, V]` and each sample's condition index `[S]`."""
    rows, index = np.unique(y, axis=0, return_inverse=True)
    return rows, index.reshape(-1)


def parallelism_score(
    states: Any, labels: Any, *, variables: Sequence[str] | None = None
) -> np.ndarray:
    """Bernardi et al.'s parallelism score of each binary variable.

    Parameters
    ----------
    states : [(E,) S, N]
    labels : [S, V] 0/1 or bool
        Each variable must split the conditions into two sides of equal size, at most
        `MAX_PAIRED_CONDITIONS` conditions per side.
    variables : names of the V variables (for messages)

    Returns
    -------
    [(E,) V] float64
        For each variable, the mean cosine similarity between its coding vectors (the mean
        state of a condition with the variable at 1 minus that of its partner at 0), over the
        pairs of coding vectors, maximised over the ways of pairing the two sides' conditions.
        1: parallel coding vectors (an abstract variable); 0: orthogonal ones.
    """
    x, y, ensemble = _check(states, labels)
    names = _names(variables, y.shape[1])
    rows, index = _conditions(y)
    means = np.stack([x[:, index == c].mean(axis=1) for c in range(len(rows))], axis=1)  # [E,C,N]
    out = []
    for v in range(y.shape[1]):
        low, high = np.flatnonzero(rows[:, v] == 0), np.flatnonzero(rows[:, v] == 1)
        if len(low) != len(high) or len(low) < 2:
            raise ArgumentError(
                f"the parallelism score of {names[v]!r} needs the same number (at least 2) of "
                f"conditions with it at 0 and at 1, got {len(low)} and {len(high)}; sample every "
                "combination of the variables"
            )
        if len(low) > MAX_PAIRED_CONDITIONS:
            raise ArgumentError(
                f"{names[v]!r} has {len(low)} conditions per side: trying every pairing "
                f"({math.factorial(len(low)):,}) is too many; use at most "
                f"{MAX_PAIRED_CONDITIONS} per side (fewer variables)"
            )
        best = np.full(x.shape[0], -np.inf)
        pairs = list(itertools.combinations(range(len(low)), 2))
        for order in itertools.permutations(high):
            coding = means[:, list(order)] - means[:, low]  # [E, K, N]
            norm = np.linalg.norm(coding, axis=-1, keepdims=True)
            unit = coding / np.maximum(norm, 1e-300)
            cosine = np.einsum("ekn,ejn->ekj", unit, unit)
            score = np.mean([cosine[:, i, j] for i, j in pairs], axis=0)
            best = np.maximum(best, score)
        out.append(best)
    result = np.stack(out, axis=-1)
    return result if ensemble else result[0]


def _folds(index: np.ndarray, n_folds: int, rng: np.random.Generator) -> np.ndarray:
    """A fold for each sample, dealt round-robin within each condition after a shuffle, so
    every fold holds every condition."""
    fold = np.empty(len(index), dtype=np.int64)
    for c in np.unique(index):
        members = rng.permutation(np.flatnonzero(index == c))
        if len(members) < n_folds:
            raise ArgumentError(
                f"condition {c} has {len(members)} samples, fewer than n_folds = {n_folds}; "
                "give more trials or fewer folds"
            )
        fold[members] = np.arange(len(members)) % n_folds
    return fold


def balanced_dichotomies(n_conditions: int) -> list[tuple[int, ...]]:
    """Every split of the conditions into two halves of equal size, each split once.

    Parameters
    ----------
    n_conditions : int
        C, even.

    Returns
    -------
    list of tuples of C/2 ints
        For each split, the half holding condition 0, as sorted condition indices
        (C!/(2 ((C/2)!)^2) of them: 3 for 4 conditions, 35 for 8).
    """
    if n_conditions < 2 or n_conditions % 2:
        raise ArgumentError(
            f"balanced dichotomies need an even number of conditions (at least 2), got "
            f"{n_conditions}"
        )
    rest = range(1, n_conditions)
    return [(0, *more) for more in itertools.combinations(rest, n_conditions // 2 - 1)]


def shattering_dimensionality(
    states: Any,
    labels: Any,
    *,
    ridge: float = 1e-3,
    n_folds: int = 5,
    max_dichotomies: int = 64,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """Cross-validated linear decoding accuracy over the balanced dichotomies of the conditions.

    Parameters
    ----------
    states : [(E,) S, N]
    labels : [S, V] 0/1 or bool
        The conditions are the distinct rows (an even number of them).
    ridge : float
        The decoder's regularisation (`fit_linear_classifier`).
    n_folds : int
        Cross-validation folds, dealt within each condition.
    max_dichotomies : int
        With more balanced dichotomies than this (e.g. 6,435 for 16 conditions), a random
        subset of this many (drawn with `seed`) is decoded.
    seed : int
        For the folds and the subset.

    Returns
    -------
    shattering : [(E,)] float64
        The mean accuracy over the dichotomies.
    accuracy : [(E,) M] float64
        Each dichotomy's held-out accuracy, in the order of `balanced_dichotomies` (or of the
        drawn subset).
    """
    x, y, ensemble = _check(states, labels)
    rows, index = _conditions(y)
    rng = np.random.default_rng(seed)
    dichotomies = balanced_dichotomies(len(rows))
    if len(dichotomies) > max_dichotomies:
        pick = np.sort(rng.choice(len(dichotomies), size=max_dichotomies, replace=False))
        dichotomies = [dichotomies[i] for i in pick]
    fold = _folds(index, n_folds, rng)
    accuracy = np.empty((x.shape[0], len(dichotomies)))
    for d, half in enumerate(dichotomies):
        classes = np.isin(index, half).astype(np.int64)
        correct = np.zeros(x.shape[0])
        for k in range(n_folds):
            train, test = fold != k, fold == k
            weights, bias = fit_linear_classifier(x[:, train], classes[train], ridge)
            correct += _accuracy(x[:, test], classes[test], weights, bias) * test.sum()
        accuracy[:, d] = correct / len(index)
    mean = accuracy.mean(axis=1)
    return (mean, accuracy) if ensemble else (mean[0], accuracy[0])


@dataclass(frozen=True)
class Abstraction(SavableResult):
    """How abstractly a population codes a set of binary variables.

    Attributes
    ----------
    variables : list of V variable names
    ccgp : [(E,) V]              cross-condition generalisation performance per variable
    parallelism : [(E,) V]       parallelism score per variable
    shattering : [(E,)]          shattering dimensionality (mean accuracy over dichotomies)
    dichotomy_accuracy : [(E,) M] held-out accuracy of each balanced dichotomy decoded
    n_conditions : int           C, the distinct combinations of the variables
    """

    variables: list[str]
    ccgp: np.ndarray
    parallelism: np.ndarray
    shattering: np.ndarray
    dichotomy_accuracy: np.ndarray
    n_conditions: int


def abstraction(
    states: Any,
    labels: Any,
    *,
    variables: Sequence[str] | None = None,
    ridge: float = 1e-3,
    n_folds: int = 5,
    max_dichotomies: int = 64,
    seed: int = 0,
) -> Abstraction:
    """CCGP, parallelism score and shattering dimensionality of one population (or of each
    ensemble member) for the same binary variables.

    Parameters
    ----------
    states : [(E,) S, N]
    labels : [S, V] 0/1 or bool, V >= 2 binary variables sampled in every combination
    variables : names of the V variables, default v0, v1, ...
    ridge, n_folds, max_dichotomies, seed
        As `ccgp` and `shattering_dimensionality` take them.

    Returns
    -------
    Abstraction
    """
    x, y, ensemble = _check(states, labels)
    names = _names(variables, y.shape[1])
    scores = ccgp(x, y, variables=names, ridge=ridge)
    parallel = parallelism_score(x, y, variables=names)
    shattering, accuracy = shattering_dimensionality(
        x, y, ridge=ridge, n_folds=n_folds, max_dichotomies=max_dichotomies, seed=seed
    )
    if not ensemble:
        scores, parallel, shattering, accuracy = scores[0], parallel[0], shattering[0], accuracy[0]
    return Abstraction(
        variables=names,
        ccgp=scores,
        parallelism=parallel,
        shattering=np.asarray(shattering),
        dichotomy_accuracy=accuracy,
        n_conditions=len(_conditions(y)[0]),
    )


@dataclass(frozen=True)
class RegressionGeneralisation(SavableResult):
    """How well a linear read-out of a latent variable generalises to held-out groups of
    samples (e.g. a quadrant of the latent space it never saw).

    Attributes
    ----------
    groups : list of G group labels, in the order of `r2`
    r2 : [(E,) G]    per held-out group, 1 - mean squared error / (D `variance`)
    mean_r2 : [(E,)] the mean over the groups
    variance : float the per-coordinate variance the error is divided by
    """

    groups: list[int]
    r2: np.ndarray
    mean_r2: np.ndarray
    variance: float


def fit_linear_regression(
    states: np.ndarray, targets: np.ndarray, ridge: float = 1e-3
) -> tuple[np.ndarray, np.ndarray]:
    """Ridge-regularised least-squares read-out of `targets` from `states`, per member.

    Parameters
    ----------
    states : [E, S, N] float64
    targets : [S, D] float64
    ridge : float
        Regularisation relative to the centred states' mean squared norm per unit, so that it
        does not depend on the states' scale (solved in the dual, S x S, form when units
        outnumber samples).

    Returns
    -------
    weights : [E, N, D], bias : [E, D]
    """
    mean_x = states.mean(axis=1, keepdims=True)
    centred = states - mean_x
    mean_y = targets.mean(axis=0)
    t = targets - mean_y
    n_samples, n_units = states.shape[1:]
    alpha = ridge * np.maximum((centred**2).sum(axis=(1, 2)) / n_units, 1e-300)  # [E]
    if n_samples >= n_units:
        gram = np.einsum("esn,esm->enm", centred, centred) + alpha[:, None, None] * np.eye(n_units)
        weights = np.linalg.solve(gram, np.einsum("esn,sd->end", centred, t))
    else:  # the dual form: an S x S system when units outnumber samples
        kernel = np.einsum("esn,etn->est", centred, centred)
        kernel += alpha[:, None, None] * np.eye(n_samples)
        dual = np.linalg.solve(kernel, np.broadcast_to(t, (len(states), *t.shape)))
        weights = np.einsum("esn,esd->end", centred, dual)
    bias = mean_y[None] - np.einsum("en,end->ed", mean_x[:, 0], weights)
    return weights, bias


def regression_generalisation(
    states: Any,
    targets: Any,
    groups: Any,
    *,
    variance: float | None = None,
    ridge: float = 1e-3,
) -> RegressionGeneralisation:
    """Out-of-distribution generalisation of a linear read-out: for each group, fit the
    read-out of `targets` on the samples of every other group and score it on that group.

    Vafidis, Bhargava & Rangel (2025) hold out one quadrant of the latent square at a time:
    a network whose states hold the latent variable disentangled scores near 1 on the quadrant
    it never saw; a non-abstract code extrapolates poorly (r2 low or negative).

    Parameters
    ----------
    states : [(E,) S, N]
    targets : [S, D] (or [S]) the latent variable to read out
    groups : [S] int, the group of each sample (at least two groups)
    variance : float, optional
        The per-coordinate variance the squared error is divided by (the public code uses that
        of the whole latent distribution, 1/12 for the uniform square); default: the targets'
        own variance over all samples, averaged over coordinates.
    ridge : float
        The read-out's regularisation (`fit_linear_regression`).

    Returns
    -------
    RegressionGeneralisation
    """
    x = as_float_array(states)
    if x.ndim not in (2, 3):
        raise ShapeError(f"states must be [S, N] or [E, S, N], got {tuple(x.shape)}")
    ensemble = x.ndim == 3
    x = x if ensemble else x[None]
    y = as_float_array(targets)
    y = y[:, None] if y.ndim == 1 else y
    g = as_array(groups).reshape(-1)
    if y.shape[0] != x.shape[1] or len(g) != x.shape[1]:
        raise ShapeError(
            f"targets {tuple(y.shape)} and groups {tuple(g.shape)} must have one row per sample "
            f"of states ({x.shape[1]})"
        )
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ArgumentError("states or targets hold NaN or infinite values")
    labels = [int(v) for v in np.unique(g)]
    if len(labels) < 2:
        raise ArgumentError(
            "regression generalisation needs samples from at least two groups (one to hold "
            f"out, others to fit on), got the single group {labels}"
        )
    var = float(np.mean(y.var(axis=0))) if variance is None else float(variance)
    if not var > 0:
        raise ArgumentError(f"the variance to normalise by must be positive, got {var}")
    r2 = np.empty((x.shape[0], len(labels)))
    for i, label in enumerate(labels):
        train, test = g != label, g == label
        weights, bias = fit_linear_regression(x[:, train], y[train], ridge)
        predicted = np.einsum("esn,end->esd", x[:, test], weights) + bias[:, None]
        error = np.mean((predicted - y[test][None]) ** 2, axis=(1, 2))
        r2[:, i] = 1 - error / var
    mean = r2.mean(axis=1)
    return RegressionGeneralisation(
        groups=labels,
        r2=r2 if ensemble else r2[0],
        mean_r2=mean if ensemble else np.asarray(mean[0]),
        variance=var,
    )
