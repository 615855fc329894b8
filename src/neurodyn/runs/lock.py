"""One writer per run folder: an advisory lock held while a command writes the folder.

A writer (training, resuming, analysing, finding fixed points, reporting, a sweep) takes an
exclusive `fcntl.flock` on a lock file (`RUN/.lock`, `ROOT/.sweep-NAME.lock`) and writes into it
who holds it: pid, host, since when, and the command line. A second writer is refused with
`RunLocked` naming that holder. The kernel releases a flock when its process dies, however it
dies (kill -9 included), so the lock itself is never stale; the file's text only names the
holder. A holder that ends normally removes the file; one that died leaves it behind, and the
next writer takes the lock over with a `StaleLockTakenOver` warning that names the dead one.

Within one process the lock is re-entrant (a study's `train_or_reuse` resumes a run under the
lock it already holds). It guards processes, not threads: two threads of one process writing
one run are not told apart. flock is advisory and local: on a network file system that does not
support it, every writer may get the lock.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import json
import os
import socket
import sys
import threading
import warnings
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from neurodyn.errors import DiskFull, NeurodynError, RunLocked, StaleLockTakenOver

LOCK = ".lock"
_COMMAND_CHARS = 200  # the command line as recorded: enough to recognise it, bounded

_held: dict[Path, int] = {}  # lock file -> how many nested holds this process has on it
_held_guard = threading.Lock()


@dataclass(frozen=True)
class Holder:
    """Who holds (or held) a lock: process id, host name, ISO 8601 start (UTC), command line."""

    pid: int
    host: str
    since: str
    command: str

    @classmethod
    def this_process(cls) -> Holder:
        argv = [Path(sys.argv[0]).name, *sys.argv[1:]] if sys.argv and sys.argv[0] else []
        return cls(
            pid=os.getpid(),
            host=socket.gethostname(),
            since=datetime.now(UTC).isoformat(timespec="seconds"),
            command=" ".join(argv)[:_COMMAND_CHARS] or "python",
        )

    def describe(self) -> str:
        return f"pid {self.pid} on {self.host} since {self.since} (`{self.command}`)"


def _read_holder(fd: int) -> Holder | None:
    """The holder written in the open lock file `fd`; None when empty or unreadable."""
    text = os.pread(fd, 4096, 0)
    if not text.strip():
        return None
    try:
        data = json.loads(text)
        return Holder(int(data["pid"]), str(data["host"]), str(data["since"]), str(data["command"]))
    except (ValueError, KeyError, TypeError):
        return Holder(pid=-1, host="?", since="?", command="unreadable lock file")


@contextlib.contextmanager
def hold(lock_file: str | Path, what: str) -> Iterator[None]:
    """Hold the lock `lock_file` for the duration of the `with` block.

    Parameters
    ----------
    lock_file : path of the lock file; its folder must exist.
    what : what the lock guards, as messages name it (e.g. "run runs/pdm-1").

    Raises
    ------
    RunLocked
        Another live process holds the lock; the message names it (pid, host, since when,
        command) and says what to do.
    """
    key = Path(lock_file).absolute()
    with _held_guard:
        if key in _held:
            _held[key] += 1
            nested = True
        else:
            nested = False
    if nested:
        try:
            yield
        finally:
            with _held_guard:
                _held[key] -= 1
        return
    fd = _open_locked(key, what)
    try:
        left = _read_holder(fd)
        if left is not None:
            warnings.warn(
                StaleLockTakenOver(
                    f"took over the lock of {what} left by {left.describe()}, which stopped "
                    "without releasing it (killed?); its last checkpoint is what resumes"
                ),
                stacklevel=3,
            )
        me = Holder.this_process()
        os.ftruncate(fd, 0)
        # the name only informs: on a full disk the flock alone still keeps others out
        with contextlib.suppress(OSError):
            os.pwrite(fd, json.dumps(me.__dict__).encode(), 0)
        with _held_guard:
            _held[key] = 1
    except BaseException:
        os.close(fd)  # closing releases the flock
        raise
    try:
        yield
    finally:
        with _held_guard:
            del _held[key]
        # removed while still locked: a clean release leaves nothing behind, and a writer that
        # opened the old file meanwhile sees it gone (`_open_locked`) and makes a new one
        with contextlib.suppress(OSError):
            os.unlink(key)
        os.close(fd)


def _open_locked(key: Path, what: str) -> int:
    """An open descriptor of the lock file `key`, flocked by this process."""
    while True:
        try:
            fd = os.open(key, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError as err:
            if err.errno in (errno.ENOSPC, errno.EDQUOT):
                raise DiskFull(f"no space left on device for the lock file {key}") from None
            raise NeurodynError(
                f"cannot write {what}: {err.strerror} ({key}); writing needs a writable folder"
            ) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_holder(fd)
            os.close(fd)
            who = holder.describe() if holder is not None else "another process"
            raise RunLocked(
                f"{what} is being written by {who}; wait for it to finish, or stop that "
                "process and try again"
            ) from None
        try:
            current = os.stat(key).st_ino
        except FileNotFoundError:
            current = None
        if current == os.fstat(fd).st_ino:
            return fd
        os.close(fd)  # its holder released and removed it between our open and flock
