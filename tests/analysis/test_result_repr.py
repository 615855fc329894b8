"""Results print as short summaries with shapes, in a terminal and in a notebook."""

import dataclasses
import importlib
import pkgutil

import numpy as np
import pytest
import torch

import neurodyn.analysis
from neurodyn.analysis import SavableResult
from neurodyn.analysis.fixed_points import find_fixed_points
from neurodyn.analysis.similarity import GroupSeparation, SimilarityMatrix, group_separation
from neurodyn.analysis.task_variance import TaskVariance, cluster_units, task_variance


@pytest.fixture(scope="module")
def fixed_points():
    """The one stable point (4, 5, 0, ..., 0) of a 64-unit linear map, from 512 starts."""
    a = 0.5 * torch.eye(64, dtype=torch.float64)
    a[0, 1] = 0.2
    a[1, 1] = 0.8
    u = torch.zeros(64, dtype=torch.float64)
    u[:2] = 1.0
    starts = torch.randn(512, 64, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    return find_fixed_points(lambda h, v: h @ a.T + v, starts, u)


def test_fixed_points_repr_is_a_few_lines_with_shapes_and_counts(fixed_points):
    assert len(fixed_points) == 1 and fixed_points.stability.tolist() == ["stable"]
    fresh = dataclasses.replace(fixed_points, eigenvectors=None)  # as the finder returns it
    text = repr(fresh)
    # the eigenvectors are computed from the Jacobians when first read, not to show a repr
    assert "jacobians=[1, 64, 64]" in text and "eigenvectors=computed when read" in text
    assert fresh.eigenvectors.shape == (1, 64, 64)
    text = repr(fresh)
    # the dataclass default spells out every array (here the 512 starts and final states)
    default = dataclasses._repr_fn(dataclasses.fields(fixed_points), {})(fixed_points)  # type: ignore[attr-defined]
    assert len(default) > 20_000
    assert len(text) < 1200 and text.count("\n") <= 12
    assert text.startswith("FixedPoints(points=1 (1 stable), states=[1, 64] float64,")
    assert "initial_states=[512, 64] float64" in text and "eigenvectors=[1, 64, 64]" in text
    assert "options={" in text  # a dict of many settings shows its size, not its values


def test_html_summary_is_a_table_of_the_same_fields_without_values(fixed_points):
    page = fixed_points._repr_html_()
    assert page.startswith("<b>FixedPoints</b><table>")
    names = [f.name for f in dataclasses.fields(fixed_points)]
    assert all(f"<code>{name}</code>" in page for name in names)
    assert "[512, 64] float64" in page and len(page) < 4000


def _variance() -> TaskVariance:
    """Planted: units 0-9 vary only in task a, 10-19 only in task b."""
    g = torch.Generator().manual_seed(1)
    states, masks = {}, {}
    for k, name in enumerate("ab"):
        h = 0.01 * torch.randn(20, 64, 20, generator=g)
        h[:, :, 10 * k : 10 * (k + 1)] += torch.randn(1, 64, 10, generator=g)
        states[name], masks[name] = h, torch.ones(20, 64, dtype=torch.bool)
    return task_variance(states, masks)


def test_every_result_class_gets_the_short_repr():
    variance = _variance()
    clusters = cluster_units(variance, seed=0)
    assert clusters.n_clusters == 2
    assert repr(variance).startswith("TaskVariance(tasks=['a', 'b'], variance=[20, 2] float")
    assert "labels=[20] int" in repr(clusters)
    matrix = SimilarityMatrix(
        np.eye(40), "cka", "similarity", [f"r{i // 20}:{i}" for i in range(40)]
    )
    assert repr(matrix) == (
        "SimilarityMatrix(values=[40, 40] float64, metric='cka', kind='similarity', labels=list[40])"
    )
    separation = group_separation(matrix, n_permutations=10)
    assert isinstance(separation, GroupSeparation)
    assert repr(separation).startswith("GroupSeparation(groups=['r0', 'r1'], within=[2] float64")
    for module in pkgutil.iter_modules(neurodyn.analysis.__path__):
        importlib.import_module(f"neurodyn.analysis.{module.name}")
    assert len(SavableResult.__subclasses__()) > 15
    for cls in SavableResult.__subclasses__():
        assert "ShortRepr" in cls.__repr__.__qualname__, cls
