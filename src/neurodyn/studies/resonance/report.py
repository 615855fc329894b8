"""The report of the recurrence resonance study (Metzner et al. 2024): H, I and D against noise
for each weight family, next to the paper's numbers, under the runner's title and summary."""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt

from neurodyn.plot.information import (
    plot_resonance_comparison,
    plot_resonance_grid,
)
from neurodyn.report.blocks import columns_table_html, figure_html
from neurodyn.runs import Run
from neurodyn.studies.resonance.measure import (
    PAPER,
    RR_GAIN_BITS,
    FamilyResult,
    ResonanceConfig,
    family_row,
)

__all__ = ["report"]

_COLUMNS = [
    ("family", "family"),
    ("n_units", "units"),
    ("observed", "observed"),
    ("r_opt", "r_opt"),
    ("I_max", "I_max"),
    ("H_at_r_opt", "H at r_opt"),
    ("I_at_zero", "I at r=0"),
    ("H_at_zero", "H at r=0"),
    ("I_at_r_max", "I at largest r"),
    ("networks_with_rr", "networks with RR"),
    ("stationary_I_at_zero", "infinite obs.: I at r=0"),
    ("stationary_I_max", "infinite obs.: I_max"),
    ("stationary_r_opt", "infinite obs.: r_opt"),
]


def _paper_table(results: Sequence[FamilyResult]) -> str:
    rows = []
    for r in results:
        paper = PAPER.get(r.label)
        if paper is None:
            continue
        curve = r.curve
        ours = {
            "r_opt": curve.r_opt,
            "I_max": curve.i_max,
            "H_at_r_opt": curve.at(curve.r_opt).entropy,
            "I_at_zero": float(curve.mutual_information[0]),
            "I_at_50": curve.at(50.0).mutual_information,
        }
        rows += [
            f"<tr><td>{html.escape(r.label)}</td><td>{html.escape(k)}</td><td>{v:g}</td>"
            f"<td>{ours[k]:.2f}</td></tr>"
            for k, v in paper.items()
        ]
    if not rows:
        return ""
    return (
        "<h2>Against the paper</h2><table><tr><th>family</th><th>measure</th><th>paper</th>"
        f"<th>ours</th></tr>{''.join(rows)}</table>"
        "<p>The paper's values as quoted for its autapses-only network of 5 neurons (read off "
        "its figure); its weight scale and observation length are not known to us, see the "
        "study's <code>src/neurodyn/studies/resonance/README.md</code>. I at 50 is ours at the "
        "noise level nearest r = 50.</p>"
    )


def _observation_figure(results: Sequence[FamilyResult]) -> str:
    exact = [r for r in results if r.stationary is not None]
    if not exact:
        return ""
    fig, axes = plt.subplots(1, len(exact), figsize=(4.0 * len(exact), 3.3), squeeze=False)
    for ax, r in zip(axes[0], exact, strict=True):
        assert r.stationary is not None
        plot_resonance_comparison([r.curve, r.stationary], ax=ax, styles=["-", "--"])
        ax.set_title(r.label, fontsize=9)
    fig.tight_layout()
    return figure_html(
        fig,
        "I against r over the study's finite observation (solid, simulated) and over an "
        "infinitely long one (dashed: exact, from the stationary distribution of the exact "
        "transition matrix), averaged over the same networks. Without noise the probabilistic "
        "network escapes its attractor only rarely; given unlimited time it visits them all, "
        "and the resonance shrinks or disappears: RR is bound to the observation time scale.",
    )


def report(
    results: Sequence[FamilyResult],
    config: ResonanceConfig,
    runs: Mapping[str, Run],
    out: Path,
) -> str:
    """The report's body (`Study.report`): the setup, every family's measures, the paper's
    numbers next to ours and the resonance curves."""
    levels = config.levels()
    body = [
        f'<p class="meta">{len(results)} weight families; {len(config.seeds)} networks each '
        f"(one per seed); {config.steps} steps per run from a random initial state; "
        f"{len(levels)} noise amplitudes r from {levels[0]:g} to {levels[-1]:g}</p>",
        "<p>Binary neurons updated together: each fires with probability "
        "sigmoid(sum_m w_nm y_m + b_n + r eta_n), eta_n standard normal, with symmetric biases "
        "b_n = -1/2 sum_m w_nm. H is the entropy of the visited states, I the mutual "
        "information between successive states (both plug-in estimates from histograms, in "
        "bits), D = H - I. Recurrence resonance is an interior maximum of I against r: the "
        f"network counts as showing it when its own I peaks at least {RR_GAIN_BITS} bits above "
        "its I at r = 0.</p>",
        columns_table_html([family_row(r) for r in results], _COLUMNS),
        _paper_table(results),
        "<h2>Resonance curves</h2>",
        figure_html(
            plot_resonance_grid([r.curve for r in results]),
            "H (dashed), I (solid; shaded: standard deviation between networks) and D = H - I "
            "(dotted) against the noise amplitude r, averaged over the family's networks; "
            "the red line marks r_opt. The axis is logarithmic above the smallest r > 0 and "
            "linear below, to show r = 0.",
        ),
        figure_html(
            plot_resonance_comparison([r.curve for r in results]),
            "I against r for every family (dots: r_opt).",
        ),
        _observation_figure(results),
    ]
    return "\n".join(body)
