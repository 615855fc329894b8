"""Population codes along a maze: population-vector correlations between positions, rate maps
along the arms of a maze per run, the arm-by-arm correlations split by direction of travel, and
the resets of the code at the turning points (Derdikman et al. 2009, Nature Neuroscience 12,
1325, figures 2-4).

Arrays are time-major like every state of the package: `arm_position [T, B]`, `activity
[T, B, N]`; rate maps on a 2-D grid come from `neurodyn.analysis.spatial.rate_maps`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from neurodyn.analysis._result import SavableResult
from neurodyn.analysis.spatial import _binned_means
from neurodyn.errors import ArgumentError, ShapeError

__all__ = [
    "ArmCorrelations",
    "ArmMaps",
    "Resets",
    "arm_correlations",
    "arm_rate_maps",
    "detect_resets",
    "population_vector_correlation",
]


def population_vector_correlation(
    maps_a: np.ndarray, maps_b: np.ndarray | None = None
) -> np.ndarray:
    """Pearson correlation across units between the population vectors of two sets of positions.

    Parameters
    ----------
    maps_a : array [N, P]
        Activity of N units at P positions (a 2-D map flattened: `maps.reshape(N, -1)`).
    maps_b : array [N, Q], optional
        A second set (default: `maps_a`).

    Returns
    -------
    ndarray [P, Q]
        NaN where either population vector has a masked (NaN) entry or no variance.

    Example
    -------
    >>> a = np.array([[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
    >>> population_vector_correlation(a).round(2).tolist()
    [[1.0, -0.5], [-0.5, 1.0]]
    """
    a = np.asarray(maps_a, dtype=np.float64)
    b = a if maps_b is None else np.asarray(maps_b, dtype=np.float64)
    if a.ndim != 2 or b.ndim != 2 or a.shape[0] != b.shape[0]:
        raise ShapeError(
            f"maps must be [N, P] and [N, Q] with the same N, got {a.shape} and {b.shape}"
        )

    def standardise(m: np.ndarray) -> np.ndarray:
        centred = m - m.mean(axis=0, keepdims=True)
        with np.errstate(invalid="ignore", divide="ignore"):
            return centred / np.sqrt((centred**2).sum(axis=0, keepdims=True))

    return standardise(a).T @ standardise(b)


@dataclass(frozen=True)
class ArmMaps(SavableResult):
    """Rate maps along the arms of a maze, per run (e.g. the eastward and westward runs of a
    hairpin maze).

    Attributes
    ----------
    maps : ndarray [R, K, N, L]
        Mean activity of each unit in each of L bins along each of K arms, per run label;
        NaN under `min_visits` samples.
    occupancy : ndarray [R, K, L]
    traversal : ndarray [R, K]
        +1 where the arm is run along increasing arm position, -1 the other way, 0 unvisited.
    min_visits : int
    """

    maps: np.ndarray
    occupancy: np.ndarray
    traversal: np.ndarray
    min_visits: int


def arm_rate_maps(
    arm_position: np.ndarray,
    arm: np.ndarray,
    run: np.ndarray,
    activity: np.ndarray,
    *,
    n_arms: int,
    n_runs: int = 2,
    bins: int = 20,
    min_visits: int = 3,
) -> ArmMaps:
    """Linear rate maps along each arm of a maze, one set per run label.

    Parameters
    ----------
    arm_position : array [T, B]
        Position along the arm's long axis, in [0, 1] (the same allocentric axis on every arm,
        so the same value is the same height in the maze on each).
    arm : array [T, B] of int
        The arm each sample is in, 0 .. n_arms - 1; -1 for samples in no arm (a turn).
    run : array [B] of int
        Each trajectory's run label, 0 .. n_runs - 1 (e.g. 0 eastward, 1 westward).
    activity : array [T, B, N]
    n_arms, n_runs, bins, min_visits : int

    Returns
    -------
    ArmMaps
        `maps [R, K, N, L]`, and each arm's direction of travel per run.
    """
    arm_position = np.asarray(arm_position, dtype=np.float64)
    arm = np.asarray(arm)
    run = np.asarray(run)
    activity = np.asarray(activity, dtype=np.float64)
    if arm_position.ndim != 2 or arm.shape != arm_position.shape or activity.shape[:2] != arm.shape:
        raise ShapeError(
            f"arm_position {arm_position.shape}, arm {arm.shape} and activity {activity.shape} "
            "must be [T, B], [T, B] and [T, B, N]"
        )
    if run.shape != (arm.shape[1],):
        raise ShapeError(
            f"run must hold one label per trajectory [B={arm.shape[1]}], got {run.shape}"
        )
    if ((run < 0) | (run >= n_runs)).any() or (arm >= n_arms).any() or (arm < -1).any():
        raise ArgumentError(f"run labels must lie in 0..{n_runs - 1} and arms in -1..{n_arms - 1}")
    inside = arm >= 0
    if ((arm_position[inside] < 0) | (arm_position[inside] > 1)).any():
        raise ArgumentError("arm_position must lie in [0, 1] on every arm sample")
    # direction of travel: the sign of the summed steps along each (run, arm)
    step = np.diff(arm_position, axis=0)
    same_arm = (arm[1:] == arm[:-1]) & inside[1:]
    runs_tb = np.broadcast_to(run[None], arm.shape)
    key = runs_tb[1:] * n_arms + np.where(same_arm, arm[1:], 0)
    travel = np.bincount(key[same_arm], weights=step[same_arm], minlength=n_runs * n_arms)
    traversal = np.sign(travel).reshape(n_runs, n_arms).astype(np.int64)

    lin = np.minimum((arm_position * bins).astype(int), bins - 1)
    index = (runs_tb * n_arms + arm) * bins + lin
    means, counts = _binned_means(
        index[inside], activity[inside], n_runs * n_arms * bins, min_visits
    )
    maps = means.reshape(n_runs, n_arms, bins, -1).transpose(0, 1, 3, 2)
    return ArmMaps(
        maps=maps,
        occupancy=counts.reshape(n_runs, n_arms, bins),
        traversal=traversal,
        min_visits=int(min_visits),
    )


@dataclass(frozen=True)
class ArmCorrelations(SavableResult):
    """How alike the population activity is on every pair of arms, per run.

    Attributes
    ----------
    matrices : ndarray [R, K, K]
        Mean over arm positions of the population-vector correlation between arm i and arm j
        at the same position (the diagonal of their correlation map, Derdikman et al. 2009).
    same_direction : float
        Mean over runs and pairs of distinct arms travelled in the same direction.
    opposite_direction : float
        Mean over pairs travelled in opposite directions.
    """

    matrices: np.ndarray
    same_direction: float
    opposite_direction: float


def _centred_by_direction(arm_maps: ArmMaps) -> np.ndarray:
    """The arm maps `[R, K, N, L]` less each unit's mean over the arms travelled in the same
    direction (per run), which removes what a unit codes of the direction of travel alone."""
    maps = arm_maps.maps
    out = maps.copy()
    for r in range(maps.shape[0]):
        for sense in (1, -1):
            arms = arm_maps.traversal[r] == sense
            if arms.any():
                mean = np.nanmean(maps[r, arms], axis=(0, 2))  # [N]
                out[r, arms] -= mean[None, :, None]
    return out


def arm_correlations(arm_maps: ArmMaps, *, by_direction: bool = False) -> ArmCorrelations:
    """Correlation between arms at equal positions, and its split by direction of travel.

    A unit that codes the direction of travel (a velocity or head-direction component) makes
    arms run the same way alike whatever their spatial maps; `by_direction=True` first takes
    each unit's mean over the arms run in each direction away, so that what is left compares
    the spatial patterns.

    Parameters
    ----------
    arm_maps : ArmMaps
    by_direction : bool
        Remove each unit's mean per direction of travel first.

    Returns
    -------
    ArmCorrelations
        `matrices [R, K, K]`; same- and opposite-direction means over the off-diagonal pairs.
    """
    maps = _centred_by_direction(arm_maps) if by_direction else arm_maps.maps  # [R, K, N, L]
    centred = maps - maps.mean(axis=2, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        z = centred / np.sqrt((centred**2).sum(axis=2, keepdims=True))
        per_bin = np.einsum("rinl,rjnl->rijl", z, z)  # [R, K, K, L]
        matrices = np.nanmean(np.where(np.isfinite(per_bin), per_bin, np.nan), axis=-1)
    travel = arm_maps.traversal
    same = (travel[:, :, None] * travel[:, None, :]) > 0
    opposite = (travel[:, :, None] * travel[:, None, :]) < 0
    off = ~np.eye(maps.shape[1], dtype=bool)[None]

    def mean_of(select: np.ndarray) -> float:
        values = matrices[select & off & np.isfinite(matrices)]
        return float(values.mean()) if values.size else float("nan")

    return ArmCorrelations(
        matrices=matrices,
        same_direction=mean_of(same),
        opposite_direction=mean_of(opposite),
    )


@dataclass(frozen=True)
class Resets(SavableResult):
    """Correlation between successive positions along the maze, and its drops at the turns.

    Attributes
    ----------
    adjacent : ndarray [R, K * L - 1]
        Population-vector correlation of each bin with the next along the path, per run (bins
        in the order the run passes them).
    turn_steps : ndarray [K - 1]
        Index into `adjacent` of each turn (from the last bin of an arm to the first of the next).
    at_turns : float
        Mean correlation across the turns.
    along_arms : float
        Mean correlation within arms between bins `turn_gap_bins` apart (the distance a turn
        spans), the baseline a continuous map would keep across the turns too.
    detected : ndarray [R, K - 1] of bool
        Turns whose correlation lies `z` standard deviations below that baseline.
    z : float
    turn_gap_bins : int
    """

    adjacent: np.ndarray
    turn_steps: np.ndarray
    at_turns: float
    along_arms: float
    detected: np.ndarray
    z: float
    turn_gap_bins: int = 1

    @property
    def reset_fraction(self) -> float:
        """Share of the turns detected as resets."""
        return float(self.detected.mean())


def detect_resets(
    arm_maps: ArmMaps, *, turn_gap_bins: int = 1, z: float = 2.0, by_direction: bool = False
) -> Resets:
    """Resets of the population code at the turning points of a maze.

    Each run's arm maps are laid end to end in the order the run passes them (arm 0 first for
    every run label, each arm's bins in its direction of travel), and each bin's population
    vector is correlated with the next one's. A continuous map keeps the correlation across a
    turn (the end of one arm against the start of the next, a corridor's width apart) as high
    as between two bins of one arm as far apart; a map that resets at the turns drops there
    (Derdikman et al. 2009, figure 4). A turn counts as a reset where its correlation lies `z`
    standard deviations below the within-arm correlations at that distance.

    Parameters
    ----------
    arm_maps : ArmMaps
        From `arm_rate_maps`; arms are taken in index order.
    turn_gap_bins : int
        The distance a turn spans (the corridor's width), in bins along an arm.
    z : float
    by_direction : bool
        Remove each unit's mean per direction of travel first (see `arm_correlations`): the
        direction flips at every turn, so a unit coding it alone drops the correlation there.

    Returns
    -------
    Resets
        `adjacent [R, K * L - 1]`, the turns' and the arms' mean correlations, `detected`.
    """
    maps = _centred_by_direction(arm_maps) if by_direction else arm_maps.maps  # [R, K, N, L]
    n_runs, n_arms, n_units, n_bins = maps.shape
    if n_arms < 2 or not 1 <= turn_gap_bins < n_bins:
        raise ArgumentError(
            f"reset detection needs at least 2 arms and 1 <= turn_gap_bins < {n_bins}, got "
            f"{n_arms} arms and turn_gap_bins={turn_gap_bins}"
        )
    oriented = np.where(
        (arm_maps.traversal < 0)[:, :, None, None], maps[..., ::-1], maps
    )  # each arm in its direction of travel
    centred = oriented - oriented.mean(axis=2, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        zed = centred / np.sqrt((centred**2).sum(axis=2, keepdims=True))  # [R, K, N, L]
    track = zed.transpose(0, 2, 1, 3).reshape(n_runs, n_units, n_arms * n_bins)
    adjacent = (track[:, :, :-1] * track[:, :, 1:]).sum(axis=1)  # [R, K*L - 1]
    turn_steps = np.arange(1, n_arms) * n_bins - 1
    at_turn = adjacent[:, turn_steps]
    gap = turn_gap_bins
    within = (zed[..., :-gap] * zed[..., gap:]).sum(axis=2).reshape(n_runs, -1)
    mean_within = np.nanmean(within, axis=1)
    sd_within = np.nanstd(within, axis=1)
    detected = at_turn < (mean_within - z * sd_within)[:, None]
    return Resets(
        adjacent=adjacent,
        turn_steps=turn_steps,
        at_turns=float(np.nanmean(at_turn)),
        along_arms=float(np.nanmean(within)),
        detected=detected,
        z=float(z),
        turn_gap_bins=int(gap),
    )
