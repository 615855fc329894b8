"""What the grid-fragmentation study measures (after Derdikman et al. 2009): its config, each
network's measures in the open arena, the hairpin maze and the virtual hairpin, the rows of
measures.csv and the summary.

1. Open arena: held-out rat-like trajectories (`eval_trajectories`, the task's own), the
   decoding error of the path integration, each unit's rate map, gridness, spacing and
   orientation, and the shuffle threshold; the share of units above it.
2. Hairpin maze (`n_arms` arms in a box of the arena's size) and virtual hairpin (the same runs
   in the open arena): `runs_per_direction` runs each way. A network trained on sequences of
   the task's length is run on a long run in windows of that length, each started with the
   true position as its cue, as in training; the windows start at `window_offsets` so that no
   turn always falls at a window's edge, and every window's states count. Arm maps per run
   direction, the arm-by-arm correlations split by direction of travel, the resets at the
   turns, and the similarity of each map to the open-arena map at the same places.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurodyn._progress import stage
from neurodyn.analysis import (
    ArmCorrelations,
    GridScores,
    RateMaps,
    Resets,
    ShuffleThreshold,
    arm_correlations,
    arm_rate_maps,
    detect_resets,
    grid_scores,
    gridness_threshold,
    population_vector_correlation,
    rate_maps,
)
from neurodyn.errors import ConfigError
from neurodyn.runs import Run, parse_config
from neurodyn.studies._study import check_fields
from neurodyn.tasks import PathIntegration, Trajectories, hairpin_maze, hairpin_runs

__all__ = [
    "RUN_ID",
    "GridConfig",
    "MazeResult",
    "NetworkResult",
    "measure",
    "rows",
    "runs",
    "summary",
]

RUN_ID = "arena"
EVAL_SEED = 2009  # the evaluation trajectories' seed (not a training seed)


@dataclass(frozen=True)
class GridConfig:
    """The study's settings (see config.yaml for each field's meaning)."""

    task: dict[str, Any]
    model: dict[str, Any]
    train: dict[str, Any]
    eval_trajectories: int
    map_bins: int
    min_visits: int
    shuffles: int
    percentile: float
    n_arms: int
    runs_per_direction: int
    arm_bins: int
    window_offsets: tuple[int, ...]

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GridConfig:
        """The config from every field (`load_config` merges a user's file over config.yaml);
        checks the run config before anything trains."""
        check_fields("grid-fragmentation", (f.name for f in dataclasses.fields(cls)), data)
        try:
            config = cls(
                task=dict(data["task"]),
                model=dict(data["model"]),
                train=dict(data["train"]),
                eval_trajectories=int(data["eval_trajectories"]),
                map_bins=int(data["map_bins"]),
                min_visits=int(data["min_visits"]),
                shuffles=int(data["shuffles"]),
                percentile=float(data["percentile"]),
                n_arms=int(data["n_arms"]),
                runs_per_direction=int(data["runs_per_direction"]),
                arm_bins=int(data["arm_bins"]),
                window_offsets=tuple(int(o) for o in data["window_offsets"]),
            )
        except (TypeError, ValueError) as err:
            raise ConfigError(
                f"study grid-fragmentation: a field has the wrong type ({err})"
            ) from err
        if min(config.eval_trajectories, config.shuffles, config.runs_per_direction) < 1:
            raise ConfigError(
                "eval_trajectories, shuffles and runs_per_direction must be at least 1"
            )
        if config.n_arms < 2 or config.arm_bins < 4 or config.map_bins < 4:
            raise ConfigError("need n_arms >= 2, arm_bins >= 4 and map_bins >= 4")
        if not config.window_offsets or min(config.window_offsets) < 0:
            raise ConfigError("window_offsets must be one or more non-negative step counts")
        parse_config(config.run_config())  # every run field checked before anything trains
        hairpin_maze(float(config.make_task().arena_size_m), config.n_arms)  # a maze with a path
        return config

    def to_dict(self) -> dict[str, Any]:
        out = dataclasses.asdict(self)
        out["window_offsets"] = list(self.window_offsets)
        return out

    def run_config(self) -> dict[str, Any]:
        """The arena run's config."""
        return {
            "name": "grid-fragmentation-arena",
            "task": {"name": PathIntegration.name, "params": self.task},
            "model": self.model,
            "train": self.train,
        }

    def make_task(self) -> PathIntegration:
        return PathIntegration(**self.task)


def runs(config: GridConfig, root: Path) -> dict[str, dict[str, Any]]:
    """The study's one run: path integration in the open arena."""
    return {RUN_ID: config.run_config()}


@dataclass(frozen=True)
class MazeResult:
    """One network's code in one maze (hairpin or virtual hairpin)."""

    correlations: ArmCorrelations
    resets: Resets
    # the same with each unit's mean per direction of travel removed (the spatial part alone)
    spatial_correlations: ArmCorrelations
    spatial_resets: Resets
    arena_similarity: float  # mean PV correlation with the open-arena map at the same bins


@dataclass(frozen=True)
class NetworkResult:
    """One network's measures (see the module docstring)."""

    seed: int
    decoding_error_m: float
    maps: RateMaps
    scores: GridScores
    threshold: ShuffleThreshold
    hairpin: MazeResult
    virtual: MazeResult

    @property
    def grid_fraction(self) -> float:
        """Share of units whose gridness exceeds the shuffle threshold."""
        return float(np.mean(self.scores.gridness_60 > self.threshold.threshold))

    def row(self) -> dict[str, Any]:
        g = self.scores.gridness_60
        grid = g > self.threshold.threshold
        spacing = self.scores.spacing[grid & np.isfinite(self.scores.spacing)]
        out: dict[str, Any] = {
            "seed": self.seed,
            "decoding_error_m": self.decoding_error_m,
            "gridness_threshold": self.threshold.threshold,
            "grid_fraction": self.grid_fraction,
            "gridness_median": float(np.nanmedian(g)),
            "gridness_max": float(np.nanmax(g)),
            "grid_spacing_m": float(np.median(spacing)) if spacing.size else float("nan"),
        }
        for label, maze in (("hairpin", self.hairpin), ("virtual", self.virtual)):
            out[f"{label}_same_direction"] = maze.correlations.same_direction
            out[f"{label}_opposite_direction"] = maze.correlations.opposite_direction
            out[f"{label}_turn_correlation"] = maze.resets.at_turns
            out[f"{label}_arm_correlation"] = maze.resets.along_arms
            out[f"{label}_reset_fraction"] = maze.resets.reset_fraction
            out[f"{label}_spatial_same_direction"] = maze.spatial_correlations.same_direction
            out[f"{label}_spatial_opposite_direction"] = (
                maze.spatial_correlations.opposite_direction
            )
            out[f"{label}_spatial_reset_fraction"] = maze.spatial_resets.reset_fraction
            out[f"{label}_arena_similarity"] = maze.arena_similarity
        return out


def _states(model: torch.nn.Module, x: torch.Tensor, chunk: int = 2048) -> np.ndarray:
    """States `[T, E, B, N]` of `x [T, B, I]`, in chunks of trials to bound memory."""
    parts = []
    with torch.no_grad():
        for start in range(0, x.shape[1], chunk):
            parts.append(model(x[:, start : start + chunk], noise=False).states.numpy())
    return np.concatenate(parts, axis=2)


def _windows(runs_: Trajectories, length: int, offset: int) -> tuple[Trajectories, np.ndarray]:
    """The runs cut into windows of `length` steps from `offset` on: trajectories
    `[length + 1, W * B, 2]` and each window's run index `[W * B]`."""
    n_steps = runs_.n_steps
    starts = list(range(offset, n_steps - length + 1, length))
    position = torch.cat([runs_.position[s : s + length + 1] for s in starts], dim=1)
    heading = torch.cat([runs_.heading[s : s + length + 1] for s in starts], dim=1)
    index = np.tile(np.arange(runs_.position.shape[1]), len(starts))
    return Trajectories(position=position, heading=heading, dt_s=runs_.dt_s), index


def _maze(
    config: GridConfig,
    task: PathIntegration,
    model: torch.nn.Module,
    arena_maps: list[np.ndarray],
    in_maze: bool,
) -> list[MazeResult]:
    """Each member's code on the hairpin runs, seen in the maze or in the open arena."""
    maze = hairpin_maze(task.arena_size_m, config.n_arms)
    env = maze if in_maze else task.environment
    generator = torch.Generator().manual_seed(EVAL_SEED)
    runs_ = hairpin_runs(
        maze, config.runs_per_direction, dt_s=task.dt_ms / 1000, generator=generator
    )
    assert runs_.run is not None
    length = task._steps(task.trial_ms)
    positions, states, labels = [], [], []
    for offset in config.window_offsets:
        windows, index = _windows(runs_, length, offset % length)
        batch = task.batch_from(windows, env)
        states.append(_states(model, batch.x)[1:])  # [length, E, W, N]: after each move
        positions.append(windows.position[1:].numpy())
        labels.append(runs_.run.numpy()[index])
    position = np.concatenate(positions, axis=1)  # [length, W, 2]
    activity = np.concatenate(states, axis=2)  # [length, E, W, N]
    run_label = np.concatenate(labels)
    arm, along = maze.arm_of(torch.from_numpy(position))
    width_bins = max(
        1, round((maze.size_m / config.n_arms) / ((maze.size_m - 2 * maze.gap_m) / config.arm_bins))
    )
    results = []
    for member in range(activity.shape[1]):
        arm_maps = arm_rate_maps(
            along.numpy(),
            arm.numpy(),
            run_label,
            activity[:, member],
            n_arms=config.n_arms,
            bins=config.arm_bins,
            min_visits=config.min_visits,
        )
        flat = rate_maps(
            position,
            activity[:, member],
            extent=maze.extent,
            bins=config.map_bins,
            min_visits=config.min_visits,
        ).maps.reshape(activity.shape[-1], -1)
        similarity = np.diag(population_vector_correlation(flat, arena_maps[member]))
        results.append(
            MazeResult(
                correlations=arm_correlations(arm_maps),
                resets=detect_resets(arm_maps, turn_gap_bins=width_bins),
                spatial_correlations=arm_correlations(arm_maps, by_direction=True),
                spatial_resets=detect_resets(arm_maps, turn_gap_bins=width_bins, by_direction=True),
                arena_similarity=float(np.nanmean(similarity))
                if np.isfinite(similarity).any()
                else float("nan"),
            )
        )
    return results


def measure(
    config: GridConfig, runs_: Mapping[str, Run], out: Path, progress: bool
) -> list[NetworkResult]:
    """Every network's measures; each result object is saved under `out/` too."""
    run = runs_[RUN_ID]
    task = run.config.make_task()
    assert isinstance(task, PathIntegration)
    model = run.load_model()
    stage("grid-fragmentation: open-arena rate maps and gridness", enabled=progress)
    batch = task.sample(config.eval_trajectories, seed=EVAL_SEED)
    with torch.no_grad():
        trajectory = model(batch.x, noise=False)
    error = task.decoding_error(trajectory.outputs, batch).reshape(-1).tolist()
    states = trajectory.states[1:].numpy()  # [T - 1, E, B, N]: after each move
    positions = batch.trial["position"][:, 1:].transpose(0, 1).numpy()  # [T - 1, B, 2]
    extent = task.environment.extent
    per_member = []
    for member in range(states.shape[1]):
        maps = rate_maps(
            positions,
            states[:, member],
            extent=extent,
            bins=config.map_bins,
            min_visits=config.min_visits,
        )
        threshold = gridness_threshold(
            positions,
            states[:, member],
            extent=extent,
            bins=config.map_bins,
            min_visits=config.min_visits,
            n_shuffles=config.shuffles,
            percentile=config.percentile,
            seed=EVAL_SEED,
        )
        per_member.append((maps, grid_scores(maps), threshold))
    arena_maps = [m.maps.reshape(m.maps.shape[0], -1) for m, _, _ in per_member]
    stage("grid-fragmentation: hairpin maze", enabled=progress)
    hairpin = _maze(config, task, model, arena_maps, in_maze=True)
    stage("grid-fragmentation: virtual hairpin", enabled=progress)
    virtual = _maze(config, task, model, arena_maps, in_maze=False)
    results = []
    for member, seed in enumerate(run.config.model.seeds):
        maps, scores, threshold = per_member[member]
        result = NetworkResult(
            seed=int(seed),
            decoding_error_m=float(error[member]),
            maps=maps,
            scores=scores,
            threshold=threshold,
            hairpin=hairpin[member],
            virtual=virtual[member],
        )
        for name, obj in (
            ("rate_maps", maps),
            ("grid_scores", scores),
            ("gridness_threshold", threshold),
            ("hairpin_arms", result.hairpin.correlations),
            ("hairpin_resets", result.hairpin.resets),
            ("virtual_arms", result.virtual.correlations),
            ("virtual_resets", result.virtual.resets),
        ):
            obj.save(out / f"seed{seed}_{name}.npz")
        results.append(result)
    return results


def rows(results: list[NetworkResult]) -> list[dict[str, Any]]:
    return [r.row() for r in results]


def _mean(results: list[NetworkResult], key: str) -> float:
    return float(np.nanmean([r.row()[key] for r in results]))


def summary(results: list[NetworkResult]) -> str:
    """The paper's findings next to ours (means over networks), as a markdown table."""

    def f(key: str) -> str:
        return f"{_mean(results, key):.2f}"

    lines = [
        "| finding | paper (rats) | hairpin | virtual hairpin |",
        "|---|---|---|---|",
        f"| grid units in the open arena (share above the shuffle's {results[0].threshold.percentile:.0f}th percentile) | grid cells | {f('grid_fraction')} | - |",
        f"| path-integration error in the arena (m) | - | {f('decoding_error_m')} | - |",
        f"| arms run in the same direction alike (mean PV correlation) | high | {f('hairpin_same_direction')} | {f('virtual_same_direction')} |",
        f"| arms run in opposite directions (mean PV correlation) | low | {f('hairpin_opposite_direction')} | {f('virtual_opposite_direction')} |",
        f"| PV correlation across the turns / within arms at that distance | drops at the turns | {f('hairpin_turn_correlation')} / {f('hairpin_arm_correlation')} | {f('virtual_turn_correlation')} / {f('virtual_arm_correlation')} |",
        f"| turns detected as resets | most | {f('hairpin_reset_fraction')} | {f('virtual_reset_fraction')} |",
        f"| same / opposite direction, each unit's direction mean removed | (spatial maps) | {f('hairpin_spatial_same_direction')} / {f('hairpin_spatial_opposite_direction')} | {f('virtual_spatial_same_direction')} / {f('virtual_spatial_opposite_direction')} |",
        f"| turns detected as resets, direction mean removed | (spatial maps) | {f('hairpin_spatial_reset_fraction')} | {f('virtual_spatial_reset_fraction')} |",
        f"| map like the open arena's at the same places | low (realigned) vs high (virtual) | {f('hairpin_arena_similarity')} | {f('virtual_arena_similarity')} |",
    ]
    return "\n".join(lines)
