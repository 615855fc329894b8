"""`neurodyn study NAME --pretrained`: a study's analyses and report on the zoo's networks,
without training them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neurodyn._progress import stage
from neurodyn.errors import ZooEntryNotFound
from neurodyn.runs import Run, parse_config
from neurodyn.runs.training import in_run_spelling
from neurodyn.studies import STUDIES, Study, StudyOutput, run_study
from neurodyn.studies import get as get_study
from neurodyn.studies import load_config as load_study_config
from neurodyn.zoo._files import FILES, get_study_files
from neurodyn.zoo._manifest import ZooEntry, read_manifest
from neurodyn.zoo._store import get


def coverage(zoo: str | Path | None = None) -> dict[str, str]:
    """Each registered study's place in the zoo.

    Parameters
    ----------
    zoo : path, optional
        Another zoo folder than the package's.

    Returns
    -------
    dict[str, str]
        study -> `shipped` (its networks are in the zoo), `shipped in part` (its runs are,
        but it also trains models that are not runs, `Study.trains_outside_runs`, which its
        `--pretrained` still trains), `not runs` (it trains only such models), `not shipped`
        (it trains runs, none shipped yet), `no runs` (it trains nothing that lasts: it
        simulates, or learns within its measurement) or `tied to its folder` (its run
        configs name their runs folder, e.g. a fine-tuning's starting run, so its runs cannot
        move into another one).
    """
    manifest = read_manifest(zoo)
    shipped = {e.study for e in manifest if e.study}
    out = {}
    for name, study in sorted(STUDIES.items()):
        if name in shipped:
            state = "shipped"
        else:
            config = load_study_config(study)
            runs = study.runs(config, Path("runs"))
            if not runs:
                state = "no runs"
            elif study.runs(config, Path("a")) != study.runs(config, Path("b")):
                state = "tied to its folder"
            elif len(_shipped_runs(study, config, Path("runs"), manifest, zoo)) == len(runs):
                state = "shipped"
            else:
                state = "not shipped"
        # what it trains outside runs is unshipped unless the zoo holds its trained files
        # (a study with such an entry is in `shipped` above)
        outside = study.trains_outside_runs is not None
        if outside and not any(e.study == name and e.kind == FILES for e in manifest):
            state = {"shipped": "shipped in part", "no runs": "not runs"}.get(state, state)
        out[name] = state
    return out


def _shipped_runs(
    study: Study[Any, Any],
    config: Any,
    root: Path,
    manifest: list[ZooEntry],
    zoo: str | Path | None,
) -> dict[str, ZooEntry]:
    """The zoo's networks for the runs `study` trains under `config`: its own entries, and
    for a run it has none of, a network shipped alone or for another study with that run's
    id and config (the recovery study's truths are the zoo's `flipflop` and `demo`)."""
    found = {e.run_id: e for e in manifest if e.study == study.name and e.kind != FILES}
    for run_id, data in study.runs(config, root).items():
        if run_id in found:
            continue
        wanted = parse_config(data)
        for entry in manifest:
            if entry.run_id == run_id and entry.study != study.name:
                shipped = Run.open(entry.folder(zoo))
                if in_run_spelling(shipped, wanted) == shipped.config:
                    found[run_id] = entry
                    break
    return found


def pretrained_study(
    name: str, root: str | Path = "runs", *, zoo: str | Path | None = None, progress: bool = True
) -> StudyOutput[Any]:
    """A study's measures and report on the zoo's networks, without training them.

    The networks are copied into `root` (checking their checksums) and measured under the
    study config they were trained with. `ZooEntryNotFound`, saying how to ship them, when
    the zoo has none of the study's networks.

    Parameters
    ----------
    name : str
        The study (`neurodyn study --list`).
    root : path
        The runs folder the networks are copied into; the study writes `ROOT/study-NAME/`.
    zoo : path, optional
        Another zoo folder than the package's.
    progress : bool
        Progress lines on stderr.

    Returns
    -------
    StudyOutput
        The study's folder, results, measures.csv rows and summary.
    """
    study = get_study(name)
    manifest = read_manifest(zoo)
    entries = [e for e in manifest if e.study == name]
    # the config its networks were trained with; the defaults where it shipped none of its
    # own (its runs may still be in the zoo under another study's name or none)
    config = (
        study.config_type.from_dict(entries[0].study_config or {})
        if entries
        else load_study_config(study)
    )
    by_run = _shipped_runs(study, config, Path(root), manifest, zoo)
    files = next((e for e in entries if e.kind == FILES), None)
    if files is not None:
        stage(f"zoo: {files.name} ({len(files.files)} files) into {root}", enabled=progress)
        get_study_files(files, root, zoo)
        if not study.runs(config, Path(root)):
            return run_study(study, config, root, progress=progress)
    if not by_run and study.trains_outside_runs is not None and study.trained_files is None:
        raise ZooEntryNotFound(
            f"study {name!r} trains {study.trains_outside_runs}, which are not runs: the zoo "
            f"cannot hold them yet, so it has nothing of this study; run `neurodyn study "
            f"{name} --runs RUNS`"
        )
    if not by_run:
        shipped = sorted({e.study for e in manifest if e.study})
        have = f" (studies in the zoo: {', '.join(shipped)})" if shipped else ""
        raise ZooEntryNotFound(
            f"study {name!r} has no networks in the zoo yet{have}: train them with `neurodyn "
            f"study {name} --runs RUNS`, then add them with `neurodyn zoo add --study {name} "
            "--runs RUNS`"
        )
    run_ids = list(study.runs(config, Path(root)))
    missing = [r for r in run_ids if r not in by_run]
    if missing:
        raise ZooEntryNotFound(
            f"the zoo lacks runs {', '.join(missing)} of study {name!r}: add them with "
            f"`neurodyn zoo add --study {name} --runs RUNS`"
        )
    for i, run_id in enumerate(run_ids, start=1):
        stage(f"zoo: network {i}/{len(run_ids)} {run_id} into {root}", enabled=progress)
        get(by_run[run_id].name, root, zoo=zoo)
    if study.trains_outside_runs is not None and files is None:
        stage(
            f"zoo: study {name} also trains {study.trains_outside_runs}, which are not runs and "
            "not in the zoo: it trains them now (or reuses those in its folder)",
            enabled=progress,
        )
    # measured as shipped: an interim network (shipped before its training ended, without
    # its optimiser state) is analysed at its step, never trained on
    return run_study(study, config, root, progress=progress, train=not study.can_skip_training)
