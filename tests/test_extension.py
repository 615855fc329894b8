"""The C++ extension cache: keys, the build lock, the fallback warning.

The builds here compile a 10-line CPython module (about a second), not the package's loops.
"""

import json
import os
import shutil
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import neurodyn
from neurodyn import _extension
from neurodyn._extension import BuildFailed, ExtensionBuild, cache_key, load
from neurodyn.errors import CompiledLoopsUnavailable

TINY = textwrap.dedent(
    """\
    #include <Python.h>
    #define NAME_STR2(x) #x
    #define NAME_STR(x) NAME_STR2(x)
    #define INIT2(x) PyInit_##x
    #define INIT(x) INIT2(x)
    static PyObject *answer(PyObject *, PyObject *) { return PyLong_FromLong(42); }
    static PyMethodDef methods[] = {
        {"answer", answer, METH_NOARGS, nullptr}, {nullptr, nullptr, 0, nullptr}};
    static PyModuleDef definition = {
        PyModuleDef_HEAD_INIT, NAME_STR(TORCH_EXTENSION_NAME), nullptr, -1, methods};
    PyMODINIT_FUNC INIT(TORCH_EXTENSION_NAME)(void) { return PyModule_Create(&definition); }
    """
)

# A builder as neurodyn's is seen from outside: it holds an flock on the lock file argv[1], with
# its pid written in it, and may have left torch's lock file in the build folder argv[2]; then
# it sleeps until killed. (Plain Python, so the child starts in a blink.)
HOLDER = textwrap.dedent(
    """\
    import fcntl, os, sys, time
    fd = os.open(sys.argv[1], os.O_RDWR | os.O_CREAT)
    fcntl.flock(fd, fcntl.LOCK_EX)
    os.write(fd, str(os.getpid()).encode())
    if len(sys.argv) > 2:
        os.makedirs(sys.argv[2], exist_ok=True)
        open(os.path.join(sys.argv[2], "lock"), "w").close()
    print("ready", flush=True)
    time.sleep(120)
    """
)

