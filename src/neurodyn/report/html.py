"""A run's report: one HTML file with its figures embedded, to open anywhere or mail around."""

from __future__ import annotations

import html
from pathlib import Path

import numpy as np
import yaml

from neurodyn._io import atomic_write_text
from neurodyn._progress import Progress
from neurodyn._version import versions_line
from neurodyn.analysis.fixed_points import FixedPoints
from neurodyn.analysis.projection import pca_axes, principal_axes
from neurodyn.analysis.recovery import recovery_table
from neurodyn.plot import (
    plot_across_training,
    plot_continuation,
    plot_eigenvalues,
    plot_fixed_points,
    plot_learning_curves,
    plot_pca,
    plot_recurrent_input_ratio,
    plot_step_tuning,
)
from neurodyn.plot.dynamics import (
    plot_koopman,
    plot_limit_cycles,
    plot_lyapunov,
    plot_poincare_section,
)
from neurodyn.plot.latent import plot_dmd, plot_epoch_states
from neurodyn.plot.motifs import plot_motifs, plot_period_lesions
from neurodyn.plot.recovery import plot_recovery
from neurodyn.plot.task_variance import plot_lesion_effects, plot_task_variance_matrix
from neurodyn.report.blocks import figure_html, markdown_html, page
from neurodyn.runs.analyze import TaskAnalysis, load_analyses, saved_task_variance
from neurodyn.runs.dynamics import SavedDynamics, saved_dynamics
from neurodyn.runs.fixedpoints import (
    saved_across_training,
    saved_fixed_points,
    saved_interpolations,
)
from neurodyn.runs.motifs import saved_motifs
from neurodyn.runs.recovery import saved_recovery
from neurodyn.runs.run import REPORT, Run, RunInfo
from neurodyn.runs.task_variance import describe as describe_task_variance
from neurodyn.tasks import Multitask, RecordingTask


