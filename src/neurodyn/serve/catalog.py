"""What a runs folder holds, as the explorer lists it: runs (from the run index), sweeps (their
manifests), studies (their folders) and comparisons (their saved matrices)."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

from neurodyn.analysis.similarity import SimilarityMatrix
from neurodyn.errors import NeurodynError, RunNotFound
from neurodyn.runs import Run, RunRecord, list_runs
from neurodyn.runs.sweep import read_manifest


@dataclass(frozen=True)
class Catalog:
    """The things under one runs folder, each by name."""

    runs: list[RunRecord]
    sweeps: list[str]
    studies: list[str]
    comparisons: list[str]


def catalog(root: Path) -> Catalog:
    """Everything under `root` the explorer can show (empty lists for a missing folder)."""
    if not root.is_dir():
        return Catalog([], [], [], [])
    return Catalog(
        runs=list_runs(root),
        sweeps=sorted(p.stem.removeprefix("sweep-") for p in root.glob("sweep-*.json")),
        studies=sorted(p.name.removeprefix("study-") for p in root.glob("study-*") if p.is_dir()),
        comparisons=sorted(
            p.parent.name.removeprefix("compare-") for p in root.glob("compare-*/similarity.npz")
        ),
    )


def open_run(root: Path, run_id: str) -> Run:
    """The run `run_id` of the index at `root`; `RunNotFound` for any other name."""
    known = {r.id for r in list_runs(root)}
    if run_id not in known:
        raise RunNotFound(f"no run {run_id!r} in {root}; the index page lists the runs")
    return Run.open(root / run_id)


def sweep_run_ids(root: Path, name: str) -> list[str]:
    """The run ids of sweep `name`, as its manifest lists them."""
    return sorted(read_manifest(root, name)["runs"])


def study_runs(root: Path, name: str) -> list[str]:
    """The runs a study trained: those whose id is its name or starts with `name-`."""
    return [r.id for r in list_runs(root) if r.id == name or r.id.startswith(f"{name}-")]


def study_measures(root: Path, name: str) -> list[dict[str, str]]:
    """The rows of a study's `measures.csv` (empty when it wrote none)."""
    path = root / f"study-{name}" / "measures.csv"
    if not path.is_file():
        return []
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def comparison(root: Path, name: str) -> SimilarityMatrix:
    """The matrix `neurodyn compare` saved as `ROOT/compare-<name>/similarity.npz`."""
    path = root / f"compare-{name}" / "similarity.npz"
    if not path.is_file():
        raise NeurodynError(f"no comparison {name!r} in {root}; the index page lists them")
    return SimilarityMatrix.load(path)
