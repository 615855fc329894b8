"""Every HTML page escapes what it shows from a run folder, a config or the command line.

A received run folder is untrusted: its run.json, metrics.csv, analysis files and folder name
can hold markup. Each report kind is rendered with a hostile value in every field it shows,
then parsed: no <script> element and no on* event attribute may appear, and the hostile text
must be shown (escaped), so the test knows the field reached the page.
"""

from __future__ import annotations

import csv
import json
import shutil
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Any

import numpy as np
import pytest
import yaml

from neurodyn.analysis.similarity import SimilarityMatrix
from neurodyn.errors import CorruptFile
from neurodyn.report import write_report
from neurodyn.report.blocks import cell_html
from neurodyn.report.compare import write_comparison_report
from neurodyn.report.sweep import write_sweep_report
from neurodyn.runs import Run, parse_config, train_run
from neurodyn.runs.analyze import analyze_run
from neurodyn.studies._study import Study, run_study

HOSTILE = "\"'><script>alert(1)</script><img src=x onerror=alert(2)>"
# a folder name cannot hold '/', so the run id carries markup without a closing tag
HOSTILE_ID = '"><img src=x onerror=alert(3)>'


class _Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.scripts = 0
        self.handlers: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.scripts += tag == "script"
        self.handlers += [name for name, _ in attrs if name.startswith("on")]

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def assert_inert(page: str, *shown: str) -> None:
    """No script element or event handler in `page`, and each of `shown` is in its text."""
    tags = _Tags()
    tags.feed(page)
    assert tags.scripts == 0 and tags.handlers == []
    text = "".join(tags.text)
    for value in shown:
        assert value in text


@pytest.fixture(scope="module")
def trained(tmp_path_factory) -> Run:
    root = tmp_path_factory.mktemp("runs")
    config = parse_config(
        {
            "task": "pdm",
            "model": {"n_hidden": 16, "seeds": [1, 2]},
            "train": {"steps": 2, "batch_size": 4, "eval_batch_size": 8, "log_every": 1},
        }
    )
    run = train_run(config, root, run_id="r", progress=False)
    analyze_run(run, batch_size=32)
    return run


def test_a_run_report_escapes_run_json_metrics_config_and_the_folder_name(trained, tmp_path):
    path = tmp_path / HOSTILE_ID
    shutil.copytree(trained.path, path)
    info = json.loads((path / "run.json").read_text())
    (path / "run.json").write_text(json.dumps({**info, "steps_done": HOSTILE}))
    with pytest.raises(CorruptFile, match="integer steps_done"):  # refused before any page
        write_report(Run.open(path))
    info.update(
        status=HOSTILE,
        created=HOSTILE,
        performance_by_member={HOSTILE: [HOSTILE, 0.5]},
        versions={HOSTILE: HOSTILE},
    )
    (path / "run.json").write_text(json.dumps(info))
    with (path / "metrics.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    with (path / "metrics.csv").open("w", newline="") as fh:
        writer = csv.DictWriter(fh, [*rows[0], f"perf.{HOSTILE}"])
        writer.writeheader()
        writer.writerows({**r, f"perf.{HOSTILE}": "0.5"} for r in rows)
    config = yaml.safe_load((path / "config.yaml").read_text())
    config["model"]["init_from"] = HOSTILE
    (path / "config.yaml").write_text(yaml.safe_dump(config))
    assert HOSTILE in Run.open(path).config.model.init_from
    page = write_report(Run.open(path)).read_text()
    assert_inert(page, HOSTILE, HOSTILE_ID)


def test_a_sweep_report_escapes_the_manifest_and_the_metric_names(trained, tmp_path):
    shutil.copytree(trained.path, tmp_path / "s-1")
    manifest = {"name": "s", "fields": [HOSTILE], "runs": {"s-1": {HOSTILE: HOSTILE}}}
    (tmp_path / "sweep-s.json").write_text(json.dumps(manifest))
    page = write_sweep_report(tmp_path, "s").read_text()
    assert_inert(page, HOSTILE)


def test_a_comparison_report_escapes_labels_metric_and_kind(tmp_path):
    result = SimilarityMatrix(
        values=np.array([[1.0, 0.5, 0.2], [0.5, 1.0, 0.3], [0.2, 0.3, 1.0]]),
        metric=HOSTILE,
        kind=HOSTILE,
        labels=[f"{HOSTILE}/0", f"{HOSTILE}/1", "b/0"],
    )
    page = write_comparison_report(tmp_path / "report.html", result).read_text()
    assert_inert(page, HOSTILE)


@dataclass(frozen=True)
class _HostileConfig:
    text: str = HOSTILE

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> _HostileConfig:
        return cls(**data)

    def to_dict(self) -> dict[str, Any]:
        return {"text": self.text}


def test_a_study_page_escapes_its_summary_config_and_title(tmp_path):
    study: Study[_HostileConfig, str] = Study(
        name="hostile",
        title=HOSTILE,
        package="neurodyn.studies.yang19",
        config_type=_HostileConfig,
        measure=lambda config, runs, out, progress: config.text,
        rows=lambda results: [{"value": results}],
        summary=lambda results: results,
        report=lambda results, config, runs, out: f"<p>{cell_html(results)}</p>",
    )
    output = run_study(study, _HostileConfig(), tmp_path, progress=False)
    assert_inert((output.folder / "report.html").read_text(), HOSTILE)