def _number(value: object) -> str:
    """A performance read from run.json: a number to 3 decimals, anything else escaped."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return f"{value:.3f}"
    return html.escape(str(value))


def _mean(values: object) -> object:
    numbers = values if isinstance(values, list) else []
    if numbers and all(isinstance(v, int | float) for v in numbers):
        return sum(numbers) / len(numbers)
    return "?"


def _performance_table(info: RunInfo) -> str:
    by_member = info.performance_by_member
    if not by_member:
        return "<p>No final evaluation yet (the run has not finished).</p>"
    tasks = list(by_member)
    n = len(next(iter(by_member.values())))
    head = "".join(f"<th>{html.escape(str(t))}</th>" for t in tasks)
    rows = "".join(
        "<tr><td>member "
        + str(e)
        + "</td>"
        + "".join(f"<td>{_number(by_member[t][e])}</td>" for t in tasks)
        + "</tr>"
        for e in range(n)
    )
    mean = "".join(f"<td><b>{_number(_mean(by_member[t]))}</b></td>" for t in tasks)
    return f"<table><tr><th></th>{head}</tr>{rows}<tr><td><b>mean</b></td>{mean}</tr></table>"


def _fixed_point_figures(run: Run, result: TaskAnalysis) -> list[str]:
    parts = []
    for epoch, points in saved_fixed_points(run, result.task).items():
        members = int(points.initial_member.max()) + 1
        counts = "; ".join(
            f"member {m}: " + ", ".join(f"{v} {k}" for k, v in points.count(m).items() if v)
            for m in range(members)
        )
        kind = "flow (continuous time)" if points.continuous_time else "map"
        parts.append(
            figure_html(
                plot_fixed_points(
                    points, pca_axes(result.pca), trajectories=result.pca.condition_means
                ),
                f"Fixed and slow points under the constant input of the {epoch} epoch (member 0), "
                f"in the plane of the trajectories' first two principal components, with lines "
                f"along unstable modes. Stability classified on the {kind}. {counts}.",
            )
        )
        parts.append(
            figure_html(
                plot_eigenvalues(points),
                (
                    "Eigenvalues of the linearised flow, (λ - 1) / dt in 1/s, at each point "
                    "(member 0); a point is unstable along modes right of the dashed line Re = 0."
                    if points.continuous_time
                    else "Eigenvalues λ of the Jacobian of the network's map at each point "
                    "(member 0); a point is unstable along modes outside the dashed unit circle."
                ),
            )
        )
    return parts


def _dt_ms(run: Run, task: str) -> float | None:
    tasks = getattr(run.task, "tasks", (run.task,))
    return next((t.dt_ms for t in tasks if t.name == task), None)


def _task_section(result: TaskAnalysis, run: Run) -> str:
    dt_ms = _dt_ms(run, result.task)
    parts = [
        f"<h2>Task <code>{html.escape(result.task)}</code></h2>",
        f'<p class="meta">ensemble member {result.member}, noise-free, fresh trials</p>',
    ]
    pca = result.pca
    parts.append(
        figure_html(
            plot_pca(pca),
            f"Trajectories projected on the first two principal components of the hidden states "
            f"(first three explain {100 * pca.explained_variance_ratio[:3].sum():.0f}% of the variance)"
            + (f", averaged per {pca.condition_name}." if pca.condition_name else "."),
        )
    )
    ratio = result.recurrent_input_ratio
    if ratio is not None:
        epochs = ", ".join(
            f"{k}: {v:.2f}" if not np.isnan(v) else f"{k}: no input"
            for k, v in ratio.by_epoch.items()
        )
        parts.append(
            figure_html(
                plot_recurrent_input_ratio(ratio, dt_ms=dt_ms),
                "Norm of the recurrent drive W_rec h over the norm of the input drive W_in x, "
                "averaged over trials with each trial aligned to the start of each epoch (trials "
                f"differ in their epochs' lengths), epochs side by side. Mean per epoch: {epochs}.",
            )
        )
    if result.step_tuning is not None:
        tuning = result.step_tuning
        parts.append(
            figure_html(
                plot_step_tuning(tuning, dt_ms=dt_ms),
                f"Activity across the steps of the {tuning.epoch} epoch: mean rate, each unit's preferred "
                "step, and every active unit's mean activity sorted by preferred step.",
            )
        )
    parts += _latent_figures(result, run)
    parts += _fixed_point_figures(run, result)
    parts += _dynamics_figures(run, result)
    return "\n".join(parts)


def _dynamics_figures(run: Run, result: TaskAnalysis) -> list[str]:
    """Limit cycles, Poincaré sections, Lyapunov spectra and Koopman eigenvalues saved by
    `neurodyn dynamics`, per epoch."""
    points = saved_fixed_points(run, result.task)
    parts = []
    for saved in saved_dynamics(run, result.task):
        parts += _cycle_figures(saved, points.get(saved.epoch))
        if saved.lyapunov is not None:
            spectrum = saved.lyapunov
            top = 1e3 * spectrum.mean()[0] if spectrum.continuous_time else spectrum.mean()[0]
            unit = "1/s" if spectrum.continuous_time else "per step"
            dimension = np.nanmean(spectrum.kaplan_yorke)
            parts.append(
                figure_html(
                    plot_lyapunov(spectrum),
                    f"Lyapunov spectrum under the constant input of the {saved.epoch} epoch: the "
                    f"{spectrum.exponents.shape[1]} largest exponents by the QR method along "
                    f"{len(spectrum)} noise-free trajectories ({spectrum.n_steps} steps after "
                    f"{spectrum.n_transient}), and their running estimates. Largest: "
                    f"{top:.3g} {unit}"
                    + (
                        f"; Kaplan-Yorke dimension {dimension:.2f}."
                        if np.isfinite(dimension)
                        else "."
                    )
                    + (f" {spectrum.notes}." if spectrum.notes else ""),
                )
            )
        if saved.koopman is not None:
            koopman = saved.koopman
            parts.append(
                figure_html(
                    plot_koopman(koopman, fixed_points=points.get(saved.epoch)),
                    f"Koopman eigenvalues by extended DMD ({koopman.dictionary} of the leading "
                    f"principal components) of autonomous trajectories under the {saved.epoch} "
                    "input, with the Jacobian eigenvalues of the stable fixed points there "
                    "(crosses, when neurodyn fixedpoints ran for this epoch): near a stable "
                    "point the leading Koopman eigenvalues are the linearisation's.",
                )
            )
    return parts


def _cycle_figures(saved: SavedDynamics, points: FixedPoints | None) -> list[str]:
    cycles = saved.cycles
    if cycles is None:
        return []
    outcomes = ", ".join(f"{v} {k}" for k, v in cycles.outcomes().items() if v)
    if not len(cycles):
        return [
            f"<p>No limit cycle under the constant input of the {html.escape(saved.epoch)} "
            f"epoch: {html.escape(cycles.reason)}.</p>"
        ]
    unit = "ms" if cycles.continuous_time else "steps"
    listed = "; ".join(
        f"member {m}: period {p:.4g} {unit} ({s:.2f} steps), {st}, largest multiplier "
        f"|μ| = {abs(mu[0]):.3f}"
        for m, p, s, st, mu in zip(
            cycles.member,
            cycles.period,
            cycles.period_steps,
            cycles.stability,
            cycles.multipliers,
            strict=True,
        )
    )
    parts = [
        figure_html(
            plot_limit_cycles(
                cycles,
                principal_axes(cycles.orbit(0), name="PC"),
                fixed_points=points,
                member=int(cycles.member[0]),
            ),
            f"Limit cycles under the constant input of the {saved.epoch} epoch, found by "
            "shooting on a Poincaré return map (member "
            f"{int(cycles.member[0])}, in the plane of its first cycle's principal components, "
            f"with the fixed points found under the same input), and their non-trivial "
            f"Floquet multipliers. {listed}. Starts: {outcomes}.",
        )
    ]
    if saved.poincare is not None:
        parts.append(
            figure_html(
                plot_poincare_section(saved.poincare),
                "Noise-free trajectories crossing the first cycle's Poincaré section, and the "
                "return map between successive crossings: crossings converge onto the "
                "diagonal at a stable cycle.",
            )
        )
    return parts


def _latent_figures(result: TaskAnalysis, run: Run) -> list[str]:
    dt_ms = _dt_ms(run, result.task)
    parts = []
    if result.epoch_states is not None:
        states = result.epoch_states
        parts.append(
            figure_html(
                plot_epoch_states(states, dt_ms=dt_ms),
                f"Discrete states: a Gaussian HMM with {states.occupancy.shape[1]} states fitted "
                f"to the first {states.n_components} principal components of the trajectories, "
                "each trial's most probable state sequence (Viterbi), and the share of each "
                f"epoch spent in each state. The state tells the epoch to "
                f"{100 * states.information:.0f}% of the epoch's entropy.",
            )
        )
    if result.dmd is not None:
        parts.append(
            figure_html(
                plot_dmd(result.dmd, dt_ms=dt_ms),
                f"Linear (DMD) view of the activity: a rank-{len(result.dmd.eigenvalues)} "
                "operator fitted to successive noise-free states of every trial; its "
                "eigenvalues, their timescales, and the leading modes' loadings on the units. "
                "The task's inputs are part of what the operator fits: growth (|λ| > 1) can "
                "be input-driven, as in evidence accumulation.",
            )
        )
    return parts


def _motif_sections(run: Run) -> list[str]:
    """The motif analysis (`neurodyn analyze RUN --motifs`), one member's figures and every
    member's counts."""
    results = saved_motifs(run)
    if not results:
        return []
    tasks = run.task.tasks if isinstance(run.task, Multitask) else (run.task,)
    names = {t.name: str(getattr(t, "paper_name", t.name)) for t in tasks}
    first = results[0]
    rows = "".join(
        f"<tr><td>member {r.member}</td><td>{int(r.variance.active.sum())}</td>"
        f"<td>{r.clusters.n_unit_clusters}{'*' if r.clusters.units_at_edge else ''}</td>"
        f"<td>{r.clusters.n_period_clusters}{'*' if r.clusters.periods_at_edge else ''}</td>"
        f"<td>{len(r.clusters.shared())}</td></tr>"
        for r in results
    )
    at_edge = any(r.clusters.units_at_edge or r.clusters.periods_at_edge for r in results)
    motifs = "".join(
        f"<li>cluster {c}: {html.escape(', '.join(periods) or 'no period above the threshold')}</li>"
        for c, periods in enumerate(first.clusters.motifs())
    )
    parts = [
        "<h2>Dynamical motifs</h2>",
        "<table><tr><th></th><th>active units</th><th>unit clusters</th>"
        f"<th>task-period clusters</th><th>shared motifs</th></tr>{rows}</table>",
        (
            "<p>* the silhouette score was largest at the most clusters tried: the network "
            "has no number of clusters of its own in that range, and the count is a lower "
            "bound.</p>"
            if at_edge
            else ""
        ),
        figure_html(
            plot_motifs(first.variance, first.clusters, task_names=names),
            f"Member {first.member}: each active unit's variance in each task period (context "
            "left out), over its largest; units and periods in Ward dendrogram order, each unit "
            "cluster's block of periods (mean at least "
            f"{first.clusters.block_threshold:g}) outlined.",
        ),
        f"<p>Motif blocks of member {first.member}:</p><ul>{motifs}</ul>",
    ]
    if first.lesions is not None:
        parts.append(
            figure_html(
                plot_period_lesions(first.lesions, task_names=names),
                "Each unit cluster silenced in turn (outgoing weights zeroed): the output cost "
                "of every task period over the intact network's, and the change of performance "
                "per task.",
            )
        )
    return parts


