"""A study's trained models that are not runs, shipped as one zoo entry per study.

The plasticity and priors studies train stochastic circuits, which they keep as `.npz` files
in their own folder (`ROOT/study-NAME/networks/LABEL.npz`, `Study.trained_files`) and reuse
when the settings recorded in each match. Such an entry (`ZooEntry.kind == "files"`) holds each
file as safetensors: its arrays as tensors, its plain fields (the JSON the `.npz` carries)
in the safetensors metadata, so nothing shipped is unpickled or even unzipped. Taking it out
writes the same `.npz` files back into the study's folder, where the study finds and reuses
them (`neurodyn study NAME --pretrained`).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import numpy as np
import safetensors.numpy
from safetensors import safe_open

from neurodyn._io import atomic_write
from neurodyn._progress import stage
from neurodyn._version import versions
from neurodyn.errors import CorruptFile, NeurodynError, RunExists
from neurodyn.studies import get as get_study
from neurodyn.studies import load_config as load_study_config
from neurodyn.zoo._manifest import (
    BUDGET_BYTES,
    NETWORKS,
    ZooEntry,
    read_manifest,
    sha256,
    total_bytes,
    verify,
    write_manifest,
    zoo_folder,
)

FILES = "files"
# where a `SavableResult` .npz keeps its plain (non-array) fields
_PLAIN = "__json__"


def _arrays(npz: Path) -> tuple[dict[str, np.ndarray], str]:
    """The arrays of a study's `.npz` and its plain fields' JSON; `CorruptFile` for one that
    is not such a file (object arrays are refused, never unpickled)."""
    try:
        with np.load(npz, allow_pickle=False) as data:
            arrays = {k: np.ascontiguousarray(data[k]) for k in data.files if k != _PLAIN}
            plain = str(data[_PLAIN]) if _PLAIN in data.files else "{}"
    except (OSError, ValueError) as err:
        raise CorruptFile(f"{npz} is not a trained network's file ({err})") from None
    return arrays, plain


def _write_npz(arrays: dict[str, np.ndarray], plain: str, target: Path) -> None:
    def write(tmp: Path) -> None:
        with tmp.open("wb") as fh:
            np.savez(fh, **arrays, **{_PLAIN: np.array(plain)})  # type: ignore[arg-type]

    atomic_write(target, write)


def _read_safetensors(path: Path) -> tuple[dict[str, np.ndarray], str]:
    arrays = safetensors.numpy.load_file(path)
    with safe_open(str(path), "np") as fh:  # type: ignore[no-untyped-call]
        plain = (fh.metadata() or {}).get(_PLAIN, "{}")
    return arrays, plain


def _same(npz: Path, arrays: dict[str, np.ndarray], plain: str) -> bool:
    """Whether the `.npz` at `npz` holds these arrays and plain fields."""
    theirs, their_plain = _arrays(npz)
    return (
        json.loads(their_plain) == json.loads(plain)
        and theirs.keys() == arrays.keys()
        and all(np.array_equal(theirs[k], arrays[k]) for k in arrays)
    )


def add_study_files(
    study: str,
    root: str | Path,
    *,
    config_path: str | Path | None = None,
    quick: bool = False,
    variant: str | None = None,
    replace: bool = False,
    zoo: str | Path | None = None,
    progress: bool = True,
    check_config: bool = True,
) -> ZooEntry:
    """Put a study's trained files (`Study.trained_files`, under `ROOT/study-NAME/`) into the
    zoo as one entry, `NAME-networks`, under the study config that trained them.

    Parameters
    ----------
    study : str
        The study's name.
    root : path
        The runs folder the study wrote into.
    config_path, quick, variant : optional
        The study config that trained them (the defaults when none is given).
    replace : bool
        Replace the entry if the zoo has one.
    zoo : path, optional
        Another zoo folder than the package's.
    progress : bool
        Progress lines on stderr.
    check_config : bool
        Refuse a config other than the one the study's runs in the zoo were shipped under
        (keys in the same order too: the order of the study's conditions follows it). False
        where those runs are being replaced with these files (`add_study(replace=True)`).

    Returns
    -------
    ZooEntry
        Its manifest line.
    """
    chosen = get_study(study)
    if chosen.trained_files is None:
        raise NeurodynError(f"study {study!r} keeps no trained files of its own to ship")
    config = load_study_config(chosen, config_path, quick=quick, variant=variant)
    out = Path(root) / f"study-{study}"
    found = sorted(out.glob(chosen.trained_files))
    if not found:
        raise NeurodynError(
            f"no {chosen.trained_files} in {out}: train them with `neurodyn study {study} "
            f"--runs {root}` first"
        )
    name = f"{study}-networks"
    manifest = read_manifest(zoo)
    shipped = [e for e in manifest if e.study == study and e.kind != FILES and e.study_config]
    mine = json.dumps(config.to_dict())
    if check_config and shipped and json.dumps(shipped[0].study_config) != mine:
        raise NeurodynError(
            f"the zoo ships study {study!r}'s runs (e.g. {shipped[0].name}) under another study "
            "config than these files': give that config (--config), or add the whole study "
            "again with --replace"
        )
    existing = [e for e in manifest if e.name == name]
    if existing and not replace:
        raise RunExists(f"the zoo already has {name!r}: add --replace to replace it")
    converted: list[tuple[str, dict[str, np.ndarray], str]] = []
    for path in found:
        arrays, plain = _arrays(path)
        converted.append(
            (path.relative_to(out).with_suffix(".safetensors").as_posix(), arrays, plain)
        )
    with tempfile.TemporaryDirectory() as scratch:
        staged = Path(scratch)
        for relative, arrays, plain in converted:
            (staged / relative).parent.mkdir(parents=True, exist_ok=True)
            safetensors.numpy.save_file(arrays, staged / relative, metadata={_PLAIN: plain})
        needed = sum((staged / r).stat().st_size for r, _, _ in converted) + 4096
        size = total_bytes(zoo) - sum(e.size_bytes(zoo) for e in existing) + needed
        if size > BUDGET_BYTES:
            raise NeurodynError(
                f"study {study!r}'s {len(found)} trained files would take the zoo to "
                f"{size / 2**20:.1f} MiB, over its {BUDGET_BYTES / 2**20:.0f} MiB budget; "
                "nothing was added"
            )
        folder = zoo_folder(zoo) / NETWORKS / name
        if folder.exists():
            shutil.rmtree(folder)
        shutil.copytree(staged, folder)
    entry = ZooEntry(
        name=name,
        description=f"study {study}: {len(found)} trained models ({chosen.trained_files})",
        run_id=f"study-{study}",
        study=study,
        study_config=config.to_dict(),
        tasks=[],
        seeds=[int(s) for s in getattr(config, "seeds", [])],
        n_hidden=0,
        steps=0,
        batch_size=0,
        performance={},
        performance_se={},
        eval_trials=0,
        eval_seed=0,
        headline=None,
        versions=versions(),
        engine=None,
        stream="-",
        training_seconds=_training_seconds(converted),
        files={r: sha256(folder / r) for r, _, _ in converted},
        kind=FILES,
    )
    write_manifest([e for e in manifest if e.name != name] + [entry], zoo)
    stage(f"zoo: {name} added ({len(found)} files, {needed / 1e6:.2f} MB)", enabled=progress)
    return entry


def _training_seconds(converted: list[tuple[str, dict[str, np.ndarray], str]]) -> float | None:
    """The summed training time the files record (`seconds` in their plain fields)."""
    seconds = [json.loads(plain).get("seconds") for _, _, plain in converted]
    known = [float(s) for s in seconds if isinstance(s, int | float)]
    return sum(known) if known else None


def get_study_files(entry: ZooEntry, root: str | Path, zoo: str | Path | None = None) -> Path:
    """Write a files entry's `.npz` files back into `ROOT/study-NAME/`, after checking every
    file against its checksum. A file already there with the same contents is kept; one with
    other contents is refused (`RunExists`), never overwritten.

    Parameters
    ----------
    entry : ZooEntry
        An entry of kind `files` (`zoo.entry(NAME)`).
    root : path
        The runs folder the study writes into.
    zoo : path, optional
        Another zoo folder than the package's.

    Returns
    -------
    Path
        `ROOT/study-NAME/`, where `neurodyn study NAME --runs ROOT` finds and reuses them.
    """
    verify(entry, zoo)
    source = entry.folder(zoo)
    out = Path(root) / entry.run_id
    for relative in sorted(entry.files):
        arrays, plain = _read_safetensors(source / relative)
        target = out / Path(relative).with_suffix(".npz")
        if target.exists():
            if _same(target, arrays, plain):
                continue
            raise RunExists(
                f"{target} holds another network than the zoo's {entry.name!r}: use another "
                "--runs folder, or move it away"
            )
        target.parent.mkdir(parents=True, exist_ok=True)
        _write_npz(arrays, plain, target)
    return out
