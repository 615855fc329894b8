"""The package's version, and the versions of what it computes with (recorded with every run)."""

from __future__ import annotations

__version__ = "0.1.0"


def versions() -> dict[str, str]:
    """The versions of neurodyn, torch and numpy in this process, by package name."""
    import numpy
    import torch

    return {"neurodyn": __version__, "torch": torch.__version__, "numpy": numpy.__version__}


def versions_line(versions: dict[str, str]) -> str:
    """`versions` in words: 'neurodyn 0.1.0, torch 2.13.0, numpy 2.3.0'."""
    return ", ".join(f"{name} {version}" for name, version in versions.items())
