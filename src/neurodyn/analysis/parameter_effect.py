"""How measures of many trained networks vary with one hyper-parameter (a sweep's field).

`parameter_effect` takes the value of the parameter for each network and one or more
measures per network (final performance, loss, ...) and returns the points to draw and the
mean of each measure at each distinct value: numeric values are kept as numbers, any other
values (strings, booleans, lists) become categories in order of first appearance.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from neurodyn.analysis._result import SavableResult
from neurodyn.errors import ShapeError


@dataclass(frozen=True)
class ParameterEffect(SavableResult):
    """Measures of P networks against the value of one parameter.

    Attributes
    ----------
    parameter : str                 the parameter's name (e.g. `model.n_hidden`)
    positions : [P]                 each network's value on the x axis: the value itself when
                                    numeric, else the index of its category
    levels : [L]                    the distinct positions, increasing
    measures : dict str -> [P]      each measure per network (NaN where unknown)
    means : dict str -> [L]         each measure's mean over the networks at each level,
                                    ignoring NaNs (NaN where none is known)
    categories : list of str        the categories' names, in the order of their index; empty
                                    when the values are numeric
    """

    parameter: str
    positions: np.ndarray
    levels: np.ndarray
    measures: dict[str, np.ndarray]
    means: dict[str, np.ndarray]
    categories: list[str] = field(default_factory=list)

    @property
    def numeric(self) -> bool:
        return not self.categories


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def parameter_effect(
    parameter: str, values: Sequence[Any], measures: Mapping[str, Sequence[float]]
) -> ParameterEffect:
    """Each measure of P networks against their value of `parameter`, with its mean per value.

    Parameters
    ----------
    parameter : the parameter's name
    values : [P]                     each network's value of the parameter
    measures : dict str -> [P]       one or more measures per network

    Example
    -------
    >>> effect = parameter_effect("lr", [0.1, 0.1, 1.0], {"loss": [1.0, 3.0, 5.0]})
    >>> effect.levels.tolist(), effect.means["loss"].tolist()
    ([0.1, 1.0], [2.0, 5.0])
    """
    arrays = {name: np.asarray(m, dtype=float) for name, m in measures.items()}
    for name, array in arrays.items():
        if array.shape != (len(values),):
            raise ShapeError(
                f"measure {name!r} has shape {array.shape}; give one value per network "
                f"({len(values)})"
            )
    categories: list[str] = []
    if all(_is_number(v) for v in values):
        positions = np.asarray(values, dtype=float)
    else:
        categories = list(dict.fromkeys(map(str, values)))
        positions = np.array([categories.index(str(v)) for v in values], dtype=float)
    levels = np.unique(positions)
    means = {}
    for name, array in arrays.items():
        per_level = []
        for level in levels:
            known = array[(positions == level) & ~np.isnan(array)]
            per_level.append(known.mean() if known.size else np.nan)
        means[name] = np.array(per_level)
    return ParameterEffect(parameter, positions, levels, arrays, means, categories)
