"""`neurodyn study plasticity` (Bredenberg et al. 2020): its config, its measures on planted
curves, and one quick run read for real answers, its networks reused and never overwritten."""

import csv
from importlib import resources

import numpy as np
import pytest
import yaml

from neurodyn.cli import main
from neurodyn.errors import ConfigError
from neurodyn.studies import load_config, plasticity
from neurodyn.studies._study import with_defaults
from neurodyn.studies.plasticity import STUDY, PlasticityConfig, TrainedNetwork


@pytest.fixture
def quick(quick_study):
    """`neurodyn study plasticity --quick`, run once per session (the registry test reads it too)."""
    return quick_study("plasticity")


def config_with(**fields):
    """The study's config with `fields` over its packaged defaults, as the runner merges them."""
    return PlasticityConfig.from_dict(
        with_defaults(fields, STUDY.defaults(), sections=STUDY.sections)
    )


def test_the_packaged_config_is_what_the_runner_loads():
    data = yaml.safe_load((resources.files(STUDY.package) / "config.yaml").read_text())
    config = load_config(STUDY)
    assert config == PlasticityConfig.from_dict(data) and config.to_dict() == data
    labels = [c.label for c in config.conditions()]
    # 3 seeds x (2 tasks x (3 noise levels + BPTT) + 2 priors)
    assert len(labels) == len(set(labels)) == 30
    # quick.yaml's partial bptt section keeps the default learning rate
    assert load_config(STUDY, quick=True).bptt["lr"] == data["bptt"]["lr"] == 0.01


def test_bad_configs_are_named(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("sigmas: [0.2]\n")
    with pytest.raises(ConfigError, match="unknown study field"):
        load_config(STUDY, path)
    with pytest.raises(ConfigError, match="unknown local field"):
        config_with(local={"rate": 2.0})
    with pytest.raises(ConfigError, match="must be one of the noise_levels"):
        config_with(sigma=0.3)
    with pytest.raises(ConfigError, match="prior 'wide' needs `task`"):
        config_with(priors={"wide": {"kappa": 0.1}})
    with pytest.raises(ConfigError, match="kappa >= 0"):
        config_with(priors={"wide": {"task": "estimation", "kappa": -1.0}})
    with pytest.raises(ConfigError, match="probe needs exactly n_chains, hold_time, transient"):
        PlasticityConfig.from_dict({**STUDY.defaults(), "probe": {"n_chains": 4}})


def test_the_quick_study_learns_and_measures_every_network(quick):
    root, printed = quick.root, quick.stdout
    assert "| estimation-local-sigma0.2 |" in printed  # means over seeds
    folder = root / "study-plasticity"
    with (folder / "measures.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 2 * 8  # 2 seeds x (2 tasks x (2 noise levels + BPTT) + 2 priors)
    with (folder / "measures_by_condition.csv").open() as fh:
        means = list(csv.DictReader(fh))
    assert len(means) == 8 and all(m["seeds"] == "2" for m in means)
    for row in rows:
        # even the tiny version learns: the test error falls for every network of seed 0 and
        # every estimation network (seed 1's tiny classifiers start near their end by chance)
        if row["seed"] == "0" or row["task"] == "estimation":
            assert float(row["test_error_after"]) < float(row["test_error_before"])
    # Before learning, the networks of one seed and task that share a noise level are one
    # circuit (init_circuit draws from the seed alone, whatever the prior or trainer) probed
    # with one seed: their noise volume fraction is the same number; at another noise level
    # it is not. After learning each has its own.
    by_start: dict[tuple[str, str, str], set[str]] = {}
    for row in rows:
        by_start.setdefault((row["seed"], row["task"], row["sigma"]), set()).add(row["network"])
        before = {
            r["noise_fraction_before"]
            for r in rows
            if (r["seed"], r["task"], r["sigma"]) == (row["seed"], row["task"], row["sigma"])
        }
        assert len(before) == 1
    # per seed and task at sigma 0.2: the local rule, BPTT and the extra prior's network
    assert sorted(len(v) for k, v in by_start.items() if k[2] == "0.2") == [3] * 4
    for seed in ("0", "1"):
        for task in ("estimation", "classification"):
            at = {
                r["sigma"]: r["noise_fraction_before"]
                for r in rows
                if (r["seed"], r["task"]) == (seed, task)
            }
            assert at["0.2"] != at["0.4"]
            after = [
                r["noise_fraction_after"]
                for r in rows
                if (r["seed"], r["task"], r["sigma"]) == (seed, task, "0.2")
            ]
            assert len(set(after)) == 3


def test_the_quick_report_and_saved_networks(quick):
    root = quick.root
    folder = root / "study-plasticity"
    report = (folder / "report.html").read_text()
    assert "<h1>Learning task-dependent codes with a local plasticity rule" in report
    assert "<h2>Summary</h2>" in report and "<h2>Config</h2>" in report
    assert report.count("data:image/png;base64") == 8
    saved = folder / "networks" / "estimation-local-sigma0.2-seed1.npz"
    network = TrainedNetwork.load(saved)
    assert network.recurrent.shape == (8, 8) and network.readout.shape == (2, 8)
    assert np.all(np.diff(network.curve_time) > 0)


def test_a_trained_network_is_reused_and_one_trained_otherwise_is_refused(quick, tmp_path, capsys):
    root = quick.root
    networks = root / "study-plasticity" / "networks"
    config = load_config(STUDY, quick=True)
    condition = config.conditions()[0]
    saved = networks / f"{condition.label}.npz"
    stamp = saved.stat().st_mtime_ns
    again = plasticity.train_condition(condition, config, networks)
    assert saved.stat().st_mtime_ns == stamp  # loaded, not trained again
    assert np.array_equal(again.recurrent, TrainedNetwork.load(saved).recurrent)
    # the study under other settings refuses the networks trained under the quick ones
    other = config.to_dict()
    other["local"]["rate_scale"] = 1.0
    path = tmp_path / "other.yaml"
    path.write_text(yaml.safe_dump(other))
    args = ["study", "plasticity", "--config", str(path), "--runs", str(root), "--quiet"]
    assert main(args) == 2  # the CLI's exit status for a user error
    assert "trained with other settings" in capsys.readouterr().err
    assert saved.stat().st_mtime_ns == stamp


def test_time_to_fraction_reads_a_planted_curve():
    # 1 - exp(-t / 100) at t = 1 .. 2000, smoothed by a trailing mean over 40 points: the mean
    # ending at t is 1 - S exp(-(t - 39) / 100) (S the same for every window), and the end is 1
    # to 1e-8. 90% of the way from the first window's mean (t = 40) to it is reached first at
    # exp(-(t - 39) / 100) <= 0.1 exp(-1 / 100), t >= 40 + 100 ln 10 = 270.3: t = 271. With a
    # time constant of 10 it is t >= 40 + 10 ln 10 = 63.03: t = 64.
    time = np.arange(1.0, 2001.0)
    assert plasticity.time_to_fraction(time, 1 - np.exp(-time / 100)) == 271.0
    assert plasticity.time_to_fraction(time, 1 - np.exp(-time / 10)) == 64.0


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
