"""Reports of studies: one HTML file with every figure embedded."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import yaml

from neurodyn._io import atomic_write_text
from neurodyn.plot.study import plot_measure_by_setting, plot_outlier_history
from neurodyn.report.blocks import figure_html, page

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


def write_simplicity_bias_report(
    path: Path,
    measures: Sequence[object],
    histories: Mapping[str, tuple[np.ndarray, np.ndarray]],
    config: object,
) -> Path:
    from neurodyn.studies.simplicity_bias import summary_table

    rows = [m.row() for m in measures]  # type: ignore[attr-defined]
    parts = [
        "<h1>Simplicity bias in multi-task RNNs (Turner &amp; Barak 2023)</h1>",
        f'<p class="meta">{len(rows)} networks; see studies/simplicity_bias/README.md for the '
        "paper's claims next to these numbers.</p>",
        "<h2>Summary (median [quartiles] over seeds)</h2>",
        "<pre>" + html.escape(summary_table(list(measures))) + "</pre>",  # type: ignore[arg-type]
    ]
    for key, label, caption in MEASURES:
        parts += [
            f"<h2>{html.escape(label)}</h2>",
            figure_html(plot_measure_by_setting(rows, key, label=label), caption),
        ]
    if any(len(steps) for steps, _ in histories.values()):
        parts += [
            "<h2>Outliers over training</h2>",
            figure_html(
                plot_outlier_history(histories),
                "Number of W_rec eigenvalues outside the unit circle at each set of kept weights; "
                "thin lines are seeds, the bold line their mean. Steps where the count rises one "
                "at a time show attractors appearing one after another.",
            ),
        ]
    plain = {k: getattr(config, k) for k in ("settings", "component_sets", "model", "train")}
    plain = yaml.safe_load(yaml.safe_dump({k: _lists(v) for k, v in plain.items()}))
    parts += [
        "<h2>Config</h2>",
        f"<pre>{html.escape(yaml.safe_dump(plain, sort_keys=False))}</pre>",
    ]
    body = "\n".join(parts)
    atomic_write_text(path, page("simplicity bias", body))
    return path


def _lists(value: object) -> object:
    if isinstance(value, tuple | list):
        return [_lists(v) for v in value]
    if isinstance(value, dict):
        return {k: _lists(v) for k, v in value.items()}
    return value