def _recovery_sections(run: Run) -> list[str]:
    """A fitted run scored against the network that made its recording (`neurodyn fit DATA
    --truth RUN`): every member's recovery row and their figure."""
    rows = saved_recovery(run)
    if not rows:
        return []
    return [
        "<h2>Recovery of the true dynamics</h2>",
        "<p>Each member against the network that made the recording: co-smoothing of the "
        "held-out neurons on the test trials (bits per spike, the true rates' in brackets), "
        "the true states from the fitted ones through the best affine map (state R^2), the "
        "fixed points of both networks at zero input matched after that map (distance in "
        "units of the true states' spread, share of pairs of the same stability) and the DSA "
        "distance of their states.</p>",
        markdown_html(recovery_table(rows)),
        figure_html(
            plot_recovery(rows),
            "How well each member predicts held-out neurons (left) against how much of the "
            "true dynamics it recovered (right): a good data fit can still get the fixed "
            "points wrong.",
        ),
    ]


def _task_variance_sections(run: Run) -> list[str]:
    """Yang et al.'s task variance (`neurodyn analyze RUN --task-variance`): the first member's
    clustered variance matrix and lesion effects, every member's cluster count."""
    saved = saved_task_variance(run)
    if not saved:
        return []
    tasks = run.task.tasks if isinstance(run.task, Multitask) else (run.task,)
    names = {t.name: str(getattr(t, "paper_name", t.name)) for t in tasks}
    lines = "".join(f"<li>{html.escape(line)}</li>" for line in describe_task_variance(saved))
    parts = ["<h2>Task variance</h2>", f"<ul>{lines}</ul>"]
    first = saved[0]
    if first.clusters is not None:
        parts.append(
            figure_html(
                plot_task_variance_matrix(first.variance, first.clusters, task_names=names),
                f"Member {first.member}: each active unit's variance across trials in each task "
                "(from the end of the first epoch to the trial's end, noise-free), over its "
                "largest; units sorted by their k-means cluster, k by silhouette score (Yang et "
                "al. 2019, Fig. 2b).",
            )
        )
    if first.lesions is not None:
        parts.append(
            figure_html(
                plot_lesion_effects(first.lesions, task_names=names),
                f"Member {first.member}: the change of each task's performance when each unit "
                "cluster is silenced (outgoing weights zeroed), with the tasks' input noise "
                "(Fig. 2d).",
            )
        )
    return parts


