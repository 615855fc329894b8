"""The curated namespace: every public analysis and result type is reachable from
`neurodyn.analysis`, as the object its module defines."""

import importlib
import inspect
import pkgutil

import neurodyn.analysis as analysis

# Moved out of analysis (models) or kept only as an old import path.
NOT_ANALYSES = {"boltzmann"}


def public_definitions():
    for info in pkgutil.iter_modules(analysis.__path__):
        if info.name.startswith("_") or info.name in NOT_ANALYSES:
            continue
        module = importlib.import_module(f"neurodyn.analysis.{info.name}")
        for name, value in vars(module).items():
            defined_here = getattr(value, "__module__", None) == module.__name__
            kind = inspect.isfunction(value) or inspect.isclass(value)
            if not name.startswith("_") and defined_here and kind:
                yield name, value


def test_every_public_function_and_result_type_is_exported():
    definitions = dict(public_definitions())
    assert {"find_fixed_points", "FixedPoints", "cluster_units", "LesionEffects"} <= set(
        definitions
    )
    missing = sorted(set(definitions) - set(analysis.__all__))
    assert missing == []
    for name, value in definitions.items():
        assert getattr(analysis, name) is value, name
    assert all(hasattr(analysis, name) for name in analysis.__all__)
