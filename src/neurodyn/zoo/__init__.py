"""The zoo: trained networks shipped with the package, so an analysis of a study's networks
starts in seconds instead of after their training.

Each entry is a finished run (weights in safetensors, config.yaml, run.json, metrics), or a
study's trained files that are not runs (its circuits, as safetensors: `add_study_files`),
with a manifest line: the study and config that trained it, its training budget, its performance on
fresh trials, the versions, engine and random-stream version that trained it, an analysis
headline it reproduces, and the checksum of every file (checked whenever it is taken out).

    from neurodyn import zoo
    zoo.entries()                    # what ships: `neurodyn zoo list`
    run = zoo.load("flipflop")       # a Run, copied into the per-user cache
    run = zoo.get("demo", "runs")    # copied into a runs folder: `neurodyn zoo get demo`
    zoo.rebuild("flipflop")          # retrain from its config, compare with the shipped weights
    zoo.add("runs/my-run", "my-net") # put a finished run in: `neurodyn zoo add RUN NAME`
"""

from pathlib import Path

from neurodyn.zoo._files import add_study_files, get_study_files
from neurodyn.zoo._manifest import (
    BUDGET_BYTES,
    ZooEntry,
    find_entry,
    headline_text,
    performance_text,
    read_manifest,
    total_bytes,
    verify,
)
from neurodyn.zoo._measure import (
    HEADLINES,
    FreshPerformance,
    fresh_performance,
    headline,
    headline_command,
    within_sampling_error,
)
from neurodyn.zoo._pretrained import coverage, pretrained_study
from neurodyn.zoo._rebuild import Rebuild, rebuild
from neurodyn.zoo._store import add, add_study, get, load

__all__ = [
    "BUDGET_BYTES",
    "HEADLINES",
    "FreshPerformance",
    "Rebuild",
    "ZooEntry",
    "add",
    "add_study",
    "add_study_files",
    "coverage",
    "entries",
    "entry",
    "fresh_performance",
    "get",
    "get_study_files",
    "headline",
    "headline_command",
    "headline_text",
    "load",
    "performance_text",
    "pretrained_study",
    "rebuild",
    "total_bytes",
    "verify",
    "within_sampling_error",
]


def entries(zoo: str | Path | None = None) -> list[ZooEntry]:
    """Every network in a zoo.

    Parameters
    ----------
    zoo : path, optional
        Another zoo folder than the package's.

    Returns
    -------
    list[ZooEntry]
        Its manifest's entries, by name.
    """
    return read_manifest(zoo)


def entry(name: str, zoo: str | Path | None = None) -> ZooEntry:
    """The manifest entry of one network.

    Parameters
    ----------
    name : str
        The network; an unknown name raises `ZooEntryNotFound` with the nearest ones.
    zoo : path, optional
        Another zoo folder than the package's.

    Returns
    -------
    ZooEntry
        Its manifest line.
    """
    return find_entry(name, zoo)
