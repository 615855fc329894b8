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
