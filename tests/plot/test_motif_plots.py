"""The motif figures on planted unit groups: the clustered matrix's ticks name the unit
clusters at their columns, and the lesion figure keeps its task names clear of the other
panel."""

import matplotlib.pyplot as plt
import numpy as np

from neurodyn.analysis import cluster_motifs, period_variance
from neurodyn.analysis.motif_lesions import PeriodLesions
from neurodyn.plot.motifs import plot_motifs, plot_period_lesions
from tests.analysis.test_motifs import PER_GROUP, PLANTED, planted_states


def test_the_motif_matrix_names_each_unit_cluster_at_the_middle_of_its_columns():
    states, batches, periods, _ = planted_states()
    clusters = cluster_motifs(period_variance(states, batches, periods))
    fig = plot_motifs(period_variance(states, batches, periods), clusters)
    axis = fig.axes[0]
    ticks = axis.get_xticks()
    names = [t.get_text() for t in axis.get_xticklabels()]
    assert sorted(names) == [str(c) for c in range(len(PLANTED))]
    # each planted group is one cluster of PER_GROUP adjacent columns: centres 5.5, 17.5, ...
    np.testing.assert_allclose(sorted(ticks), PER_GROUP * np.arange(len(PLANTED)) + 5.5)
    plt.close(fig)


def test_the_lesion_figure_keeps_the_task_names_clear_of_the_cost_panel():
    labels = [f"MemoryProWithALongName {e}" for e in ("stim1", "delay1", "go1")]
    lesions = PeriodLesions(
        tasks=["ReactMatch2SampleLongName", "MemoryAnti"],
        labels=labels,
        cluster_sizes=np.array([4, 4]),
        performance=np.ones((3, 2)),
        cost=np.ones((3, 3)),
        performance_change=np.zeros((2, 2)),
        cost_ratio=np.ones((2, 3)),
    )
    fig = plot_period_lesions(lesions)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    cost_colorbar = fig.axes[2]  # the colour bars follow the two panels
    names = fig.axes[1].get_yticklabels()
    right_of_bar = cost_colorbar.get_tightbbox(renderer).x1
    assert all(t.get_window_extent(renderer).x0 >= right_of_bar for t in names)
    plt.close(fig)


def test_the_motif_matrix_keeps_its_period_names_inside_the_figure():
    states, batches, periods, _ = planted_states()
    pv = period_variance(states, batches, periods)
    fig = plot_motifs(pv, cluster_motifs(pv), task_names={"driscoll24.delaydm1": "A" * 30})
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    assert all(t.get_window_extent(renderer).x0 >= 0 for t in fig.axes[0].get_yticklabels())
    plt.close(fig)
