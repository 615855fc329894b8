"""The engrams study: its quick run's table against what the model guarantees, and its config
checks."""

import csv

import pytest

from neurodyn.errors import ConfigError
from neurodyn.studies import engrams, load_config


def test_quick_run_densities(quick_study):
    with (quick_study("engrams").folder / "measures.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    by_condition: dict[str, list[dict[str, str]]] = {}
    for row in rows:
        by_condition.setdefault(row["condition"], []).append(row)
    # k-winners-take-all allocates exactly k of N units: 12 of the quick config's 60
    assert {float(r["density"]) for r in by_condition["k-wta 0.2"]} == {0.2}
    # stronger PV inhibition allocates fewer units, in every network
    for weak, strong in zip(by_condition["pv 2"], by_condition["pv 20"], strict=True):
        assert float(strong["density"]) < float(weak["density"])
    # the adult age is the maturation sweep's strongest point: the same measures
    assert [r["density"] for r in by_condition["adult"]] == [
        r["density"] for r in by_condition["pv 20"]
    ]
    assert "Engram sparsity" in (quick_study("engrams").folder / "report.html").read_text()


def test_config_checks_name_the_field(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("manipulations: {shrink: {age: toddler, shift: -1, fraction: 1, pv_scale: 1}}")
    with pytest.raises(ConfigError, match="toddler"):
        load_config(engrams.STUDY, path)
    path.write_text("kwta_density: [1.5]")
    with pytest.raises(ConfigError, match="kwta_density"):
        load_config(engrams.STUDY, path)


def test_shrinking_lowers_the_density_at_encoding():
    config = load_config(engrams.STUDY, quick=True)
    by_name = {c.name: c for c in engrams.conditions(config)}
    juvenile = engrams.measure_condition(config, by_name["juvenile"])
    shrunk = engrams.measure_condition(config, by_name["shrink"])
    silenced = engrams.measure_condition(config, by_name["pv_silenced"])
    adult = engrams.measure_condition(config, by_name["adult"])
    assert (shrunk.density < juvenile.density).all()
    assert (silenced.density > adult.density).all()
