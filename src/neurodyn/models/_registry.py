"""The cell registry: network classes by the name a spec's `cell` gives.

A new cell is one module (a subclass of `EnsembleNetwork` built from a `NetworkSpec`) and one
`register_cell` line in `neurodyn/models/__init__.py`; configs (`model.cell`), `build_model`
and the interface test over every cell (tests/models/test_cells.py) then reach it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from neurodyn.errors import ConfigError, nearest_names
from neurodyn.models._ensemble import EnsembleNetwork

if TYPE_CHECKING:
    from neurodyn.models.spec import NetworkSpec

# name -> the network class that builds it (in registration order)
CELLS: dict[str, type[EnsembleNetwork]] = {}


def register_cell(name: str, network: type[EnsembleNetwork]) -> None:
    """Make `network` the cell `name`: `build_model` builds it for a spec with that `cell`, and
    the spec asks `network.check_spec` which of its options the cell accepts."""
    if name in CELLS and CELLS[name] is not network:
        raise ConfigError(f"cell {name!r} is already registered to {CELLS[name].__name__}")
    CELLS[name] = network


def build_model(spec: NetworkSpec) -> EnsembleNetwork:
    """The network of `spec` (the cell its `cell` names), initialised from its seeds.

    Parameters
    ----------
    spec : NetworkSpec
        The network to build: its `cell` (a registered cell name), sizes N, I, O and the E seeds.

    Returns
    -------
    EnsembleNetwork
        The E networks as one module, weights `W_rec: [E, N, N]`; it maps inputs
        `x: [T, B, I]` (or `[T, E, B, I]`) to states `[T, E, B, N]` and outputs `[T, E, B, O]`.

    Example
    -------
    >>> from neurodyn.models import NetworkSpec
    >>> model = build_model(NetworkSpec(n_inputs=2, n_hidden=4, n_outputs=1, cell="lstm"))
    >>> type(model).__name__, model.state_size
    ('GatedRNN', 8)
    """
    if spec.cell not in CELLS:  # a spec is checked when made; this guards a hand-edited registry
        hint = nearest_names(spec.cell, CELLS)
        raise ConfigError(
            f"no cell {spec.cell!r}; registered cells: {', '.join(CELLS)}"
            + (f" (did you mean {hint[0]!r}?)" if hint else "")
        )
    return CELLS[spec.cell](spec)
