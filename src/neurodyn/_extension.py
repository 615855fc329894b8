"""The package's C++ loops, built once per user and cached.

`models/_recurrence.cpp` (the CTRNN's time loops) and `train/_plasticity.cpp` (the local rule's)
are compiled by torch's extension builder the first time they are needed: about a minute each,
with a C++ compiler and `ninja` (a dependency of the package). `make install` builds the
training loop ahead of time, so the first training does not wait.

The cache is a per-user folder (`$NEURODYN_CACHE_DIR`, else `$XDG_CACHE_HOME/neurodyn`, else
`~/.cache/neurodyn`) holding one build folder per cache key: a hash of the source, the compiler
flags, the torch version and the Python version (its extension suffix, which names the ABI and
platform). Copies and versions of neurodyn on one machine therefore never rebuild over each
other, and a build made once is loaded from then on without a compiler.

Concurrent builds: a builder holds an `fcntl.flock` on `NAME.lock` beside the build folder and
writes its pid there. The kernel releases the flock when the builder dies, however it dies, so
a free flock with torch's own `lock` file still in the build folder means a builder was killed
mid-build: that file is removed and the build redone. A process finding the flock held waits
with a message, at most `$NEURODYN_BUILD_TIMEOUT` seconds (default 300), then runs the Python
loops. SIGINT and SIGTERM stop the wait and the build at once (the signal then goes to the
handler that was there before, e.g. the trainer's stop-after-this-step).

Where the loops cannot be built (no compiler, no ninja, a build error, the wait timed out) the
callers run their Python loops, after one warning (`CompiledLoopsUnavailable`) naming the cause.
The two agree per pass to float rounding, not bitwise over a training.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import importlib.util
import os
import shutil
import signal
import sys
import sysconfig
import threading
import time
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import FrameType, ModuleType
from typing import Any

from neurodyn.errors import CompiledLoopsUnavailable

DEFAULT_TIMEOUT_S = 300.0
_DONE = "complete"  # written into a build folder once its module has loaded
_TORCH_LOCK = "lock"  # torch's own lock file in the build folder (torch.utils.file_baton)
_LIB_SUFFIX = ".pyd" if sys.platform == "win32" else ".so"  # torch's name for the built module


class BuildFailed(Exception):
    """The C++ loops could not be built or loaded; the message is the cause, in one line."""


class _Interrupted(BaseException):
    """SIGINT or SIGTERM arrived while waiting for or running a build."""


def cache_root() -> Path:
    """The per-user folder of built extensions."""
    if os.environ.get("NEURODYN_CACHE_DIR"):
        return Path(os.environ["NEURODYN_CACHE_DIR"]) / "extensions"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "neurodyn" / "extensions"


def cache_key(
    source: bytes, extra_cflags: tuple[str, ...], torch_version: str, python_abi: str
) -> str:
    """A short hash of everything that makes one build differ from another."""
    digest = hashlib.sha256()
    parts = (source, "\0".join(extra_cflags).encode(), torch_version.encode(), python_abi.encode())
    for part in parts:
        # each part after its length, so no two different lists of parts hash the same bytes
        digest.update(len(part).to_bytes(8, "little") + part)
    return digest.hexdigest()[:16]


@dataclass(frozen=True)
class ExtensionBuild:
    """One C++ extension: `name`, its single `source` file and its compiler flags."""

    name: str
    source: Path
    extra_cflags: tuple[str, ...] = ("-O3",)

    @property
    def key(self) -> str:
        import torch

        return cache_key(
            self.source.read_bytes(),
            self.extra_cflags,
            torch.__version__,
            sysconfig.get_config_var("EXT_SUFFIX") or sys.version,
        )

    @property
    def module_name(self) -> str:
        """The name the module is built and imported under (torch names its file after it)."""
        return f"{self.name}_{self.key}"


@cache
def load_extension(
    name: str, source: Path, extra_cflags: tuple[str, ...] = ("-O3",)
) -> ModuleType | None:
    """The module built from the C++ file `source` under `name` (built once, then loaded from
    the per-user cache), or None, after a `CompiledLoopsUnavailable` warning naming the cause,
    when it cannot be built."""
    build = ExtensionBuild(name, Path(source), tuple(extra_cflags))
    try:
        return load(build, timeout_s=_timeout_s())
    except BuildFailed as err:
        warnings.warn(
            f"the fast loops ({name}) are not available: {err}; the Python loops run instead "
            "(same maths, slower)",
            CompiledLoopsUnavailable,
            stacklevel=2,
        )
        return None


def load(build: ExtensionBuild, *, timeout_s: float = DEFAULT_TIMEOUT_S) -> ModuleType:
    """`build`'s module: from the cache when built before, else built now (waiting at most
    `timeout_s` seconds for another process building it).

    Raises
    ------
    BuildFailed
        With the cause in one line.
    """
    directory = cache_root() / build.module_name
    cached = _import_built(build, directory)
    if cached is not None:
        return cached
    missing = _missing_tool()
    if missing:
        raise BuildFailed(missing)
    with _interruptible():
        try:
            return _locked_build(build, directory, timeout_s)
        except _Interrupted:
            pass
        except OSError as err:  # the cache folder cannot be made or written
            raise BuildFailed(
                f"cannot write the build cache {directory.parent} ({err.strerror or err}); "
                "set NEURODYN_CACHE_DIR to a writable folder"
            ) from err
    # still running: the handler before ours asked only for a stop later (the trainer's does)
    raise BuildFailed("interrupted while waiting for or running the build")


def _locked_build(build: ExtensionBuild, directory: Path, timeout_s: float) -> ModuleType:
    """Build `build` into `directory` holding its lock (waiting for another builder first)."""
    directory.parent.mkdir(parents=True, exist_ok=True)
    with BuildLock(directory.parent / f"{build.module_name}.lock") as lock:
        if not lock.try_acquire():
            holder = lock.holder()
            _say(
                f"waiting for process {holder} to finish building the fast loops ({build.name}), "
                f"at most {timeout_s:g} s ..."
            )
            if not lock.acquire(timeout_s):
                raise BuildFailed(
                    f"process {holder} was still building them after {timeout_s:g} s "
                    "(NEURODYN_BUILD_TIMEOUT sets how long to wait)"
                )
            built = _import_built(build, directory)
            if built is not None:
                return built
        previous = lock.holder()
        stale = directory / _TORCH_LOCK
        if stale.exists():
            # we hold the flock, so no live process is building here: the lock is a dead one's
            _say(
                f"removing the build lock left by process {previous}, which stopped mid-build "
                f"({directory})"
            )
            stale.unlink()
        lock.record_holder()
        _say(f"building the fast training loop once (about a minute): {build.name} ...")
        module = _compile(build, directory)
        (directory / _DONE).touch()
        return module


class BuildLock:
    """An exclusive `flock` on `path`, whose file holds the pid of the process holding it.

    The kernel drops the flock when the holding process exits or is killed, so a lock is never
    left behind; the pid in the file only names the holder in messages."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None
        self._held = False

    def __enter__(self) -> BuildLock:
        self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._fd is not None:
            if self._held:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd, self._held = None, False

    def try_acquire(self) -> bool:
        """Take the lock if it is free; False when another process holds it."""
        assert self._fd is not None, "use BuildLock as a context manager"
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        self._held = True
        return True

    def acquire(self, timeout_s: float, poll_s: float = 0.1) -> bool:
        """Take the lock, waiting at most `timeout_s` seconds; False on timeout."""
        deadline = time.monotonic() + timeout_s
        while not self.try_acquire():
            if time.monotonic() >= deadline:
                return False
            time.sleep(poll_s)
        return True

    def holder(self) -> str:
        """The pid written by the last process that held the lock ('unknown' if none)."""
        text = self.path.read_text(encoding="ascii", errors="replace").strip()
        return text if text.isdigit() else "unknown"

    def record_holder(self) -> None:
        """Write this process's pid into the lock file (the lock must be held)."""
        assert self._fd is not None and self._held, "take the lock first"
        os.ftruncate(self._fd, 0)
        os.pwrite(self._fd, str(os.getpid()).encode(), 0)


