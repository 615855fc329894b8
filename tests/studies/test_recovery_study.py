"""The recovery study's own measures (its whole loop runs in tests/studies/test_registry.py):
the good-fit-wrong-dynamics count on planted rows, the rank correlation against scipy's, and
its config's refusals."""

import math

import numpy as np
import pytest
from scipy.stats import spearmanr

from neurodyn.analysis import Recovery
from neurodyn.errors import ConfigError
from neurodyn.studies import get, load_config
from neurodyn.studies.recovery.measure import (
    FitScore,
    RecoveryConfig,
    good_fit_wrong_dynamics,
    rank_correlation,
    summary,
)


def score(bits, n_fitted, agreement, model="m", member=0):
    row = Recovery("run", member, bits, 0.4, 0.9, 3, n_fitted, 0.1, agreement, 0.2)
    return FitScore("truth", 0.2, 10, model, row)


def test_good_fits_with_the_wrong_fixed_points_are_counted():
    rows = [
        score(0.30, 3, 1.0),  # good fit, right fixed points
        score(0.30, 5, 1.0, member=1),  # good fit, too many fixed points
        score(0.25, 3, 0.5, member=2),  # good fit, wrong stability
        score(0.05, 1, 0.0, member=3),  # poor fit: not counted whatever its dynamics
    ]
    assert [s.score.member for s in good_fit_wrong_dynamics(rows)] == [1, 2]
    assert "2 of 4" in summary(rows)


def test_rank_correlation_is_scipys_spearman_with_ties():
    g = np.random.default_rng(0)
    x = list(g.integers(0, 5, 30).astype(float))  # ties
    y = list(np.asarray(x) + g.normal(0, 2, 30))
    assert math.isclose(rank_correlation(x, y), spearmanr(x, y).statistic, rel_tol=1e-9)
    assert math.isnan(rank_correlation([1.0, math.nan], [2.0, 3.0]))


def test_the_config_refuses_what_the_study_sets_itself():
    defaults = get("recovery").defaults()
    assert load_config(get("recovery")).fractions == (0.05, 0.2, 1.0)
    with pytest.raises(ConfigError, match="fractions must lie in"):
        RecoveryConfig.from_dict({**defaults, "fractions": [0.0, 0.5]})
    models = {"x": {"recording": {"heldout_neurons": 0.5}}}
    with pytest.raises(ConfigError, match="sets recording"):
        RecoveryConfig.from_dict({**defaults, "models": models})


def test_fits_of_a_recording_that_changed_since_are_refused(tmp_path, capsys):
    from neurodyn.cli import main
    from neurodyn.data import from_arrays, load_npz

    assert main(["study", "recovery", "--quick", "--runs", str(tmp_path), "--quiet"]) == 0
    # the recording the first fits were made from is replaced by another (a changed
    # synthesize would do the same): rerunning must not score those fits on it
    path = tmp_path / "study-recovery" / "recordings" / "quick-flipflop-25pct.npz"
    old = load_npz(path)
    from_arrays(old.activity.flip(0), bin_ms=old.bin_ms, inputs=old.inputs).save(path)
    capsys.readouterr()
    assert main(["study", "recovery", "--quick", "--runs", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "quick-flipflop-25pct.npz differs from the one its fits (ctrnn-8, lowrank-2" in err
