"""The project's error types on every user path, and no new bare builtin raise in src/.

Each converted path raises its specific neurodyn type, which also subclasses the builtin it
replaced, so user code that catches `ValueError` or `KeyError` keeps working.
"""

from __future__ import annotations

import ast
import builtins
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
import torch

import neurodyn
from neurodyn import tasks
from neurodyn._yaml import parse_yaml
from neurodyn.analysis import (
    FixedPointOptions,
    analogy,
    discretise_states,
    dsa,
    epoch_states,
    fit_hmm,
    mean_curve,
    resonance_curve,
    silhouette_score,
    task_discriminability,
    task_variance,
    task_vectors,
)
from neurodyn.analysis.population_code import current_engagement
from neurodyn.errors import (
    ArgumentError,
    ConfigError,
    EpochNotFound,
    NeurodynError,
    ShapeError,
    TaskNotFound,
)
from neurodyn.models.boltzmann import noisy_firing_probability, simulate_sbm
from neurodyn.models.recurrence import leaky_recurrence
from neurodyn.plot.information import plot_resonance_comparison
from neurodyn.tasks.multitask import Multitask

SRC = Path(neurodyn.__file__).parent

# A builtin raise is right only where a Python protocol asks for that exact type.
ALLOWED_BUILTIN_RAISES = {
    ("__init__.py", "__getattr__", "AttributeError"): "module __getattr__ protocol (PEP 562)",
    ("models/__init__.py", "__getattr__", "AttributeError"): "module __getattr__ protocol",
    ("runs/__init__.py", "__getattr__", "AttributeError"): "module __getattr__ protocol",
    ("models/ctrnn.py", "__getattr__", "AttributeError"): "module __getattr__ protocol",
    ("runs/run.py", "RunInfo.__getitem__", "KeyError"): "the Mapping protocol of RunInfo",
    ("tasks/haviv.py", "DelayedClassification._fill", "NotImplementedError"): (
        "abstract hook that this task's own sample() never calls"
    ),
    ("tasks/markov.py", "MarkovMixture._fill", "NotImplementedError"): (
        "abstract hook that this task's own sample() never calls"
    ),
    ("tasks/neurogym.py", "NeurogymTask._fill", "NotImplementedError"): (
        "abstract hook that this task's own sample() never calls"
    ),
    ("tasks/recording.py", "RecordingTask._fill", "NotImplementedError"): (
        "abstract hook that this task's own sample() never calls"
    ),
    ("tasks/yang19/_go.py", "_SingleStimulus._window", "NotImplementedError"): (
        "abstract hook each subclass overrides"
    ),
    ("tasks/yang19/_trial.py", "Yang19Task._show", "NotImplementedError"): (
        "abstract hook each subclass overrides"
    ),
    ("tasks/driscoll24/_trial.py", "Driscoll24Task._show", "NotImplementedError"): (
        "abstract hook each subclass overrides"
    ),
    ("tasks/driscoll24/_tasks.py", "_ProAnti._window", "NotImplementedError"): (
        "abstract hook each subclass overrides"
    ),
    ("tasks/driscoll24/_tasks.py", "_Match._pair", "NotImplementedError"): (
        "abstract hook each subclass overrides"
    ),
    ("train/trainer.py", "fit", "KeyboardInterrupt"): (
        "a signal stop ends training the way Ctrl-C does, so callers' handlers run"
    ),
    ("train/trainer.py", "_StopOnSignal._handle", "KeyboardInterrupt"): (
        "the signal handler's Ctrl-C, as Python's own handler raises"
    ),
}


class _BuiltinRaises(ast.NodeVisitor):
    """Collects (file, enclosing qualified name, builtin exception) of `raise Builtin(...)`."""

    def __init__(self, name: str) -> None:
        self.name, self.scope, self.found = name, [], set()

    def visit_FunctionDef(self, node) -> None:
        self.scope.append(node.name)
        self.generic_visit(node)
        self.scope.pop()

    visit_AsyncFunctionDef = visit_ClassDef = visit_FunctionDef

    def visit_Raise(self, node: ast.Raise) -> None:
        exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
        kind = getattr(builtins, exc.id, None) if isinstance(exc, ast.Name) else None
        if isinstance(kind, type) and issubclass(kind, BaseException):
            self.found.add((self.name, ".".join(self.scope), kind.__name__))


def builtin_raises(root: Path) -> set[tuple[str, str, str]]:
    """Every bare builtin raise in the Python files under `root`."""
    found = set()
    for path in sorted(root.rglob("*.py")):
        visitor = _BuiltinRaises(path.relative_to(root).as_posix())
        visitor.visit(ast.parse(path.read_text(encoding="utf-8")))
        found |= visitor.found
    return found


