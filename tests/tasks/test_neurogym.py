"""The neurogym adapter. neurogym is optional: these run where it is installed."""

import sys
import types

import numpy as np
import pytest
import torch

from neurodyn.errors import ConfigError
from neurodyn.tasks import from_neurogym, make

ENV = "PerceptualDecisionMaking-v0"


def test_without_neurogym_the_error_says_how_to_get_it():
    try:
        import neurogym  # noqa: F401
    except ImportError:
        with pytest.raises(ConfigError, match="pip install neurogym"):
            from_neurogym(ENV)
    else:
        with pytest.raises(ConfigError, match="not a registered neurogym environment"):
            from_neurogym("NoSuchTask-v0")


class _FakeNeurogym(types.ModuleType):
    """A stand-in neurogym that records what make() was asked for."""

    def __init__(self):
        super().__init__("neurogym")
        self.made: list[str] = []

    def all_envs(self):
        return [ENV]

    def make(self, env_id, **kwargs):
        self.made.append(env_id)
        raise RuntimeError("the fake makes nothing")


@pytest.mark.parametrize("env_id", ["os:system", "json.decoder:JSONDecoder", "Unregistered-v0"])
def test_a_config_cannot_import_modules_through_a_neurogym_id(monkeypatch, env_id):
    fake = _FakeNeurogym()
    monkeypatch.setitem(sys.modules, "neurogym", fake)
    with pytest.raises(ConfigError, match="not a registered"):
        make({"neurogym": env_id})
    assert fake.made == []  # refused before gymnasium could import a module


def test_a_registered_id_reaches_neurogym_make(monkeypatch):
    fake = _FakeNeurogym()
    monkeypatch.setitem(sys.modules, "neurogym", fake)
    with pytest.raises(ConfigError, match="could not make"):
        make({"neurogym": ENV})
    assert fake.made == [ENV]


def test_batches_match_the_environments_own_trials_for_a_seed():
    ngym = pytest.importorskip("neurogym")
    task = from_neurogym(ENV, dt_ms=100)
    batch = task.sample(16, generator=torch.Generator().manual_seed(3))
    seed = int(torch.randint(2**31 - 1, (1,), generator=torch.Generator().manual_seed(3)))
    env = ngym.make(ENV, dt=100).unwrapped
    env.seed(seed)
    for b in range(16):
        env.new_trial()
        length = len(env.gt)
        assert int(batch.trial["end"][b]) == length
        np.testing.assert_allclose(batch.x[:length, b].numpy(), env.ob, rtol=0, atol=1e-6)
        assert np.array_equal(batch.y[:length, b].argmax(-1).numpy(), env.gt)
        assert float(batch.x[length:, b].abs().sum()) == 0.0
        assert float(batch.mask[length:, b].sum()) == 0.0 and bool(
            (batch.mask[:length, b] == 1).all()
        )
        for period in env.start_ind:
            assert int(batch.trial[f"{period}_start"][b]) == env.start_ind[period]
            assert int(batch.trial[f"{period}_end"][b]) == env.end_ind[period]
    assert float(task.performance(batch.y * 10, batch)) == 1.0
    assert torch.equal(task.sample(16, seed=5).x, task.sample(16, seed=5).x)


def test_a_small_network_learns_a_neurogym_task(tmp_path):
    pytest.importorskip("neurogym")
    from neurodyn.runs import parse_config, train_run

    config = parse_config(
        {
            "task": {"neurogym": ENV, "params": {"dt_ms": 100}},
            "model": {"n_hidden": 32, "seeds": [0], "sigma_rec": 0.0},
            "train": {"steps": 400, "batch_size": 32, "lr": 0.01, "log_every": 100},
        }
    )
    assert make(config.task).n_inputs == 3
    run = train_run(config, tmp_path, progress=False)
    final = run.metrics()[-1]
    assert final[f"perf.{ENV}"] > 0.7  # chance: 0.5
