from pathlib import Path

import pytest

from neurodyn.demo import DEMO_CONFIG
from neurodyn.errors import ConfigError
from neurodyn.models import NetworkSpec
from neurodyn.runs import load_config, parse_config
from neurodyn.runs.config import ModelConfig

CONFIGS = sorted((Path(__file__).parents[2] / "configs").glob("*.yaml"))


def test_there_are_example_configs():
    assert {p.name for p in CONFIGS} >= {"demo.yaml", "flipflop.yaml", "pdm_seeds.yaml"}


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.name)
def test_every_example_config_is_valid(path):
    config = load_config(path)
    assert parse_config(config.to_dict()) == config


def test_the_demo_config_file_is_the_demo():
    assert load_config(Path(__file__).parents[2] / "configs" / "demo.yaml") == parse_config(
        DEMO_CONFIG
    )


def test_the_model_config_is_the_networks_spec_less_what_the_task_sets():
    task = parse_config({"task": "pdm"}).make_task()
    sizes = {"n_inputs": task.n_inputs, "n_outputs": task.n_outputs, "dt_ms": task.dt_ms}
    # the defaults are the spec's, but n_hidden (a config may leave it out)
    assert ModelConfig().spec(task) == NetworkSpec(**sizes, n_hidden=64)
    changed = {"n_hidden": 5, "cell": "gru", "sigma_in": 0.1, "seeds": (3, 4)}
    assert ModelConfig(**changed, init_from="elsewhere").spec(task) == NetworkSpec(
        **sizes, **changed
    )
    with pytest.raises(ConfigError, match=r"model\.n_inputs"):
        parse_config({"task": "pdm", "model": {"n_inputs": 3}})
