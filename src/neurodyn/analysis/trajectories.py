"""First looks at hidden-state trajectories: PCA, activity across within-epoch steps, and the
recurrent-to-input drive ratio.

All functions take plain tensors in the project notation (time-major, `[T, B, N]`) plus masks,
so they work on any network's states, and return frozen result dataclasses of numpy arrays.
Given an ensemble's states `[T, E, B, N]` they analyse each member apart and return one result
whose arrays (and per-epoch numbers) carry a leading E axis; masks, conditions and epoch bounds
are the trials', shared by the members.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

import numpy as np
import torch
from torch import Tensor

from neurodyn.analysis._result import SavableResult
from neurodyn.errors import ShapeError

R = TypeVar("R")


def _check_states(states: Tensor, name: str = "states") -> None:
    if states.dim() not in (3, 4):
        raise ShapeError(
            f"{name} must be [T, B, N] (one network) or [T, E, B, N] (an ensemble), "
            f"got {tuple(states.shape)}"
        )


def _stack_members(results: list[Any]) -> Any:
    """One result from each member's: arrays stacked on a leading E axis, per-epoch numbers
    as `[E]` arrays; what the members share (names, epoch bounds) kept once."""
    stacked: dict[str, Any] = {}
    for f in dataclasses.fields(results[0]):
        values = [getattr(r, f.name) for r in results]
        if isinstance(values[0], np.ndarray):
            stacked[f.name] = np.stack(values)
        elif isinstance(values[0], dict) and all(isinstance(v, float) for v in values[0].values()):
            stacked[f.name] = {k: np.array([v[k] for v in values]) for k in values[0]}
        elif isinstance(values[0], dict) and all(
            isinstance(v, np.ndarray) for v in values[0].values()
        ):
            stacked[f.name] = {k: np.stack([v[k] for v in values]) for k in values[0]}
        else:
            stacked[f.name] = values[0]
    return type(results[0])(**stacked)


def _per_member(analysis: Callable[..., R], members: list[list[Tensor]], **kwargs: Any) -> R:
    """`analysis` of each member's `[T, B, N]` tensors (one list per tensor argument)."""
    return _stack_members([analysis(*m, **kwargs) for m in zip(*members, strict=True)])


@dataclass(frozen=True)
class PCATrajectories(SavableResult):
    """Principal components of hidden states, and the trajectories projected on them.

    Attributes (each array with a leading E for an ensemble's states)
    ----------
    components : [(E,) K, N]        principal axes (unit norm, by decreasing variance)
    mean : [(E,) N]                 mean state removed before projecting
    explained_variance_ratio : [(E,) K]
    projections : [(E,) T, B, K]    every trial's trajectory in PC space (NaN outside the mask)
    condition_values : [(E,) C]     distinct condition labels (empty if no condition given)
    condition_means : [(E,) C, T, K] mean projected trajectory per condition (NaN where no trial)
    condition_name : str
    """

    components: np.ndarray
    mean: np.ndarray
    explained_variance_ratio: np.ndarray
    projections: np.ndarray
    condition_values: np.ndarray
    condition_means: np.ndarray
    condition_name: str

    def project(self, states: np.ndarray) -> np.ndarray:
        """States `[..., N]` (e.g. fixed points) in the principal components: `[..., K]`."""
        return (np.asarray(states) - self.mean) @ self.components.T


