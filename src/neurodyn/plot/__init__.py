"""Figures. Each function takes a result object (and an optional `ax=`) and never computes."""

from neurodyn.plot.figures import (
    plot_learning_curves,
    plot_pca,
    plot_recurrent_input_ratio,
    plot_step_tuning,
)
from neurodyn.plot.fixed_points import (
    plot_across_training,
    plot_continuation,
    plot_eigenvalues,
    plot_fixed_points,
)

__all__ = [
    "plot_across_training",
    "plot_continuation",
    "plot_eigenvalues",
    "plot_fixed_points",
    "plot_learning_curves",
    "plot_pca",
    "plot_recurrent_input_ratio",
    "plot_step_tuning",
]
