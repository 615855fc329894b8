import math

import numpy as np
import pytest

from neurodyn.analysis.parameter_effect import ParameterEffect, parameter_effect
from neurodyn.errors import ShapeError


def test_numeric_values_give_the_mean_per_value_ignoring_unknown_measures(tmp_path):
    effect = parameter_effect(
        "lr",
        [0.01, 1.0, 0.01, 1.0, 0.1],
        {"loss": [1.0, 4.0, 3.0, math.nan, 7.0], "performance": [0.5, 0.7, 0.9, 0.8, 0.6]},
    )
    assert effect.numeric and effect.categories == []
    np.testing.assert_array_equal(effect.levels, [0.01, 0.1, 1.0])
    np.testing.assert_allclose(effect.means["loss"], [2.0, 7.0, 4.0])
    np.testing.assert_allclose(effect.means["performance"], [0.7, 0.6, 0.75])
    loaded = ParameterEffect.load(effect.save(tmp_path / "e.npz"))
    np.testing.assert_array_equal(loaded.means["loss"], effect.means["loss"])


def test_other_values_become_categories_in_order_of_appearance():
    effect = parameter_effect("cell", ["gru", "ctrnn", "gru", True], {"loss": [1, 2, 3, 4]})
    assert effect.categories == ["gru", "ctrnn", "True"] and not effect.numeric
    np.testing.assert_array_equal(effect.positions, [0, 1, 0, 2])
    np.testing.assert_allclose(effect.means["loss"], [2.0, 2.0, 4.0])


def test_a_level_with_no_known_measure_has_a_nan_mean():
    effect = parameter_effect("n", [1, 2], {"loss": [math.nan, 1.0]})
    assert math.isnan(effect.means["loss"][0]) and effect.means["loss"][1] == 1.0


def test_a_measure_of_another_length_is_refused():
    with pytest.raises(ShapeError, match="one value per network"):
        parameter_effect("n", [1, 2, 3], {"loss": [1.0, 2.0]})