def pca_trajectories(
    states: Tensor,
    *,
    mask: Tensor | None = None,
    condition: Tensor | None = None,
    condition_name: str = "",
    n_components: int = 3,
) -> PCATrajectories:
    """PCA of hidden-state trajectories, with condition-averaged trajectories.

    Parameters
    ----------
    states : Tensor [T, B, N] or [T, E, B, N]
        One network's states, or an ensemble's (each member gets its own components).
    mask : Tensor [T, B] of bool, optional
        Steps to use (e.g. `batch.trial_mask()`); all steps by default.
    condition : Tensor [B], optional
        A label per trial (e.g. signed coherence); trajectories are averaged per label.
    n_components : int

    Returns
    -------
    PCATrajectories
        With a leading E on every array for an ensemble's states.
    """
    _check_states(states)
    if states.dim() == 4:
        return _per_member(
            pca_trajectories,
            [list(states.unbind(1))],
            mask=mask,
            condition=condition,
            condition_name=condition_name,
            n_components=n_components,
        )
    n_steps, batch_size, n_units = states.shape
    states = states.detach().to(torch.float64)
    mask = (
        torch.ones(n_steps, batch_size, dtype=torch.bool, device=states.device)
        if mask is None
        else mask.bool()
    )
    if tuple(mask.shape) != (n_steps, batch_size):
        raise ShapeError(f"mask must be [T, B] = {(n_steps, batch_size)}, got {tuple(mask.shape)}")
    k = min(n_components, n_units)
    points = states[mask]  # [M, N]
    mean = points.mean(0)
    _, singular, vh = torch.linalg.svd(points - mean, full_matrices=False)
    variance = singular**2
    components = vh[:k]
    projections = (states - mean) @ components.T
    projections = torch.where(mask[..., None], projections, torch.nan)

    values = np.array([])
    means = np.zeros((0, n_steps, k))
    if condition is not None:
        if tuple(condition.shape) != (batch_size,):
            raise ShapeError(
                f"condition must be [B] = ({batch_size},), got {tuple(condition.shape)}"
            )
        uniq = torch.unique(condition)
        per_cond = []
        for value in uniq:
            rows = projections[:, condition == value]  # [T, b, K]
            per_cond.append(torch.nanmean(rows, dim=1))
        values, means = uniq.cpu().numpy(), torch.stack(per_cond).cpu().numpy()
    return PCATrajectories(
        components=components.cpu().numpy(),
        mean=mean.cpu().numpy(),
        explained_variance_ratio=(variance[:k] / variance.sum()).cpu().numpy(),
        projections=projections.cpu().numpy(),
        condition_values=values,
        condition_means=means,
        condition_name=condition_name,
    )


@dataclass(frozen=True)
class StepTuning(SavableResult):
    """Activity across the steps of one epoch, aligned to its start.

    Attributes (each array with a leading E for an ensemble's states)
    ----------
    unit_activity : [(E,) K, N]    each unit's mean activity at step k of the epoch (over trials)
    population_activity : [(E,) K] mean over units of `unit_activity`
    preferred_step : [(E,) N]      each unit's argmax over k (-1 for a unit silent in the epoch)
    histogram : [(E,) K]           number of units preferring each step
    n_trials : [(E,) K]            trials that reach step k
    epoch : str
    """

    unit_activity: np.ndarray
    population_activity: np.ndarray
    preferred_step: np.ndarray
    histogram: np.ndarray
    n_trials: np.ndarray
    epoch: str


def step_tuning(
    states: Tensor, start: Tensor, end: Tensor, *, epoch: str = "", silent_below: float = 1e-6
) -> StepTuning:
    """Each unit's activity across the steps of an epoch, and its preferred step.

    Do some units respond to particular steps of the integration period, or does activity move
    as a whole? The preferred-step histogram tells (flat: units tile the epoch; one peak: a
    common ramp). Inspired by the preferred-stimulus histograms of Bredenberg et al. (2020).

    Parameters
    ----------
    states : Tensor [T, B, N] or [T, E, B, N]
    start, end : Tensor [B]
        Epoch bounds per trial, in steps (end exclusive), e.g. `batch.trial["stimulus_start"]`.
    epoch : str
        Name kept in the result for labelling.
    silent_below : float
        Units whose peak mean activity is below this have no preferred step (-1).

    Returns
    -------
    StepTuning
        With a leading E on every array for an ensemble's states.
    """
    _check_states(states)
    if states.dim() == 4:
        return _per_member(
            step_tuning,
            [list(states.unbind(1)), [start] * states.shape[1], [end] * states.shape[1]],
            epoch=epoch,
            silent_below=silent_below,
        )
    n_steps = states.shape[0]
    length = end - start
    k_max = int(length.max())
    k = torch.arange(k_max, device=states.device)[:, None]  # [K, 1]
    valid = k < length[None]  # [K, B]
    t_index = (start[None] + k).clamp(max=n_steps - 1)  # [K, B]
    aligned = (
        states.detach()
        .to(torch.float64)
        .gather(0, t_index[..., None].expand(-1, -1, states.shape[2]))
    )
    counts = valid.sum(1)  # [K]
    unit_activity = (aligned * valid[..., None]).sum(1) / counts.clamp(min=1)[:, None]  # [K, N]
    peak, preferred = unit_activity.max(0)
    preferred = torch.where(peak >= silent_below, preferred, -1)
    histogram = torch.bincount(preferred[preferred >= 0], minlength=k_max)
    return StepTuning(
        unit_activity=unit_activity.cpu().numpy(),
        population_activity=unit_activity.mean(1).cpu().numpy(),
        preferred_step=preferred.cpu().numpy(),
        histogram=histogram.cpu().numpy(),
        n_trials=counts.cpu().numpy(),
        epoch=epoch,
    )


