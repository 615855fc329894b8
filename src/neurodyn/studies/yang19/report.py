"""The report of the Yang et al. 2019 study: performance, clusters, lesions, composition."""

from __future__ import annotations

import html
from collections.abc import Mapping
from pathlib import Path

import numpy as np

from neurodyn.plot import plot_learning_curves
from neurodyn.plot.task_variance import (
    plot_fractional_variance,
    plot_lesion_effects,
    plot_silhouette,
    plot_task_variance_matrix,
    plot_task_vectors,
)
from neurodyn.report.blocks import figure_html
from neurodyn.runs import Run
from neurodyn.studies.yang19.measure import (
    MultitaskAnalysis,
    Yang19Config,
    set_vectors,
    task_labels,
)


def _performance_table(results: list[MultitaskAnalysis], labels: Mapping[str, str]) -> str:
    """Performance per task and network by both criteria: ours (fixation also held before the
    go cue) and the paper's (the last step only)."""
    tasks = list(results[0].performance)
    head = "".join(
        f"<th>network {r.member}</th><th>network {r.member}, paper's criterion</th>"
        for r in results
    )

    def cells(values: list[float], tag: str) -> str:
        return "".join(f"<{tag}>{v:.3f}</{tag}>" for v in values)

    rows = [
        f"<tr><td>{html.escape(labels.get(t, t))}</td>"
        + "".join(cells([r.performance[t], r.performance_paper[t]], "td") for r in results)
        + "</tr>"
        for t in tasks
    ]
    rows.append(
        "<tr><th>minimum</th>"
        + "".join(
            cells([min(r.performance.values()), min(r.performance_paper.values())], "th")
            for r in results
        )
        + "</tr>"
    )
    return (
        "<p>Performance: ours requires the fixation output above 0.5 from 100 ms to the go "
        "cue and the right answer at the last step; the paper's criterion (its public code's "
        "<code>get_perf</code>) looks at the last step only.</p>"
        f"<table><tr><th>task</th>{head}</tr>{''.join(rows)}</table>"
    )


def _network_section(result: MultitaskAnalysis, labels: Mapping[str, str]) -> str:
    names = {t: labels.get(t, t) for t in result.variance.tasks}
    clusters = result.clusters
    parts = [
        f"<h2>Network {result.member}</h2>",
        f'<p class="meta">{int(result.variance.active.sum())} of {len(result.variance.active)} units '
        f"active (summed task variance above {result.variance.threshold:g}); "
        f"{clusters.n_clusters} clusters by silhouette.</p>",
        figure_html(
            plot_task_variance_matrix(result.variance, clusters, task_names=names),
            "Normalised task variance of every active unit (columns, sorted by cluster) in every "
            "task: each unit's variance across stimulus conditions, from stimulus onset to the "
            "end of the trial, divided by its largest over tasks (the paper's Fig. 2b).",
        ),
        figure_html(
            plot_silhouette(clusters),
            "Silhouette score of k-means clusterings of the normalised task variance; the "
            "number of clusters is the best k (red).",
        ),
    ]
    if result.fractional:
        parts.append(
            figure_html(
                plot_fractional_variance(result.fractional, task_names=names),
                "Fractional task variance (var A - var B) / (var A + var B) of the units active "
                "in either task, for the task pairs of the paper's Fig. 3: -1 and 1 are units "
                "serving one task only, 0 units shared by both.",
            )
        )
    parts.append(
        figure_html(
            plot_lesion_effects(result.lesions, task_names=names),
            "Change in performance on each task when each cluster's units are silenced (their "
            "outgoing recurrent and output weights set to zero), as the paper's Fig. 2d.",
        )
    )
    held = [a for a in result.analogies if a.correct]
    rows = "".join(
        f"<tr><td>{html.escape(names[a.c])} + {html.escape(names[a.b])} - {html.escape(names[a.a])}</td>"
        f"<td>{html.escape(names[a.d])}</td><td>{html.escape(names[a.nearest])}</td>"
        f"<td>{a.relative_error:.2f}</td></tr>"
        for a in result.analogies
    )
    parts.append(
        "<table><tr><th>composed vector</th><th>expected</th><th>nearest of all tasks</th>"
        f"<th>relative error</th></tr>{rows}</table>"
        f"<p>{len(held)} of {len(result.analogies)} analogies hold: the composed task vector is "
        "nearest the expected task's among all tasks' vectors (mean state at the end of the "
        "first stimulus epoch). Relative error: distance to the expected vector over the "
        "distance between the expected vector and c.</p>"
    )
    for a in result.analogies:
        quad = (a.a, a.b, a.c, a.d)
        vectors = set_vectors(result, quad)
        parts.append(
            figure_html(
                plot_task_vectors(vectors, task_names=names),
                f"Task vectors of {', '.join(names[t] for t in quad)} in their first two "
                "principal components (the paper's Fig. 6): parallel arrows mean the two "
                "differences are the same vector.",
            )
        )
    return "\n".join(parts)


def report(
    results: list[MultitaskAnalysis], config: Yang19Config, runs: Mapping[str, Run], out: Path
) -> str:
    """The report's body: the run, learning curves, performance per task and network, then
    each network's clusters, fractional variance, lesions and task vectors."""
    run = runs[config.run_id]
    labels = task_labels(run)
    mins = [min(r.performance.values()) for r in results]
    mins_paper = [min(r.performance_paper.values()) for r in results]
    clusters = [r.clusters.n_clusters for r in results]
    info = run.info()
    planned = run.config.train.steps
    # a run measured before its training ended (the zoo's interim entry): say so where the
    # numbers are read, not only in the README
    partly = (
        f"<p><b>Partly trained:</b> these networks stopped at step {info.steps_done:,} of the "
        f"{planned:,} their config trains for ({info.steps_done / planned:.0%}); the numbers "
        "below are theirs at that step, not the finished networks'.</p>"
        if info.steps_done < planned
        else ""
    )
    return "\n".join(
        [
            f'<p class="meta">run {html.escape(run.id)}, {info.steps_done} steps of '
            f"{run.config.train.batch_size} trials; {len(results)} networks</p>",
            partly,
            f"<p>Minimum performance over tasks: {', '.join(f'{m:.3f}' for m in mins)}; by "
            f"the paper's criterion {', '.join(f'{m:.3f}' for m in mins_paper)} "
            f"(the paper trains to high performance on every task). Clusters found: "
            f"{', '.join(map(str, clusters))} (mean {np.mean(clusters):.1f}; the paper: about 15 for its "
            "softplus networks).</p>",
            figure_html(
                plot_learning_curves(run.metrics(), title="training"),
                "Loss and performance per task during training.",
            ),
            _performance_table(results, labels),
            *(_network_section(r, labels) for r in results),
        ]
    )
