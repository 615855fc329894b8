"""What a zoo entry promises and its tests check: performance on fresh trials with its
sampling error, and one analysis headline (fixed points, or outliers of the recurrent
weights) that must come out the same from the shipped weights."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from neurodyn.errors import ArgumentError
from neurodyn.runs import Run
from neurodyn.runs.fixedpoints import default_epoch, find_run_fixed_points, run_task
from neurodyn.train import sample_ensemble

# Mixed into every evaluation seed so the zoo's trials are none of the training's streams
# (those start their entropy with the member's seed: train/_streams.py).
_ZOO_STREAM = 27_027
# the headline analyses an entry can promise
HEADLINES = ("fixed_points", "outliers")
# the stream scheme of neurodyn 0.1 (train/_streams.py: one SeedSequence per member and
# stream name); a config that names its stream version (`train.stream`) records that instead
DEFAULT_STREAM = "1"


def stream_version(run: Run) -> str:
    """The version of the random stream (`RunConfig.stream`) that trained `run`'s trials."""
    return str(getattr(run.config, "stream", None) or DEFAULT_STREAM)


@dataclass(frozen=True)
class FreshPerformance:
    """Performance on fresh trials, per task and member, with its standard error.

    Attributes
    ----------
    mean : dict[str, list[float]]   task -> performance of each member `[E]`
    se : dict[str, list[float]]     task -> standard error of each, over `chunks` batches
    trials : int                    trials per task and member
    seed : int
    """

    mean: dict[str, list[float]]
    se: dict[str, list[float]]
    trials: int
    seed: int


def _generators(seed: int, chunk: int, members: int) -> list[torch.Generator]:
    states = [
        np.random.SeedSequence([_ZOO_STREAM, seed, chunk, e]).generate_state(1, dtype=np.uint64)[0]
        for e in range(members)
    ]
    return [torch.Generator().manual_seed(int(s)) for s in states]


@torch.no_grad()
def fresh_performance(
    run: Run, *, trials: int = 512, seed: int = 0, chunks: int = 8
) -> FreshPerformance:
    """Performance of every member of `run` on fresh trials, with its standard error.

    The same `seed` gives the same trials; two seeds give independent trials, so two
    evaluations of the same networks differ by their sampling error only. The trials come from
    their own random stream, none of the training's.

    Parameters
    ----------
    run : Run
        A trained run of E networks.
    trials : int
        Trials per task and member (with the network's own recurrent noise).
    seed : int
        Which fresh trials.
    chunks : int
        Batches the trials are drawn in; the spread of their scores gives the standard error.

    Returns
    -------
    FreshPerformance
        `mean[task]` and `se[task]`: one value per member `[E]`.
    """
    if trials < chunks or trials % chunks:
        raise ArgumentError(f"trials ({trials}) must be a positive multiple of chunks ({chunks})")
    model = run.load_model()
    members = model.ensemble_size
    per_chunk: dict[str, list[np.ndarray]] = {}
    # a task set shares each batch among its tasks: a batch of K times the chunk's trials
    # gives each of the K tasks its own
    batch_size = trials // chunks * len(run.task.task_names)
    for chunk in range(chunks):
        batch = sample_ensemble(run.task, batch_size, _generators(seed, chunk, members))
        noise = _generators(seed + 1, chunk, members)
        outputs = model(batch.x, generators=noise).outputs
        for task, value in run.task.performance_by_task(outputs, batch).items():
            per_chunk.setdefault(task, []).append(np.asarray(value, dtype=float).reshape(members))
    mean, se = {}, {}
    for task, values in per_chunk.items():
        table = np.stack(values)  # [chunks, E]
        mean[task] = [round(float(v), 6) for v in table.mean(0)]
        se[task] = [round(float(v), 6) for v in table.std(0, ddof=1) / math.sqrt(chunks)]
    return FreshPerformance(mean=mean, se=se, trials=trials, seed=seed)


def within_sampling_error(
    a: float, se_a: float, b: float, se_b: float, trials: int, *, z: float = 4.0
) -> bool:
    """Whether two performances of the same networks on independent trials agree.

    Parameters
    ----------
    a, b : float
        The two performances.
    se_a, se_b : float
        Their standard errors.
    trials : int
        Trials per evaluation: one trial's worth (1 / trials) is always allowed, since a
        score of 1.0 has no spread.
    z : float
        How many combined standard errors apart they may be.

    Returns
    -------
    bool
        `|a - b| <= z * hypot(se_a, se_b) + 1 / trials`.
    """
    return abs(a - b) <= z * math.hypot(se_a, se_b) + 1.0 / trials


