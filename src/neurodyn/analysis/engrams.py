"""Engram measures: how many units a memory allocates, how much two memories share, and how
precisely the memory tells its context from a similar one.

The measures of engram experiments (Ramsaran et al., Science 2023; Josselyn & Tonegawa 2020),
on any activity array whose last axis is units, with any leading axes (ensemble, contexts):

- density: the fraction of units active (above `threshold`), c-Fos+ cells over all cells;
- overlap: the share of engram A's units also in engram B, their Jaccard index, and the share
  expected by chance (B's density) for independent allocation;
- freezing: the response of a fear readout that learned the engram with a covariance Hebbian
  rule, `w_i = a_i - f` (a: the engram's indicator, f: its density): the test activity t gives
  `sum_i w_i t_i / sum_i w_i a_i = (|E & T| / |E| - f |T| / |E|) / (1 - f)`, rectified. It is 1
  when the test reactivates the whole engram and nothing else of the same size, 0 at chance;
- discrimination: `(F_A - F_B) / (F_A + F_B)`, the discrimination index of contextual fear
  conditioning (0: freezing alike in A and B, imprecise; 1: freezing in A only).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from neurodyn.analysis._result import SavableResult
from neurodyn.errors import ShapeError

__all__ = [
    "EngramOverlap",
    "MemoryPrecision",
    "discrimination_index",
    "engram_density",
    "engram_overlap",
    "freezing",
    "memory_precision",
]


def _active(activity: Any, threshold: float) -> np.ndarray:
    array = np.asarray(activity.detach().cpu() if hasattr(activity, "detach") else activity)
    if array.ndim < 1 or array.shape[-1] < 1:
        raise ShapeError(f"activity must be [..., N] with N >= 1 units, got {list(array.shape)}")
    return array > threshold


def engram_density(activity: Any, *, threshold: float = 0.0) -> np.ndarray:
    """The fraction of units active (above `threshold`).

    Parameters
    ----------
    activity : [..., N]
        Rates (or any activity) of N units, any leading axes (ensemble, contexts).
    threshold : float
        A unit counts as active above it.

    Returns
    -------
    density : [...]

    Example
    -------
    >>> engram_density([[0.0, 0.3, 0.9, 0.0], [1.0, 1.0, 0.0, 0.2]]).tolist()
    [0.5, 0.75]
    """
    return _active(activity, threshold).mean(-1)


@dataclass(frozen=True, repr=False)
class EngramOverlap(SavableResult):
    """Overlap of engrams A and B, each `[...]`: `shared_of_a` (|A & B| / |A|), `jaccard`
    (|A & B| / |A | B|) and `chance` (B's density: the expected `shared_of_a` for independent
    allocation)."""

    shared_of_a: np.ndarray
    jaccard: np.ndarray
    chance: np.ndarray


def engram_overlap(activity_a: Any, activity_b: Any, *, threshold: float = 0.0) -> EngramOverlap:
    """The overlap of the engrams of two activities (an empty engram shares nothing: its
    ratios are 0).

    Parameters
    ----------
    activity_a, activity_b : [..., N]
        The activities whose active units (above `threshold`) are the engrams A and B.
    threshold : float
        A unit counts as active above it.

    Returns
    -------
    EngramOverlap
        `shared_of_a`, `jaccard` and `chance`, each `[...]`.

    Example
    -------
    >>> o = engram_overlap([1, 1, 1, 1, 0, 0, 0, 0], [0, 0, 1, 1, 1, 1, 0, 0])
    >>> float(o.shared_of_a), float(o.jaccard), float(o.chance)
    (0.5, 0.3333333333333333, 0.5)
    """
    a, b = _active(activity_a, threshold), _active(activity_b, threshold)
    if a.shape != b.shape:
        raise ShapeError(f"the two activities differ in shape: {a.shape} and {b.shape}")
    both = (a & b).sum(-1)
    either = (a | b).sum(-1)
    size_a = a.sum(-1)
    return EngramOverlap(
        shared_of_a=np.where(size_a > 0, both / np.maximum(size_a, 1), 0.0),
        jaccard=np.where(either > 0, both / np.maximum(either, 1), 0.0),
        chance=b.mean(-1),
    )


def freezing(engram: Any, test: Any, *, threshold: float = 0.0) -> np.ndarray:
    """The fear readout's response to the test activity (the module docstring's covariance
    readout), 0 for an engram of every unit or of none (the readout then learned nothing).

    Parameters
    ----------
    engram : [..., N]
        The activity at encoding; its active units are the engram.
    test : [..., N]
        The activity at recall.
    threshold : float
        A unit counts as active above it.

    Returns
    -------
    freezing : [...]
        In [0, 1]: 1 when the test reactivates exactly the engram, 0 at chance or below.

    Example
    -------
    >>> engram = [1, 1, 0, 0]
    >>> freezing(engram, [1, 1, 0, 0]).item(), freezing(engram, [1, 0, 1, 0]).item()
    (1.0, 0.0)
    """
    a, t = _active(engram, threshold), _active(test, threshold)
    if a.shape != t.shape:
        raise ShapeError(f"engram and test differ in shape: {a.shape} and {t.shape}")
    weights = a - a.mean(-1, keepdims=True)
    stored = (weights * a).sum(-1)
    response = (weights * t).sum(-1)
    return np.where(stored > 0, np.maximum(response, 0.0) / np.where(stored > 0, stored, 1), 0.0)


def discrimination_index(freezing_a: Any, freezing_b: Any) -> np.ndarray:
    """`(F_A - F_B) / (F_A + F_B)`, 0 where neither context evokes freezing.

    Parameters
    ----------
    freezing_a, freezing_b : [...]
        Freezing in the trained context A and in the similar context B.

    Returns
    -------
    discrimination : [...]
        1: freezing in A only (precise); 0: as much in B as in A (imprecise).

    Example
    -------
    >>> discrimination_index([0.75, 0.5], [0.25, 0.5]).tolist()
    [0.5, 0.0]
    """
    fa, fb = np.asarray(freezing_a, dtype=float), np.asarray(freezing_b, dtype=float)
    total = fa + fb
    return np.where(total > 0, (fa - fb) / np.where(total > 0, total, 1), 0.0)


@dataclass(frozen=True, repr=False)
class MemoryPrecision(SavableResult):
    """The precision of a memory tested in its context A and a similar context B, each field
    `[...]`: the engram's `density`, the test activities' densities `test_density_a` and
    `test_density_b`, the freezing in each and the `discrimination` index."""

    density: np.ndarray
    test_density_a: np.ndarray
    test_density_b: np.ndarray
    freezing_a: np.ndarray
    freezing_b: np.ndarray
    discrimination: np.ndarray


def memory_precision(
    engram: Any, test_a: Any, test_b: Any, *, threshold: float = 0.0
) -> MemoryPrecision:
    """The precision of a memory recalled in its context and in a similar one.

    Parameters
    ----------
    engram : [..., N]
        The activity at encoding in context A; its active units are the engram.
    test_a, test_b : [..., N]
        The activity at recall in A and in the similar context B.
    threshold : float
        A unit counts as active above it.

    Returns
    -------
    MemoryPrecision
        The engram's density, the test densities, freezing in A and B and the
        discrimination index, each `[...]`.

    Example
    -------
    >>> p = memory_precision([1, 1, 0, 0], [1, 1, 0, 0], [1, 0, 1, 0])
    >>> float(p.freezing_a), float(p.freezing_b), float(p.discrimination)
    (1.0, 0.0, 1.0)
    """
    fa = freezing(engram, test_a, threshold=threshold)
    fb = freezing(engram, test_b, threshold=threshold)
    return MemoryPrecision(
        density=engram_density(engram, threshold=threshold),
        test_density_a=engram_density(test_a, threshold=threshold),
        test_density_b=engram_density(test_b, threshold=threshold),
        freezing_a=fa,
        freezing_b=fb,
        discrimination=discrimination_index(fa, fb),
    )
