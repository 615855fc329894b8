"""The package's C++ loops, built on first use.

`models/_recurrence.cpp` (the CTRNN's time loops) and `train/_plasticity.cpp` (the local rule's)
are compiled by torch's extension builder the first time they are needed and cached by it (a
compiler is needed once; about 30 s each). Where they cannot be built (no compiler, no headers)
the callers fall back to their Python loops, which give the same numbers.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from types import ModuleType


@cache
def load_extension(
    name: str, source: Path, extra_cflags: tuple[str, ...] = ("-O3",)
) -> ModuleType | None:
    """The module built from the C++ file `source` under `name`, or None when it cannot be
    built."""
    from torch.utils import cpp_extension

    try:
        return cpp_extension.load(
            name=name, sources=[str(source)], extra_cflags=list(extra_cflags), verbose=False
        )
    except Exception:  # no compiler, no headers: the caller falls back, same numbers
        return None
