"""Compare the networks of several runs: every member of every run, on the same trials.

`compare_runs` runs each network (noise-free) on one batch of its task, then computes a
similarity or distance between every pair with the chosen metric; `save_comparison` keeps
the matrix in `ROOT/compare-<name>/similarity.npz`, beside which
`report.compare.write_comparison_report` writes the report (a clustered heat map and a 2-D
MDS embedding of the networks).
"""

from __future__ import annotations

import fnmatch
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import torch
from torch import Tensor

from neurodyn._progress import progress as progress_of
from neurodyn._progress import stage
from neurodyn.analysis import similarity
from neurodyn.analysis.dsa import dsa
from neurodyn.analysis.similarity import SimilarityMatrix
from neurodyn.errors import ArgumentError, NeurodynError, RunExists, RunNamedTwice
from neurodyn.runs.config import check_name
from neurodyn.runs.run import Run, list_runs

DSA_RANK = 10  # rank of the DMD operators compared by `--metric dsa`

METRICS: dict[str, Callable[..., SimilarityMatrix]] = {
    "cka": similarity.linear_cka,
    "rbf_cka": similarity.rbf_cka,
    "procrustes": similarity.procrustes_distance,
    "cca": similarity.cca_distance,
    "svcca": lambda x, labels=None: similarity.cca_similarity(x, keep_variance=0.99, labels=labels),
    "rsa": similarity.rsa,
}


def sweep_runs(root: str | Path, sweep: str) -> list[Run]:
    """The runs of a sweep in the runs folder `root`, in id order: those whose id matches the
    glob pattern `sweep` (e.g. `sb-*-gated`), or, when it has no wildcard, whose id is
    `sweep` or starts with `sweep-` (a study's or sweep's runs share their name as prefix)."""
    pattern = sweep if any(ch in sweep for ch in "*?[") else None
    records = list_runs(root)
    chosen = [
        r
        for r in records
        if (
            fnmatch.fnmatchcase(r.id, pattern)
            if pattern
            else r.id == sweep or r.id.startswith(f"{sweep}-")
        )
    ]
    if not chosen:
        known = ", ".join(sorted(r.id for r in records)[:12]) or "none"
        raise NeurodynError(f"no run in {root} belongs to sweep {sweep!r} (runs there: {known})")
    # the folder under root, not the path indexed (which may be relative to another cwd)
    return [Run.open(Path(root) / r.id) for r in sorted(chosen, key=lambda r: r.id)]


@dataclass(frozen=True)
class ComparisonSetup:
    """What a comparison ran the networks on, for its report.

    task : the task(s) of the first run, whose trials every network ran
    n_trials : trials drawn (noise-free networks)
    seed : the trials' seed
    points : (trial, step) points the representational metrics compared (None for `dsa`,
        which compares whole trials)
    """

    task: str
    n_trials: int
    seed: int
    points: int | None

    def describe(self) -> str:
        """The setup in words, for a report."""
        what = (
            f"the states at {self.points} (trial, step) points inside the trials"
            if self.points is not None
            else "DMD operators fitted to whole trials"
        )
        return (
            f"Every network ran the same {self.n_trials} trials of {self.task} (seed "
            f"{self.seed}, no noise); compared: {what}."
        )


def comparison_setup(
    runs: Sequence[Run], metric: str, *, n_trials: int = 32, max_points: int = 2000, seed: int = 0
) -> ComparisonSetup:
    """The trials and points `compare_runs` uses with these arguments."""
    batch = runs[0].task.sample(n_trials, seed=seed)
    inside = int(batch.trial_mask().sum())
    return ComparisonSetup(
        task="+".join(runs[0].task.task_names),
        n_trials=n_trials,
        seed=seed,
        points=None if metric == "dsa" else min(inside, max_points),
    )


def network_states(
    runs: Sequence[Run], *, n_trials: int = 32, seed: int = 0, progress: bool = False
) -> tuple[list[str], list[Tensor], Tensor]:
    """States of every member of every run on the same trials (drawn from the first run's
    task; the runs' tasks may differ, e.g. in setting, but must take the same inputs).

    Returns labels (`run:seed`), states `[T, B, N_k]` per network (noise-free; a spiking
    network's filtered spike trains, `Network.activity`), and the trial
    mask `[T, B]` (steps inside the trials).
    """
    first = runs[0]
    for run in runs[1:]:
        if run.task.n_inputs != first.task.n_inputs:
            raise NeurodynError(
                f"runs {first.id} and {run.id} take inputs of different sizes "
                f"({first.task.n_inputs} vs {run.task.n_inputs}: "
                f"{'+'.join(first.task.task_names)} vs {'+'.join(run.task.task_names)}); "
                "networks are compared on the same trials"
            )
    batch = first.task.sample(n_trials, seed=seed)
    labels, states = [], []
    for run in progress_of(runs, "running the networks", enabled=progress):
        model = run.load_model()
        with torch.no_grad():
            traj = model.activity(model(batch.x, noise=False).states)  # [T, E, B, N]
        for e, member_seed in enumerate(run.config.model.seeds):
            labels.append(f"{run.id}:{member_seed}")
            states.append(traj[:, e])
            if not bool(traj[:, e].any()):
                raise ArgumentError(
                    f"network {labels[-1]} is silent on these trials (its activity is zero "
                    "throughout): a similarity to it is undefined; leave it out"
                )
    return labels, states, batch.trial_mask()


