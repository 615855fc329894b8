"""Every registered study runs its quick config end to end and leaves its table and report."""

import csv
import html

import pytest

from neurodyn.studies import STUDIES


@pytest.mark.parametrize("name", sorted(STUDIES))
def test_every_study_runs_its_quick_config_end_to_end(name, quick_study):
    study = STUDIES[name]
    quick = quick_study(name)
    with (quick.folder / "measures.csv").open() as fh:
        reader = csv.DictReader(fh)
        rows = list(reader)
        header = reader.fieldnames or []
    assert rows, f"{name}: measures.csv has no rows"
    assert study.columns, f"{name}: declare the columns measures.csv always has (Study.columns)"
    assert set(study.columns) <= set(header)
    for row in rows:
        assert all(row[c] != "" for c in study.columns), row
    report = (quick.folder / "report.html").read_text()
    assert f"<h1>{html.escape(study.title)}</h1>" in report
    # the summary the runner printed is the one atop the report, its table rows as table rows
    table = [line for line in quick.stdout.splitlines() if line.startswith("| ")]
    assert table
    for line in table:
        cells = [html.escape(c.strip()) for c in line.strip()[1:-1].split("|")]
        tag = "th" if line == table[0] else "td"
        assert "<tr>" + "".join(f"<{tag}>{c}</{tag}>" for c in cells) + "</tr>" in report, line
    assert "data:image/png;base64," in report
