"""The zoo's manifest: one JSON line per shipped network, and the checksums of its files.

A zoo is a folder holding `manifest.jsonl` and `networks/NAME/` per entry. The package's own
zoo sits beside this module (package data, so it ships in the wheel); tests and `--zoo DIR`
use another folder of the same layout. One line per entry keeps the manifest easy to read in a
diff, and sorted by name so that adding an entry changes only its own line.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from neurodyn._io import atomic_write_text
from neurodyn.analysis._result import ShortRepr
from neurodyn.errors import ChecksumMismatch, CorruptFile, ZooEntryNotFound, excerpt, nearest_names

MANIFEST = "manifest.jsonl"
NETWORKS = "networks"
# the zoo's whole package data must stay within this (issue 27): small enough for a wheel
BUDGET_BYTES = 25 * 1024 * 1024


def package_zoo() -> Path:
    """The folder of the zoo shipped with the package."""
    return Path(str(resources.files("neurodyn.zoo")))


def zoo_folder(zoo: str | Path | None) -> Path:
    """`zoo` as a folder, the package's own zoo when None."""
    return package_zoo() if zoo is None else Path(zoo)


@dataclass(frozen=True)
class ZooEntry(ShortRepr):
    """One shipped run, as its manifest line describes it.

    Attributes
    ----------
    name : str                  the entry's name (`neurodyn zoo get NAME`)
    description : str           what the networks are, in a line
    run_id : str                the run folder's name where `get` copies it
    study : str | None          the study whose run this is (`neurodyn study STUDY --pretrained`)
    study_config : dict | None  that study's full config, under which `run_id` is one of its runs
    tasks : list[str]           the tasks the networks were trained on
    seeds : list[int]           one network per seed (the ensemble axis E)
    n_hidden : int              units per network
    steps, batch_size : int     the training budget
    performance : dict[str, list[float]]
        task -> performance of each member `[E]` on fresh trials (`eval_trials` per task and
        member, `eval_seed`), as `neurodyn.zoo` measures it (not the training's last batch)
    performance_se : dict[str, list[float]]   the standard error of each, over trial chunks
    eval_trials, eval_seed : int
    headline : dict | None
        the analysis result the entry reproduces: `kind` (fixed_points or outliers), the
        `settings` it is computed with, and its `value`
    versions : dict[str, str]   neurodyn, torch and numpy versions that trained it
    engine : str | None         the recurrent loop's implementation that trained it
    stream : str                the version of the random streams (trials, noise) it trained on
    training_seconds : float | None
    files : dict[str, str]      relative path -> sha256 of every file of the entry
    planned_steps : int | None
        for an interim entry (a run shipped before its training ended), the steps its config
        trains for; `steps` are those it had done. None for a finished run.
    kind : str
        `run` (a run) or `files`: a study's trained models that are not runs (its stochastic
        circuits), written back into `ROOT/<run_id>/` (the study's folder) when taken out;
        such an entry has no tasks, performance or budget of its own
    """

    name: str
    description: str
    run_id: str
    study: str | None
    study_config: dict[str, Any] | None
    tasks: list[str]
    seeds: list[int]
    n_hidden: int
    steps: int
    batch_size: int
    performance: dict[str, list[float]]
    performance_se: dict[str, list[float]]
    eval_trials: int
    eval_seed: int
    headline: dict[str, Any] | None
    versions: dict[str, str]
    engine: str | None
    stream: str
    training_seconds: float | None
    files: dict[str, str] = field(default_factory=dict)
    planned_steps: int | None = None
    kind: str = "run"

    @property
    def interim(self) -> bool:
        """Whether the entry is a run shipped before its training ended."""
        return self.planned_steps is not None

    @property
    def budget_text(self) -> str:
        """'60000 steps', or '11000 of 156250 steps (interim)' for an unfinished run."""
        if self.interim:
            return f"{self.steps} of {self.planned_steps} steps (interim)"
        return f"{self.steps} steps"

    def _summary(self) -> list[tuple[str, str]]:
        return [
            ("name", self.name),
            ("study", self.study or "-"),
            ("tasks", ", ".join(self.tasks)),
            ("networks", f"{len(self.seeds)} x {self.n_hidden} units"),
            ("budget", f"{self.budget_text} of {self.batch_size} trials"),
            ("performance", performance_text(self.performance)),
            ("headline", headline_text(self.headline)),
            ("files", str(len(self.files))),
        ]

    @property
    def mean_performance(self) -> float:
        """Performance averaged over tasks and members."""
        values = [v for per_member in self.performance.values() for v in per_member]
        return sum(values) / len(values) if values else float("nan")

    def folder(self, zoo: str | Path | None) -> Path:
        return zoo_folder(zoo) / NETWORKS / self.name

    def size_bytes(self, zoo: str | Path | None) -> int:
        folder = self.folder(zoo)
        return sum((folder / f).stat().st_size for f in self.files if (folder / f).is_file())

    def to_json(self) -> str:
        data = {k: getattr(self, k) for k in self.__dataclass_fields__}
        if not self.interim:
            del data["planned_steps"]  # finished runs' lines stay as they were
        if self.kind == "run":
            del data["kind"]
        return json.dumps(data, sort_keys=False, separators=(", ", ": "))


