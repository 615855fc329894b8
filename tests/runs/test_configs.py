import dataclasses
from pathlib import Path

import pytest

from neurodyn.demo import DEMO_CONFIG
from neurodyn.models import CTRNNSpec
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
    # every ModelConfig field but init_from passes straight to CTRNNSpec, with its default
    spec_fields = {f.name: f for f in dataclasses.fields(CTRNNSpec)}
    for f in dataclasses.fields(ModelConfig):
        if f.name == "init_from":
            continue
        assert f.name in spec_fields, f"ModelConfig.{f.name} is not a CTRNNSpec field"
        spec_default = spec_fields[f.name].default
        if spec_default is not dataclasses.MISSING:
            assert f.default == spec_default, f"{f.name}: {f.default!r} != {spec_default!r}"
    task_set = {"n_inputs", "n_outputs", "dt_ms"}
    missing = set(spec_fields) - {f.name for f in dataclasses.fields(ModelConfig)} - task_set
    assert not missing, f"CTRNNSpec fields a config cannot set: {sorted(missing)}"