def test_no_new_bare_builtin_raise():
    unexpected = builtin_raises(SRC) - set(ALLOWED_BUILTIN_RAISES)
    assert not unexpected, (
        f"raise one of neurodyn.errors' types instead (add one there if none fits), or allow "
        f"it here with a reason: {sorted(unexpected)}"
    )


def test_the_scanner_sees_a_bare_raise(tmp_path):
    (tmp_path / "m.py").write_text(
        "class A:\n    def f(self):\n        raise ValueError('x')\n", encoding="utf-8"
    )
    assert builtin_raises(tmp_path) == {("m.py", "A.f", "ValueError")}


def test_the_allow_list_holds_no_stale_entry():
    assert set(ALLOWED_BUILTIN_RAISES) <= builtin_raises(SRC)


def _multitask() -> Multitask:
    return Multitask((tasks.get("pdm"), tasks.get("dlygo")))


def _register_a_second_pdm() -> None:
    tasks.register(type("Imposter", (), {"name": "pdm"}))  # type: ignore[arg-type]


def _embed_into_fewer_steps() -> None:
    batch = tasks.get("pdm").sample(2, seed=0)
    _multitask().embed("pdm", batch, n_steps=batch.n_steps - 1)


def _split_a_single_task_batch() -> None:
    batch = tasks.get("pdm").sample(2, seed=0)
    _multitask().split(batch.y, batch)


def _exact_curve(levels: list[float]):
    return resonance_curve(np.zeros((2, 2)), np.zeros(2), levels, exact=True)


def _mean_of_curves_over_other_levels() -> None:
    mean_curve([_exact_curve([0.5, 1.0]), _exact_curve([0.5, 2.0])])


def _analogy_excluding_every_task() -> None:
    vectors = task_vectors(
        {
            t: torch.randn(3, generator=torch.Generator().manual_seed(i))
            for i, t in enumerate("abcd")
        }
    )
    analogy(vectors, "a", "b", "c", "d", exclude=list("abcd"))


def _task_variance(**kwargs) -> None:
    states = {"a": torch.rand(5, 3, 4, generator=torch.Generator().manual_seed(0))}
    task_variance(states, {"a": torch.ones(5, 3, dtype=torch.bool)}, **kwargs)


HMM_X = torch.randn(6, 2, 3, generator=torch.Generator().manual_seed(0))

