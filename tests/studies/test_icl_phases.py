"""The icl-phases study: an interrupted network resumes to the measurements of an
uninterrupted one, a network trained otherwise is refused, and phases read as the paper's."""

import numpy as np
import pytest
import torch

from neurodyn.errors import ConfigError
from neurodyn.studies import get, load_config
from neurodyn.studies.icl_phases import phase_sequence, train_network


@pytest.fixture
def config():
    return load_config(get("icl-phases"), quick=True)


def test_an_interrupted_network_resumes_to_the_same_measurements(config, tmp_path, monkeypatch):
    whole = train_network(config, "gru", 4, 1, tmp_path / "whole", progress=False)
    step = torch.optim.AdamW.step
    calls = {"n": 0}

    def stop_after_two(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 2:  # after the measurement at step 2 (a checkpoint was written)
            raise KeyboardInterrupt
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", stop_after_two)
    with pytest.raises(KeyboardInterrupt):
        train_network(config, "gru", 4, 1, tmp_path / "cut", progress=False)
    monkeypatch.setattr(torch.optim.AdamW, "step", step)
    resumed = train_network(config, "gru", 4, 1, tmp_path / "cut", progress=False)
    assert np.array_equal(resumed.steps, whole.steps)
    assert np.allclose(resumed.kl_id, whole.kl_id) and np.allclose(resumed.kl_ood, whole.kl_ood)
    assert np.allclose(resumed.train_loss, whole.train_loss)
    # a second call reuses the finished network
    again = train_network(config, "gru", 4, 1, tmp_path / "cut", progress=False)
    assert np.array_equal(again.kl_id, resumed.kl_id)


def test_a_network_trained_otherwise_is_refused(config, tmp_path):
    train_network(config, "gru", 4, 1, tmp_path, progress=False)
    other = type(config).from_dict({**config.to_dict(), "lr": config.lr * 2})
    with pytest.raises(ConfigError, match="trained under other settings"):
        train_network(other, "gru", 4, 1, tmp_path, progress=False)


def test_transformer_measures_its_heads_and_recurrent_networks_do_not(config, tmp_path):
    result = train_network(config, "transformer", 4, 1, tmp_path, progress=False)
    assert np.all((result.induction >= 0) & (result.induction <= 1))
    assert 0 < result.induction_chance < 1
    assert result.kl_id.shape == (len(result.steps), 4)
    assert result.by_context_ood.shape == (4, len(config.context_lengths))


def test_phase_sequence_keeps_each_stay_once():
    assert phase_sequence(["Uni-Inf", "Uni-Inf", "Bi-Inf", "Bi-Ret", "Bi-Ret"]) == (
        "Uni-Inf > Bi-Inf > Bi-Ret"
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("models", ["mamba"], "models must be some of"),
        ("context_lengths", [1, 99], "context_lengths must lie in"),
        ("transformer", {"d_model": 10, "n_heads": 4, "n_layers": 1}, "multiple of n_heads"),
    ],
)
def test_bad_config_fields_are_named(config, field, value, message):
    with pytest.raises(ConfigError, match=message):
        type(config).from_dict({**config.to_dict(), field: value})