def compare_runs(
    runs: Sequence[Run],
    metric: str,
    *,
    n_trials: int = 32,
    max_points: int = 2000,
    seed: int = 0,
    progress: bool = False,
) -> SimilarityMatrix:
    """All-pairs similarity of the networks of `runs` under `metric` (see `METRICS`).

    Representational metrics compare the states at the same (trial, step) points, inside
    the trials, subsampled to at most `max_points`. `dsa` compares the networks' dynamics:
    DMD operators of rank 10 (or the smallest network's size) fitted to whole trials, by the
    angular Procrustes score. `progress` shows the networks being run and the metric's stage
    (stderr).
    """
    if metric not in METRICS and metric != "dsa":
        raise NeurodynError(
            f"unknown metric {metric!r}; choose from {', '.join(sorted([*METRICS, 'dsa']))}"
        )
    # counted from the configs before any network runs: a single network is refused at once
    if sum(len(run.config.model.seeds) for run in runs) < 2:
        raise NeurodynError("comparing needs at least two networks (several runs or seeds)")
    labels, states, mask = network_states(runs, n_trials=n_trials, seed=seed, progress=progress)
    # a run named twice (as RUN and by --sweep, or twice as RUN) is compared with itself: a
    # check some want (a network equal to itself), a slip for others, whose matrix then holds
    # each network's copy at distance 0; so it is done, and said (after the networks ran, so
    # that an error in running them stays the only line)
    paths = [run.path.resolve() for run in runs]
    twice = sorted({run.id for run, path in zip(runs, paths, strict=True) if paths.count(path) > 1})
    if twice:
        warnings.warn(
            RunNamedTwice(
                f"run {', '.join(twice)} is named twice: each of its networks is also compared "
                "with its own copy (distance 0); name a run once to leave the copies out"
            ),
            stacklevel=2,
        )
    stage(f"comparing {len(labels)} networks with {metric}", enabled=progress)
    if metric == "dsa":
        # whole trials (dynamics need successive steps); operators of one common rank
        rank = min(DSA_RANK, *(s.shape[-1] for s in states))
        return dsa(states, rank=rank, seed=seed, labels=labels)
    # (trial, step) pairs in trial order, so a seed draws the points it drew in earlier releases
    points = torch.nonzero(mask.T)
    g = torch.Generator().manual_seed(seed)
    points = points[torch.randperm(len(points), generator=g)[:max_points]]
    responses = [s[points[:, 1], points[:, 0]] for s in states]  # [M, N_k] each
    return METRICS[metric](responses, labels=labels)


def comparison_folder(root: str | Path, name: str | None, metric: str) -> Path:
    """`ROOT/compare-<name>/`: like runs, comparisons are never overwritten, so a given name
    that exists is refused (the CLI checks before it computes); without one, the date and
    metric, numbered on (`-2`, `-3`, ...) where two comparisons fall in one second."""
    if name is None:
        stamp = f"{datetime.now(UTC).strftime('%Y%m%d-%H%M%S')}-{metric}"
        folder, n = Path(root) / f"compare-{stamp}", 1
        while folder.exists():
            n += 1
            folder = Path(root) / f"compare-{stamp}-{n}"
        return folder
    check_name(name, "comparison name")  # it must stay a folder inside `root`
    folder = Path(root) / f"compare-{name}"
    if folder.exists():
        raise RunExists(
            f"{folder} already exists; comparisons are never overwritten. Pick another "
            "--name, or delete it yourself."
        )
    return folder


def save_comparison(
    result: SimilarityMatrix, root: str | Path = "runs", name: str | None = None
) -> Path:
    """Save the matrix as `ROOT/compare-<name>/similarity.npz` (`comparison_folder`: a named
    one that exists is refused; name defaults to the date and metric); returns the folder,
    where `report.compare.write_comparison_report` puts the report."""
    folder = comparison_folder(root, name, result.metric)
    folder.mkdir(parents=True)
    result.save(folder / "similarity.npz")
    return folder
