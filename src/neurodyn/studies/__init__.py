"""Reproductions of papers, run by `neurodyn study NAME` (`neurodyn study --list` names them).

Each study is one package `neurodyn.studies.NAME` (config.yaml, quick.yaml, measure.py,
report.py, README.md with the paper's numbers next to ours) exposing `STUDY`, and one line of
the registry below. `run_study` trains its runs (reusing finished ones, resuming interrupted
ones), measures them and writes one report.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from neurodyn.errors import ConfigError, NeurodynError, nearest_names
from neurodyn.studies import continual, memory, plasticity, resonance, simplicity_bias, yang19
from neurodyn.studies._study import Study, StudyOutput, load_config, run_study

__all__ = ["STUDIES", "Study", "StudyOutput", "get", "load_config", "names", "run", "run_study"]

# The registry: one line per study.
STUDIES: dict[str, Any] = {
    simplicity_bias.STUDY.name: simplicity_bias.STUDY,
    yang19.STUDY.name: yang19.STUDY,
    resonance.STUDY.name: resonance.STUDY,
    memory.STUDY.name: memory.STUDY,
    continual.STUDY.name: continual.STUDY,
    plasticity.STUDY.name: plasticity.STUDY,
}


def names() -> list[str]:
    return sorted(STUDIES)


def get(name: str) -> Any:
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
    entry = get(name)
    if isinstance(entry, Study):
        config = load_config(entry, config_path, quick=quick, variant=variant)
        output = run_study(entry, config, root, progress=progress, train=train)
        print(output.summary)
        return output.folder
    # a study not yet moved into its package (transitional; goes when all six are moved)
    module = entry
    if variant is not None:
        raise ConfigError(f"study {name!r} has no variants; pass a config file with --config")
    if quick:
        config = module.quick_config()
    elif config_path is not None:
        import yaml

        path = Path(config_path)
        if not path.is_file():
            raise ConfigError(f"study config {path} does not exist")
        config = module.StudyConfig.from_dict(yaml.safe_load(path.read_text()) or {})
    else:
        config = module.StudyConfig.from_dict({})
    if not train and not getattr(module, "CAN_SKIP_TRAINING", False):
        raise NeurodynError(f"study {name!r} has no --no-train mode (it runs as a whole)")
    extra = {} if train else {"train": False}
    out, measures = module.run_study(config, root, progress=progress, **extra)
    print(module.summary_table(measures))
    return Path(out)
