"""Every public figure draws into the caller's axes, returns its figure, and draws what its
result says (the plots compute nothing themselves)."""

import ast
import inspect
import math
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pytest

import neurodyn.plot
from neurodyn.analysis.fixed_points import FixedPoints
from neurodyn.analysis.parameter_effect import parameter_effect
from neurodyn.analysis.projection import principal_axes
from neurodyn.analysis.similarity import SimilarityMatrix, similarity_layout
from neurodyn.errors import ShapeError
from neurodyn.plot import plot_comparison, plot_fixed_points, plot_parameter_effect

PLOT = Path(neurodyn.plot.__file__).parent
# figures of single studies, which move into the studies' own packages
STUDY_FIGURES = {"memory.py"}


def test_neurodyn_plot_exports_every_public_figure():
    defined = {
        node.name
        for path in PLOT.glob("*.py")
        if path.name not in STUDY_FIGURES | {"__init__.py"}
        for node in ast.parse(path.read_text(encoding="utf-8")).body
        if isinstance(node, ast.FunctionDef) and node.name.startswith("plot_")
    }
    assert set(neurodyn.plot.__all__) == defined
    assert all(callable(getattr(neurodyn.plot, name)) for name in neurodyn.plot.__all__)


@pytest.mark.parametrize("name", neurodyn.plot.__all__)
def test_every_figure_takes_the_axes_or_figure_to_draw_into(name):
    parameters = inspect.signature(getattr(neurodyn.plot, name)).parameters
    given = [p for p in ("ax", "axes", "fig") if p in parameters]
    assert len(given) == 1, f"{name} takes {given or 'none'} of ax=, axes=, fig="
    assert parameters[given[0]].kind is inspect.Parameter.KEYWORD_ONLY
    assert parameters[given[0]].default is None


def test_the_comparison_draws_the_matrix_in_the_layout_order_into_given_axes():
    position = np.array([0.0, 10.0, 1.0])
    matrix = SimilarityMatrix(
        np.abs(position[:, None] - position), "d", "distance", ["a:0", "b:0", "a:1"]
    )
    layout = similarity_layout(matrix)
    fig, axes = plt.subplots(1, 2)
    assert plot_comparison(matrix, layout, axes=axes) is fig
    image = axes[0].get_images()[0].get_array()
    np.testing.assert_array_equal(image, matrix.values[np.ix_(layout.order, layout.order)])
    drawn = np.concatenate([c.get_offsets() for c in axes[1].collections])
    np.testing.assert_allclose(
        sorted(map(tuple, drawn)), sorted(map(tuple, layout.coordinates)), atol=1e-12
    )
    with pytest.raises(ShapeError, match="draws 2 panels"):
        plot_comparison(matrix, layout, axes=[axes[0]])
    plt.close(fig)


def _points(states: np.ndarray) -> FixedPoints:
    m, n = states.shape
    return FixedPoints(
        states=states,
        inputs=np.zeros((m, 1)),
        member=np.zeros(m, int),
        condition=np.zeros(m, int),
        q=np.zeros(m),
        is_fixed=np.ones(m, bool),
        eigenvalues=np.full((m, n), 0.5 + 0j),
        eigenvectors=np.tile(np.eye(n, dtype=complex), (m, 1, 1)),
        flow_eigenvalues=np.full((m, n), np.nan),
        stability=np.array(["stable"] * m),
        n_unstable=np.zeros(m, int),
        n_marginal=np.zeros(m, int),
        initial_states=states,
        initial_member=np.zeros(m, int),
        initial_condition=np.zeros(m, int),
        final_states=states,
        final_q=np.zeros(m),
        assignment=np.arange(m),
        n_iters=np.zeros(m, int),
        dt=math.nan,
    )


def test_fixed_points_are_drawn_at_their_coordinates_on_the_given_projection():
    states = np.array([[1.0, 0.0, 2.0], [3.0, 0.0, 2.0], [2.0, 4.0, 2.0]])
    points = _points(states)
    projection = principal_axes(states, dims=2)
    fig, ax = plt.subplots()
    assert plot_fixed_points(points, projection, ax=ax) is fig
    drawn = ax.collections[0].get_offsets()
    np.testing.assert_allclose(drawn, projection.project(states))
    assert ax.get_xlabel() == "axis 1" and ax.get_title() == "3 stable"
    plt.close(fig)


def test_a_parameter_effect_draws_each_network_and_the_means_per_value():
    effect = parameter_effect("lr", [0.1, 0.1, 1.0], {"loss": [1.0, 3.0, 5.0]})
    fig, ax = plt.subplots()
    assert plot_parameter_effect(effect, axes=[ax]) is fig
    np.testing.assert_array_equal(ax.collections[0].get_offsets()[:, 1], [1.0, 3.0, 5.0])
    np.testing.assert_array_equal(ax.lines[0].get_ydata(), [2.0, 5.0])
    assert ax.get_yscale() == "log" and ax.get_xlabel() == "lr"
    plt.close(fig)


