"""Keep freed memory in the process for reuse (glibc).

A training step allocates and frees the same large tensors (states, pre-activations, their
gradients: megabytes each) every step. glibc's malloc serves blocks above its mmap threshold
with fresh `mmap` calls and returns them to the system when freed, so every step pays the page
faults of touching new memory again: measured here, 30-45% of a step of the N=256 CTRNN (and
of the tutorial loop). Raising the mmap and trim thresholds to 1 GiB keeps those blocks in the
heap, reused step after step. The cost: the process keeps its peak memory until it exits, which
is what a training process wants anyway.

Applied when training starts (`neurodyn.train.fit`); `NEURODYN_MALLOC=system` leaves glibc's
defaults. Without glibc (macOS, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import os
import sys
from functools import cache

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_THRESHOLD = 1 << 30


@cache
def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds (once per process); True when applied."""
    if sys.platform != "linux" or os.environ.get("NEURODYN_MALLOC") == "system":
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    return bool(mallopt(_M_MMAP_THRESHOLD, _THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, _THRESHOLD)
    )
