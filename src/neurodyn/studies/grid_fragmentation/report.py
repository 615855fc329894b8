"""The report of the grid-fragmentation study: the settings, the best grid units' rate maps and
autocorrelograms, and the maze figures, under the runner's title and summary."""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path

from neurodyn.plot import plot_autocorrelograms, plot_rate_maps
from neurodyn.report.blocks import figure_html
from neurodyn.runs import Run
from neurodyn.studies.grid_fragmentation.figures import plot_mazes, top_grid_units
from neurodyn.studies.grid_fragmentation.measure import GridConfig, NetworkResult

__all__ = ["report"]


def report(
    results: list[NetworkResult], config: GridConfig, runs: Mapping[str, Run], out: Path
) -> str:
    """The report's body: the settings, then per network its maps and the maze figures."""
    task = ", ".join(f"{k}: {v}" for k, v in config.task.items())
    parts = [
        f'<p class="meta">Path integration, {config.model.get("n_hidden")} units, '
        f"{config.train.get('steps')} training steps; task {html.escape(task)}. Rate maps from "
        f"{config.eval_trajectories} held-out trajectories ({config.map_bins} x "
        f"{config.map_bins} bins, at least {config.min_visits} visits); hairpin of "
        f"{config.n_arms} arms, {config.runs_per_direction} runs each way.</p>"
    ]
    for result in results:
        units = top_grid_units(result)
        parts += [
            f"<h2>Network of seed {result.seed}</h2>",
            figure_html(
                plot_rate_maps(result.maps, units=units, scores=result.scores),
                "The units of highest gridness: rate maps in the open arena (grey: bins visited "
                "too rarely, left out).",
            ),
            figure_html(
                plot_autocorrelograms(result.scores, units=units),
                "Their spatial autocorrelograms, with gridness (60 and 90 degrees), spacing (m) "
                "and orientation.",
            ),
            figure_html(
                plot_mazes(result),
                "Gridness of all units against the time-shifted maps' (dashed: the threshold). "
                "Arm-by-arm population-vector correlation of the eastward runs in the hairpin "
                "and in the virtual hairpin (same runs, no inner walls): a checkerboard means "
                "arms run in the same direction share their map. Bottom: the correlation of "
                "each position with the next along the path; red lines mark turns detected as "
                "resets.",
            ),
        ]
    return "\n".join(parts)
