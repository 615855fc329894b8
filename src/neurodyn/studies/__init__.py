"""Reproductions of papers, run by `neurodyn study NAME`.

Each study trains its runs (reusing finished ones, resuming interrupted ones), measures them
and writes one report. Its config lives in `studies/NAME.yaml` and its README, with the
paper's numbers next to ours, in `studies/NAME/README.md`.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from neurodyn.errors import ConfigError, NeurodynError, nearest_names
from neurodyn.studies import continual, memory, plasticity, resonance, simplicity_bias, yang19

STUDIES = {
    simplicity_bias.NAME: simplicity_bias,
    yang19.NAME: yang19,
    resonance.NAME: resonance,
    memory.NAME: memory,
    continual.NAME: continual,
    plasticity.NAME: plasticity,
}


def names() -> list[str]:
    return sorted(STUDIES)


def run(
    name: str,
    *,
    root: str | Path = "runs",
    config_path: str | Path | None = None,
    quick: bool = False,
    progress: bool = True,
    train: bool = True,
) -> Path:
    """Run study `name`; returns the folder with its measures and report."""
    if name not in STUDIES:
        hint = nearest_names(name, STUDIES)
        did = f" Did you mean {', '.join(repr(h) for h in hint)}?" if hint else ""
        raise NeurodynError(f"unknown study {name!r}.{did} Studies: {', '.join(names())}")
    module = STUDIES[name]
    if quick:
        config = module.quick_config()
    elif config_path is not None:
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
    return out
