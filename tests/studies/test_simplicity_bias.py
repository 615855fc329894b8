"""The simplicity-bias study (Turner & Barak 2023)."""

import csv
from pathlib import Path

import numpy as np
import pytest
import yaml

from neurodyn import studies
from neurodyn.cli import main
from neurodyn.errors import ConfigError, NeurodynError
from neurodyn.studies import load_config, simplicity_bias
from neurodyn.studies.simplicity_bias import STUDY, SimplicityBiasConfig, outlier_emergence

PACKAGE = Path(simplicity_bias.__file__).parent


@pytest.fixture(scope="module")
def quick(quick_study):
    return quick_study("simplicity-bias")


def test_the_packaged_config_is_what_the_runner_loads():
    data = yaml.safe_load((PACKAGE / "config.yaml").read_text())
    config = load_config(STUDY)
    assert config == SimplicityBiasConfig.from_dict(data)
    assert len(config.run_configs()) == 5 * 3 and len(config.model["seeds"]) == 20


def test_outlier_emergence_reads_first_crossings():
    steps = np.array([50, 100, 150, 200])
    counts = np.array([[0, 1], [1, 1], [1, 2], [2, 3]])
    assert outlier_emergence(steps, counts) == [[100, 200], [50, 150, 200]]


def test_study_errors(tmp_path):
    with pytest.raises(NeurodynError, match=r"unknown study 'simplicity'.*simplicity-bias"):
        studies.run("simplicity")
    path = tmp_path / "mine.yaml"
    path.write_text("setings: [gated]\n")
    with pytest.raises(ConfigError, match="unknown study field"):
        load_config(STUDY, path)
    path.write_text("settings: [mixed]\n")
    with pytest.raises(ConfigError, match="setting must be one of"):
        load_config(STUDY, path)
    with pytest.raises(NeurodynError, match="has no --no-train mode"):
        studies.run("simplicity-bias", root=tmp_path, quick=True, progress=False, train=False)


def test_the_emergence_variant_is_packaged_and_listed(capsys):
    assert STUDY.variants() == ["emergence"]
    config = load_config(STUDY, variant="emergence")
    assert config.train["keep_weights_every"] == 10 and len(config.model["seeds"]) == 20
    assert config.component_sets == (("fixed", "fixed", "fixed"),)
    with pytest.raises(ConfigError, match="no variant 'slow'; its variants: emergence"):
        load_config(STUDY, variant="slow")
    with pytest.raises(ConfigError, match="choose one of"):
        load_config(STUDY, quick=True, variant="emergence")
    assert main(["study", "--list"]) == 0
    assert "variants (--variant): emergence" in capsys.readouterr().out


def test_quick_study_measures_every_network(quick):
    assert "| fixed+fixed | gated | 2 |" in quick.stdout
    with (quick.folder / "measures.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [(r["setting"], r["seed"]) for r in rows] == [
        (setting, seed) for setting in ("gated", "orthogonal", "parallel") for seed in ("1", "2")
    ]
    for row in rows:
        # emergence lists the steps at which outlier 1, 2, ... first appeared: one per outlier
        # at most, in order, at the steps weights were kept (every 20)
        steps = [int(s) for s in row["emergence"].split()]
        assert steps == sorted(steps) and all(s % 20 == 0 for s in steps)
        assert 0.0 <= float(row["performance"]) <= 1.0
    report = (quick.folder / "report.html").read_text()
    assert report.count("data:image/png;base64") == 6  # five measures + outliers over training


def test_the_packaged_measures_have_the_study_columns(quick):
    header = (quick.folder / "measures.csv").read_text().splitlines()[0]
    assert header == ",".join(STUDY.columns)
    for name in ("measures.csv", "measures_emergence.csv"):
        assert (PACKAGE / name).read_text().splitlines()[0] == header


def test_a_second_call_reuses_the_finished_runs(quick):
    model = quick.root / "sb-fixed-fixed-gated" / "model.safetensors"
    before = model.stat().st_mtime_ns
    measures = (quick.folder / "measures.csv").read_text()
    args = ["study", "simplicity-bias", "--quick", "--runs", str(quick.root), "--quiet"]
    assert main(args) == 0
    assert model.stat().st_mtime_ns == before
    assert (quick.folder / "measures.csv").read_text() == measures
