"""Ring codes: stimulus bumps on a ring of units and the population-vector read-out.

A ring of n units has preferred angles `2*pi*k/n`. A stimulus at angle theta drives unit k
with a Gaussian bump of the circular distance, as in the public code of Yang et al. 2019
(gyyang/multitask `task.py`): `0.8 * exp(-0.5 * (d / (pi/8))**2)`. Responses are read out by
the population vector.

Reference: Yang, Joglekar, Song, Newsome & Wang (2019), Nature Neuroscience 22, 297-306.
"""

from __future__ import annotations

import functools
import math

import torch
from torch import Tensor

BUMP_WIDTH = math.pi / 8
BUMP_HEIGHT = 0.8
TARGET_BASELINE = 0.05  # Yang et al. train every output towards 0.05 when it should be silent
CORRECT_WITHIN = 0.2 * math.pi


def preferred_angles(n_units: int, device: torch.device | None = None) -> Tensor:
    """Preferred angles `[n_units]` of a ring, evenly spaced from 0."""
    return torch.arange(n_units, device=device, dtype=torch.float32) * (2 * math.pi / n_units)


def circular_distance(a: Tensor, b: Tensor) -> Tensor:
    """Absolute angular distance in [0, pi], broadcasting `a` against `b`."""
    d = torch.remainder(a - b, 2 * math.pi)
    return torch.minimum(d, 2 * math.pi - d)


@functools.lru_cache(maxsize=16)
def _shared_preferred_angles(n_units: int, device: torch.device) -> Tensor:
    """`preferred_angles`, made once per size and device for the trial generators, which ask
    for them every batch and only read them."""
    return preferred_angles(n_units, device)


def ring_bump(angle: Tensor, n_units: int) -> Tensor:
    """Ring activity for stimuli at `angle [...]`: `[..., n_units]`, peaking at the angle."""
    d = circular_distance(angle[..., None], _shared_preferred_angles(n_units, angle.device))
    return BUMP_HEIGHT * torch.exp(-0.5 * (d / BUMP_WIDTH) ** 2)


def population_vector(activity: Tensor) -> Tensor:
    """Decode an angle in [0, 2 pi) from ring activity `[..., n_units]`: returns `[...]`.

    As the public code of Yang et al. 2019 decodes (`network.py`, `popvec`): the angle of
    `(sum_k a_k cos(theta_k), sum_k a_k sin(theta_k)) / sum_k a_k`, the activity-weighted mean
    of the preferred directions `theta_k`. Dividing by the summed activity matters where it
    is not positive, as a linear read-out can make it: a negative sum turns the vector by pi,
    so the angle decoded is opposite the one the activity's own vector points to, as in the
    original; a zero sum gives NaN (or, with a non-zero vector, the angle of infinite
    components), which no distance criterion accepts.

    Example
    -------
    >>> bump = ring_bump(torch.tensor(1.0), 32)  # summed activity about 4.0
    >>> round(float(population_vector(bump)), 4), round(float(population_vector(bump - 0.2)), 4)
    (1.0, 4.1416)
    """
    pref = _shared_preferred_angles(activity.shape[-1], activity.device)
    total = activity.sum(-1)
    sin = (activity * torch.sin(pref)).sum(-1) / total
    cos = (activity * torch.cos(pref)).sum(-1) / total
    return torch.remainder(torch.atan2(sin, cos), 2 * math.pi)