def test_an_epoch_without_input_is_labelled_so_not_nan():
    # the decision epoch gets no input at all: its ratio is undefined, not a number to print
    import torch

    from neurodyn.analysis import recurrent_input_ratio
    from neurodyn.plot import plot_recurrent_input_ratio

    inp = torch.ones(6, 3, 2)
    inp[4:] = 0.0
    epochs = {
        "stimulus": torch.zeros(6, 3, dtype=torch.bool),
        "decision": torch.zeros(6, 3, dtype=torch.bool),
    }
    epochs["stimulus"][:4] = True
    epochs["decision"][4:] = True
    result = recurrent_input_ratio(inp, 2 * torch.ones(6, 3, 2), epochs=epochs)
    assert result.by_epoch["stimulus"] == pytest.approx(2.0)
    assert math.isnan(result.by_epoch["decision"])
    labels = [text.get_text() for text in plot_recurrent_input_ratio(result).axes[0].texts]
    assert sorted(labels) == ["decision\nno input", "stimulus\nmean 2.00"]
    plt.close("all")


def test_fisher_figures_draw_each_network_over_its_mean_and_its_powers():
    from neurodyn.analysis.fisher import LinearFisher, PriorPowers
    from neurodyn.plot import plot_fisher_information, plot_prior_powers

    values = np.array([1.0, -1.0, 3.0])
    fisher = LinearFisher(
        stimuli=np.array([0.0, 1.0, 2.0]),
        step=np.ones(3),
        fisher=values,
        naive=values,
        variance=values,
        n_trials=10,
        n_units=2,
        method="bias-corrected",
        shrinkage=np.zeros(3),
    )
    fig, ax = plt.subplots()
    assert plot_fisher_information({"net": fisher}, ax=ax) is fig
    drawn = ax.lines[0].get_ydata()
    np.testing.assert_allclose(drawn[[0, 2]], [0.5, 1.5])  # over the mean of the positive points
    assert np.isnan(drawn[1]) and ax.get_yscale() == "log"
    plt.close(fig)
    powers = PriorPowers(1.5, 0.1, 0.9, 3, -0.75, 0.8, 0.2, 0.0, 0.1, 0.05)
    fig, ax = plt.subplots()
    assert plot_prior_powers({"a": powers, "b": powers}, ax=ax) is fig
    assert [t.get_text() for t in ax.get_xticklabels()] == ["a", "b"]
    plt.close(fig)


def test_learning_curves_show_tasks_logged_one_batch_in_several():
    # interleave: batch logs only the step's task: fdgo at steps 100 and 300, delaygo at 200
    metrics = [
        {"step": 100, "member": 0, "seed": 0, "loss": 1.0, "perf.fdgo": 0.2},
        {"step": 200, "member": 0, "seed": 0, "loss": 0.5, "perf.delaygo": 0.4},
        {"step": 300, "member": 0, "seed": 0, "loss": 0.2, "perf.fdgo": 0.9},
    ]
    fig = neurodyn.plot.plot_learning_curves(metrics)
    lines = {line.get_label(): line for line in fig.axes[1].get_lines()}
    for task, logged in (("fdgo", {100: 0.2, 300: 0.9}), ("delaygo", {200: 0.4})):
        line = lines[task]
        x, y = np.asarray(line.get_xdata(), float), np.asarray(line.get_ydata(), float)
        shown = ~np.isnan(y)
        assert dict(zip(x[shown], y[shown], strict=True)) == logged
        assert line.get_marker() not in (None, "None", "", " ")  # isolated points are drawn
    plt.close(fig)


def test_learning_curves_of_many_tasks_average_members_and_recent_logs():
    # 10 tasks logged at 40 steps by 2 members: member 0 alternates 0 and 1 from log to log,
    # member 1 is constant 0.5; each task's line is their mean over the last 4 logs (40 // 10)
    rows = []
    for i in range(40):
        for member, perf in ((0, float(i % 2)), (1, 0.5)):
            row = {"step": 10 * (i + 1), "member": member, "seed": member, "loss": 1.0}
            row.update({f"perf.t{j}": perf for j in range(10)})
            rows.append(row)
    fig = neurodyn.plot.plot_learning_curves(rows)
    lines = fig.axes[1].get_lines()
    assert [line.get_label() for line in lines] == [f"t{j}" for j in range(10)]
    y = np.asarray(lines[0].get_ydata(), float)
    assert y[0] == 0.25  # the first log alone: (0 + 0.5) / 2
    assert y[2] == (0.25 + 0.75 + 0.25) / 3  # the first three logs
    np.testing.assert_allclose(y[3:], 0.5)  # (0 and 1 alternating, 0.5) over four logs
    assert "mean of 2, last 4 logs" in fig.axes[1].get_title()
    plt.close(fig)
