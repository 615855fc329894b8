"""Reproductions of papers, run by `neurodyn study NAME` (`neurodyn study --list` names them).

Each study is one package `neurodyn.studies.NAME` (config.yaml, quick.yaml, measure.py,
report.py, README.md with the paper's numbers next to ours) exposing `STUDY`, and one line of
the registry below. `run_study` trains its runs (reusing finished ones, resuming interrupted
ones), measures them and writes one report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neurodyn.errors import NeurodynError, nearest_names
from neurodyn.studies import (
    abstraction,
    continual,
    criticality,
    engrams,
    escape,
    grid_fragmentation,
    icl_phases,
    memory,
    memory_kernels,
    motifs,
    plasticity,
    priors,
    recovery,
    resonance,
    simplicity_bias,
    yang19,
)
from neurodyn.studies._study import Study, StudyOutput, load_config, run_study

__all__ = ["STUDIES", "Study", "StudyOutput", "get", "load_config", "names", "run", "run_study"]

# The registry: one line per study.
STUDIES: dict[str, Study[Any, Any]] = {
    simplicity_bias.STUDY.name: simplicity_bias.STUDY,
    yang19.STUDY.name: yang19.STUDY,
    resonance.STUDY.name: resonance.STUDY,
    memory.STUDY.name: memory.STUDY,
    continual.STUDY.name: continual.STUDY,
    plasticity.STUDY.name: plasticity.STUDY,
    abstraction.STUDY.name: abstraction.STUDY,
    escape.STUDY.name: escape.STUDY,
    motifs.STUDY.name: motifs.STUDY,
    engrams.STUDY.name: engrams.STUDY,
    grid_fragmentation.STUDY.name: grid_fragmentation.STUDY,
    priors.STUDY.name: priors.STUDY,
    icl_phases.STUDY.name: icl_phases.STUDY,
    memory_kernels.STUDY.name: memory_kernels.STUDY,
    recovery.STUDY.name: recovery.STUDY,
    criticality.STUDY.name: criticality.STUDY,
}


def names() -> list[str]:
    return sorted(STUDIES)


def get(name: str) -> Study[Any, Any]:
    """The study called `name`; an unknown name is refused with the nearest ones."""
    if name not in STUDIES:
        hint = nearest_names(name, STUDIES)
        did = f" Did you mean {', '.join(repr(h) for h in hint)}?" if hint else ""
        raise NeurodynError(f"unknown study {name!r}.{did} Studies: {', '.join(names())}")
    return STUDIES[name]


def run(
    name: str,
    *,
    root: str | Path = "runs",
    config_path: str | Path | None = None,
    quick: bool = False,
    progress: bool = True,
    train: bool = True,
    variant: str | None = None,
) -> Path:
    """Run study `name` (on its defaults, its quick config, a named variant of the package or
    the user's YAML file at `config_path`) and print its summary; returns the folder with its
    measures and report."""
    study = get(name)
    config = load_config(study, config_path, quick=quick, variant=variant)
    output = run_study(study, config, root, progress=progress, train=train)
    print(output.summary)
    return output.folder
