"""The report of the icl-phases study (Park et al. 2025): the phase diagrams and the KL
curves under the runner's title and summary."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from neurodyn.report.blocks import figure_html, markdown_html
from neurodyn.runs import Run
from neurodyn.studies.icl_phases.figures import plot_kl_over_training, plot_phase_diagram
from neurodyn.studies.icl_phases.measure import IclConfig, NetworkResult, phase_table

__all__ = ["report"]


def report(
    results: list[NetworkResult], config: IclConfig, runs: Mapping[str, Run], out: Path
) -> str:
    """The report's body: the settings, the phase diagrams (in and out of distribution), the
    phases over seeds and each model's KL curves."""
    seconds = sum(r.seconds for r in results)
    parts = [
        f'<p class="meta">{len(results)} networks ({", ".join(config.models)}; N = '
        f"{', '.join(map(str, config.n_chains))}; seeds {', '.join(map(str, config.seeds))}), "
        f"{config.steps} steps of {config.batch_size} sequences of {config.length} states, "
        f"measured at {len(config.eval_steps())} log-spaced steps on {config.eval_sequences} "
        f"held-out sequences; {seconds / 60:.1f} min of training in all. The paper trains on "
        "512 states for 107,979 steps of 128 (`--variant paper`).</p>",
        figure_html(
            plot_phase_diagram(results, "id"),
            "The phase diagram: the algorithm closest to each network's predictions (KL at the "
            "longest context, on sequences of the training chains), against training step and N "
            "(the paper's Fig. 1, front face of the cube).",
        ),
        figure_html(
            plot_phase_diagram(results, "ood"),
            "The same on sequences of fresh chains (out of distribution).",
        ),
        "<p>The closest algorithm at each measured step, in distribution, taken by most seeds "
        "(with their count where the seeds differ):</p>",
        markdown_html(phase_table(results, "id")),
    ]
    for model in config.models:
        parts.append(
            figure_html(
                plot_kl_over_training(results, model),
                f"{model}: KL to each algorithm over training, and to the true chain in and out "
                "of distribution (a late rise out of distribution is the transience of bigram "
                "inference, the paper's Fig. 1c).",
            )
        )
    return "\n".join(parts)
