"""The report of the criticality study (Safavi et al. 2024): coding error and kappa against
the noise per network size, the exponents, the measures table and the paper's claims next to
ours, under the runner's title and summary."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path

from neurodyn.report.blocks import columns_table_html, figure_html
from neurodyn.runs import Run
from neurodyn.studies.criticality.figures import plot_exponents, plot_noise_curves
from neurodyn.studies.criticality.measure import PAPER, CriticalityConfig, SizeResult, rows

__all__ = ["report"]

_COLUMNS = [
    ("size", "N"),
    ("noise", "noise"),
    ("coding_error", "MSE"),
    ("coding_error_std", "MSE s.d."),
    ("kappa", "kappa"),
    ("kappa_std", "kappa s.d."),
    ("size_exponent", "tau (sizes)"),
    ("duration_exponent", "alpha (durations)"),
    ("crackling_fitted", "gamma fitted"),
    ("crackling_predicted", "gamma predicted"),
    ("rate_hz", "rate (Hz)"),
    ("avalanches", "avalanches"),
    ("seeds_with_avalanches", "seeds with avalanches"),
]


def report(
    results: Sequence[SizeResult],
    config: CriticalityConfig,
    runs: Mapping[str, Run],
    out: Path,
) -> str:
    """The report's body (`Study.report`): the setup, the noise curves, the exponents, the
    paper's claims and every measure."""
    net, signal = config.network, config.signal
    claims = "".join(
        f"<li><b>{html.escape(k.replace('_', ' '))}</b>: {html.escape(v)}</li>"
        for k, v in PAPER.items()
    )
    body = [
        f'<p class="meta">sizes {", ".join(map(str, config.sizes))}; {len(config.seeds)} '
        f"seeds each; {len(config.noise_levels)} {config.noise_model}-noise levels; "
        f"{signal['trials']} trials of {signal['duration_ms']:g} ms at dt "
        f"{net['dt_ms']:g} ms</p>",
        "<p>Efficient spike-coding networks (Boerlin, Machens &amp; Den&egrave;ve 2013) of N "
        f"neurons encode a {net['signals']}-dimensional smooth signal with decoders of norm "
        f"{net['decoder_scale']:g} / N, costs mu = {net['cost_l2']:g} and nu = "
        f"{net['cost_l1']:g}, tau = {net['tau_ms']:g} ms, and a delay of "
        f"{net['delay_steps']} step before a spike reaches the other neurons. The coding error "
        "is the readout's MSE against the signal; avalanches are runs of non-empty bins of the "
        "population's spikes (bin: the mean inter-event interval); kappa compares their "
        "cumulative size distribution on 1..N with a power law of exponent 3/2 (1: "
        "scale-free, above 1: too many large avalanches, below 1: too few).</p>",
        "<h2>Coding error and kappa against the noise</h2>",
        figure_html(
            plot_noise_curves(list(results)),
            "Left: coding error; right: kappa (dotted: 1). Lines: mean over seeds; dots: each "
            "seed; circles: each size's lowest coding error and kappa closest to 1. Noise "
            "levels without avalanche statistics (no bin left empty, or fewer than 10 "
            "avalanches) have no kappa.",
        ),
        "<h2>Avalanche exponents</h2>",
        figure_html(
            plot_exponents(list(results)),
            "Maximum-likelihood exponents of the sizes (tau) and durations (alpha) from x_min "
            "(dotted: the critical branching process's 3/2 and 2).",
        ),
        "<h2>The paper's claims</h2>",
        f"<ul>{claims}</ul>",
        "<p>Point by point against ours: the study's README.</p>",
        "<h2>Measures</h2>",
        columns_table_html(rows(list(results)), _COLUMNS),
    ]
    return "\n".join(body)
