import os
import sys

import pytest

from neurodyn import _malloc
from neurodyn.cli import _freed_memory_kept

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="glibc only")


@pytest.fixture
def fresh(monkeypatch):
    """A process that has not applied the setting yet (as far as the module knows)."""
    monkeypatch.setattr(_malloc, "_applied", False)
    monkeypatch.delenv("NEURODYN_MALLOC", raising=False)


@pytest.mark.parametrize("setting", [None, "system"])
def test_freed_memory_is_kept_only_when_asked(setting, fresh, monkeypatch, capsys):
    if setting:
        monkeypatch.setenv("NEURODYN_MALLOC", setting)
    assert _malloc.keep_freed_memory() is False
    assert capsys.readouterr().err == ""


def test_asked_it_is_kept_and_said_once(fresh, monkeypatch, capsys):
    monkeypatch.setenv("NEURODYN_MALLOC", "keep")
    assert _malloc.keep_freed_memory() is True
    assert _malloc.keep_freed_memory() is True
    err = capsys.readouterr().err.splitlines()
    assert len(err) == 1 and "keeps freed memory for reuse" in err[0]


@pytest.mark.parametrize(
    "command, preset, inside",
    [
        ("train", None, "keep"),
        ("sweep", None, "keep"),
        ("train", "system", "system"),
        ("analyze", None, None),
        ("report", None, None),
    ],
)
def test_the_cli_asks_for_it_in_training_commands_only(command, preset, inside, fresh, monkeypatch):
    if preset:
        monkeypatch.setenv("NEURODYN_MALLOC", preset)
    with _freed_memory_kept(command):
        assert os.environ.get("NEURODYN_MALLOC") == inside
    assert os.environ.get("NEURODYN_MALLOC") == preset
