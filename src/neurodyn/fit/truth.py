"""A fitted run scored against the truth of the synthetic recording it was fitted to.

Every score of `neurodyn.analysis.recovery` for one member of a fitted run: co-smoothing of
the held-out neurons on the test trials (with the true rates' bits per spike beside it),
the true states from the fitted ones through the best affine map, the two networks' fixed
points at zero input matched after that map, the slowest timescales of their linearised
dynamics at the matched points, and the DSA distance of their states.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from neurodyn.analysis import (
    Recovery,
    affine_map,
    bits_per_spike,
    co_smoothing,
    compare_timescales,
    dsa,
    match_fixed_points,
    model_fixed_points,
    psth_r2,
    state_r2,
)
from neurodyn.data import SyntheticRecording
from neurodyn.errors import ArgumentError
from neurodyn.fit.latent import fitted_split, fitted_trajectories
from neurodyn.runs import Run
from neurodyn.tasks import RecordingTask


def _starts(states: torch.Tensor, n: int, seed: int) -> torch.Tensor:
    """`n` visited states `[n, N]` of `states [T, B, N]`, jittered by a tenth of their spread."""
    flat = states.reshape(-1, states.shape[-1])
    g = torch.Generator().manual_seed(seed)
    pick = flat[torch.randint(len(flat), (n,), generator=g)]
    return pick + 0.1 * flat.std(0) * torch.randn(pick.shape, generator=g)


def _fixed(
    model, states: torch.Tensor, n_starts: int, seed: int
) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    n_inputs = model.spec.n_inputs
    found = model_fixed_points(model, _starts(states, n_starts, seed), torch.zeros(n_inputs))
    keep = found.is_fixed & (found.member == 0)
    return (
        torch.as_tensor(found.states[keep]),
        np.asarray(found.stability)[keep],
        np.asarray(found.eigenvalues)[keep],
    )


def true_fixed_points(
    synthetic: SyntheticRecording, *, n_starts: int = 256, seed: int = 0
) -> tuple[torch.Tensor, np.ndarray, np.ndarray]:
    """The fixed points at zero input of the network that made a synthetic recording, searched
    from its visited states (jittered), their stability and their Jacobians' eigenvalues.

    Parameters
    ----------
    synthetic : SyntheticRecording
    n_starts : int
    seed : int

    Returns
    -------
    points : Tensor [M, N]
    stability : np.ndarray [M] of str
    eigenvalues : np.ndarray [M, N]
        Of the step map's Jacobian at each point.
    """
    return _fixed(synthetic.network, synthetic.states, n_starts, seed)


def recovery(
    run: Run,
    synthetic: SyntheticRecording,
    *,
    member: int = 0,
    n_starts: int = 256,
    dsa_rank: int | None = None,
    seed: int = 0,
    true_fixed: tuple[torch.Tensor, np.ndarray, np.ndarray] | None = None,
) -> Recovery:
    """Score member `member` of a run fitted (`fit_latent`) to `synthetic.recording`.

    Parameters
    ----------
    run : a run fitted to the synthetic recording (saved from `synthetic.recording`)
    synthetic : SyntheticRecording
        The recording with its truth (`synthesize`).
    member : int
    n_starts : int
        Starts of each fixed-point search (visited states, jittered).
    dsa_rank : int, optional
        Rank of both DSA operators (default: the smaller network's size).
    seed : int
        Draws the starts.
    true_fixed : (Tensor [M, N], array [M] of str, array [M, N]), optional
        The true network's fixed points at zero input, their stability and eigenvalues, when
        already found (`true_fixed_points`): scoring many fits of one truth searches them once.

    Returns
    -------
    Recovery
    """
    task = run.task
    if not isinstance(task, RecordingTask):
        raise ArgumentError(f"run {run.id} was not fitted to a recording")
    rec = task.recording
    if tuple(rec.activity.shape) != tuple(synthetic.recording.activity.shape) or not torch.equal(
        rec.activity, synthetic.recording.activity
    ):
        raise ArgumentError(
            f"run {run.id} was fitted to {task.path}, not to this synthetic recording"
        )
    split = fitted_split(run)
    states, _ = fitted_trajectories(run)
    latents = states[:, member]  # [T, B, N_fit]
    true_states = synthetic.states
    scored = slice(task.warmup_bins, None)  # after the initial-state encoder's bins
    # bits per spike score spike counts; rates (a Gaussian recording) have no such score
    if rec.kind == "counts" and len(split.heldout_neurons) and len(split.test_trials):
        counts = rec.activity[:, :, split.heldout_neurons]
        train, test = split.train_trials, split.test_trials
        smoothing = co_smoothing(
            latents[scored, train],
            counts[scored, train],
            latents[scored, test],
            counts[scored, test],
        )
        smoothed = smoothing.bits_per_spike
        labels = psth_conditions(rec.conditions, test)
        psth = (
            psth_r2(torch.as_tensor(smoothing.rates), counts[scored, test], labels)
            if labels is not None
            else math.nan
        )
        true_rates = synthetic.mean()[scored][:, test][:, :, split.heldout_neurons]
        ceiling = float(bits_per_spike(true_rates, counts[scored, test]))
    else:
        smoothed = ceiling = psth = math.nan
    fitted_model = run.load_model().member(member)
    if true_fixed is None:
        true_fixed = true_fixed_points(synthetic, n_starts=n_starts, seed=seed)
    true_points, true_kind, true_eigenvalues = true_fixed
    fit_fixed, fit_kind, fit_eigenvalues = _fixed(fitted_model, latents[scored], n_starts, seed)
    mapping = affine_map(latents[scored], true_states[scored])
    spread = float((true_states - true_states.mean((0, 1))).pow(2).sum(-1).mean().sqrt())
    match = match_fixed_points(
        true_points, true_kind, fit_fixed, fit_kind, mapping, true_spread=spread
    )
    # both networks step one bin of the recording, whatever their cell
    timescales = compare_timescales(
        true_eigenvalues[match.pairs[:, 0]],
        fit_eigenvalues[match.pairs[:, 1]],
        dt_ms=rec.bin_ms,
    )
    # one operator rank for both (the angular score compares operators of equal size)
    rank = dsa_rank or min(latents.shape[-1], true_states.shape[-1])
    distance = dsa([latents[scored], true_states[scored]], rank=rank, seed=seed).values[0, 1]
    return Recovery(
        model=run.id,
        member=member,
        bits_per_spike=float(smoothed),
        true_bits_per_spike=ceiling,
        state_r2=state_r2(latents[scored], true_states[scored]),
        n_fixed_true=match.n_true,
        n_fixed_fitted=match.n_fitted,
        fixed_point_distance=float(match.distances.mean()) if len(match.distances) else math.nan,
        stability_agreement=match.stability_agreement,
        dsa_distance=float(distance),
        psth_r2=float(psth),
        timescale_error=timescales.error,
        slowest_timescale_ms=timescales.slowest_fitted_ms,
        true_slowest_timescale_ms=timescales.slowest_true_ms,
    )


def psth_conditions(
    conditions: dict[str, torch.Tensor], trials: torch.Tensor
) -> torch.Tensor | None:
    """A condition label `[B']` per trial of `trials` for PSTH R^2: the recording's condition
    with the fewest distinct values among those with at least two, and at most a quarter as
    many values as trials (so each PSTH averages a few trials); None if none qualifies."""
    best = None
    for values in conditions.values():
        chosen = values[trials]
        n_values = len(torch.unique(chosen))
        if 2 <= n_values <= len(trials) / 4 and (best is None or n_values < best[0]):
            best = (n_values, chosen)
    if best is None:
        return None
    _, labels = torch.unique(best[1], return_inverse=True)
    return labels
