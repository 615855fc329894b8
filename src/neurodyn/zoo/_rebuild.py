"""`neurodyn zoo rebuild NAME`: retrain a zoo entry from its config and compare the result
with the shipped weights, so the zoo is never a black box.

Training is deterministic for a given engine, torch version and random-stream version (the
run records all three), so where those match the rebuilt weights must be bitwise the shipped
ones. Where they do not (another machine's engine, a newer torch), the comparison falls back
on what the weights do: performance on the same fresh trials, within sampling error, and the
entry's analysis headline.
"""

from __future__ import annotations

import dataclasses
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import safetensors.torch
import torch

from neurodyn.analysis._result import ShortRepr
from neurodyn.errors import NeurodynError
from neurodyn.runs import load_config, train_run
from neurodyn.runs.run import CONFIG, WEIGHTS
from neurodyn.zoo._files import FILES
from neurodyn.zoo._manifest import ZooEntry, find_entry, headline_text, verify
from neurodyn.zoo._measure import (
    fresh_performance,
    headline,
    stream_version,
    within_sampling_error,
)


@dataclass(frozen=True)
class Rebuild(ShortRepr):
    """A zoo entry retrained from its config, compared with the shipped weights.

    Attributes
    ----------
    name : str                       the entry
    seconds : float                  wall time of the retraining
    bitwise : bool                   every rebuilt tensor equals the shipped one, bit for bit
    expected_bitwise : bool          same engine, torch and stream version as the shipped run
    max_abs_difference : float       over every weight (0.0 when bitwise)
    performance : dict[str, list[tuple[float, float]]]
        task -> (shipped, rebuilt) performance of each member `[E]` on the same fresh trials
    performance_agrees : bool        every pair within sampling error
    headline : tuple[dict | None, dict | None]   (shipped, rebuilt) headline values
    headline_agrees : bool | None    None when the entry has no headline
    """

    name: str
    seconds: float
    bitwise: bool
    expected_bitwise: bool
    max_abs_difference: float
    performance: dict[str, list[tuple[float, float]]]
    performance_agrees: bool
    headline: tuple[dict[str, Any] | None, dict[str, Any] | None]
    headline_agrees: bool | None

    @property
    def agrees(self) -> bool:
        """Bitwise where expected, else the same performance and headline."""
        if self.expected_bitwise:
            return self.bitwise
        return self.performance_agrees and self.headline_agrees is not False

    def lines(self) -> list[str]:
        """The comparison in words, one finding per line."""
        out = [f"retrained {self.name} in {self.seconds:.0f} s"]
        if self.bitwise:
            out.append("weights: bitwise equal to the shipped ones")
        else:
            why = (
                "expected bitwise (same engine, torch and stream)"
                if self.expected_bitwise
                else "engine, torch or stream differ from the shipped run's"
            )
            out.append(f"weights: differ by up to {self.max_abs_difference:.3g} ({why})")
        for task, pairs in self.performance.items():
            text = ", ".join(f"{a:.3f} -> {b:.3f}" for a, b in pairs)
            out.append(f"performance {task} (shipped -> rebuilt): {text}")
        shipped, rebuilt = self.headline
        if shipped is not None:
            out.append(f"headline shipped: {headline_text(shipped)}")
            out.append(f"headline rebuilt: {headline_text(rebuilt)}")
        out.append("verdict: " + ("reproduced" if self.agrees else "NOT reproduced"))
        return out


def _compare_weights(shipped: Path, rebuilt: Path) -> tuple[bool, float]:
    a = safetensors.torch.load_file(shipped)
    b = safetensors.torch.load_file(rebuilt)
    if set(a) != set(b):
        return False, float("inf")
    bitwise = all(torch.equal(a[k], b[k]) for k in a)
    diff = max(((a[k].double() - b[k].double()).abs().max().item() for k in a), default=0.0)
    return bitwise, float(diff)


def rebuild(
    name: str,
    *,
    runs: str | Path | None = None,
    zoo: str | Path | None = None,
    progress: bool = True,
) -> Rebuild:
    """Retrain a zoo network from its config.yaml and compare it with the shipped weights.

    Bitwise where the engine, torch and stream version are those that trained it; else the
    performance on the same fresh trials (within sampling error) and the analysis headline.

    Parameters
    ----------
    name : str
        The network (`neurodyn zoo list`).
    runs : path, optional
        Keep the retrained run in this runs folder (a temporary one, removed, by default).
    zoo : path, optional
        Another zoo folder than the package's.
    progress : bool
        The training's progress bar.

    Returns
    -------
    Rebuild
        The comparison; `Rebuild.agrees` is its verdict, `Rebuild.lines()` says it in words.
    """
    entry = find_entry(name, zoo)
    if entry.kind == FILES:
        raise NeurodynError(
            f"zoo entry {name!r} holds study {entry.study}'s trained files, not runs, and "
            f"`zoo rebuild` compares runs: `neurodyn study {entry.study} --runs DIR` in an "
            "empty DIR trains the files anew from the study config in their manifest line"
        )
    verify(entry, zoo)
    with tempfile.TemporaryDirectory(prefix="neurodyn-rebuild-") as scratch:
        root = Path(runs) if runs is not None else Path(scratch)
        start = time.perf_counter()
        config = load_config(entry.folder(zoo) / CONFIG)
        if entry.interim:
            # an unfinished run was shipped at its last checkpoint: retrain to that step
            config = dataclasses.replace(
                config, train=dataclasses.replace(config.train, steps=entry.steps)
            )
        run = train_run(config, root, run_id=entry.run_id, progress=progress)
        seconds = time.perf_counter() - start
        bitwise, diff = _compare_weights(entry.folder(zoo) / WEIGHTS, run.path / WEIGHTS)
        info = run.info()
        expected = (
            info.engine == entry.engine
            and (info.versions or {}).get("torch") == entry.versions.get("torch")
            and stream_version(run) == entry.stream
        )
        if bitwise:
            rebuilt_perf = entry.performance
            rebuilt_se = entry.performance_se
            rebuilt_headline = entry.headline
        else:
            fresh = fresh_performance(run, trials=entry.eval_trials, seed=entry.eval_seed)
            rebuilt_perf, rebuilt_se = fresh.mean, fresh.se
            rebuilt_headline = (
                headline(run, entry.headline["kind"], entry.headline["settings"])
                if entry.headline
                else None
            )
    return Rebuild(
        name=name,
        seconds=seconds,
        bitwise=bitwise,
        expected_bitwise=expected,
        max_abs_difference=diff,
        performance={
            task: list(zip(values, rebuilt_perf[task], strict=True))
            for task, values in entry.performance.items()
        },
        performance_agrees=_performance_agrees(entry, rebuilt_perf, rebuilt_se),
        headline=(entry.headline, rebuilt_headline),
        headline_agrees=(
            None
            if entry.headline is None
            else rebuilt_headline is not None
            and rebuilt_headline["value"] == entry.headline["value"]
        ),
    )


def _performance_agrees(
    entry: ZooEntry, mean: dict[str, list[float]], se: dict[str, list[float]]
) -> bool:
    return all(
        within_sampling_error(a, sa, b, sb, entry.eval_trials)
        for task in entry.performance
        for a, sa, b, sb in zip(
            entry.performance[task], entry.performance_se[task], mean[task], se[task], strict=True
        )
    )