def _import_built(build: ExtensionBuild, directory: Path) -> ModuleType | None:
    """The module already built in `directory`, or None when there is no finished build."""
    library = directory / f"{build.module_name}{_LIB_SUFFIX}"
    if not (directory / _DONE).exists() or not library.exists():
        return None
    spec = importlib.util.spec_from_file_location(build.module_name, library)
    if spec is None or spec.loader is None:
        return None
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except ImportError:  # damaged by hand or by a full disk: build it again
        (directory / _DONE).unlink(missing_ok=True)
        return None
    return module


def _compile(build: ExtensionBuild, directory: Path) -> ModuleType:
    """Run torch's extension builder on `build` into `directory`."""
    from torch.utils import cpp_extension

    directory.mkdir(parents=True, exist_ok=True)
    ninja_dir = _ninja_dir()
    path = os.environ.get("PATH")
    if ninja_dir and shutil.which("ninja") is None:
        # pip installs ninja beside the interpreter, which is on PATH only in an activated venv
        os.environ["PATH"] = os.pathsep.join([ninja_dir, path]) if path else ninja_dir
    try:
        return cpp_extension.load(
            name=build.module_name,
            sources=[str(build.source)],
            extra_cflags=list(build.extra_cflags),
            build_directory=str(directory),
            verbose=False,
        )
    except Exception as err:
        raise BuildFailed(f"the build failed: {first_error_line(str(err))}") from err
    finally:
        if path is None:
            os.environ.pop("PATH", None)
        else:
            os.environ["PATH"] = path


