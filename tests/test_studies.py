import csv
from pathlib import Path

import numpy as np
import pytest
import yaml

from neurodyn import studies
from neurodyn.cli import main
from neurodyn.errors import ConfigError, NeurodynError
from neurodyn.studies.simplicity_bias import DEFAULT_CONFIG, StudyConfig, outlier_emergence

ROOT = Path(__file__).parents[1]


def test_the_study_file_is_the_default_config():
    data = yaml.safe_load((ROOT / "studies" / "simplicity_bias.yaml").read_text())
    assert StudyConfig.from_dict(data) == StudyConfig.from_dict(DEFAULT_CONFIG)


def test_outlier_emergence_reads_first_crossings():
    steps = np.array([50, 100, 150, 200])
    counts = np.array([[0, 1], [1, 1], [1, 2], [2, 3]])
    assert outlier_emergence(steps, counts) == [[100, 200], [50, 150, 200]]


def test_study_errors():
    with pytest.raises(NeurodynError, match=r"unknown study 'simplicity'.*simplicity-bias"):
        studies.run("simplicity")
    with pytest.raises(ConfigError, match="unknown study field"):
        StudyConfig.from_dict({"setings": ["gated"]})
    with pytest.raises(ConfigError, match="setting must be one of"):
        StudyConfig.from_dict({"settings": ["mixed"]})


def test_quick_study_runs_end_to_end_and_reuses_finished_runs(tmp_path, capsys):
    assert main(["study", "simplicity-bias", "--quick", "--runs", str(tmp_path), "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "| fixed+fixed | gated | 2 |" in out
    folder = tmp_path / "study-simplicity-bias"
    rows = (folder / "measures.csv").read_text().splitlines()
    assert rows[0].startswith("components,setting,seed,performance,outliers,separability")
    assert len(rows) == 1 + 3 * 2  # three settings x two seeds
    report = (folder / "report.html").read_text()
    assert report.count("data:image/png;base64") == 6  # five measures + outliers over training
    # a second call trains nothing: the runs are finished and reused
    before = (tmp_path / "sb-fixed-fixed-gated" / "model.safetensors").stat().st_mtime_ns
    assert main(["study", "simplicity-bias", "--quick", "--runs", str(tmp_path), "--quiet"]) == 0
    assert (tmp_path / "sb-fixed-fixed-gated" / "model.safetensors").stat().st_mtime_ns == before


def test_the_emergence_config_is_valid():
    data = yaml.safe_load((ROOT / "studies" / "simplicity_bias_emergence.yaml").read_text())
    config = StudyConfig.from_dict(data)
    assert config.train["keep_weights_every"] == 10 and len(config.model["seeds"]) == 20


def test_yang19_study_file_config_and_default_are_one_run():
    from neurodyn.runs import parse_config
    from neurodyn.studies import yang19

    data = yaml.safe_load((ROOT / "studies" / "yang19.yaml").read_text())
    config = yang19.StudyConfig.from_dict(data)
    run = yaml.safe_load((ROOT / "configs" / "yang19.yaml").read_text())
    assert parse_config(config.run) == parse_config(run) == parse_config(yang19.DEFAULT_RUN)
    with pytest.raises(ConfigError, match="takes `run` and `analysis_trials`"):
        yang19.StudyConfig.from_dict({"trials": 3})


def test_yang19_quick_study_trains_analyses_and_reports(tmp_path, capsys):
    args = ["study", "yang19", "--quick", "--runs", str(tmp_path), "--quiet"]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "| network | min performance |" in out and out.count("\n| ") == 2  # two networks
    assert out.count("/1 (") == 2  # the one analogy among these four tasks, per network
    folder = tmp_path / "study-yang19"
    with (folder / "measures.csv").open() as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 and "perf_fdgo" in rows[0] and "analogy_delayanti" in rows[0]
    for row in rows:
        assert -1 <= float(row["silhouette"]) <= 1
        rank = int(row["analogy_delayanti_rank"])
        assert (rank == 1) == (row["analogy_delayanti"] == "delayanti") and 1 <= rank <= 4
        assert float(row["analogy_delayanti_relative_error"]) >= 0
    report = (folder / "report.html").read_text()
    # curves, then per network: variance matrix, silhouette, lesions and one task-vector
    # figure for the one analogy among these four tasks (none of the paper's fractional-
    # variance pairs is among them)
    assert report.count("data:image/png") == 1 + 2 * 4
    # analysing without training needs the run; an unfinished run is analysed as it is
    with pytest.raises(NeurodynError, match="no run"):
        studies.run("yang19", root=tmp_path / "none", quick=True, progress=False, train=False)
    with pytest.raises(NeurodynError, match="has no --no-train mode"):
        studies.run("simplicity-bias", root=tmp_path, quick=True, progress=False, train=False)
