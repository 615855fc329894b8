"""Atomic file writes: a reader sees the old file or the new one, never half of either.

The file written has the permissions a plain `open(path, "w")` would give it: those of the
file it replaces, else 0666 less the user's umask (0644 with the usual umask 022), so a report
on a shared drive is readable where the user's umask says it should be. (The temporary file
itself is created owner-only by `mkstemp`, and its mode set before it is renamed into place.)
"""

from __future__ import annotations

import csv
import errno
import io
import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from neurodyn.errors import DiskFull


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Call `write(tmp)` on a temporary file beside `path`, then rename it onto `path`.

    The rename is atomic on POSIX and Windows when both are on the same file system, which
    they are (same folder). If `write` raises, `path` is untouched and the temporary file is
    removed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as err:
        if _disk_full(err, path.parent):
            raise DiskFull(f"no space left on device while writing {path}") from None
        raise
    os.close(fd)
    tmp = Path(name)
    try:
        write(tmp)
        # after writing: some writers (safetensors) replace the file rather than fill it
        os.chmod(tmp, _mode_for(path))
        with tmp.open("rb+") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException as err:
        tmp.unlink(missing_ok=True)
        if isinstance(err, Exception) and _disk_full(err, path.parent):
            raise DiskFull(f"no space left on device while writing {path}") from None
        raise
    return path


def _mode_for(path: Path) -> int:
    """The permission bits `open(path, "w")` would leave `path` with."""
    try:
        return stat.S_IMODE(path.stat().st_mode)
    except FileNotFoundError:
        return 0o666 & ~_umask()


def _umask() -> int:
    """The process's umask. Linux shows it in /proc; elsewhere it can only be read by setting
    it, which another thread creating a file at that instant would see."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o077)
    os.umask(mask)
    return mask


# Below this much free space a failed write is taken to be the disk's fault: torch.save, for
# one, reports a full disk as "unexpected pos", never as ENOSPC.
_NEARLY_FULL = 1 << 20


def _disk_full(err: Exception, folder: Path) -> bool:
    if isinstance(err, OSError) and err.errno in (errno.ENOSPC, errno.EDQUOT):
        return True
    try:
        return shutil.disk_usage(folder).free < _NEARLY_FULL
    except OSError:
        return False


def remove_stray_temporaries(folder: str | Path) -> list[Path]:
    """Delete the temporary files `atomic_write` left under `folder` when a process was killed
    mid-write (`.NAME.XXXX.tmp`); returns them. Only for a folder this process is about to
    write, so no other writer's file is in flight."""
    stray = [p for p in Path(folder).rglob(".*.tmp") if p.is_file() and not p.is_symlink()]
    for path in stray:
        path.unlink(missing_ok=True)
    return stray


def atomic_write_text(path: str | Path, text: str) -> Path:
    """Write `text` (UTF-8) to `path` atomically."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def atomic_write_csv(path: str | Path, rows: list[dict[str, Any]]) -> Path:
    """Write `rows` (dicts) as CSV to `path` atomically; the columns are every key, in the
    order they first appear (rows may lack some: blank cells)."""
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return atomic_write_text(path, buf.getvalue())
