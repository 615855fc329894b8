"""Putting trained runs into the zoo (`add`, `add_study`) and taking them out as runs
(`get`, `load`).

An entry holds what reproduces and describes the networks and nothing else: the weights
(`model.safetensors`, and `history/*.safetensors` where the run kept weights during training:
all of them, or for a study's run those its measurement reads, `Study.history_read`), `config.yaml`, `run.json` and `metrics.csv`. The optimiser state
(`checkpoint.pt`), analysis outputs and reports stay behind: a user recomputes those.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Collection
from pathlib import Path
from typing import Any

from neurodyn._extension import cache_root
from neurodyn._io import _umask
from neurodyn._progress import stage
from neurodyn.errors import ConfigError, NeurodynError, RunExists
from neurodyn.runs import Run, parse_config
from neurodyn.runs.index import upsert
from neurodyn.runs.run import CONFIG, HISTORY, INFO, METRICS, WEIGHTS
from neurodyn.runs.training import in_run_spelling
from neurodyn.studies import get as get_study
from neurodyn.studies import load_config as load_study_config
from neurodyn.zoo._files import FILES, add_study_files
from neurodyn.zoo._manifest import (
    BUDGET_BYTES,
    NETWORKS,
    ZooEntry,
    find_entry,
    read_manifest,
    sha256,
    total_bytes,
    verify,
    write_manifest,
    zoo_folder,
)
from neurodyn.zoo._measure import HEADLINES, fresh_performance, headline, stream_version


def _shipped_files(run: Run, history: Collection[int] | None = None) -> list[str]:
    """The files of `run` an entry holds: weights, config, run.json, metrics, and the kept
    weights of the steps in `history` (None: all of them)."""
    files = [CONFIG, INFO, METRICS, WEIGHTS]
    missing = [f for f in files if not (run.path / f).is_file()]
    if missing:
        raise NeurodynError(f"run {run.path} lacks {', '.join(missing)}: finish training it first")
    kept = run.history_steps()
    if history is not None:
        absent = sorted(set(history) - set(kept))
        if absent:
            raise NeurodynError(
                f"run {run.path} kept no weights at step(s) {absent}, which its study reads: "
                "train it as the study does"
            )
        kept = sorted(set(history))
    return files + [f"{HISTORY}/step-{step:07d}.safetensors" for step in kept]


def _shipped_bytes(run: Run, history: Collection[int] | None = None) -> int:
    """What shipping `run` (with the kept weights of `history`) adds to the zoo: its files,
    plus a generous manifest line (about 1 kB)."""
    return sum((run.path / f).stat().st_size for f in _shipped_files(run, history)) + 4096


def add(
    run: Run | str | Path,
    name: str,
    *,
    description: str = "",
    headline_kind: str | None = None,
    headline_settings: dict[str, Any] | None = None,
    study: str | None = None,
    study_config: dict[str, Any] | None = None,
    replace: bool = False,
    interim: bool = False,
    eval_trials: int = 512,
    history: Collection[int] | None = None,
    zoo: str | Path | None = None,
    progress: bool = True,
    _planned_steps: int | None = None,
) -> ZooEntry:
    """Put the finished run `run` into the zoo as `name`: copy its weights, config, run.json
    and metrics, measure its performance on fresh trials and its headline, write its manifest
    line with every file's checksum. Returns the entry.

    Parameters
    ----------
    run : Run or path
        A finished run (with `interim`, one still training or stopped).
    name : str
        The entry's name (letters, digits, `-`, `_`, `.`).
    headline_kind : str, optional
        `fixed_points` or `outliers` (see `neurodyn.zoo.headline`); none by default.
    study, study_config : optional
        The study whose run this is, and its full config (`Study.config_type.to_dict()`):
        `neurodyn study STUDY --pretrained` then finds the run under its study name. The run's
        config must be the one the study would train for it.
    replace : bool
        Replace an entry of the same name (otherwise refused).
    interim : bool
        Ship an unfinished run at its last checkpoint, labelled as such (`ZooEntry.interim`;
        its `steps` are the steps done, `planned_steps` its config's): for networks whose
        training takes days, until it ends. A run still training is read as one snapshot
        (weights, config and run.json of the same checkpoint); the shipped copy says
        `stopped`.
    zoo : path, optional
        Another zoo folder than the package's.
    description : str
        What the networks are, in a line.
    headline_settings : dict, optional
        Over the headline's defaults.
    eval_trials : int
        Fresh trials per task and member for the performance the manifest states.
    history : collection of int, optional
        The steps of the run's kept weights (`train.keep_weights_every`) to ship; all of
        them by default. `add_study` ships those its study reads.
    progress : bool
        Progress lines on stderr.

    Returns
    -------
    ZooEntry
        The new entry, as its manifest line holds it.
    """
    run = run if isinstance(run, Run) else Run.open(run)
    if not name or not all(c.isalnum() or c in "-_." for c in name) or name.startswith("."):
        raise ConfigError(f"zoo name {name!r} must be letters, digits, '-', '_' or '.'")
    if headline_kind is not None and headline_kind not in HEADLINES:
        raise ConfigError(f"unknown headline {headline_kind!r}; headlines: {', '.join(HEADLINES)}")
    if interim and run.info().status != "finished":
        with tempfile.TemporaryDirectory(prefix="neurodyn-zoo-") as scratch:
            snapshot = _snapshot(run, Path(scratch) / run.id, history)
            return add(
                snapshot,
                name,
                description=description,
                headline_kind=headline_kind,
                headline_settings=headline_settings,
                study=study,
                study_config=study_config,
                replace=replace,
                eval_trials=eval_trials,
                history=history,
                zoo=zoo,
                progress=progress,
                _planned_steps=run.config.train.steps,
            )
    info = run.info()
    if info.status != "finished" and _planned_steps is None:
        raise NeurodynError(
            f"run {run.path} is {info.status}, not finished: finish it "
            f"(`neurodyn train --resume {run.path}`) before adding it to the zoo, or ship it "
            "as it stands, labelled as unfinished, with --interim"
        )
    before = read_manifest(zoo)
    entries = [e for e in before if e.name != name]
    if not replace and len(entries) < len(before):
        raise RunExists(f"the zoo has a network {name!r} already; pass --replace to replace it")
    if study is not None:
        run_id, study_config = _study_run(run, study, study_config, entries)
    else:
        run_id, study_config = run.id, None
    files = _shipped_files(run, history)
    replaced = next((e.size_bytes(zoo) for e in before if e.name == name), 0)
    size = total_bytes(zoo) - replaced + _shipped_bytes(run, history)
    if size > BUDGET_BYTES:
        raise NeurodynError(
            f"with {name!r} the zoo would hold {size / 2**20:.1f} MiB, over its "
            f"{BUDGET_BYTES / 2**20:.0f} MiB budget: ship fewer members or keep fewer weights "
            "during training (train.keep_weights_every)"
        )
    stage(f"zoo: measuring {name} on fresh trials", enabled=progress)
    fresh = fresh_performance(run, trials=eval_trials, seed=0)
    found = None
    if headline_kind is not None:
        stage(f"zoo: its headline ({headline_kind})", enabled=progress)
        found = headline(run, headline_kind, headline_settings)
    folder = zoo_folder(zoo) / NETWORKS / name
    if folder.exists():
        shutil.rmtree(folder)
    _copy_files(run.path, files, folder)
    versions = dict(info.versions or {})
    entry = ZooEntry(
        name=name,
        description=description,
        run_id=run_id,
        study=study,
        study_config=study_config,
        tasks=list(run.task.task_names),
        seeds=[int(s) for s in run.config.model.seeds],
        n_hidden=int(run.config.model.n_hidden),
        steps=int(info.steps_done),
        batch_size=int(run.config.train.batch_size),
        performance=fresh.mean,
        performance_se=fresh.se,
        eval_trials=fresh.trials,
        eval_seed=fresh.seed,
        headline=found,
        versions=versions,
        engine=info.engine,
        stream=stream_version(run),
        training_seconds=(info.seconds or {}).get("training"),
        files={relative: sha256(folder / relative) for relative in files},
        planned_steps=_planned_steps,
    )
    write_manifest([*entries, entry], zoo)
    return entry


def _snapshot(run: Run, target: Path, history: Collection[int] | None) -> Run:
    """A copy of an unfinished run's files (with the kept weights of `history`) at one
    checkpoint, in the new folder `target`,
    marked as stopped there: a run still training rewrites its weights and run.json at each checkpoint
    (each atomically), so the copy is taken again until run.json's step is the same before and
    after it."""
    files = _shipped_files(run, history)
    for _ in range(5):
        before = run.info().steps_done
        if target.exists():
            shutil.rmtree(target)
        _copy_files(run.path, files, target)
        copied = Run.open(target)
        if copied.info().steps_done == before == run.info().steps_done:
            copied._update_info(status="stopped")
            return copied
    raise NeurodynError(
        f"run {run.path} moved to a new checkpoint during each of 5 copies: try again"
    )


def _study_run(
    run: Run, study: str, study_config: dict[str, Any] | None, others: list[ZooEntry]
) -> tuple[str, dict[str, Any]]:
    """The name `study` gives `run` under `study_config` (the run of that name, else the run
    whose config is `run`'s, so a run trained by `neurodyn train` counts too), and the study's
    config as plain data. `ConfigError` when it is none of the study's runs, or when the
    study's other entries come from another config."""
    chosen = get_study(study)
    if study_config is None:
        raise ConfigError(f"name the config of study {study!r} that trained run {run.id}")
    config = chosen.config_type.from_dict(study_config)
    if chosen.runs(config, Path("a")) != chosen.runs(config, Path("b")):
        raise ConfigError(
            f"study {study!r} names its runs folder in its run configs (a fine-tuning's "
            "starting run), so its runs cannot move into another folder: it cannot be shipped"
        )
    expected = {name: parse_config(data) for name, data in chosen.runs(config, run.root).items()}
    expected = {name: in_run_spelling(run, wanted) for name, wanted in expected.items()}
    if expected.get(run.id) == run.config:
        run_id = run.id
    else:
        same = [name for name, wanted in expected.items() if wanted == run.config]
        if not same:
            what = (
                f"was trained with another config than study {study!r} gives it"
                if run.id in expected
                else f"has the config of none of the runs study {study!r} trains"
            )
            raise ConfigError(
                f"run {run.id} {what}: train it with `neurodyn study {study}`, or name the "
                "study config that trained it"
            )
        run_id = same[0]
    for other in others:
        if other.study == study and other.study_config != config.to_dict():
            raise ConfigError(
                f"the zoo's {study!r} networks (e.g. {other.name!r}) come from another config "
                "of the study: add the study's runs anew with one config (--replace)"
            )
    return run_id, config.to_dict()


def add_study(
    study: str,
    root: str | Path,
    *,
    config_path: str | Path | None = None,
    quick: bool = False,
    variant: str | None = None,
    headline_kind: str | None = None,
    replace: bool = False,
    interim: bool = False,
    eval_trials: int = 512,
    zoo: str | Path | None = None,
    progress: bool = True,
) -> list[ZooEntry]:
    """Put every run of a study into the zoo, each entry named by its run.

    Parameters
    ----------
    study : str
        The study's name (`neurodyn study --list`).
    root : path
        The runs folder it was trained into.
    config_path, quick, variant : optional
        The study config that trained the runs: the user's file, the quick one or a packaged
        variant (the defaults when none is given).
    headline_kind : str, optional
        The headline each entry promises (`fixed_points`, `outliers`).
    replace : bool
        Replace the study's networks already in the zoo.
    interim : bool
        Ship unfinished runs at their last checkpoint, labelled as such (see `add`).
    eval_trials : int
        Fresh trials per task and member for the performance the manifest states.
    zoo : path, optional
        Another zoo folder than the package's.
    progress : bool
        Progress lines on stderr.

    Returns
    -------
    list[ZooEntry]
        The entry of the study's trained files that are not runs, where it keeps such files
        (`Study.trained_files`; added first, under `replace` too), then one entry per run of the
        study, in the study's order.
    """
    chosen = get_study(study)
    config = load_study_config(chosen, config_path, quick=quick, variant=variant)
    run_ids = list(chosen.runs(config, Path(root)))
    if not run_ids and chosen.trained_files is None:
        trains = chosen.trains_outside_runs
        raise NeurodynError(
            f"study {study!r} trains no runs (it trains {trains}, which the zoo cannot hold "
            "yet): nothing to put into the zoo"
            if trains is not None
            else f"study {study!r} trains no runs of its own (it simulates, or learns within "
            "its measurement): it has nothing to put into the zoo"
        )
    missing = [r for r in run_ids if not Run.is_run(Path(root) / r)]
    if missing:
        raise NeurodynError(
            f"runs {', '.join(missing)} of study {study!r} are not in {root}: train them with "
            f"`neurodyn study {study} --runs {root}` first"
        )
    # the whole study's size first, so that a study over budget adds none of its runs rather
    # than the first few (the memory study's weight histories stopped it at its fourth run)
    replaced = sum(
        e.size_bytes(zoo)
        for e in read_manifest(zoo)
        if (replace and e.study == study) or e.name in run_ids
    )
    # only the kept weights the study's measurement reads travel with a run
    history = {r: chosen.history_read(config, Run.open(Path(root) / r)) for r in run_ids}
    needed = sum(_shipped_bytes(Run.open(Path(root) / r), history[r]) for r in run_ids)
    size = total_bytes(zoo) - replaced + needed
    if size > BUDGET_BYTES:
        raise NeurodynError(
            f"study {study!r}'s {len(run_ids)} runs would take the zoo to {size / 2**20:.1f} "
            f"MiB, over its {BUDGET_BYTES / 2**20:.0f} MiB budget; nothing was added: ship "
            "fewer members or keep fewer weights during training (train.keep_weights_every)"
        )
    files: list[ZooEntry] = []
    if chosen.trained_files is not None:
        # its trained models that are not runs (circuits) go in as one entry of files, after
        # the runs' checks above (with no runs they pass), so a refused study adds nothing
        files = [
            add_study_files(
                study,
                root,
                config_path=config_path,
                quick=quick,
                variant=variant,
                replace=replace,
                zoo=zoo,
                progress=progress,
                check_config=not replace,
            )
        ]
        if not run_ids:
            return files
    if replace:
        # one config per study: its earlier networks go with the new ones (not the files
        # just added)
        kept = [e for e in read_manifest(zoo) if e.study != study or e in files]
        write_manifest(kept, zoo)
    return files + [
        add(
            Path(root) / run_id,
            run_id,
            description=f"study {study}: run {run_id}",
            headline_kind=headline_kind,
            study=study,
            study_config=config.to_dict(),
            replace=replace,
            interim=interim,
            eval_trials=eval_trials,
            history=history[run_id],
            zoo=zoo,
            progress=progress,
        )
        for run_id in run_ids
    ]


def get(
    name: str,
    runs: str | Path = "runs",
    *,
    run_id: str | None = None,
    zoo: str | Path | None = None,
) -> Run:
    """Copy a zoo network into a runs folder, after checking every file against its checksum.

    A copy already there with the same files is returned as it is (its analyses kept); a
    different run of that name is refused (`RunExists`).

    Parameters
    ----------
    name : str
        The network (`neurodyn zoo list`).
    runs : path
        The runs folder; the run is indexed there like any other (`neurodyn runs`).
    run_id : str, optional
        The run's folder name (by default the name of the run it was).
    zoo : path, optional
        Another zoo folder than the package's.

    Returns
    -------
    Run
        The copy, where `analyze`, `fixedpoints`, `dynamics`, `compare` and `report` work as
        on any run.
    """
    entry = find_entry(name, zoo)
    _refuse_files(entry, "get")
    verify(entry, zoo)
    target = Path(runs) / (run_id or entry.run_id)
    if target.exists():
        if not _holds(target, entry):
            raise RunExists(
                f"{target} already exists and is not zoo network {name!r}: choose another "
                "--runs folder, or move it away"
            )
        return Run.open(target)
    _copy_files(entry.folder(zoo), list(entry.files), target)
    run = Run.open(target)
    upsert(target.parent, run.record())
    return run


def load(name: str, *, zoo: str | Path | None = None) -> Run:
    """A zoo network as a Run, copied into the per-user cache after checking its checksums.

    The cache is `$NEURODYN_CACHE_DIR/zoo`, else `~/.cache/neurodyn/zoo`; a copy of an
    older release of the entry there is replaced.

    Parameters
    ----------
    name : str
        The network (`neurodyn zoo list`).
    zoo : path, optional
        Another zoo folder than the package's.

    Returns
    -------
    Run
        The network's run, its analyses written beside it in the cache.

    Example
    -------
    >>> from neurodyn import zoo
    >>> run = zoo.load("flipflop")
    >>> run.info().performance["flipflop"] > 0.99
    True
    """
    entry = find_entry(name, zoo)
    _refuse_files(entry, "load")
    cached = cache_root().parent / "zoo" / entry.name
    if (cached / entry.run_id).exists() and not _holds(cached / entry.run_id, entry):
        shutil.rmtree(cached / entry.run_id)  # a copy of an older release of the entry
    return get(name, cached, zoo=zoo)


def _refuse_files(entry: ZooEntry, action: str) -> None:
    """`NeurodynError` for a study's trained files where a run is asked for."""
    if entry.kind == FILES:
        raise NeurodynError(
            f"zoo entry {entry.name!r} holds study {entry.study}'s trained files, not a run, so "
            f"it cannot {action} as one: `neurodyn zoo get {entry.name} --runs DIR` writes them "
            f"into DIR/{entry.run_id}/, and `neurodyn study {entry.study} --pretrained` uses them"
        )


def _holds(folder: Path, entry: ZooEntry) -> bool:
    """Whether `folder` holds the files of `entry`, byte for byte (but run.json, where
    analyses record their wall times)."""
    return all(
        (folder / f).is_file() and sha256(folder / f) == digest
        for f, digest in entry.files.items()
        if f != INFO
    )


def _copy_files(source: Path, files: list[str], target: Path) -> None:
    """Copy `files` (relative paths) from `source` into the new folder `target`, which appears
    whole or not at all."""
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=target.parent))
    os.chmod(staging, 0o777 & ~_umask())  # mkdtemp's 0700 would hide a shipped zoo from others
    try:
        for relative in files:
            (staging / relative).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / relative, staging / relative)
        os.replace(staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
