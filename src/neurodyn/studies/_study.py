"""One protocol for every reproduced paper, and the one runner that carries it out.

A study is a package `neurodyn.studies.NAME` holding `config.yaml` (its defaults, and the only
place they are written), `quick.yaml` (the fields a tiny check run changes), `README.md` (the
paper's numbers next to ours), any named variants (`VARIANT.yaml`: fields over the defaults,
run by `neurodyn study NAME --variant VARIANT`), and a module-level `STUDY = Study(...)` naming
its pieces:

    runs(config, root)                    -> {run id: run config data} to train or reuse
    measure(config, runs, out, progress)  -> the study's results (any object)
    rows(results)                         -> the rows of measures.csv
    summary(results)                      -> a markdown table, printed and put atop the report
    report(results, config, runs, out)    -> the report's HTML body under the summary
    history_read(config, run)             -> the steps of a run's weight history it reads
                                             (optional; by default all of them)

`run_study` does the rest the same way for every study: train (or reuse, or resume) each run,
measure, write `ROOT/study-NAME/` with `measures.csv`, any extra tables, `config.yaml` and
`report.html`.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Generic, Protocol, Self, TypeVar

import yaml

from neurodyn._io import atomic_write_csv, atomic_write_text
from neurodyn._progress import stage
from neurodyn._yaml import read_yaml
from neurodyn.errors import ConfigError, NeurodynError
from neurodyn.report.blocks import markdown_html, page
from neurodyn.runs import Run, parse_config, train_or_reuse

__all__ = ["Study", "StudyConfigType", "StudyOutput", "load_config", "run_study", "with_defaults"]


class StudyConfigType(Protocol):
    """What a study's config class provides: built from the merged YAML fields (checking every
    one, raising ConfigError), and written back as plain data for the study's config.yaml."""

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self: ...

    def to_dict(self) -> dict[str, Any]: ...


C = TypeVar("C", bound=StudyConfigType)
R = TypeVar("R")


def _no_runs(config: Any, root: Path) -> dict[str, dict[str, Any]]:
    return {}


def _no_tables(results: Any) -> dict[str, list[dict[str, Any]]]:
    return {}


def _all_history(config: Any, run: Run) -> tuple[int, ...] | None:
    return None


@dataclass(frozen=True)
class Study(Generic[C, R]):
    """A reproduced paper: its name on the command line, its config class and the functions
    that measure and report it. See the module docstring for each function's part."""

    name: str
    title: str
    package: str  # the package holding config.yaml, quick.yaml and README.md
    config_type: type[C]
    measure: Callable[[C, Mapping[str, Run], Path, bool], R]
    rows: Callable[[R], list[dict[str, Any]]]
    summary: Callable[[R], str]
    report: Callable[[R, C, Mapping[str, Run], Path], str]
    runs: Callable[[C, Path], dict[str, dict[str, Any]]] = _no_runs
    # the columns every measures.csv of the study has (others, e.g. one per task, may follow
    # from the config): what a reader of the table can count on
    columns: tuple[str, ...] = ()
    # further CSV tables beside measures.csv, by file name (e.g. means by condition)
    tables: Callable[[R], dict[str, list[dict[str, Any]]]] = field(default=_no_tables)
    # `neurodyn study NAME --no-train` analyses the runs as they are on disk
    can_skip_training: bool = False
    # fields holding a mapping of settings that a config may give in part: its keys go over
    # the default's one by one (any other mapping field is replaced as a whole)
    sections: tuple[str, ...] = ()
    # the steps of a run's weight history (`train.keep_weights_every`) its measurement reads;
    # None: all of them. The zoo ships only these with the run.
    history_read: Callable[[C, Run], tuple[int, ...] | None] = _all_history
    # what it trains that is not a run (the zoo ships runs only), in a few words, e.g.
    # "30 stochastic circuits": its `--pretrained` still trains these
    trains_outside_runs: str | None = None
    # where it keeps those, a pattern under its folder ROOT/study-NAME/ (e.g. "networks/*.npz"),
    # reused when their recorded settings match: the zoo can ship them (`zoo add --study`)
    trained_files: str | None = None

    def defaults(self) -> dict[str, Any]:
        """The fields of the study's packaged config.yaml."""
        return _read_yaml(resources.files(self.package) / "config.yaml")

    def quick_fields(self) -> dict[str, Any]:
        """The fields quick.yaml changes for a tiny run that checks the whole loop."""
        return _read_yaml(resources.files(self.package) / "quick.yaml")

    def variants(self) -> list[str]:
        """Names of the package's variant configs: its YAML files other than config and quick."""
        return sorted(
            f.name.removesuffix(".yaml")
            for f in resources.files(self.package).iterdir()
            if f.name.endswith(".yaml") and f.name not in ("config.yaml", "quick.yaml")
        )

    def variant_fields(self, variant: str) -> dict[str, Any]:
        """The fields variant `variant` sets over the defaults."""
        if variant not in self.variants():
            known = ", ".join(self.variants())
            raise ConfigError(
                f"study {self.name!r} has no variant {variant!r}; its variants: {known}"
                if known
                else f"study {self.name!r} has no variants (asked for {variant!r}): drop --variant"
            )
        return _read_yaml(resources.files(self.package) / f"{variant}.yaml")

    def readme(self) -> str:
        return (resources.files(self.package) / "README.md").read_text(encoding="utf-8")


