"""The report of the plasticity study (Bredenberg, Simoncelli & Savin 2020): learning curves,
the learned codes and their noise, for the local rule and BPTT, under the runner's title and
summary."""

from __future__ import annotations

import html
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.axes import Axes

from neurodyn.plot.population_code import (
    plot_bias_variance,
    plot_discriminability,
    plot_engagement,
    plot_noise_volume_fraction,
    plot_population_tuning,
    plot_preferred_stimuli,
    plot_reward_curves,
)
from neurodyn.report.blocks import cell_html, figure_html
from neurodyn.runs import Run
from neurodyn.studies.plasticity.measure import (
    SUMMARY_COLUMNS,
    NetworkResult,
    PlasticityConfig,
    condition_means,
    mean_sd_text,
)

__all__ = ["report"]


def _table(results: Sequence[NetworkResult]) -> str:
    head = "".join(f"<th>{html.escape(title)}</th>" for _, title in SUMMARY_COLUMNS)
    body = "".join(
        "<tr>" + "".join(f"<td>{cell_html(r.row[k])}</td>" for k, _ in SUMMARY_COLUMNS) + "</tr>"
        for r in results
    )
    return f"<table><tr>{head}</tr>{body}</table>"


def _panels(
    groups: Mapping[str, Sequence[NetworkResult]],
    draw: Callable[[Sequence[NetworkResult], Axes], None],
    caption: str,
) -> str:
    """One panel per non-empty group (e.g. per task), drawn by `draw`."""
    groups = {title: members for title, members in groups.items() if members}
    if not groups:
        return ""
    fig, axes = plt.subplots(1, len(groups), figsize=(4.6 * len(groups), 3.4), squeeze=False)
    for ax, (title, members) in zip(axes[0], groups.items(), strict=True):
        draw(members, ax)
        ax.set_title(title, fontsize=10)
    fig.tight_layout()
    return figure_html(fig, caption)


def _select(results: Sequence[NetworkResult], kind: str, trainer: str | None = None, **task):
    return [
        r
        for r in results
        if r.condition.task.kind == kind
        and (trainer is None or r.condition.trainer == trainer)
        and all(getattr(r.condition.task, k) == v for k, v in task.items())
    ]


def _means_table(results: Sequence[NetworkResult]) -> str:
    columns = SUMMARY_COLUMNS[1:]
    head = "<th>condition</th>" + "".join(f"<th>{html.escape(t)}</th>" for _, t in columns)
    body = ""
    for means in condition_means([r.row for r in results]):
        cells = "".join(f"<td>{html.escape(mean_sd_text(means, k))}</td>" for k, _ in columns)
        body += f"<tr><td>{html.escape(means['condition'])}</td>{cells}</tr>"
    return f"<table><tr>{head}</tr>{body}</table>"


