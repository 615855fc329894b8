"""`neurodyn study criticality` (Safavi et al. 2024): its config, and the non-monotonic coding
error the study rests on, measured on a small network whose answer the derivation fixes (a
delay makes volleys that a moderate noise breaks up; strong noise makes spikes the error does
not call for)."""

from importlib import resources

import numpy as np
import pytest
import torch
import yaml

from neurodyn.analysis import avalanche_statistics
from neurodyn.errors import ConfigError
from neurodyn.models import random_command, simulate_spike_coding
from neurodyn.studies import load_config
from neurodyn.studies._study import with_defaults
from neurodyn.studies.criticality import STUDY, CriticalityConfig, measure_size
from neurodyn.studies.criticality.measure import rows, summary


def config_with(**fields):
    """The study's config with `fields` over its packaged defaults, as the runner merges them."""
    return CriticalityConfig.from_dict(
        with_defaults(fields, STUDY.defaults(), sections=STUDY.sections)
    )


def test_the_packaged_config_is_what_the_runner_loads():
    data = yaml.safe_load((resources.files(STUDY.package) / "config.yaml").read_text())
    config = load_config(STUDY)
    assert config == CriticalityConfig.from_dict(data) and config.to_dict() == data
    assert config.sizes == (50, 100, 200, 400) and config.n_steps == 10_000
    quick = load_config(STUDY, quick=True)
    assert quick.signal == {**data["signal"], "duration_ms": 200.0}  # the rest kept


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"noise_levels": [0.3, 0.1]}, "increasing"),
        ({"noise_model": "shot"}, "noise_model"),
        ({"sizes": [1]}, "at least one size"),
        ({"network": {"colour": 1}}, "unknown network field"),
        ({"signal": {"duration_ms": 0.5}}, "at least 10 steps"),
    ],
)
def test_bad_study_fields_are_refused(fields, message):
    with pytest.raises(ConfigError, match=message):
        config_with(**fields)


def test_the_coding_error_is_lowest_at_an_intermediate_noise():
    config = config_with(
        sizes=[50], seeds=[0], noise_levels=[0.0, 0.3, 3.0], signal={"duration_ms": 300.0}
    )
    result = measure_size(config, 50)
    mse = result.coding_error[0]
    # the volleys without noise overshoot; strong noise fires spikes the error did not ask for
    assert mse[1] < 0.7 * mse[0] and mse[1] < 0.1 * mse[2]
    assert result.error_minimum == 0.3
    # one network per seed, one member per level: the members share the decoder
    network = config.network_of(50, 0)
    assert torch.equal(network.decoder[0], network.decoder[2])
    table = rows([result])
    assert [r["error_minimum"] for r in table] == [False, True, False]
    assert "| 50 | 0.3 |" in summary([result])


def test_the_study_kappa_is_that_of_the_levels_own_avalanches():
    config = config_with(
        sizes=[30], seeds=[1], noise_levels=[0.1, 0.3], signal={"duration_ms": 300.0}
    )
    result = measure_size(config, 30)
    net, signal = config.network, config.signal
    command = random_command(
        config.n_steps,
        signal["trials"],
        net["signals"],
        seed=1001,
        amplitude=signal["amplitude"],
        smoothing_ms=signal["smoothing_ms"],
    )
    trace = simulate_spike_coding(
        config.network_of(30, 1), command, noise_std=torch.tensor([0.1, 0.3]), seed=1
    )
    for level in range(2):
        stats = avalanche_statistics(trace.population_counts[:, level].numpy(), n_units=30)
        assert result.kappa[0, level] == pytest.approx(stats.kappa)
        assert result.size_exponent[0, level] == pytest.approx(stats.sizes.exponent)
    assert np.all(result.n_avalanches > 10)