def check_fields(study: str, fields: Iterable[str], data: Mapping[str, Any]) -> None:
    """A one-line `ConfigError` when `data` lacks one of a study config's `fields` or has
    one it does not know (a study's `Config.from_dict` takes every field)."""
    names = set(fields)
    missing, unknown = names - set(data), set(data) - names
    if missing or unknown:
        raise ConfigError(
            f"study {study}: missing field(s) {sorted(missing)}, unknown {sorted(unknown)}; "
            "load_config(STUDY, path) fills the missing ones from the study's config.yaml"
        )


def typed_section(
    study: str, data: Mapping[str, Any], name: str, schema: Mapping[str, Callable[[Any], Any]]
) -> dict[str, Any]:
    """The config section `data[name]` with exactly the fields of `schema`, each converted by
    its type (counts int, times float); a one-line `ConfigError` naming what is missing or extra.
    """
    given = dict(data[name])
    if set(given) != set(schema):
        raise ConfigError(
            f"study {study}: {name} needs exactly {', '.join(schema)}; got {', '.join(given)}"
        )
    return {k: schema[k](given[k]) for k in schema}


def _read_yaml(path: Any) -> dict[str, Any]:
    data = read_yaml(path) or {}
    if not isinstance(data, dict):
        raise ConfigError(
            f"study config {path} must be a mapping of study fields, not {type(data).__name__}"
        )
    return data


def with_defaults(
    data: Mapping[str, Any], defaults: Mapping[str, Any], *, sections: tuple[str, ...] = ()
) -> dict[str, Any]:
    """`data` over `defaults`, field by field, and key by key inside the `sections` fields. A
    field (or a section's key) the study does not have is named, with the ones it has."""
    unknown = set(data) - set(defaults)
    if unknown:
        raise ConfigError(
            f"unknown study field(s) {sorted(unknown)}; fields: {', '.join(defaults)}"
        )
    merged = {**dict(defaults), **data}
    for name in sections:
        given = data.get(name, {})
        if not isinstance(given, Mapping):
            raise ConfigError(f"study field {name!r} must be a mapping of its settings")
        unknown = set(given) - set(defaults[name])
        if unknown:
            raise ConfigError(
                f"unknown {name} field(s) {sorted(unknown)}; fields: {', '.join(defaults[name])}"
            )
        merged[name] = {**defaults[name], **given}
    return merged


def load_config(
    study: Study[C, R],
    path: str | Path | None = None,
    *,
    quick: bool = False,
    variant: str | None = None,
) -> C:
    """The study's config: its packaged defaults, with `quick.yaml` over them when `quick`,
    the packaged variant `variant` over them, or the fields of the user's YAML file at `path`
    over them."""
    defaults = study.defaults()
    if variant is not None:
        if quick or path is not None:
            raise ConfigError("choose one of --variant, --quick and --config")
        data = study.variant_fields(variant)
        return study.config_type.from_dict(with_defaults(data, defaults, sections=study.sections))
    if quick:
        data = study.quick_fields()
        return study.config_type.from_dict(with_defaults(data, defaults, sections=study.sections))
    if path is None:
        return study.config_type.from_dict(defaults)
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"study config {path} does not exist")
    data = _read_yaml(path)
    return study.config_type.from_dict(with_defaults(data, defaults, sections=study.sections))


@dataclass(frozen=True)
class StudyOutput(Generic[R]):
    """What a study run left: its folder, its results, measures.csv's rows and the summary."""

    folder: Path
    results: R
    rows: list[dict[str, Any]]
    summary: str


def run_study(
    study: Study[C, R],
    config: C,
    root: str | Path = "runs",
    *,
    progress: bool = True,
    train: bool = True,
) -> StudyOutput[R]:
    """Train (or reuse, or resume) the study's runs, measure them and write
    `ROOT/study-NAME/` with `measures.csv`, the study's other tables, `config.yaml` and
    `report.html`.

    With `train=False` existing runs are analysed as they are (an unfinished one at its last
    checkpoint); a study whose measurement is its training refuses it.
    """
    if not train and not study.can_skip_training:
        raise NeurodynError(f"study {study.name!r} has no --no-train mode (it runs as a whole)")
    root = Path(root)
    run_configs = study.runs(config, root)
    runs: dict[str, Run] = {}
    for i, (run_id, data) in enumerate(run_configs.items(), start=1):
        stage(f"study {study.name}: run {i}/{len(run_configs)} {run_id}", enabled=progress)
        runs[run_id] = train_or_reuse(
            parse_config(data), root, run_id, progress=progress, train=train
        )
    out = root / f"study-{study.name}"
    out.mkdir(parents=True, exist_ok=True)
    stage(f"study {study.name}: measuring", enabled=progress)
    results = study.measure(config, runs, out, progress)
    rows = study.rows(results)
    atomic_write_csv(out / "measures.csv", rows)
    for name, table in study.tables(results).items():
        atomic_write_csv(out / name, table)
    atomic_write_text(out / "config.yaml", yaml.safe_dump(config.to_dict(), sort_keys=False))
    summary = study.summary(results)
    stage(f"study {study.name}: writing the report", enabled=progress)
    body = "\n".join(
        [
            f"<h1>{html.escape(study.title)}</h1>",
            "<h2>Summary</h2>",
            markdown_html(summary),
            study.report(results, config, runs, out),
            "<h2>Config</h2>",
            f"<pre>{html.escape(yaml.safe_dump(config.to_dict(), sort_keys=False))}</pre>",
        ]
    )
    atomic_write_text(out / "report.html", page(study.title, body))
    return StudyOutput(folder=out, results=results, rows=rows, summary=summary)
