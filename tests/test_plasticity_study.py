"""`neurodyn study plasticity` (Bredenberg et al. 2020): config, a quick end-to-end run, reuse
of trained networks and refusal to overwrite one trained otherwise."""

from pathlib import Path

import numpy as np
import pytest
import yaml

from neurodyn.cli import main
from neurodyn.errors import ConfigError
from neurodyn.studies import plasticity
from neurodyn.studies.plasticity import DEFAULT_CONFIG, StudyConfig, TrainedNetwork

ROOT = Path(__file__).parents[1]


def test_the_study_file_is_the_default_config():
    data = yaml.safe_load((ROOT / "studies" / "plasticity.yaml").read_text())
    assert StudyConfig.from_dict(data) == StudyConfig.from_dict(DEFAULT_CONFIG)
    labels = [c.label for c in StudyConfig.from_dict({}).conditions()]
    # 3 seeds x (2 tasks x (3 noise levels + BPTT) + 2 priors)
    assert len(labels) == len(set(labels)) == 30


def test_bad_configs_are_named():
    with pytest.raises(ConfigError, match="unknown study field"):
        StudyConfig.from_dict({"sigmas": [0.2]})
    with pytest.raises(ConfigError, match="unknown local field"):
        StudyConfig.from_dict({"local": {"rate": 2.0}})
    with pytest.raises(ConfigError, match="must be one of the noise_levels"):
        StudyConfig.from_dict({"sigma": 0.3})
    with pytest.raises(ConfigError, match="prior 'wide' needs `task`"):
        StudyConfig.from_dict({"priors": {"wide": {"kappa": 0.1}}})
    with pytest.raises(ConfigError, match="kappa >= 0"):
        StudyConfig.from_dict({"priors": {"wide": {"task": "estimation", "kappa": -1.0}}})


def test_quick_study_learns_reports_and_reuses_its_networks(tmp_path, capsys):
    assert main(["study", "plasticity", "--quick", "--runs", str(tmp_path), "--quiet"]) == 0
    assert "| estimation-local-sigma0.2 |" in capsys.readouterr().out  # means over seeds
    folder = tmp_path / "study-plasticity"
    rows = (folder / "measures.csv").read_text().splitlines()
    assert len(rows) == 1 + 2 * 8  # 2 seeds x (2 tasks x (2 noise levels + BPTT) + 2 priors)
    by_condition = (folder / "measures_by_condition.csv").read_text().splitlines()
    assert len(by_condition) == 1 + 8
    header = rows[0].split(",")
    for row in rows[1:]:
        values = dict(zip(header, row.split(","), strict=True))
        # even the tiny version learns: the test error falls for every network of seed 0 and
        # every estimation network (seed 1's tiny classifiers start near their end by chance)
        if values["seed"] == "0" or values["task"] == "estimation":
            assert float(values["test_error_after"]) < float(values["test_error_before"])
        assert 0 <= float(values["noise_fraction_after"]) <= 1
    report = (folder / "report.html").read_text()
    assert report.count("data:image/png;base64") == 8
    saved = folder / "networks" / "estimation-local-sigma0.2-seed1.npz"
    network = TrainedNetwork.load(saved)
    assert network.recurrent.shape == (8, 8) and network.readout.shape == (2, 8)
    assert np.all(np.diff(network.curve_time) > 0)
    # a second run trains nothing
    stamp = saved.stat().st_mtime_ns
    assert main(["study", "plasticity", "--quick", "--runs", str(tmp_path), "--quiet"]) == 0
    assert saved.stat().st_mtime_ns == stamp
    # a network trained with other settings is refused, not overwritten
    config = plasticity.quick_config().to_dict()
    config["local"]["rate_scale"] = 1.0
    other = tmp_path / "other.yaml"
    other.write_text(yaml.safe_dump(config))
    args = ["study", "plasticity", "--config", str(other), "--runs", str(tmp_path), "--quiet"]
    assert main(args) == 2  # the CLI's exit status for a user error
    assert "trained with other settings" in capsys.readouterr().err
    assert saved.stat().st_mtime_ns == stamp


def test_time_to_fraction_reads_a_planted_curve():
    # an exponential approach 1 - exp(-t / 100): 90% of the gain at t = 100 ln 10 = 230 (the
    # trailing mean over 40 points delays it by about 20 and starts it at 0.18, not 0)
    time = np.arange(1.0, 2001.0)
    slow = plasticity.time_to_fraction(time, 1 - np.exp(-time / 100))
    assert slow == pytest.approx(230, abs=60)
    assert plasticity.time_to_fraction(time, 1 - np.exp(-time / 10)) < slow / 3


def test_condition_means_average_each_measure_over_seeds():
    rows = [
        {"network": "a-seed0", "condition": "a", "seed": 0, "error": 1.0, "d": ""},
        {"network": "a-seed1", "condition": "a", "seed": 1, "error": 3.0, "d": ""},
        {"network": "b-seed0", "condition": "b", "seed": 0, "error": 5.0, "d": 2.0},
    ]
    means = plasticity.condition_means(rows)
    assert [m["condition"] for m in means] == ["a", "b"] and means[0]["seeds"] == 2
    assert means[0]["error_mean"] == 2.0 and means[0]["error_sd"] == 1.0
    assert "d_mean" not in means[0] and means[1]["d_mean"] == 2.0 and "seed_mean" not in means[1]
