"""Each registered study's quick config, run once per test session through the CLI: the
registry test and each study's own tests read the same outputs."""

import contextlib
import io
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from neurodyn.cli import main


@dataclass(frozen=True)
class QuickStudy:
    """What `neurodyn study NAME --quick` left: the runs folder, the study's folder and what
    it printed."""

    root: Path
    folder: Path
    stdout: str


@pytest.fixture(scope="session")
def quick_study(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], QuickStudy]:
    """`quick_study(name)`: the study's quick run, made on first use and shared afterwards
    (tests must not change its files)."""
    done: dict[str, QuickStudy] = {}

    def run(name: str) -> QuickStudy:
        if name not in done:
            root = tmp_path_factory.mktemp(f"quick-{name}")
            printed = io.StringIO()
            with contextlib.redirect_stdout(printed):
                code = main(["study", name, "--quick", "--runs", str(root), "--quiet"])
            assert code == 0, printed.getvalue()
            done[name] = QuickStudy(root, root / f"study-{name}", printed.getvalue())
        return done[name]

    return run