def _tracking_sections(run: Run) -> list[str]:
    parts = []
    for label, cont in saved_interpolations(run).items():
        events = "; ".join(
            f"{e['kind']} at alpha {float(e['alpha']):.2f}"
            for e in cont.events
            if e["kind"] != "appears"
        )
        parts += [
            f"<h2>Rule interpolation <code>{html.escape(label)}</code></h2>",
            figure_html(
                plot_continuation(cont, principal_axes(cont.states, dims=1, name="principal axis")),
                "Fixed points as the input moves in a straight line from the first task's input "
                f"to the second's, each continued from the previous alpha. {events or 'No bifurcation on this grid.'}",
            ),
        ]
    for label, result in saved_across_training(run).items():
        parts += [
            f"<h2>Fixed points across training <code>{html.escape(label)}</code></h2>",
            figure_html(
                plot_across_training(result),
                "Number of fixed points per stability class at each set of weights kept during "
                "training, and of eigenvalues of W_rec outside the unit circle.",
            ),
        ]
    return parts


def _versions_meta(info: RunInfo) -> str:
    """' · with neurodyn 0.1.0, torch ..., numpy ...' for a run that recorded its versions."""
    if not info.versions:
        return ""
    return (
        f" · with {html.escape(versions_line({str(k): str(v) for k, v in info.versions.items()}))}"
    )


