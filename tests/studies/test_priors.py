"""The priors study: its config checks, its networks and measures on the quick run, and the
refusal to reuse a circuit trained with other settings."""

import csv
import math

import numpy as np
import pytest

from neurodyn.errors import ConfigError
from neurodyn.studies import priors
from neurodyn.studies._study import load_config


def test_the_config_has_a_run_per_prior_and_refuses_what_it_owns(tmp_path):
    config = load_config(priors.STUDY)
    assert list(config.run_configs()) == [
        "priors-rnn-wide",
        "priors-rnn-narrow",
        "priors-rnn-shifted",
        "priors-rnn-budget-wide",
        "priors-rnn-budget-narrow",
        "priors-rnn-budget-shifted",
    ]
    params = config.run_configs()["priors-rnn-shifted"]["task"]["params"]
    assert (params["kappa"], params["mu"], params["input_noise"]) == (1.5, 1.0, 0.5)
    budget = config.run_configs()["priors-rnn-budget-shifted"]
    assert budget["task"]["params"]["input_noise"] == config.rnn_budget["input_noise"]
    assert budget["train"]["l2_rate"] == config.rnn_budget["l2_rate"] > 0
    assert budget["model"]["sigma_rec"] == config.rnn_budget["sigma_rec"]
    labels = [c.label for c in config.circuit_conditions()]
    assert len(labels) == 2 * 3 * len(config.seeds) and len(set(labels)) == len(labels)
    with pytest.raises(ConfigError, match="rnn_task sets neither"):
        priors.PriorsConfig.from_dict({**config.to_dict(), "rnn_task": {"kappa": 2.0}})
    bad = tmp_path / "bad.yaml"
    bad.write_text("priors: {odd: {mu: 1.0}}\n")
    with pytest.raises(ConfigError, match="needs kappa"):
        load_config(priors.STUDY, bad)
    bad.write_text("probe: {n_chainz: 3}\n")
    with pytest.raises(ConfigError, match="n_chainz"):
        load_config(priors.STUDY, bad)


def test_the_quick_run_measures_every_network_against_its_prior(quick_study):
    quick = quick_study("priors")
    with (quick.folder / "measures.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    config = load_config(priors.STUDY, quick=True)
    n_rnn = 2 * len(config.rnn_model["seeds"]) * len(config.priors)
    assert len(rows) == len(config.circuit_conditions()) + n_rnn
    assert {(r["kind"], r["trainer"]) for r in rows} == {
        ("circuit", "local"),
        ("circuit", "bptt"),
        ("rnn", "bptt"),
        ("rnn", "bptt-rate-cost"),
    }
    for row in rows:
        prior = config.priors[row["prior"]]
        assert float(row["kappa"]) == prior["kappa"] and float(row["mu"]) == prior["mu"]
        assert math.isfinite(float(row["fisher_power"])) and float(row["test_error"]) >= 0
    saved = sorted(p.name for p in (quick.folder / "networks").iterdir())
    assert saved == sorted(f"{c.label}.npz" for c in config.circuit_conditions())


def test_a_circuit_trained_with_other_settings_is_refused(quick_study, tmp_path):
    quick = quick_study("priors")
    config = load_config(priors.STUDY, quick=True)
    condition = config.circuit_conditions()[0]
    folder = tmp_path / "networks"
    folder.mkdir()
    source = quick.folder / "networks" / f"{condition.label}.npz"
    (folder / source.name).write_bytes(source.read_bytes())
    reused = priors.train_circuit(condition, config, folder)
    np.testing.assert_array_equal(reused.recurrent, priors.TrainedCircuit.load(source).recurrent)
    other = priors.PriorsConfig.from_dict(
        {**config.to_dict(), "local": {**config.local, "rate_scale": 1.0}}
    )
    with pytest.raises(ConfigError, match="other settings"):
        priors.train_circuit(condition, other, folder)
