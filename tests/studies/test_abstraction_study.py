"""The abstraction study's config checks, quadrant numbering and summary."""

import pytest
import torch

from neurodyn.errors import ConfigError
from neurodyn.studies import abstraction
from neurodyn.studies._study import load_config
from neurodyn.studies.abstraction.measure import NetworkResult, summary


def test_quadrants_are_numbered_as_the_public_code():
    latent = torch.tensor([[0.3, 0.2], [-0.3, 0.2], [-0.3, -0.2], [0.3, -0.2]])
    assert abstraction.quadrant_of(latent).tolist() == [1, 2, 3, 4]


def test_the_config_has_one_run_per_number_of_tasks_and_refuses_what_it_owns(tmp_path):
    config = load_config(abstraction.STUDY)
    runs = config.run_configs()
    assert list(runs) == [f"abstraction-n{n}" for n in (1, 2, 3, 6, 12, 24)]
    assert runs["abstraction-n6"]["task"]["params"]["n_tasks"] == 6
    assert runs["abstraction-n6"]["task"]["params"]["sigma"] == 2.0
    with pytest.raises(ConfigError, match="sets neither n_tasks"):
        abstraction.AbstractionConfig.from_dict({**config.to_dict(), "task": {"n_tasks": 3}})
    bad = tmp_path / "bad.yaml"
    bad.write_text("n_tasks: [2, 2]\n")
    with pytest.raises(ConfigError, match="distinct positive"):
        load_config(abstraction.STUDY, bad)
    bad.write_text("task: {sigmaa: 1.0}\n")
    with pytest.raises(ConfigError, match="sigmaa"):
        load_config(abstraction.STUDY, bad)


def test_the_summary_gives_mean_and_spread_per_number_of_tasks():
    def result(n, seed, ood):
        return NetworkResult(n, seed, 1.0, 0.9, ood, (ood,) * 4, 1, 1, 1, 1, 1)

    text = summary([result(2, 1, 0.5), result(2, 2, 0.7), result(6, 1, 0.9)])
    lines = text.splitlines()
    assert lines[2].startswith("| 2 | 2 | 1.00 +- 0.00 | 0.90 +- 0.00 | 0.60 +- 0.14 |")
    assert lines[3].startswith("| 6 | 1 | 1.00 | 0.90 | 0.90 |")


def test_the_paper_variant_is_the_public_codes_budget():
    config = load_config(abstraction.STUDY, variant="paper")
    assert config.train["steps"] == 100_000 and config.train["batch_size"] == 16
    assert len(config.model["seeds"]) == 5 and config.n_tasks == (1, 2, 3, 6, 12, 24)