CASES: list[tuple[str, Callable[[], object], type[NeurodynError], type[Exception], str]] = [
    (
        "rates with NaN",
        lambda: current_engagement(
            np.full((2, 3, 4), np.nan), np.ones((2, 1)), np.eye(4), np.ones((4, 1))
        ),
        ArgumentError,
        ValueError,
        "NaN or infinite",
    ),
    ("register twice", _register_a_second_pdm, ArgumentError, ValueError, "another `name`"),
    (
        "unknown epoch",
        lambda: tasks.get("pdm").sample(2, seed=0).epoch_mask("nap"),
        EpochNotFound,
        KeyError,
        "its epochs are",
    ),
    ("multitask task", lambda: _multitask().task("nope"), TaskNotFound, KeyError, "use one"),
    ("multitask embed", _embed_into_fewer_steps, ShapeError, ValueError, "give n_steps"),
    ("multitask split", _split_a_single_task_batch, ArgumentError, ValueError, "Multitask"),
    (
        "yaml too deep",
        lambda: parse_yaml("a: " + "[" * 200 + "]" * 200, "deep.yaml"),
        ConfigError,
        ValueError,
        "nested deeper",
    ),
    (
        "fixed-point tolerance",
        lambda: FixedPointOptions(tol_q=-1.0),
        ConfigError,
        ValueError,
        "must be positive",
    ),
    (
        "fixed-point slow_q",
        lambda: FixedPointOptions(tol_q=1e-3, slow_q=1e-6),
        ConfigError,
        ValueError,
        "must be at least tol_q",
    ),
    (
        "negative noise",
        lambda: noisy_firing_probability(np.zeros(2), -1.0),
        ArgumentError,
        ValueError,
        ">= 0",
    ),
    (
        "negative sbm noise",
        lambda: simulate_sbm(np.zeros((2, 2)), np.zeros(2), [-1.0], 2, seed=0),
        ArgumentError,
        ValueError,
        ">= 0",
    ),
    (
        "activation",
        lambda: leaky_recurrence(
            torch.zeros(2, 1, 2), torch.zeros(1, 2), torch.zeros(2, 2), 0.5, "sine"
        ),
        ConfigError,
        ValueError,
        "activation must be one of",
    ),
    (
        "plot measure",
        lambda: plot_resonance_comparison([], measure="volume"),
        ArgumentError,
        ValueError,
        "measure must be one of",
    ),
    (
        "latent layout",
        lambda: fit_hmm(HMM_X, 2, layout="sideways"),
        ArgumentError,
        ValueError,
        "layout must be",
    ),
    (
        "hmm covariance",
        lambda: fit_hmm(HMM_X, 2, covariance="round"),
        ArgumentError,
        ValueError,
        "covariance must be",
    ),
    (
        "hmm restarts",
        lambda: fit_hmm(HMM_X, 2, n_restarts=0),
        ArgumentError,
        ValueError,
        "n_restarts must be at least 1",
    ),
    ("no epochs", lambda: epoch_states(HMM_X, {}), ArgumentError, ValueError, "at least one"),
    (
        "normalisation",
        lambda: _task_variance(normalisation="mean"),
        ArgumentError,
        ValueError,
        "normalisation must be",
    ),
    (
        "silhouette k",
        lambda: silhouette_score(np.eye(3), np.zeros(3, int)),
        ArgumentError,
        ValueError,
        "clusters, got 1",
    ),
    ("analogy exclude", _analogy_excluding_every_task, ArgumentError, ValueError, "exclude fewer"),
    ("noise levels", lambda: _exact_curve([1.0, 0.5]), ArgumentError, ValueError, "increasing"),
    (
        "exact observe",
        lambda: resonance_curve(np.zeros((2, 2)), np.zeros(2), [1.0], exact=True, observe=[0]),
        ArgumentError,
        ValueError,
        "leave `observe` unset",
    ),
    (
        "simulated steps",
        lambda: resonance_curve(np.zeros((2, 2)), np.zeros(2), [1.0], steps=1),
        ArgumentError,
        ValueError,
        "steps >= 2",
    ),
    ("mean curve", _mean_of_curves_over_other_levels, ArgumentError, ValueError, "same levels"),
    (
        "discretise",
        lambda: discretise_states(np.zeros((3, 2)), "mode"),
        ArgumentError,
        ValueError,
        "method must be one of",
    ),
    (
        "angles one side",
        lambda: task_discriminability(np.zeros((3, 2)), [0.1, 0.2, 0.3]),
        ArgumentError,
        ValueError,
        "both sides of 0",
    ),
    (
        "no input current",
        lambda: current_engagement(
            np.ones((2, 3, 4)), np.zeros((2, 1)), np.eye(4), np.ones((4, 1))
        ),
        ArgumentError,
        ValueError,
        "zero at every angle",
    ),
    (
        "dsa score",
        lambda: dsa(torch.zeros(4, 2, 1, 2), score="cosine"),
        ArgumentError,
        ValueError,
        "score must be",
    ),
]


@pytest.mark.parametrize(
    ("name", "call", "kind", "builtin", "match"), CASES, ids=[c[0] for c in CASES]
)
def test_user_paths_raise_the_project_type(name, call, kind, builtin, match):
    with pytest.raises(kind, match=match) as caught:
        call()
    assert isinstance(caught.value, builtin)
    assert "\n" not in str(caught.value)


def test_install_hints_follow_how_neurodyn_is_installed(monkeypatch):
    import importlib.metadata

    from neurodyn import errors

    class Installed:
        def __init__(self, direct_url):
            self.direct_url = direct_url

        def read_text(self, name):
            assert name == "direct_url.json"
            return self.direct_url

    def installed(direct_url):
        monkeypatch.setattr(importlib.metadata, "distribution", lambda name: Installed(direct_url))

    installed('{"dir_info": {"editable": true}, "url": "file:///x/neurodyn"}')  # a clone, -e
    assert errors.install_hint("serve") == "pip install -e '.[serve]' (in the clone)"
    installed(None)  # from a wheel: no direct_url.json
    assert errors.install_hint("serve") == "pip install 'neurodyn[serve]'"
    installed('{"dir_info": {}, "url": "file:///x/neurodyn"}')  # a clone, installed as a copy
    assert errors.install_hint("ray") == "pip install 'neurodyn[ray]'"


def test_nearest_names_offer_the_close_names_only():
    from neurodyn.errors import nearest_names

    fields = ["n_hidden", "tau_ms", "mask_in", "mask_rec", "seeds"]
    assert nearest_names("n_hiden", fields) == ["n_hidden"]
    assert nearest_names("mask", fields) == ["mask_in", "mask_rec"]  # equally close: both
    assert nearest_names("zzz", fields) == []
