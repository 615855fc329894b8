"""The report of a network comparison."""

from __future__ import annotations

import html
import math
from pathlib import Path

from neurodyn._io import atomic_write_text
from neurodyn.analysis.similarity import SimilarityMatrix, group_separation, similarity_layout
from neurodyn.plot.compare import plot_comparison
from neurodyn.report.blocks import figure_html, page


def write_comparison_report(
    path: str | Path, result: SimilarityMatrix, *, setup: str | None = None
) -> Path:
    """Write the report of a comparison to `path` (atomically): what was compared on which
    trials (`setup`, e.g. `ComparisonSetup.describe()`), the run separation table and the
    clustered matrix beside the networks' MDS embedding."""
    values = "similarities" if result.kind == "similarity" else "distances"
    shown = " (shown as distances 1 - s below)" if result.kind == "similarity" else ""
    parts = [
        f"<h1>Network comparison: {html.escape(result.metric)}</h1>",
        f'<p class="meta">{len(result.labels)} networks; values are {values}{shown}.</p>',
    ]
    if setup:
        parts.append(f"<p>{html.escape(setup)}</p>")
    try:
        sep = group_separation(result)
    except ValueError:  # one run, or one network per run: nothing to separate
        sep = None
    if sep is not None:
        # a run of one network has no distance within it: say so rather than "nan"
        rows = "".join(
            f"<tr><td>{html.escape(g)}</td>"
            f"<td>{'one network' if math.isnan(w) else f'{w:.3f}'}</td><td>{b:.3f}</td></tr>"
            for g, w, b in zip(sep.groups, sep.within, sep.between, strict=True)
        )
        parts += [
            "<table><tr><th>run</th><th>mean distance within</th>"
            f"<th>mean distance to others</th></tr>{rows}</table>",
            f"<p>Nearest other network from the same run: {100 * sep.nearest_same:.0f}% of "
            f"networks. Runs closer inside than between: permutation p = {sep.p_value:.4f} "
            "(run labels shuffled 2000 times).</p>",
        ]
    parts.append(
        figure_html(
            plot_comparison(result, similarity_layout(result)),
            "Left: the matrix with networks ordered by average-linkage clustering. Right: "
            "classical MDS of the distances, one colour per run.",
        )
    )
    path = Path(path)
    atomic_write_text(path, page("comparison", "\n".join(parts)))
    return path