needs_compiler = pytest.mark.skipif(
    _extension._missing_tool() is not None, reason="no C++ compiler or ninja here"
)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private cache folder, and a tiny extension source in it."""
    monkeypatch.setenv("NEURODYN_CACHE_DIR", str(tmp_path / "cache"))
    source = tmp_path / "tiny.cpp"
    source.write_text(TINY)
    return ExtensionBuild("tiny", source)


def _child_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(neurodyn.__file__).parents[1])
    return env


def _hold_lock(build: ExtensionBuild, with_torch_lock: bool) -> subprocess.Popen[str]:
    root = _extension.cache_root()
    root.mkdir(parents=True, exist_ok=True)
    args = [sys.executable, "-c", HOLDER, str(root / f"{build.module_name}.lock")]
    if with_torch_lock:
        args.append(str(root / build.module_name))
    child = subprocess.Popen(args, stdout=subprocess.PIPE, text=True, env=_child_env())
    assert child.stdout is not None and child.stdout.readline().strip() == "ready"
    return child


def test_the_cache_key_changes_with_source_flags_torch_and_python():
    base = dict(
        source=b"int f() { return 1; }",
        extra_cflags=("-O3",),
        torch_version="2.13.0+cpu",
        python_abi=".cpython-311-x86_64-linux-gnu.so",
    )
    key = cache_key(**base)  # type: ignore[arg-type]
    assert key == cache_key(**base)  # type: ignore[arg-type]
    changes = [
        {"source": b"int f() { return 2; }"},
        {"extra_cflags": ("-O2",)},
        {"extra_cflags": ("-O3", "-fno-math-errno")},
        {"torch_version": "2.13.1+cpu"},
        {"python_abi": ".cpython-312-x86_64-linux-gnu.so"},
    ]
    keys = {cache_key(**{**base, **change}) for change in changes}  # type: ignore[arg-type]
    assert key not in keys and len(keys) == len(changes)


def test_builds_live_in_the_users_cache_under_a_hashed_name(cache, tmp_path):
    assert _extension.cache_root() == tmp_path / "cache" / "extensions"
    other = tmp_path / "other.cpp"
    other.write_text(TINY + "\n// another version\n")
    first, second = cache.module_name, ExtensionBuild("tiny", other).module_name
    assert first.startswith("tiny_") and second.startswith("tiny_") and first != second


@needs_compiler
def test_a_cached_build_loads_with_no_compiler_and_no_message(cache, monkeypatch, capsys):
    assert load(cache).answer() == 42
    assert "building the fast training loop once" in capsys.readouterr().err
    monkeypatch.setenv("CXX", "/nonexistent/c++")
    monkeypatch.setenv("PATH", "")
    assert load(cache).answer() == 42
    assert capsys.readouterr().err == ""


@needs_compiler
def test_the_lock_of_a_builder_killed_mid_build_is_taken_over(cache, capsys):
    child = _hold_lock(cache, with_torch_lock=True)
    child.kill()
    child.wait()
    assert (_extension.cache_root() / cache.module_name / "lock").exists()
    assert load(cache, timeout_s=5).answer() == 42
    err = capsys.readouterr().err
    assert f"removing the build lock left by process {child.pid}" in err


def test_a_live_builder_is_waited_for_then_the_python_loops_run(cache, capsys):
    child = _hold_lock(cache, with_torch_lock=True)
    try:
        with pytest.raises(BuildFailed, match=rf"process {child.pid} was still building"):
            load(cache, timeout_s=0.3)
    finally:
        child.kill()
        child.wait()
    assert f"waiting for process {child.pid}" in capsys.readouterr().err


def test_sigterm_ends_a_process_waiting_on_a_build(cache):
    holder = _hold_lock(cache, with_torch_lock=False)
    waiter_code = (
        "import sys; from pathlib import Path; from neurodyn._extension import ExtensionBuild, "
        "load; print('waiting', flush=True); "
        "load(ExtensionBuild('tiny', Path(sys.argv[1])), timeout_s=100)"
    )
    waiter = subprocess.Popen(
        [sys.executable, "-c", waiter_code, str(cache.source)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=_child_env(),
    )
    try:
        assert waiter.stdout is not None and waiter.stdout.readline().strip() == "waiting"
        assert waiter.stderr is not None
        assert f"waiting for process {holder.pid}" in waiter.stderr.readline()
        waiter.send_signal(signal.SIGTERM)
        assert waiter.wait(timeout=10) == -signal.SIGTERM
    finally:
        waiter.kill()
        holder.kill()
        holder.wait()


@pytest.mark.parametrize(
    "cause, expected",
    [
        ("compiler", r"no C\+\+ compiler"),
        ("ninja", "ninja is not installed"),
        ("source", "the build failed: .*broken on purpose"),
        ("cache", "cannot write the build cache .*NEURODYN_CACHE_DIR"),
    ],
)
def test_the_fallback_warning_names_the_cause(cause, expected, cache, monkeypatch):
    if cause in ("source", "cache") and _extension._missing_tool() is not None:
        pytest.skip("no C++ compiler or ninja here")
    if cause == "compiler":
        monkeypatch.setenv("CXX", "/nonexistent/c++")
    elif cause == "ninja":
        compiler = shutil.which(os.environ.get("CXX", "c++"))
        if compiler is None:
            pytest.skip("no C++ compiler here")
        monkeypatch.setenv("CXX", compiler)
        monkeypatch.setenv("PATH", str(cache.source.parent))
        monkeypatch.setitem(sys.modules, "ninja", None)
    elif cause == "source":
        cache.source.write_text("#error this source is broken on purpose\n")
    else:  # a cache folder that cannot be made: its parent is a file
        monkeypatch.setenv("NEURODYN_CACHE_DIR", str(cache.source / "cache"))
    with pytest.warns(CompiledLoopsUnavailable, match=expected):
        assert _extension.load_extension(f"tiny_{cause}", cache.source) is None


@pytest.fixture
def no_loaded_extensions():
    """Forget the extensions this process loaded, before and after (tests run in one)."""
    _extension.load_extension.cache_clear()
    yield
    _extension.load_extension.cache_clear()


def test_the_cli_says_in_one_line_why_the_python_loops_run(
    no_loaded_extensions, tmp_path, monkeypatch, capsys
):
    from neurodyn.cli import main

    monkeypatch.setenv("NEURODYN_CACHE_DIR", str(tmp_path / "empty-cache"))
    monkeypatch.setenv("CXX", "/nonexistent/c++")
    monkeypatch.delenv("NEURODYN_ENGINE", raising=False)
    config = tmp_path / "c.yaml"
    config.write_text(
        "task: flipflop\nmodel: {n_hidden: 8, seeds: [1]}\ntrain: {steps: 2, batch_size: 4}\n"
    )
    assert main(["train", str(config), "--runs", str(tmp_path / "runs"), "--quiet"]) == 0
    warnings = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert warnings == [
        "neurodyn: warning: the fast loops (neurodyn_recurrence) are not available: no C++ "
        "compiler ('/nonexistent/c++' not found; install g++ or clang, or set CXX); the Python "
        "loops run instead (same maths, slower)"
    ]


def test_sigterm_stops_a_training_waiting_on_a_build_at_its_next_step(tmp_path):
    from neurodyn.models import recurrence

    env = {**_child_env(), "NEURODYN_CACHE_DIR": str(tmp_path / "cache")}
    env.pop("NEURODYN_ENGINE", None)
    env.pop("NEURODYN_MALLOC", None)
    build = ExtensionBuild(
        "neurodyn_recurrence",
        Path(recurrence.__file__).with_name("_recurrence.cpp"),
        recurrence.EXTENSION_FLAGS,
    )
    lock = tmp_path / "cache" / "extensions" / f"{build.module_name}.lock"
    lock.parent.mkdir(parents=True)
    holder = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(lock)], stdout=subprocess.PIPE, text=True
    )
    config = tmp_path / "c.yaml"
    config.write_text(
        "task: flipflop\nmodel: {n_hidden: 8, seeds: [1]}\ntrain: {steps: 50, batch_size: 4}\n"
    )
    runs = tmp_path / "runs"
    train = [sys.executable, "-m", "neurodyn.cli", "train", str(config), "--runs", str(runs)]
    training = subprocess.Popen(
        [*train, "--name", "r", "--quiet"], stderr=subprocess.PIPE, text=True, env=env
    )
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "ready"
        assert training.stderr is not None
        said = [training.stderr.readline() for _ in range(2)]  # and that memory is kept
        assert any(f"waiting for process {holder.pid}" in line for line in said)
        training.send_signal(signal.SIGTERM)
        assert training.wait(timeout=60) == 130  # the CLI's "interrupted, resume with ..."
        err = training.stderr.read()
    finally:
        training.kill()
        holder.kill()
        holder.wait()
    assert "interrupted while waiting for or running the build" in err
    info = json.loads((runs / "r" / "run.json").read_text())
    assert info["status"] == "interrupted" and info["steps_done"] < 50
