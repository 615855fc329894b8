"""The icl-phases study: an interrupted network resumes to the measurements of an
uninterrupted one, a network trained otherwise is refused, and phases read as the paper's."""

import numpy as np
import pytest
import torch

from neurodyn.errors import ConfigError
from neurodyn.studies import get, load_config
from neurodyn.studies.icl_phases import (
    NetworkResult,
    induction_step,
    phase_changes,
    phase_sequence,
    phase_table,
    train_network,
)
from neurodyn.studies.icl_phases.measure import summary, train_networks


@pytest.fixture
def config():
    return load_config(get("icl-phases"), quick=True)


@pytest.mark.parametrize("seeds", [(1,), (1, 2)])
def test_an_interrupted_network_resumes_to_the_same_measurements(
    config, tmp_path, monkeypatch, seeds
):
    whole = train_networks(config, "gru", 4, seeds, tmp_path / "whole", progress=False)
    step = torch.optim.AdamW.step
    calls = {"n": 0}

    def stop_after_two(self, *args, **kwargs):
        calls["n"] += 1
        if calls["n"] > 2:  # after the measurement at step 2 (a checkpoint was written)
            raise KeyboardInterrupt
        return step(self, *args, **kwargs)

    monkeypatch.setattr(torch.optim.AdamW, "step", stop_after_two)
    with pytest.raises(KeyboardInterrupt):
        train_networks(config, "gru", 4, seeds, tmp_path / "cut", progress=False)
    monkeypatch.setattr(torch.optim.AdamW, "step", step)
    resumed = train_networks(config, "gru", 4, seeds, tmp_path / "cut", progress=False)
    for r, w in zip(resumed, whole, strict=True):
        assert np.array_equal(r.steps, w.steps)
        assert np.allclose(r.kl_id, w.kl_id) and np.allclose(r.kl_ood, w.kl_ood)
        assert np.allclose(r.train_loss, w.train_loss)
    # a second call reuses the finished networks
    again = train_networks(config, "gru", 4, seeds, tmp_path / "cut", progress=False)
    assert all(np.array_equal(a.kl_id, r.kl_id) for a, r in zip(again, resumed, strict=True))


@pytest.mark.parametrize("model", ["gru", "lstm"])
def test_an_ensemble_trains_each_member_as_it_would_be_trained_alone(config, tmp_path, model):
    # a clipping threshold every step's gradient exceeds: each member is clipped by its own norm
    config = type(config).from_dict({**config.to_dict(), "clip_grad": 0.01})
    together = train_networks(config, model, 4, (1, 2), tmp_path / "ensemble", progress=False)
    for seed, member in zip((1, 2), together, strict=True):
        alone = train_network(config, model, 4, seed, tmp_path / "alone", progress=False)
        assert member.label == alone.label and member.settings == alone.settings
        assert np.allclose(member.train_loss, alone.train_loss, rtol=1e-5)
        assert np.allclose(member.kl_id, alone.kl_id, rtol=1e-4, atol=1e-7)
        assert np.allclose(member.by_context_ood, alone.by_context_ood, rtol=1e-4, atol=1e-7)
    # the two seeds learn apart: their losses differ
    assert not np.allclose(together[0].train_loss, together[1].train_loss)
    # each member is kept as a network of its own and reused seed by seed
    again = train_network(config, model, 4, 2, tmp_path / "ensemble", progress=False)
    assert np.array_equal(again.kl_id, together[1].kl_id)


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


STEPS = np.array([1, 10, 100, 1000])
# KL rows whose minimum is each algorithm in ALGORITHMS' order: Uni-Ret, Bi-Ret, Uni-Inf, Bi-Inf
CLOSEST = {"Uni-Ret": 0, "Bi-Ret": 1, "Uni-Inf": 2, "Bi-Inf": 3}


def _planted(seed, phases, *, truth_ood=(0.5, 0.4, 0.3, 0.35), induction=(0.1, 0.1, 0.8, 0.9)):
    """A transformer at N = 256 whose closest algorithm at STEPS is `phases`."""
    kl = np.ones((len(STEPS), 4))
    for c, phase in enumerate(phases):
        kl[c, CLOSEST[phase]] = 0.01
    return NetworkResult(
        label=f"transformer-N256-seed{seed}",
        model="transformer",
        n_chains=256,
        seed=seed,
        settings="{}",
        steps=STEPS,
        train_loss=np.full(len(STEPS), 2.0),
        kl_id=kl,
        kl_ood=kl,
        truth_id=np.array([0.6, 0.5, 0.4, 0.2 + 0.1 * seed]),
        truth_ood=np.array(truth_ood),
        previous_token=np.full(len(STEPS), 0.2),
        induction=np.array(induction),
        induction_chance=0.14,
        by_context_id=np.ones((4, 1)),
        by_context_ood=np.ones((4, 1)),
        context_lengths=np.array([32]),
        seconds=1.0,
    )


def test_phase_changes_name_each_entry_with_its_first_step():
    phases = ["Uni-Inf", "Bi-Inf", "Bi-Inf", "Uni-Inf"]
    assert phase_changes(phases, STEPS) == [("Bi-Inf", 10), ("Uni-Inf", 1000)]
    assert phase_changes(["Uni-Inf"] * 4, STEPS) == []


def test_induction_step_is_the_first_step_half_way_from_chance_to_one():
    # half-way from 0.14 to 1 is 0.57: reached at the third step, never by a flat head
    assert induction_step(_planted(1, ["Uni-Inf"] * 4)) == 100
    assert induction_step(_planted(1, ["Uni-Inf"] * 4, induction=(0.2, 0.3, 0.5, 0.56))) is None


def test_summary_gives_each_seeds_change_steps_and_the_spread_over_seeds():
    results = [
        _planted(1, ["Uni-Inf", "Bi-Inf", "Bi-Inf", "Bi-Ret"]),
        _planted(2, ["Uni-Inf", "Uni-Inf", "Bi-Inf", "Bi-Ret"]),
    ]
    text = summary(results)
    assert "Uni-Inf > Bi-Inf > Bi-Ret (Bi-Inf at 10, 100; Bi-Ret at 1000, 1000)" in text
    # final KL to truth id: 0.3 and 0.4 -> mean 0.350, sd 0.071; ood best 0.3 at step 100
    assert "0.350 ± 0.071" in text and "0.300 ± 0.000 (100) > 0.350 ± 0.000" in text
    assert "0.90 ± 0.00 (0.14): 100, 100" in text


def test_seeds_that_differ_are_named_with_their_sequences():
    results = [
        _planted(1, ["Uni-Inf", "Bi-Inf", "Bi-Inf", "Bi-Inf"]),
        _planted(2, ["Uni-Inf"] * 4),
        _planted(3, ["Uni-Inf", "Uni-Inf", "Bi-Inf", "Bi-Inf"]),
    ]
    text = summary(results)
    assert "seeds 1, 3: Uni-Inf > Bi-Inf (Bi-Inf at 10, 100); seed 2: Uni-Inf" in text
    table = phase_table(results)
    assert "| transformer | 256 | Uni-Inf | Uni-Inf 2/3 | Bi-Inf 2/3 | Bi-Inf 2/3 |" in table