def report(
    every_seed: Sequence[NetworkResult],
    config: PlasticityConfig,
    runs: Mapping[str, Run],
    out: Path,
) -> str:
    """The report's body (`Study.report`): the measures of every network, their means over
    seeds, and the figures of the first seed's networks."""
    results = [r for r in every_seed if r.condition.seed == config.seeds[0]]
    kinds = [k for k in ("estimation", "classification") if k in config.tasks]
    main = {
        kind: [
            r
            for r in _select(results, kind, kappa=config.kappa, mu=0.0)
            if r.condition.sigma == config.sigma
        ]
        for kind in kinds
    }
    local_main = {kind: [r for r in main[kind] if r.condition.trainer == "local"] for kind in kinds}
    variants = [r for r in results if r.condition.task.kappa != config.kappa or r.condition.task.mu]

    def noise_curves(members, ax):
        plot_reward_curves(
            {f"sigma = {r.condition.sigma:g}": (r.curve.time, r.curve.objective) for r in members},
            time_label="time (time units of the circuit)",
            ax=ax,
        )

    def trainer_curves(members, ax):
        plot_reward_curves(
            {r.condition.trainer: (r.curve.time, r.curve.objective) for r in members},
            time_label="time (time units of the circuit)",
            ax=ax,
        )

    def preferred(members, ax):
        r = members[0]
        plot_preferred_stimuli(r.tuning, prior=(r.condition.task.mu, r.condition.task.kappa), ax=ax)

    def engagement(members, ax):
        plot_engagement({f"sigma {r.condition.sigma:g}": r.engagement for r in members}, ax=ax)

    def noise_fraction(members, ax):
        r = members[0]
        plot_noise_volume_fraction(
            r.after.angles,
            {"before learning": r.noise_fraction_before, "after": r.noise_fraction_after},
            ax=ax,
        )

    local_by_noise = {
        kind: sorted(
            _select(results, kind, "local", kappa=config.kappa, mu=0.0),
            key=lambda r: r.condition.sigma,
        )
        for kind in kinds
    }
    preferred_groups = {f"{k}, local rule": local_main[k] for k in kinds}
    preferred_groups |= {r.condition.name: [r] for r in variants}
    classifiers = {
        r.condition.name: r.discriminability
        for r in results
        if r.discriminability and r.condition.sigma == config.sigma
    }
    fig_d = plot_discriminability(classifiers) if classifiers else None
    tuning = {
        r.condition.name: r.tuning
        for r in [
            *local_main.get("estimation", []),
            *local_main.get("classification", []),
            *variants,
        ]
    }
    decoders = {r.condition.name: r.decoding for r in main.get("estimation", [])}
    body = [
        f'<p class="meta">{len(every_seed)} networks; noise sigma {config.sigma:g} unless stated; '
        f"local rule: {int(config.local['n_chains'])} chains, "
        f"{config.local['n_trials'] * config.local['trial_time']:g} time units, rates "
        f"{config.local['rate_scale']:g} x the authors'; BPTT: "
        f"{int(config.bptt['n_updates'])} Adam steps on windows of "
        f"{config.bptt['window_time']:g} time units</p>",
        "<p>A stochastic rate circuit driven by 12 rectified-cosine input channels of a slowly "
        "drifting angle theta (von Mises prior) learns, with a reward-modulated Hebbian rule on "
        "its recurrent, input and bias weights and a delta rule on its readout, to estimate "
        "theta (readout (cos, sin)) or to tell whether theta is above 0. Test error: "
        "prior-weighted squared error (estimation) or share of wrong sides (classification) "
        "at the 12 test angles held fixed.</p>",
        f"<h2>Mean ± standard deviation over {len(config.seeds)} seeds</h2>",
        _means_table(every_seed),
        "<h2>Every network</h2>",
        _table(every_seed),
        f"<p>The figures below show the networks of seed {config.seeds[0]}.</p>",
        "<h2>Learning</h2>",
        _panels(
            {f"{k}, local rule": local_by_noise[k] for k in kinds},
            noise_curves,
            "The online objective (mean reward per step, over chains and 10-time-unit bins) "
            "during learning with the local rule, at each noise level.",
        ),
        _panels(
            {k: main[k] for k in kinds},
            trainer_curves,
            "The local rule against truncated BPTT on the same circuit and noise: the reward "
            "against the simulated time each has seen.",
        ),
        "<h2>The learned code</h2>",
        _panels(
            preferred_groups,
            preferred,
            "Share of units preferring each test angle (argmax of the unit's mean rate), with "
            "the prior density (line, scaled to the bars). Estimation should put units where "
            "stimuli are probable; classification near the class boundary.",
        ),
    ]
    if tuning:
        fig = plot_population_tuning(tuning)
        body.append(
            figure_html(fig, "Mean rate over units at each angle (shaded: SEM over units).")
        )
    if decoders:
        body.append(
            figure_html(
                plot_bias_variance(decoders),
                "Estimation: squared bias (solid) and variance (dashed) of the readout at each "
                "angle, local rule against BPTT.",
            )
        )
    if fig_d is not None:
        body.append(
            figure_html(
                fig_d,
                "Classification: d' of the readout's drive D r between the test angles either "
                "side of the boundary at 0 (where the default prior peaks) and at pi (where it "
                "is least dense), and between the two half-circles.",
            )
        )
    body += [
        "<h2>Noise</h2>",
        _panels(
            {k: local_main[k] for k in kinds},
            noise_fraction,
            "Noise volume fraction at each test angle: the noise variance the readout sees "
            "over the largest any subspace of its dimension sees (1: the readout looks along "
            "the principal noise directions). Learning should push the noise out of the "
            "readout's way.",
        ),
        _panels(
            {f"{k}, local rule": local_by_noise[k] for k in kinds},
            engagement,
            "Recurrent against feed-forward drive after learning (mean |W r| / mean |C s|) "
            "at each noise level.",
        ),
    ]
    return "\n".join(body)
