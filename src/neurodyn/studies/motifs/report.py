"""The report of the Driscoll et al. 2024 study: motifs, lesions, fixed points, the rule
interpolation and transfer."""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path

from neurodyn.analysis.projection import principal_axes
from neurodyn.plot import plot_continuation, plot_learning_curves
from neurodyn.plot.motifs import plot_motifs, plot_period_lesions
from neurodyn.report.blocks import figure_html
from neurodyn.runs import Run
from neurodyn.studies.motifs.figures import plot_transfer
from neurodyn.studies.motifs.measure import PAPER_NAMES, PREFIX, MotifsConfig, MotifsResults


def _paper(label: str) -> str:
    """`"<task> <epoch>"` with the task's name in the paper (MemoryPro for delaygo)."""
    task, epoch = label.rsplit(" ", 1)
    return f"{PAPER_NAMES.get(task, task)} {epoch}"


def report(results: MotifsResults, config: MotifsConfig, runs: Mapping[str, Run], out: Path) -> str:
    parts = []
    metrics = runs[config.run_id].metrics()
    if metrics:
        parts.append(figure_html(plot_learning_curves(metrics), "The main run's training batches."))
    for n in results.networks:
        clusters = n.motifs.clusters
        motifs = "".join(
            f"<li>cluster {c}: "
            f"{html.escape(', '.join(map(_paper, p)) or '(none above the threshold)')}</li>"
            for c, p in enumerate(clusters.motifs())
        )
        fixed = "".join(
            f"<tr><td>{html.escape(_paper(PREFIX + label))}</td>"
            + "".join(f"<td>{count.get(k, 0)}</td>" for k in ("stable", "saddle", "unstable"))
            + "</tr>"
            for label, count in n.fixed_points.items()
        )
        parts += [
            f"<h2>Network {n.member}</h2>",
            f'<p class="meta">{int(n.motifs.variance.active.sum())} active units; '
            f"{html.escape(clusters.counts_text())} by silhouette; "
            f"{len(clusters.shared())} shared motifs.</p>",
            figure_html(
                plot_motifs(n.motifs.variance, clusters, task_names=PAPER_NAMES),
                "Task-period variance (Fig. 3): each active unit's variance in each task "
                "period over its largest, in Ward dendrogram order; the motif blocks outlined.",
            ),
            f"<ul>{motifs}</ul>",
        ]
        if n.motifs.lesions is not None:
            parts.append(
                figure_html(
                    plot_period_lesions(n.motifs.lesions, task_names=PAPER_NAMES),
                    "Cluster lesions (Fig. 6): the cost of each task period and the performance "
                    "of each task with each unit cluster silenced.",
                )
            )
        parts.append(
            "<table><tr><th>fixed points of</th><th>stable</th><th>saddle</th><th>unstable"
            f"</th></tr>{fixed}</table>"
        )
        for bridge in n.bridges:
            parts.append(
                figure_html(
                    plot_continuation(
                        bridge.continuation,
                        principal_axes(bridge.continuation.states, dims=1, name="principal axis"),
                    ),
                    f"Fixed points of the {html.escape(bridge.epoch)} period from "
                    f"{html.escape(PAPER_NAMES.get(bridge.task_a, bridge.task_a))} (alpha 0) to "
                    f"{html.escape(PAPER_NAMES.get(bridge.task_b, bridge.task_b))} (alpha 1) "
                    f"(Fig. 4); stable points along alpha: {bridge.stable_counts.tolist()}; the "
                    "shift of the stable points is at "
                    f"{bridge.bridge_readout_angle_deg:.0f} degrees to the readout plane.",
                )
            )
    if results.transfer:
        parts += [
            "<h2>Transfer</h2>",
            figure_html(
                plot_transfer(results.transfer),
                "Learning a held-out task with the input weights alone (Fig. 7), from a "
                "network pre-trained on every other task, on a set lacking the task's "
                "relatives, or from a fresh network.",
            ),
        ]
    return "\n".join(parts)
