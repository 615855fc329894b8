import sys

import pytest

from neurodyn import _malloc


@pytest.mark.skipif(sys.platform != "linux", reason="glibc only")
def test_freed_memory_is_kept_on_glibc_unless_asked_not_to(monkeypatch):
    _malloc.keep_freed_memory.cache_clear()
    monkeypatch.setenv("NEURODYN_MALLOC", "system")
    assert _malloc.keep_freed_memory() is False
    _malloc.keep_freed_memory.cache_clear()
    monkeypatch.delenv("NEURODYN_MALLOC")
    assert _malloc.keep_freed_memory() is True
