"""One progress style for every long step: a tqdm bar on a terminal, plain lines in a log.

On a terminal (stderr is a TTY) a step shows a tqdm bar. Elsewhere (CI logs, a file, a pipe) a
bar's carriage returns make an unreadable log, so the same step writes a plain line when it
starts, at most one line every `_LOG_EVERY_S` seconds while it runs, and one when it ends.
Everything goes to stderr, so a command's results on stdout stay clean; `enabled=False` (the
CLI's `--quiet`) writes nothing.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterable, Iterator
from types import TracebackType
from typing import TypeVar

from tqdm.auto import tqdm

T = TypeVar("T")

_LOG_EVERY_S = 5.0


class Progress:
    """Progress of one step of `total` parts (or of unknown length), written to stderr.

    Use as a context manager; `advance()` after each part, `note(text)` to say what is happening
    now (e.g. "states converged 300/1024").
    """

    def __init__(
        self, desc: str, total: int | None = None, *, enabled: bool = True, initial: int = 0
    ) -> None:
        self.desc = desc
        self.total = total
        self.enabled = enabled
        self.done = initial  # parts done before this process (a resumed training)
        self._note = ""
        self._bar: tqdm | None = None
        self._last_line = 0.0
        if enabled and sys.stderr.isatty():
            self._bar = tqdm(total=total, initial=initial, desc=desc, file=sys.stderr, leave=False)
        elif enabled:
            self._line(force=True)

    def __enter__(self) -> Progress:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close(ok=kind is None)

    def advance(self, n: int = 1, note: str | None = None) -> None:
        """`n` more parts done; `note` replaces the text shown after the count."""
        self.done += n
        if note is not None:
            self._note = note
        if self._bar is not None:
            self._bar.update(n)
            if note is not None:
                self._bar.set_postfix_str(note, refresh=False)
        elif self.enabled and (self.total is None or self.done < self.total):
            self._line()  # the last part's line is the closing one, which says "done" too

    def note(self, text: str) -> None:
        """Say what the step is doing now, without counting a part."""
        self.advance(0, note=text)

    def close(self, *, ok: bool = True) -> None:
        if self._bar is not None:
            self._bar.close()
            self._bar = None
        elif self.enabled and ok:
            self._line(force=True, end="done")
        self.enabled = False

    def _line(self, *, force: bool = False, end: str = "") -> None:
        now = time.monotonic()
        if not force and now - self._last_line < _LOG_EVERY_S:
            return
        self._last_line = now
        count = f" {self.done}/{self.total}" if self.total is not None else ""
        text = ", ".join(t for t in (self._note, end) if t)
        print(f"neurodyn: {self.desc}{count}{': ' + text if text else ''}", file=sys.stderr)


def progress(
    items: Iterable[T], desc: str, *, total: int | None = None, enabled: bool = True
) -> Iterator[T]:
    """`items`, with the progress of going through them shown (see `Progress`)."""
    if total is None and hasattr(items, "__len__"):
        total = len(items)  # type: ignore[arg-type]
    with Progress(desc, total, enabled=enabled) as bar:
        for item in items:
            yield item
            bar.advance()


def stage(text: str, *, enabled: bool = True) -> None:
    """One line saying which stage a long job has reached (e.g. a study's 'measuring')."""
    if enabled:
        print(f"neurodyn: {text}", file=sys.stderr, flush=True)
