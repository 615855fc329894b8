"""`neurodyn study resonance` (Metzner et al. 2024): its config and one quick run read for real
answers, one of them analytic."""

import csv
from importlib import resources

import numpy as np
import pytest
import yaml

from neurodyn.analysis.information import ResonanceCurve
from neurodyn.errors import ConfigError
from neurodyn.studies import load_config
from neurodyn.studies._study import with_defaults
from neurodyn.studies.resonance import RR_GAIN_BITS, STUDY, ResonanceConfig


@pytest.fixture
def quick(quick_study):
    """`neurodyn study resonance --quick`, run once per session (the registry test reads it too)."""
    return quick_study("resonance")


def config_with(**fields):
    """The study's config with `fields` over its packaged defaults, as the runner merges them."""
    return ResonanceConfig.from_dict(
        with_defaults(fields, STUDY.defaults(), sections=STUDY.sections)
    )


def test_the_packaged_config_is_what_the_runner_loads():
    data = yaml.safe_load((resources.files(STUDY.package) / "config.yaml").read_text())
    config = load_config(STUDY)
    assert config == ResonanceConfig.from_dict(data) and config.to_dict() == data
    assert len(config.levels()) == 32 and config.levels()[0] == 0.0
    # quick.yaml changes the count alone; r = 0 and the range stay the defaults'
    quick_config = load_config(STUDY, quick=True)
    assert quick_config.noise_levels == {**data["noise_levels"], "count": 7}
    assert list(quick_config.families) == ["autapses", "nrooks", "hopfield", "random"]


def test_study_config_errors(tmp_path):
    path = tmp_path / "mine.yaml"
    path.write_text("step: 10\n")
    with pytest.raises(ConfigError, match="unknown study field"):
        load_config(STUDY, path)
    with pytest.raises(ConfigError, match="unknown noise_levels field"):
        config_with(noise_levels={"counts": 7})
    with pytest.raises(ConfigError, match="must be one of"):
        config_with(families={"x": {"family": "rooks", "w": 1.0}})
    with pytest.raises(ConfigError, match="takes"):
        config_with(families={"x": {"family": "nrooks", "g": 1.0}})
    with pytest.raises(ConfigError, match="observe"):
        config_with(families={"x": {"family": "random", "w": 1.0, "n": 3, "observe": 4}})


def test_the_quick_study_finds_resonance_where_the_paper_does(quick):
    root, printed = quick.root, quick.stdout
    assert "| autapses | 5 (5) |" in printed
    folder = root / "study-resonance"
    with (folder / "measures.csv").open() as fh:
        rows = {r["family"]: r for r in csv.DictReader(fh)}
    assert list(rows) == ["autapses", "nrooks", "hopfield", "random"]
    # Infinitely observed without noise, the 5 autapse units are independent bistable units
    # that leave their state with probability p = sigmoid(-w / 2) per step (drive +-w / 2 with
    # symmetric biases), all 32 states equally likely: I = 5 (1 - h(p)) bits, h the binary
    # entropy (the csv rounds to 4 decimals).
    p = 1 / (1 + np.exp(22.0 / 2))
    exact = 5 * (1 + p * np.log2(p) + (1 - p) * np.log2(1 - p))
    assert float(rows["autapses"]["stationary_I_at_zero"]) == pytest.approx(exact, abs=1e-4)
    # Observed for 1000 steps, the information flux of every autapse and N-rooks network peaks
    # at an interior noise level (recurrence resonance), above its value at r = 0
    for family in ("autapses", "nrooks"):
        row = rows[family]
        assert row["networks_with_rr"] == "2/2"
        assert 0 < float(row["r_opt"]) < float(row["r_max"])
        assert float(row["I_max"]) > float(row["I_at_zero"]) + RR_GAIN_BITS
    # the weak random network is noisy enough by itself: its flux only falls with noise
    assert rows["random"]["networks_with_rr"] == "0/2" and float(rows["random"]["r_opt"]) == 0
    # each mean curve is saved and reads back as the row's numbers
    curve = ResonanceCurve.load(folder / "curves" / "autapses.npz")
    assert round(curve.i_max, 4) == float(rows["autapses"]["I_max"])
    assert len(list((folder / "curves").glob("*.npz"))) == 8  # finite and exact, per family


def test_the_quick_report_has_the_title_summary_and_curves(quick):
    root = quick.root
    folder = root / "study-resonance"
    report = (folder / "report.html").read_text()
    assert "<h1>Recurrence resonance: noise-enhanced information flux" in report
    assert "<h2>Summary</h2>" in report and "<h2>Against the paper</h2>" in report
    # the grid of curves, every family's I, and finite against infinite observation
    assert report.count("data:image/png;base64") == 3
    assert yaml.safe_load((folder / "config.yaml").read_text()) == (
        load_config(STUDY, quick=True).to_dict()
    )
