"""The report of the recovery study: the settings, the data fit against the recovery of the
truth, under the runner's title and summary."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from neurodyn.report.blocks import figure_html
from neurodyn.runs import Run
from neurodyn.studies.recovery.figures import plot_fit_against_recovery
from neurodyn.studies.recovery.measure import FitScore, RecoveryConfig

__all__ = ["report"]


def report(
    results: list[FitScore], config: RecoveryConfig, runs: Mapping[str, Run], out: Path
) -> str:
    """The report's body: the settings, then the figure."""
    fractions = ", ".join(f"{100 * f:g}%" for f in config.fractions)
    return "\n".join(
        [
            f'<p class="meta">Truths: {", ".join(config.truths)}; {config.trials} trials each, '
            f"recorded through {fractions} of their units as Poisson counts at "
            f"{config.mean_rate_hz:g} Hz; models: {', '.join(config.models)}; held out: "
            f"{config.recording.get('heldout_neurons')} of the neurons (co-smoothing) and "
            f"{config.recording.get('heldout_trials')} of the trials.</p>",
            figure_html(
                plot_fit_against_recovery(results),
                "Each fitted member: how well it predicts held-out neurons (bits/spike over the "
                "true rates', 1 = as well as the truth) against how far its dynamics are from "
                "the truth's (DSA, left) and how much of the true state it carries (right).",
            ),
        ]
    )