def performance_text(performance: dict[str, list[float]]) -> str:
    """Performance in words.

    Parameters
    ----------
    performance : dict[str, list[float]]
        task -> performance of each member `[E]`, as `ZooEntry.performance`.

    Returns
    -------
    str
        'pdm 0.980, dlygo 0.950': each task's mean over the members.
    """
    return ", ".join(f"{t} {sum(v) / len(v):.3f}" for t, v in performance.items())


def headline_text(headline: dict[str, Any] | None) -> str:
    """An analysis headline in words.

    Parameters
    ----------
    headline : dict or None
        As `ZooEntry.headline` (or `neurodyn.zoo.headline` gives it).

    Returns
    -------
    str
        '27 fixed points (8 stable)' per member, the outlier counts, or '-' without one.
    """
    if not headline:
        return "-"
    value = headline["value"]
    if headline["kind"] == "fixed_points":
        each = [f"{n} ({s} stable)" for n, s in zip(value["fixed"], value["stable"], strict=True)]
        if len(each) == 1:
            return f"{value['fixed'][0]} fixed points ({value['stable'][0]} stable)"
        return "fixed points per network: " + ", ".join(each)
    if headline["kind"] == "outliers":
        return "W_rec outliers per network: " + ", ".join(str(v) for v in value["outliers"])
    return str(value)


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def read_manifest(zoo: str | Path | None = None) -> list[ZooEntry]:
    """Every entry of the zoo, by name; an empty list when it has no manifest yet."""
    path = zoo_folder(zoo) / MANIFEST
    if not path.is_file():
        return []
    entries = []
    names = {f for f in ZooEntry.__dataclass_fields__}
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            data = json.loads(line)
            entries.append(ZooEntry(**{k: v for k, v in data.items() if k in names}))
        except (ValueError, TypeError) as err:
            raise CorruptFile(
                f"{path} line {number} is not a zoo entry ({excerpt(str(err), 60)}): restore "
                "the file from the package (reinstall neurodyn)"
            ) from None
    return entries


def write_manifest(entries: list[ZooEntry], zoo: str | Path | None = None) -> Path:
    """The manifest of `entries`, sorted by name, one line each."""
    lines = [e.to_json() for e in sorted(entries, key=lambda e: e.name)]
    return atomic_write_text(zoo_folder(zoo) / MANIFEST, "".join(f"{line}\n" for line in lines))


def find_entry(name: str, zoo: str | Path | None = None) -> ZooEntry:
    """The entry called `name`; an unknown name is refused with the nearest ones."""
    entries = {e.name: e for e in read_manifest(zoo)}
    if name not in entries:
        hint = nearest_names(name, entries)
        did = f" Did you mean {', '.join(repr(h) for h in hint)}?" if hint else ""
        raise ZooEntryNotFound(
            f"the zoo has no network {name!r}.{did} `neurodyn zoo list` lists them"
        )
    return entries[name]


def verify(entry: ZooEntry, zoo: str | Path | None = None) -> None:
    """Check every file of `entry` against the checksum its manifest line records.

    Parameters
    ----------
    entry : ZooEntry
        The entry to check.
    zoo : path, optional
        Its zoo folder (the package's by default).

    Returns
    -------
    None
        Raises `ChecksumMismatch`, naming the first file that is missing or whose bytes
        differ, with what to do.
    """
    folder = entry.folder(zoo)
    for relative, expected in entry.files.items():
        path = folder / relative
        if not path.is_file():
            raise ChecksumMismatch(
                f"zoo network {entry.name!r} lacks {path}: reinstall neurodyn, or retrain it with "
                f"`neurodyn zoo rebuild {entry.name}`"
            )
        found = sha256(path)
        if found != expected:
            raise ChecksumMismatch(
                f"{path} is damaged (sha256 {found[:12]}..., the manifest says "
                f"{expected[:12]}...): reinstall neurodyn, or retrain it with "
                f"`neurodyn zoo rebuild {entry.name}`"
            )


def total_bytes(zoo: str | Path | None = None) -> int:
    """The size of a zoo on disk.

    Parameters
    ----------
    zoo : path, optional
        The zoo folder (the package's by default).

    Returns
    -------
    int
        Bytes of the manifest and of every file of every entry.
    """
    folder = zoo_folder(zoo)
    manifest = folder / MANIFEST
    size = manifest.stat().st_size if manifest.is_file() else 0
    return size + sum(e.size_bytes(zoo) for e in read_manifest(zoo))
