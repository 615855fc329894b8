"""The report of a network comparison."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np

from neurodyn._io import atomic_write_text
from neurodyn.analysis.similarity import SimilarityMatrix
from neurodyn.plot.compare import _groups, as_distance, plot_comparison
from neurodyn.report.html import _figure_html, page


def write_comparison_report(path: Path, result: SimilarityMatrix) -> Path:
    distance = as_distance(result)
    groups = np.array(_groups(result.labels))
    rows = []
    for g in dict.fromkeys(groups):
        inside = distance[np.ix_(groups == g, groups == g)]
        outside = distance[np.ix_(groups == g, groups != g)]
        within = inside[np.triu_indices(len(inside), 1)].mean() if len(inside) > 1 else float("nan")
        between = outside.mean() if outside.size else float("nan")
        rows.append(
            f"<tr><td>{html.escape(str(g))}</td><td>{(groups == g).sum()}</td>"
            f"<td>{within:.3f}</td><td>{between:.3f}</td></tr>"
        )
    body = "\n".join(
        [
            f"<h1>Network comparison: {html.escape(result.metric)}</h1>",
            f'<p class="meta">{len(result.labels)} networks; values are {result.kind}s '
            "(similarities shown as 1 - s in the distances below).</p>",
            "<table><tr><th>run</th><th>networks</th><th>mean distance within</th>"
            "<th>mean distance to others</th></tr>" + "".join(rows) + "</table>",
            _figure_html(
                plot_comparison(result),
                "Left: the matrix with networks ordered by average-linkage clustering. Right: "
                "classical MDS of the distances, one colour per run.",
            ),
        ]
    )
    atomic_write_text(path, page("comparison", body))
    return path