@dataclass(frozen=True)
class RecurrentInputRatio(SavableResult):
    """How much of the drive to the units comes from recurrence rather than the input.

    Attributes
    ----------
    ratio : [(E,) T]  mean over trials of `||W_rec h_{t-1}|| / ||W_in x_t||` at each step
                      (NaN where no trial has input)
    by_epoch : dict of epoch name to its mean ratio over trials and steps (an `[E]` array of
               them for an ensemble); NaN for an epoch without input drive (pdm's decision)
    epoch_bounds : dict of epoch name to [first, last] step (median over trials)
    aligned : dict of epoch name to `[(E,) L]`: the mean over trials of the ratio at each
              step since the trial's own start of the epoch, for the epoch's median length L
              (trials whose epochs differ in length or start are averaged step for step)
    """

    ratio: np.ndarray
    by_epoch: dict[str, float] | dict[str, np.ndarray]
    epoch_bounds: dict[str, list[int]]
    aligned: dict[str, np.ndarray] = field(default_factory=dict)


def recurrent_input_ratio(
    input_drive: Tensor,
    recurrent_drive: Tensor,
    *,
    mask: Tensor | None = None,
    epochs: dict[str, Tensor] | None = None,
    min_input_norm: float = 1e-6,
) -> RecurrentInputRatio:
    """Ratio of recurrent to input drive per step, averaged over trials, and per epoch.

    Parameters
    ----------
    input_drive : Tensor [T, B, N] or [T, E, B, N]
        `W_in x_t` (from `model(x, return_drives=True)`).
    recurrent_drive : Tensor, the shape of `input_drive`
        `W_rec h_{t-1}`.
    mask : Tensor [T, B] of bool, optional
        Steps inside the trials.
    epochs : dict of name to Tensor [T, B] of bool, optional
        Epoch masks (`batch.epoch_mask(name)`), for the per-epoch means.
    min_input_norm : float
        Steps whose input drive is smaller than this are left out (the ratio is undefined).

    Returns
    -------
    RecurrentInputRatio
        With a leading E on `ratio` and on each per-epoch mean for an ensemble's drives.
    """
    _check_states(input_drive, "input_drive")
    if input_drive.shape != recurrent_drive.shape:
        raise ShapeError(
            f"drives differ in shape: {tuple(input_drive.shape)} vs {tuple(recurrent_drive.shape)}"
        )
    if input_drive.dim() == 4:
        return _per_member(
            recurrent_input_ratio,
            [list(input_drive.unbind(1)), list(recurrent_drive.unbind(1))],
            mask=mask,
            epochs=epochs,
            min_input_norm=min_input_norm,
        )
    input_norm = torch.linalg.vector_norm(input_drive.detach().double(), dim=-1)
    rec_norm = torch.linalg.vector_norm(recurrent_drive.detach().double(), dim=-1)
    ok = input_norm > min_input_norm
    if mask is not None:
        ok = ok & mask.bool()
    ratio = torch.where(ok, rec_norm / input_norm.clamp(min=min_input_norm), torch.nan)  # [T, B]
    per_step = torch.nanmean(ratio, dim=1)
    by_epoch, bounds, aligned = {}, {}, {}
    for name, epoch_mask in (epochs or {}).items():
        by_epoch[name] = float(torch.nanmean(ratio[epoch_mask.bool()]))
        steps = torch.nonzero(epoch_mask.any(1)).flatten()
        if len(steps):
            first = torch.argmax(epoch_mask.int(), 0).double().median()
            last = (
                (epoch_mask.shape[0] - 1 - torch.argmax(epoch_mask.flip(0).int(), 0))
                .double()
                .median()
            )
            bounds[name] = [int(first), int(last)]
            aligned[name] = _aligned_to_start(ratio, epoch_mask.bool())
    return RecurrentInputRatio(
        ratio=per_step.cpu().numpy(), by_epoch=by_epoch, epoch_bounds=bounds, aligned=aligned
    )


def _aligned_to_start(values: Tensor, epoch_mask: Tensor) -> np.ndarray:
    """Mean over trials of `values [T, B]` at each step since each trial's start of the epoch
    (`epoch_mask [T, B]`), for the median length of the epoch: `[L]`."""
    inside = epoch_mask.any(0)
    starts = torch.argmax(epoch_mask.int(), 0)[inside]  # [B']
    lengths = epoch_mask.sum(0)[inside]
    length = round(float(torch.quantile(lengths.double(), 0.5)))
    offset = torch.arange(length, device=values.device)[:, None]  # [L, 1]
    rows = (starts[None] + offset).clamp(max=values.shape[0] - 1)  # [L, B']
    picked = values[:, inside].gather(0, rows)
    picked = torch.where(offset < lengths[None], picked, torch.nan)
    return torch.nanmean(picked, dim=1).cpu().numpy()