def default_headline_settings(run: Run, kind: str) -> dict[str, Any]:
    """The settings a headline of `kind` is computed with, unless given."""
    if kind == "fixed_points":
        task = run_task(run, None)
        # noise 2.0: starts spread twice as far as the visited states, so the saddles between
        # the memories get starts near them as well as the memories do (a 3-bit flip-flop's
        # 19 saddles; at the default 0.1 some of the 2-mode saddles are missed)
        return {
            "task": task.name,
            "epoch": default_epoch(task),
            "n_initial": 256,
            "noise": 2.0,
            "seed": 0,
        }
    if kind == "outliers":
        return {"radius": 1.0}
    raise ArgumentError(f"unknown headline {kind!r}; headlines: {', '.join(HEADLINES)}")


def headline_command(headline: dict[str, Any], run_path: str | Path) -> str | None:
    """The `neurodyn` command that reproduces a fixed-point headline on a run.

    The CLI's defaults search with less noise on the starts and may find fewer saddles, so the
    command names the headline's task, epoch, starts and noise.

    Parameters
    ----------
    headline : dict
        As `ZooEntry.headline` (or `neurodyn.zoo.headline` gives it).
    run_path : path
        Where the run is (`neurodyn zoo get` put it there).

    Returns
    -------
    str or None
        `neurodyn fixedpoints RUN --task ... --epoch ... --initial-states ... --noise ...`; None
        for a headline of another kind.
    """
    if headline.get("kind") != "fixed_points":
        return None
    settings = headline["settings"]
    return (
        f"neurodyn fixedpoints {run_path} --task {settings['task']} --epoch {settings['epoch']} "
        f"--initial-states {settings['n_initial']} --noise {settings['noise']}"
    )


def headline(run: Run, kind: str, settings: dict[str, Any] | None = None) -> dict[str, Any]:
    """The analysis headline of `run`, the result a zoo entry promises to reproduce.

    fixed_points: the number of fixed points of each member under the constant input of an
    epoch, and how many of them are stable (`value["fixed"]`, `value["stable"]`: `[E]`), and
    the counts by number of unstable modes (`value["by_unstable_modes"]`: per member, a list
    whose k-th item counts the points with k unstable modes).

    outliers: the number of eigenvalues of each member's `W_rec` outside the circle of
    `radius` (`value["outliers"]`: `[E]`), the simplicity-bias study's measure.

    Parameters
    ----------
    run : Run
        A trained run of E networks.
    kind : str
        `fixed_points` or `outliers`.
    settings : dict, optional
        Over the defaults (`task`, `epoch`, `n_initial`, `noise`, `seed` of the fixed-point
        search; `radius` of the outliers).

    Returns
    -------
    dict
        `kind`, the full `settings` and the `value`, as plain JSON-able data.
    """
    settings = {**default_headline_settings(run, kind), **(settings or {})}
    model = run.load_model()
    if kind == "outliers":
        if not hasattr(model, "W_rec"):
            raise ArgumentError(
                f"the outliers headline reads W_rec, which a {run.config.model.cell} network "
                "has not: choose fixed_points"
            )
        counts = [
            int((torch.linalg.eigvals(w.detach().double()).abs() > settings["radius"]).sum())
            for w in model.W_rec
        ]
        return {"kind": kind, "settings": settings, "value": {"outliers": counts}}
    found = find_run_fixed_points(
        run,
        task=settings["task"],
        epoch=settings["epoch"],
        n_initial=int(settings["n_initial"]),
        noise=float(settings["noise"]),
        seed=int(settings["seed"]),
        model=model,
    )
    fixed, stable, by_modes = [], [], []
    for member in range(model.ensemble_size):
        mine = found.is_fixed & (found.member == member)
        modes = found.n_unstable[mine]
        fixed.append(int(mine.sum()))
        stable.append(int((modes == 0).sum()))
        by_modes.append([int(c) for c in np.bincount(modes, minlength=1)])
    return {
        "kind": kind,
        "settings": settings,
        "value": {"fixed": fixed, "stable": stable, "by_unstable_modes": by_modes},
    }
