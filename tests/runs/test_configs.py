from pathlib import Path

import pytest

from neurodyn.demo import DEMO_CONFIG
from neurodyn.runs import load_config, parse_config

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
