"""Figures of hidden structure: HMM states against the trial's epochs, DMD spectrum and modes."""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.axes import Axes
from matplotlib.colors import BoundaryNorm, ListedColormap
from matplotlib.figure import Figure

from neurodyn.analysis.latent import DMD, EpochStates
from neurodyn.plot.figures import _axes


def plot_epoch_states(
    result: EpochStates,
    *,
    n_trials: int = 24,
    dt_ms: float | None = None,
    axes: Sequence[Axes] | None = None,
) -> Figure:
    """Left: each trial's Viterbi state sequence (one row per trial, one colour per state),
    with the epochs' starts marked. Right: the share of each epoch spent in each state.
    `axes`: two axes to draw into, a new figure if None.

    Parameters
    ----------
    result : EpochStates
        The decoded state sequences `paths: [T, B]` and the epoch-by-state table.
    n_trials : int
        How many trials to draw.
    dt_ms : float, optional
        Step in ms, to label time in ms instead of steps.
    axes : two Axes, optional
        Where to draw; a new figure if None.

    Returns
    -------
    Figure
        The figure holding the axes.
    """
    paths = result.paths[:, :n_trials].T  # one row per trial
    n_states = result.occupancy.shape[1]
    colours = [f"C{i % 10}" for i in range(n_states)]
    cmap = ListedColormap(["white", *colours])
    norm = BoundaryNorm(np.arange(-1.5, n_states), cmap.N)
    if axes is None:
        fig, (ax_seq, ax_occ) = plt.subplots(
            1, 2, figsize=(11, 4), gridspec_kw={"width_ratios": [2.2, 1]}
        )
    else:
        fig, (ax_seq, ax_occ) = _axes(axes, 2)
    scale = dt_ms or 1.0
    extent = (0, paths.shape[1] * scale, len(paths) - 0.5, -0.5)
    ax_seq.imshow(
        paths, aspect="auto", cmap=cmap, norm=norm, interpolation="nearest", extent=extent
    )
    markers = "|x+.^v<>"
    for i, name in enumerate(result.epochs[1:], start=1):
        starts = result.epoch_starts[i, :n_trials] * scale
        ax_seq.scatter(
            starts,
            np.arange(len(starts)),
            marker=markers[i % len(markers)],
            s=30,
            c="k",
            label=name,
        )
    if len(result.epochs) > 1:
        ax_seq.legend(title="epoch starts", fontsize=7, loc="upper right", framealpha=0.8)
    ax_seq.set(
        xlabel="time (ms)" if dt_ms else "step",
        ylabel=f"trial (sorted by {result.trial_order})" if result.trial_order else "trial",
        title=f"HMM state per step ({n_states} states, {result.n_components} PCs)",
    )
    bottom = np.zeros(len(result.epochs))
    for s in range(n_states):
        ax_occ.barh(
            result.epochs, result.occupancy[:, s], left=bottom, color=colours[s], label=f"state {s}"
        )
        bottom += result.occupancy[:, s]
    ax_occ.invert_yaxis()
    ax_occ.set(xlabel="share of the epoch's steps", xlim=(0, 1))
    ax_occ.set_title(f"I(epoch; state) / H(epoch) = {result.information:.2f}")
    ax_occ.legend(fontsize=7, loc="lower right", framealpha=0.8)
    fig.tight_layout()
    return fig


def plot_dmd(
    result: DMD,
    *,
    dt_ms: float | None = None,
    n_modes: int = 4,
    axes: Sequence[Axes] | None = None,
) -> Figure:
    """Left: DMD eigenvalues in the complex plane, zoomed to where they lie, with the unit
    circle (outside: growing, inside: decaying, on it: persistent), sized by their modes'
    norms. Middle: each mode's growth rate against its frequency (per second when `dt_ms` is
    known, else per step). Right: the leading modes' loadings on the units. `axes`: three
    axes to draw into, a new figure if None.

    Parameters
    ----------
    result : DMD
        The eigenvalues `[r]` and modes `[D, r]`.
    dt_ms : float, optional
        Step in ms, for rates per second.
    n_modes : int
        How many leading modes' loadings to draw.
    axes : three Axes, optional
        Where to draw; a new figure if None.

    Returns
    -------
    Figure
        The figure holding the axes.
    """
    lam = result.eigenvalues
    weight = np.linalg.norm(result.modes, axis=0)
    size = 20 + 120 * weight / max(weight.max(), 1e-300)
    fig, panels = _axes(axes, 3, 4.33, 4.0)
    ax = panels[0]
    circle = np.exp(1j * np.linspace(0, 2 * np.pi, 720))
    ax.plot(circle.real, circle.imag, color="0.6", lw=0.8)
    ax.scatter(lam.real, lam.imag, s=size, c="C0", alpha=0.8)
    pad = max(0.05, 0.15 * max(np.ptp(lam.real), np.ptp(lam.imag)))
    centre = (lam.real.min() + lam.real.max()) / 2, (lam.imag.min() + lam.imag.max()) / 2
    half = max(np.ptp(lam.real), np.ptp(lam.imag)) / 2 + pad
    ax.set(
        xlim=(centre[0] - half, centre[0] + half),
        ylim=(centre[1] - half, centre[1] + half),
        xlabel="Re λ",
        ylabel="Im λ",
        title="DMD eigenvalues (per step), unit circle grey",
        aspect="equal",
    )
    ax = panels[1]
    per = dt_ms * 1e-3 if dt_ms else 1.0
    unit = "1/s" if dt_ms else "per step"
    growth = np.log(np.clip(np.abs(lam), 1e-12, None)) / per
    freq = np.abs(np.angle(lam)) / (2 * np.pi * per)
    ax.scatter(freq, growth, s=size, c="C1")
    ax.axhline(0, color="0.6", lw=0.8)
    ax.set(
        xlabel=f"frequency ({'Hz' if dt_ms else 'cycles per step'})",
        ylabel=f"growth rate ln|λ| ({unit})",
        title="timescales (above 0: growing)",
    )
    ax = panels[2]
    k = min(n_modes, result.modes.shape[1])
    loadings = np.abs(result.modes[:, :k])
    order = np.argsort(-loadings[:, 0])
    image = ax.imshow(loadings[order].T, aspect="auto", cmap="magma", interpolation="nearest")
    fig.colorbar(image, ax=ax, shrink=0.8, label="|mode loading|")
    # short tick labels (a complex number does not fit beside a row): mode and |λ|
    ax.set_yticks(range(k), [f"mode {i + 1}\n|λ| {abs(lam[i]):.2f}" for i in range(k)], fontsize=8)
    ax.set(xlabel="unit (sorted by the first mode)", title=f"leading {k} modes")
    fig.tight_layout()
    return fig
