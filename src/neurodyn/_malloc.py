"""Keep freed memory in the process for reuse (glibc), in the CLI's training processes.

A training step allocates and frees the same large tensors (states, pre-activations, their
gradients: megabytes each) every step. glibc's malloc serves blocks above its mmap threshold
with fresh `mmap` calls and returns them to the system when freed, so every step pays the page
faults of touching new memory again: measured here, 30-45% of a step of the N=256 CTRNN (and
of the tutorial loop). Raising the mmap and trim thresholds to 1 GiB keeps those blocks in the
heap, reused step after step. The cost: the process keeps its peak memory until it exits.

That cost is right for a process that exists to train, and wrong to impose on someone else's:
a notebook or an application that calls `neurodyn.train.fit` would keep its peak memory and
see its allocator changed without asking. So the setting is opt-in, by the environment
variable `NEURODYN_MALLOC=keep`; the CLI's training commands (`train`, `sweep`, `study`,
`demo`) set it for their own process and the workers they start, unless the variable is
already set (`NEURODYN_MALLOC=system` keeps glibc's defaults there too). Training applies it
when it starts (`keep_freed_memory`, called by `fit`) and says so in one line on stderr, once
per process. Without glibc (macOS, musl) it does nothing.
"""

from __future__ import annotations

import ctypes
import os
import sys

_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3
_THRESHOLD = 1 << 30
_applied = False  # mallopt's setting lasts for the process: apply (and announce) it once


def keep_freed_memory() -> bool:
    """Raise glibc's mmap and trim thresholds when `NEURODYN_MALLOC=keep` (once per process,
    with one line on stderr); True when the setting is in effect."""
    global _applied
    if _applied:
        return True
    if os.environ.get("NEURODYN_MALLOC") != "keep" or sys.platform != "linux":
        return False
    try:
        mallopt = ctypes.CDLL("libc.so.6").mallopt
    except (OSError, AttributeError):  # not glibc
        return False
    _applied = bool(mallopt(_M_MMAP_THRESHOLD, _THRESHOLD)) and bool(
        mallopt(_M_TRIM_THRESHOLD, _THRESHOLD)
    )
    if _applied:
        print(
            "neurodyn: this process keeps freed memory for reuse (faster training steps; "
            "NEURODYN_MALLOC=system turns it off)",
            file=sys.stderr,
        )
    return _applied
