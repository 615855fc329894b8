"""`neurodyn study NAME --pretrained`: a study's analyses and report on the zoo's networks,
without training them."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neurodyn._progress import stage
from neurodyn.errors import ZooEntryNotFound
from neurodyn.studies import STUDIES, StudyOutput, run_study
from neurodyn.studies import get as get_study
from neurodyn.studies import load_config as load_study_config
from neurodyn.zoo._manifest import read_manifest
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
        study -> `shipped` (its networks are in the zoo), `not shipped` (it trains runs, none
        shipped yet), `no runs` (it trains as it measures: nothing to ship) or `tied to its
        folder` (its run configs name their runs folder, e.g. a fine-tuning's starting run,
        so its runs cannot move into another one).
    """
    shipped = {e.study for e in read_manifest(zoo) if e.study}
    out = {}
    for name, study in sorted(STUDIES.items()):
        if name in shipped:
            out[name] = "shipped"
        else:
            config = load_study_config(study)
            if not study.runs(config, Path("runs")):
                out[name] = "no runs"
            elif study.runs(config, Path("a")) != study.runs(config, Path("b")):
                out[name] = "tied to its folder"
            else:
                out[name] = "not shipped"
    return out


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
    entries = [e for e in read_manifest(zoo) if e.study == name]
    if not entries:
        shipped = sorted({e.study for e in read_manifest(zoo) if e.study})
        have = f" (studies in the zoo: {', '.join(shipped)})" if shipped else ""
        raise ZooEntryNotFound(
            f"study {name!r} has no networks in the zoo yet{have}: train them with `neurodyn "
            f"study {name} --runs RUNS`, then add them with `neurodyn zoo add --study {name} "
            "--runs RUNS`"
        )
    config = study.config_type.from_dict(entries[0].study_config or {})
    by_run = {e.run_id: e for e in entries}
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
    # measured as shipped: an interim network (shipped before its training ended, without
    # its optimiser state) is analysed at its step, never trained on
    return run_study(study, config, root, progress=progress, train=not study.can_skip_training)