def _trained_line(run: Run, info: RunInfo) -> str:
    model, train = run.config.model, run.config.train
    seeds = list(model.seeds)
    if model.adopted is not None:
        return (
            f"<b>Adopted</b>: {len(seeds)} network{'s' if len(seeds) > 1 else ''} trained "
            f"outside neurodyn, cell <code>{html.escape(model.adopted.cell)}</code> of "
            f"{model.n_hidden} units with readout <code>{html.escape(model.adopted.readout)}"
            f"</code>, on {html.escape(', '.join(run.task.task_names))}."
        )
    if info.status == "fitted":
        # the rate fit solves for its weights, one ridge strength a member: no step was taken
        return (
            f"<b>Fitted</b>: {len(seeds)} {html.escape(model.cell)} network"
            f"{'s' if len(seeds) > 1 else ''} of {model.n_hidden} units (one per ridge strength) "
            f"to {html.escape(', '.join(run.task.task_names))} by ridge regression; nothing "
            "trained."
        )
    return (
        f"<b>Trained</b>: {len(seeds)} {html.escape(model.cell)} network"
        f"{'s' if len(seeds) > 1 else ''} of {model.n_hidden} units (seeds "
        f"{', '.join(map(str, seeds))}) on {html.escape(', '.join(run.task.task_names))}, "
        f"{html.escape(str(info.steps_done))} of {train.steps} steps of {train.batch_size} trials "
        f"({html.escape(str(info.status))})."
    )


def _performance_meaning(run: Run) -> str:
    """What the run's final performance measures: the share of trials done right, or for a
    fit to a recording the share of its deviance explained on the trials it was fitted to."""
    task = run.task
    if isinstance(task, RecordingTask):
        explained = "deviance" if task.observation_model == "poisson" else "variance"
        return f"held-in neurons on the training trials, share of the {explained} explained"
    return "fresh trials, share correct"


def _how_well_line(run: Run, info: RunInfo) -> str:
    by_member = info.performance_by_member
    if not by_member:
        return "<b>Performance</b>: no final evaluation yet (the run has not finished)."
    parts = []
    for task, values in by_member.items():
        # run.json is read as it is: what is not a list of numbers is shown, escaped, as text
        numbers = values if isinstance(values, list) else []
        if numbers and all(isinstance(v, int | float) and not isinstance(v, bool) for v in numbers):
            spread = f" (members {min(numbers):.2f}-{max(numbers):.2f})" if len(numbers) > 1 else ""
            parts.append(f"{html.escape(str(task))} {sum(numbers) / len(numbers):.2f}{spread}")
        else:
            parts.append(f"{html.escape(str(task))} {html.escape(str(values))}")
    return f"<b>Performance</b> ({_performance_meaning(run)}): " + "; ".join(parts) + "."


def _found_items(run: Run, analyses: list[TaskAnalysis]) -> list[str]:
    items = []
    for result in analyses:
        found = []
        for epoch, points in saved_fixed_points(run, result.task).items():
            members = int(points.initial_member.max()) + 1
            counts = points.count()
            slow = counts.pop("slow", 0)
            words = ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "none"
            per = " in all members" if members > 1 else ""
            found.append(
                f"fixed points under the {epoch} input: {words}{per}"
                + (f" (and {slow} slow points)" if slow else "")
            )
        found += _dynamics_found(run, result.task)
        pca = result.pca
        found.append(
            f"3 principal components explain {100 * pca.explained_variance_ratio[:3].sum():.0f}% "
            "of the activity"
        )
        ratio = {
            epoch: float(np.nanmean(value))
            for epoch, value in (
                {}
                if result.recurrent_input_ratio is None
                else result.recurrent_input_ratio.by_epoch
            ).items()
            # epochs without input drive have no ratio
            if not np.isnan(np.asarray(value, dtype=float)).all()
        }
        if ratio:
            top = max(ratio, key=lambda epoch: ratio[epoch])
            found.append(f"recurrent/input drive highest in {top} ({ratio[top]:.2f})")
        if result.epoch_states is not None:
            found.append(
                f"HMM states tell the epoch to {100 * result.epoch_states.information:.0f}%"
            )
        items.append(f"<li><code>{html.escape(result.task)}</code>: {'; '.join(found)}.</li>")
    return items


