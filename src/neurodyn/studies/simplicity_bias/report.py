"""The report of the simplicity-bias study: every measure by setting, outliers over training."""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path

from neurodyn.report.blocks import figure_html
from neurodyn.runs import Run
from neurodyn.studies.simplicity_bias.figures import plot_measure_by_setting, plot_outlier_history
from neurodyn.studies.simplicity_bias.measure import SimplicityBiasConfig, SimplicityBiasResults

# (column of measures.csv, label, caption) of each measure's figure
MEASURES = (
    ("performance", "task performance", "Fraction of trained outputs within 0.25 of the target."),
    (
        "outliers",
        "W_rec eigenvalues with |λ| > 1",
        "Eigenvalues of the recurrent weights outside the unit circle.",
    ),
    (
        "separability",
        "linear separability",
        "Cross-validated accuracy of a linear classifier telling the first two tasks' probe "
        "states apart (0.5: one shared region of state space; 1: separate regions).",
    ),
    (
        "f_ratio",
        "F ratio",
        "Between-task over within-task variance of the same states.",
    ),
    (
        "shared",
        "shared attractors",
        "Of the stable fixed points the first two tasks' probe trials end at, the fraction both "
        "reach (1: every attractor shared). Missing where no probe ends at a fixed point (e.g. "
        "limit cycles).",
    ),
)


def report(
    results: SimplicityBiasResults,
    config: SimplicityBiasConfig,
    runs: Mapping[str, Run],
    out: Path,
) -> str:
    """The report's body: one figure per measure, then the outliers over training where the
    runs kept weights."""
    rows = [m.row() for m in results.networks]
    parts = [
        f'<p class="meta">{len(rows)} networks; the study\'s README (neurodyn/studies/'
        "simplicity_bias/README.md) puts the paper's claims next to these numbers.</p>",
    ]
    for key, label, caption in MEASURES:
        parts += [
            f"<h2>{html.escape(label)}</h2>",
            figure_html(plot_measure_by_setting(rows, key, label=label), caption),
        ]
    if any(len(history.steps) for history in results.histories.values()):
        parts += [
            "<h2>Outliers over training</h2>",
            figure_html(
                plot_outlier_history(results.histories),
                "Number of W_rec eigenvalues outside the unit circle at each set of kept weights; "
                "thin lines are seeds, the bold line their mean. Steps where the count rises one "
                "at a time show attractors appearing one after another.",
            ),
        ]
    return "\n".join(parts)
