"""Figures. Each function takes a result object (and an optional `ax=`) and never computes."""

from neurodyn.plot.figures import (
    plot_learning_curves,
    plot_pca,
    plot_recurrent_input_ratio,
    plot_step_tuning,
)

__all__ = ["plot_learning_curves", "plot_pca", "plot_recurrent_input_ratio", "plot_step_tuning"]
