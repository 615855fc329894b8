"""Figures for training metrics and the first analyses."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from neurodyn.analysis import PCATrajectories, RecurrentInputRatio, StepTuning
from neurodyn.errors import ShapeError


def _axes(
    given: Axes | Sequence[Axes] | None, n: int = 1, width: float = 4.5, height: float = 3.5
) -> tuple[Figure, list[Axes]]:
    """The figure and `n` axes to draw into: the caller's (one `ax`, or `axes` for a figure
    of several panels), else a new figure of `n` panels in a row, each `width` x `height`."""
    if given is None:
        fig, axes = plt.subplots(1, n, figsize=(width * n, height), squeeze=False)
        return fig, list(axes[0])
    chosen = [given] if isinstance(given, Axes) else list(given)
    if len(chosen) != n:
        raise ShapeError(
            f"this figure draws {n} panels; pass axes= with {n} axes, not {len(chosen)}"
        )
    return chosen[0].figure, chosen  # type: ignore[return-value]


def _nan_mean(values: np.ndarray, axis: int) -> np.ndarray:
    """Mean over `axis` of the values that are not NaN (NaN where there are none)."""
    seen = ~np.isnan(values)
    total = np.where(seen, values, 0.0).sum(axis)
    count = seen.sum(axis)
    return np.where(count > 0, total / np.maximum(count, 1), np.nan)


def _trailing_mean(values: np.ndarray, window: int) -> np.ndarray:
    """Mean of the last `window` entries along the last axis up to each one, NaNs skipped
    (NaN where the window holds none)."""
    seen = ~np.isnan(values)
    pad = [(0, 0)] * (values.ndim - 1) + [(1, 0)]
    total = np.pad(np.cumsum(np.where(seen, values, 0.0), -1), pad)
    count = np.pad(np.cumsum(seen, -1), pad)
    start = np.maximum(np.arange(values.shape[-1]) + 1 - window, 0)
    end = np.arange(1, values.shape[-1] + 1)
    n = count[..., end] - count[..., start]
    return np.where(n > 0, (total[..., end] - total[..., start]) / np.maximum(n, 1), np.nan)


def plot_learning_curves(
    metrics: Sequence[dict[str, float]], *, title: str = "", axes: Sequence[Axes] | None = None
) -> Figure:
    """Loss (log scale) and performance per task against training step, one line per member;
    with more than 8 tasks (a batch of many tasks gives each only a few trials) one line per
    task, the members' mean over the last tenth of the logs.

    `metrics` are the rows of a run's metrics.csv (`Run.metrics()`); `axes` two axes to draw
    into (loss, performance), a new figure if None.

    Parameters
    ----------
    metrics : sequence of dict
        The rows of a run's metrics (`Run.metrics()`).
    title : str
        Title of the figure.
    axes : two Axes, optional
        Where to draw loss and performance; a new figure if None.

    Returns
    -------
    Figure
        The figure holding the axes.
    """
    fig, (ax_loss, ax_perf) = _axes(axes, 2)
    # training rows only (a curriculum also logs evaluations after each stage); the tasks may
    # change from stage to stage, so a task's line has gaps where it was not trained
    metrics = [r for r in metrics if "loss" in r]
    members = sorted({int(r["member"]) for r in metrics})
    perf_keys = list(dict.fromkeys(k for r in metrics for k in r if k.startswith("perf.")))
    for m in members:
        rows = [r for r in metrics if int(r["member"]) == m]
        seed = int(rows[0]["seed"])
        ax_loss.plot([r["step"] for r in rows], [r["loss"] for r in rows], label=f"seed {seed}")
    perf_title = "performance (training batch)"
    # a batch of many tasks gives each a few trials, so its batch performance jumps by thirds
    # from log to log: with more than 8 tasks the lines are the networks' mean, averaged over
    # the last `window` logs (a tenth of them), which a reader can follow
    many = len(perf_keys) > 8
    steps = sorted({r["step"] for r in metrics})
    column = {step: i for i, step in enumerate(steps)}
    logged = np.full((len(members), len(perf_keys), len(steps)), np.nan)
    for r in metrics:
        for j, key in enumerate(perf_keys):
            if key in r:
                logged[members.index(int(r["member"])), j, column[r["step"]]] = r[key]
    window = max(1, len(steps) // 10) if many else 1
    if many:
        logged = _trailing_mean(_nan_mean(logged, axis=0), window)[None]
        perf_title = f"performance (batches; mean of {len(members)}"
        perf_title += f", last {window} logs)" if window > 1 else ")"
    for m, series in enumerate(logged):
        for j, key in enumerate(perf_keys):
            # markers: a task trained one batch in several (interleave: batch) is logged at
            # isolated steps, which a line alone would not draw
            ax_perf.plot(
                steps,
                series[j],
                color=plt.get_cmap("tab20")(j % 20) if many else f"C{j % 10}",
                alpha=0.8,
                marker="." if not many else None,
                markersize=3,
                label=key[5:] if m == 0 else None,
            )
    ax_loss.set(xlabel="training step", ylabel="task loss", yscale="log", title="loss")
    ax_perf.set(
        xlabel="training step",
        ylabel="performance",
        ylim=(-0.02, 1.02),
        title=perf_title,
    )
    if len(members) <= 8:
        ax_loss.legend(fontsize=8)
    if many:  # beside the axes: twenty names inside would hide the lines
        ax_perf.legend(fontsize=6, ncol=1, loc="upper left", bbox_to_anchor=(1.01, 1.0))
    else:
        ax_perf.legend(fontsize=8)
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    return fig


def plot_pca(
    result: PCATrajectories, *, ax: Axes | None = None, components: tuple[int, int] = (0, 1)
) -> Figure:
    """Condition-averaged trajectories in the plane of two principal components.

    Trajectories start at a circle and end at a triangle; colour encodes the condition value.
    Without conditions, the first 20 single trials are drawn.

    Parameters
    ----------
    result : PCATrajectories
        The trajectories in principal-component coordinates.
    ax : Axes, optional
        The axes to draw into; a new figure if None.
    components : (int, int)
        The two components to draw, 0-based.

    Returns
    -------
    Figure
        The figure holding the axes.
    """
    fig, (ax,) = _axes(ax, 1, 5.0, 4.2)
    i, j = components
    evr = result.explained_variance_ratio
    if len(result.condition_values):
        lines = result.condition_means
        values = result.condition_values.astype(float)
        span = (values.max() - values.min()) or 1.0
        colours = plt.get_cmap("coolwarm")((values - values.min()) / span)
    else:
        lines = np.moveaxis(result.projections[:, :20], 1, 0)
        values = np.arange(len(lines))
        colours = plt.get_cmap("viridis")(np.linspace(0, 1, len(lines)))
    for line, colour, value in zip(lines, colours, values, strict=True):
        ok = ~np.isnan(line[:, i])
        if not ok.any():
            continue
        ax.plot(
            line[ok, i],
            line[ok, j],
            color=colour,
            lw=1.5,
            label=f"{value:g}" if len(result.condition_values) else None,
        )
        ax.plot(line[ok, i][0], line[ok, j][0], "o", color=colour, ms=4)
        ax.plot(line[ok, i][-1], line[ok, j][-1], "^", color=colour, ms=6)
    ax.set(
        xlabel=f"PC{i + 1} ({100 * evr[i]:.0f}% var)", ylabel=f"PC{j + 1} ({100 * evr[j]:.0f}% var)"
    )
    if len(result.condition_values) and len(result.condition_values) <= 12:
        # beside the plane, where it hides no trajectory
        ax.legend(
            title=result.condition_name,
            fontsize=7,
            title_fontsize=8,
            loc="upper left",
            bbox_to_anchor=(1.02, 1.0),
            borderaxespad=0,
        )
    ax.set_title("hidden-state trajectories")
    fig.tight_layout()
    return fig


def plot_step_tuning(
    result: StepTuning, *, dt_ms: float | None = None, axes: Sequence[Axes] | None = None
) -> Figure:
    """Three panels: mean population activity per step, the preferred-step histogram, and
    every unit's activity (normalised to its peak) sorted by preferred step, with a colour
    bar. Time in ms from the epoch's start when `dt_ms` is given, else in steps. `axes`: three
    axes to draw into, a new figure if None."""
    fig, (a, b, c) = _axes(axes, 3, 4.0, 3.3)
    scale = dt_ms or 1.0
    unit = "ms" if dt_ms else "steps"
    times = scale * np.arange(len(result.population_activity))
    a.plot(times, result.population_activity, color="k")
    a.set(
        xlabel=f"time in {result.epoch} ({unit})", ylabel="mean rate", title="population activity"
    )
    b.bar(times, result.histogram, width=0.8 * scale, color="C0")
    b.set(
        xlabel=f"preferred time in {result.epoch} ({unit})",
        ylabel="units",
        title="preferred-time histogram",
    )
    active = result.preferred_step >= 0
    order = np.argsort(result.preferred_step[active], kind="stable")
    act = result.unit_activity[:, active][:, order]
    peak = np.abs(act).max(0, keepdims=True)
    image = c.imshow(
        (act / np.where(peak > 0, peak, 1)).T,
        aspect="auto",
        cmap="viridis",
        interpolation="nearest",
        extent=(-0.5 * scale, (len(times) - 0.5) * scale, act.shape[1] - 0.5, -0.5),
    )
    fig.colorbar(image, ax=c, shrink=0.85, label="activity / unit's peak")
    c.set(xlabel=f"time in {result.epoch} ({unit})", ylabel="unit (sorted)", title="activity")
    fig.tight_layout()
    return fig


def plot_recurrent_input_ratio(
    result: RecurrentInputRatio, *, dt_ms: float | None = None, ax: Axes | None = None
) -> Figure:
    """Recurrent-to-input drive ratio through the trial, one shaded segment per epoch.

    Where the result has its per-epoch curves aligned to each trial's epoch start
    (`result.aligned`), each segment is that curve (trials of different lengths averaged step
    for step), the segments side by side in epoch order; otherwise the per-step mean with the
    median trial's epochs shaded. Time in ms when `dt_ms` is given, else in steps.
    """
    fig, (ax,) = _axes(ax, 1, 7.0, 3.3)
    scale = dt_ms or 1.0
    ax.set_ylim(bottom=0)
    if result.aligned:
        start = 0.0
        ticks = []
        for k, (name, curve) in enumerate(result.aligned.items()):
            steps = start + scale * np.arange(len(curve))
            ax.axvspan(start - 0.5 * scale, steps[-1] + 0.5 * scale, color=f"C{k}", alpha=0.12)
            ax.plot(steps, curve, color="k")
            _epoch_label(ax, name, (start + steps[-1]) / 2, result.by_epoch[name])
            ticks.append(start)
            start = steps[-1] + scale
        ax.set_xticks(ticks)
        xlabel = "time from each epoch's start, epochs aligned per trial"
    else:
        steps = scale * np.arange(len(result.ratio))
        for k, (name, (first, last)) in enumerate(result.epoch_bounds.items()):
            ax.axvspan(scale * (first - 0.5), scale * (last + 0.5), color=f"C{k}", alpha=0.12)
            _epoch_label(ax, name, scale * (first + last) / 2, result.by_epoch[name])
        ax.plot(steps, result.ratio, color="k")
        xlabel = "time"
    ax.set(
        xlabel=f"{xlabel} ({'ms' if dt_ms else 'steps'})",
        ylabel="||W_rec h|| / ||W_in x||",
        title="recurrent vs input drive",
    )
    # room above the curves for the epoch labels, so they never sit on the data
    drawn = [np.ravel(c) for c in result.aligned.values()] or [np.ravel(result.ratio)]
    ax.set_ylim(top=1.35 * max(1e-9, float(np.nanmax(np.concatenate(drawn)))))
    fig.tight_layout()
    return fig


def _epoch_label(ax: Axes, name: str, x: float, mean: object) -> None:
    values = np.asarray(mean, dtype=float)
    # an epoch without input (a decision period after the stimulus) has no ratio at all
    words = "no input" if np.isnan(values).all() else f"mean {float(np.nanmean(values)):.2f}"
    ax.text(
        x,
        0.98,
        f"{name}\n{words}",
        transform=ax.get_xaxis_transform(),
        ha="center",
        va="top",
        fontsize=8,
    )
