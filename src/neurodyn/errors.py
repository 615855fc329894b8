"""Error types. Each message says what was wrong and what to do about it.

The CLI prints a `NeurodynError` as one line, without a traceback: these are user mistakes,
not bugs.
"""

from __future__ import annotations

import difflib
import json
import reprlib
from collections.abc import Iterable


class NeurodynError(Exception):
    """Base class of every error neurodyn raises on purpose."""


class TaskNotFound(NeurodynError, KeyError):
    """An unknown task name. Also a `KeyError`, so code that catches that keeps working."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class ConfigError(NeurodynError, ValueError):
    """A config field that is unknown, missing or of the wrong type. Also a `ValueError`."""


class ArgumentError(NeurodynError, ValueError):
    """A function argument whose value cannot be used: an unknown option, a number out of
    range, a selection that leaves nothing. Also a `ValueError`, so code that catches that
    keeps working."""


class EpochNotFound(NeurodynError, KeyError):
    """An epoch name that the batch or task does not have. Also a `KeyError`."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class EngineUnavailable(NeurodynError, RuntimeError):
    """A compiled engine that was asked for by name but cannot run here (no compiler, or
    tensors it does not take). Also a `RuntimeError`."""


class MissingDependency(NeurodynError, ImportError):
    """An optional package that a function needs is not installed; the message names the
    extra that brings it. Also an `ImportError`."""


class ShapeError(NeurodynError, ValueError):
    """A tensor whose shape does not match what the function documents. Also a
    `ValueError`."""


class RunNotFound(NeurodynError, FileNotFoundError):
    """A run directory that does not exist or is not a run."""


class RunExists(NeurodynError, FileExistsError):
    """Refusing to overwrite a run that is already on disk."""


class RunLocked(NeurodynError):
    """Another live process is writing the run folder (or running the sweep) already."""


class CorruptCheckpoint(NeurodynError, ValueError):
    """A weights or checkpoint file that cannot be read back."""


class CorruptFile(NeurodynError, ValueError):
    """A file in a run or runs folder (metrics, index, settings, a saved result, a sweep
    manifest) that cannot be read back."""


class ChecksumMismatch(CorruptFile):
    """A file of a shipped network (`neurodyn.zoo`) whose bytes are not those its manifest
    records: damaged or edited since it was shipped."""


class ZooEntryNotFound(NeurodynError, KeyError):
    """A network name the zoo does not have, or a study with no networks in the zoo yet. Also a
    `KeyError`."""

    def __str__(self) -> str:  # KeyError would otherwise quote the message
        return str(self.args[0])


class DiskFull(NeurodynError, OSError):
    """A write failed because the file system is full; the file it replaced is untouched."""


class TrainingDiverged(NeurodynError, FloatingPointError):
    """The loss became NaN or infinite; a run keeps its last checkpoint, if it wrote one."""


class NeurodynWarning(UserWarning):
    """Base class of every warning neurodyn gives on purpose (the CLI prints each as one
    line)."""


class CompiledLoopsUnavailable(NeurodynWarning, RuntimeWarning):
    """The C++ loops cannot be built or loaded here; the Python loops run instead (slower)."""


class StaleLockTakenOver(NeurodynWarning):
    """A lock left by a process that died while writing a run folder was taken over."""


class RunNamedTwice(NeurodynWarning):
    """A comparison names one run twice: each of its networks also meets its own copy."""


class UnitsLeftOut(NeurodynWarning):
    """Units of a network were left out of a synthetic recording as silent (they barely move)."""


class EngineChanged(NeurodynWarning):
    """A run is resumed with another engine than trained it so far (C++ and Python loops
    agree per pass to float rounding, not bitwise over a training)."""


def nearest_names(name: str, candidates: Iterable[str], n: int = 3) -> list[str]:
    """The candidates closest to `name` (for 'did you mean' hints): up to `n` of those at
    least 0.4 similar, only those nearly as close as the closest (a typo's one fix is not
    followed by names it merely shares letters with: `n_hiden` -> `n_hidden`, not `mask_in`)."""
    close = difflib.get_close_matches(name, list(candidates), n=n, cutoff=0.4)
    score = {c: difflib.SequenceMatcher(None, name, c).ratio() for c in close}
    return [c for c in close if score[c] >= score[close[0]] - 0.2] if close else []


def excerpt(value: object, limit: int = 60) -> str:
    """A bounded, one-line repr of `value` for error messages.

    A config value can be huge (a YAML alias bomb expands to millions of items) or hold
    newlines and terminal escape codes; messages quote it through this so they stay one short
    line whatever the input. Containers are summarised without walking them.
    """
    if isinstance(value, dict):
        text = f"<mapping of {len(value)} keys>"
    elif isinstance(value, (list, tuple, set)):
        text = f"<{type(value).__name__} of {len(value)} items>"
    else:
        text = repr(value) if isinstance(value, str) else reprlib.repr(value)
    text = text.encode("ascii", "backslashreplace").decode("ascii")
    text = "".join(c if c.isprintable() else "?" for c in text)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def install_hint(extra: str) -> str:
    """How to install one of neurodyn's extras, as this installation takes it: `pip install
    'neurodyn[EXTRA]'`, or `pip install -e '.[EXTRA]'` in a clone installed in place (`make
    demo` makes one), where the first would fetch a released neurodyn over this one."""
    import importlib.metadata  # 40 ms that every command would pay at start-up

    try:
        found = importlib.metadata.distribution("neurodyn").read_text("direct_url.json")
        editable = bool(json.loads(found or "{}").get("dir_info", {}).get("editable"))
    except (importlib.metadata.PackageNotFoundError, ValueError):
        editable = False
    if editable:
        return f"pip install -e '.[{extra}]' (in the clone)"
    return f"pip install 'neurodyn[{extra}]'"