def _dynamics_found(run: Run, task: str) -> list[str]:
    """One phrase per dynamics result saved for `task` (limit cycles, largest exponent)."""
    found = []
    for saved in saved_dynamics(run, task):
        if saved.cycles is not None:
            cycles = saved.cycles
            unit = "ms" if cycles.continuous_time else "steps"
            periods = ", ".join(f"{p:.4g}" for p in cycles.period[:4])
            found.append(
                f"{len(cycles)} limit cycles under the {saved.epoch} input (periods {periods} {unit})"
                if len(cycles)
                else f"no limit cycle under the {saved.epoch} input ({cycles.reason})"
            )
        if saved.lyapunov is not None:
            spectrum = saved.lyapunov
            scale, unit = (1e3, "1/s") if spectrum.continuous_time else (1.0, "per step")
            found.append(
                f"largest Lyapunov exponent under the {saved.epoch} input "
                f"{scale * spectrum.mean()[0]:.3g} {unit}"
            )
    return [html.escape(phrase) for phrase in found]


def _timings_table(info: RunInfo) -> str:
    if not isinstance(info.seconds, dict) or not info.seconds:
        return ""
    rows = "".join(
        f"<tr><td>{html.escape(str(phase))}</td><td>{_duration(seconds)}</td></tr>"
        for phase, seconds in info.seconds.items()
    )
    return f"<table><tr><th>phase</th><th>wall time</th></tr>{rows}</table>"


def _duration(seconds: object) -> str:
    if not isinstance(seconds, int | float) or isinstance(seconds, bool):
        return html.escape(str(seconds))  # run.json as it was found
    if seconds < 60:
        return f"{seconds:.1f} s"
    return f"{int(seconds // 60)} min {seconds % 60:02.0f} s"


def _summary(run: Run, info: RunInfo, analyses: list[TaskAnalysis]) -> str:
    """What was trained, how well, and what was found, in a few lines at the top."""
    found = _found_items(run, analyses)
    return "\n".join(
        [
            '<div class="summary">',
            f"<p>{_trained_line(run, info)}</p>",
            f"<p>{_how_well_line(run, info)}</p>",
            ("<p><b>Found</b>:</p><ul>" + "".join(found) + "</ul>")
            if found
            else "<p><b>Found</b>: no analyses yet.</p>",
            "</div>",
        ]
    )


def render_report(run: Run, *, progress: bool = False) -> str:
    """The report of `run` as an HTML string (uses the analyses saved under the run).

    `progress` shows the sections as they are drawn (stderr).
    """
    info = run.info()
    analyses = load_analyses(run)
    title = f"neurodyn run {run.id}"
    sections = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">tasks: {html.escape(", ".join(run.task.task_names))} · seeds: '
        f"{html.escape(str(list(run.config.model.seeds)))} · status: "
        f"{html.escape(str(info.status))} · "
        # a fitted run took no step: its config's train.steps is only the default
        + (
            ""
            if info.status == "fitted"
            else f"steps: {html.escape(str(info.steps_done))} / {run.record().steps_total} · "
        )
        + "created "
        f"{html.escape(str(info.created))}{_versions_meta(info)}</p>",
        "<h2>Summary</h2>",
        _summary(run, info, analyses),
        "<h2>Final performance</h2>",
        _performance_table(info),
        *_recovery_sections(run),
    ]
    with Progress("report", len(analyses) + 2, enabled=progress) as bar:
        metrics = run.metrics()
        if metrics:
            sections += [
                "<h2>Learning curves</h2>",
                figure_html(
                    plot_learning_curves(metrics),
                    "Task loss and performance on the training batches.",
                ),
            ]
        bar.advance(note="learning curves")
        if not analyses:
            sections.append(
                f"<p>No analyses yet: run <code>neurodyn analyze {html.escape(str(run.path))}</code>.</p>"
            )
        for result in analyses:
            sections.append(_task_section(result, run))
            bar.advance(note=result.task)
        sections += _motif_sections(run)
        sections += _task_variance_sections(run)
        sections += _tracking_sections(run)
        bar.advance(note="fixed points along interpolations and training")
    config = yaml.safe_dump(run.config.to_dict(), sort_keys=False)
    sections += [
        "<h2>Versions and wall time</h2>",
        f"<p>Made with {html.escape(versions_line({str(k): str(v) for k, v in info.versions.items()}))}.</p>"
        if isinstance(info.versions, dict) and info.versions
        else "<p>This run recorded no versions (made before 0.1).</p>",
        _timings_table(info),
        "<h2>Config</h2>",
        f"<pre>{html.escape(config)}</pre>",
    ]
    return page(title, "\n".join(sections))


def write_report(run: Run, *, progress: bool = False) -> Path:
    """Write `RUN/report.html` (atomically, holding the run's writer lock) and return its
    path."""
    path = run.path / REPORT
    text = render_report(run, progress=progress)
    with run.writing():
        atomic_write_text(path, text)
    return path