def first_error_line(message: str) -> str:
    """The line of a build log that says what went wrong (the compiler's first `error:` line,
    else the first line), at most 200 characters."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    errors = [line for line in lines if "error:" in line or "Error:" in line]
    line = (errors or lines or ["(no output)"])[0]
    return line if len(line) <= 200 else line[:197] + "..."


def _missing_tool() -> str | None:
    """What a build needs and cannot find, in words; None when nothing is missing."""
    from torch.utils import cpp_extension

    compiler = cpp_extension.get_cxx_compiler()
    if shutil.which(compiler) is None:
        return f"no C++ compiler ({compiler!r} not found; install g++ or clang, or set CXX)"
    if shutil.which("ninja") is None and _ninja_dir() is None:
        return "ninja is not installed (pip install ninja)"
    return None


def _ninja_dir() -> str | None:
    """The folder of the `ninja` executable installed by pip's ninja package, if any."""
    try:
        import ninja
    except ImportError:
        return None
    folder = getattr(ninja, "BIN_DIR", None)
    if folder and os.access(Path(folder) / "ninja", os.X_OK):
        return str(folder)
    return None


def _timeout_s() -> float:
    """How long to wait for another process's build: `$NEURODYN_BUILD_TIMEOUT` seconds."""
    text = os.environ.get("NEURODYN_BUILD_TIMEOUT", "")
    if not text:
        return DEFAULT_TIMEOUT_S
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value >= 0:  # also refuses nan
        raise BuildFailed(f"NEURODYN_BUILD_TIMEOUT must be a number of seconds >= 0, got {text!r}")
    return value


@contextlib.contextmanager
def _interruptible() -> Iterator[None]:
    """Make SIGINT and SIGTERM raise `_Interrupted` inside the block, then hand the signal to
    the handler that was there before (the default one ends the process, Python's raises
    KeyboardInterrupt, the trainer's asks for a stop after the step)."""
    caught: list[int] = []
    previous: dict[int, Any] = {}

    def interrupt(signum: int, frame: FrameType | None) -> None:
        caught.append(signum)
        raise _Interrupted

    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(sig) is not None:  # None: set outside Python, cannot restore
                previous[sig] = signal.signal(sig, interrupt)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        if caught:
            signal.raise_signal(caught[0])


def _say(message: str) -> None:
    """One line on stderr, above any progress bar."""
    from tqdm import tqdm

    tqdm.write(f"neurodyn: {message}", file=sys.stderr)
