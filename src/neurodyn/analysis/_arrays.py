"""Arrays in, whatever the caller holds: numpy arrays, lists, or torch tensors on any device,
with or without grad."""

from __future__ import annotations

from typing import Any

import numpy as np


def as_array(x: Any, dtype: Any = None) -> np.ndarray:
    """A numpy array of `x` (of `dtype` when given): tensors are detached and brought to the
    CPU first, where `np.asarray` alone fails on GPU tensors and on ones that require grad."""
    if hasattr(x, "detach"):
        x = x.detach().cpu()
    return np.asarray(x, dtype=dtype)


def as_float_array(x: Any) -> np.ndarray:
    """`as_array(x)` in float64, the precision the numpy analyses compute in."""
    return as_array(x, np.float64)
