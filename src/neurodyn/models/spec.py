"""The one spec type of every network, whatever its cell, and what a forward pass returns.

`NetworkSpec` holds everything needed to rebuild a network but its weights: sizes, time
constants, noise, seeds (one per ensemble member), the cell's name and the structure options.
Checks that hold for every cell live here; what only some cells accept is checked by the cell
itself (`check_spec` of the class the registry holds under `cell`), at construction, so a
config with an option its cell ignores fails before training.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from torch import Tensor

from neurodyn.errors import ConfigError, excerpt
from neurodyn.models._registry import CELLS
from neurodyn.models.recurrence import ACTIVATIONS

# Entries of the largest weight matrix of an ensemble (2**33 float32 entries: 32 GiB); a
# bigger network is a typo, refused before an allocation fails with a confusing message.
MAX_WEIGHTS = 2**33


# The spiking cells' options and their defaults (the other cells refuse any other value).
SPIKING_DEFAULTS = {
    "tau_syn_ms": 5.0,
    "threshold": 1.0,
    "reset": 0.0,
    "refractory_ms": 0.0,
    "tau_readout_ms": 100.0,
}


@dataclass(frozen=True)
class NetworkSpec:
    """Hyper-parameters of a network (everything needed to rebuild it, but the weights).

    Example
    -------
    >>> spec = NetworkSpec(n_inputs=3, n_hidden=16, n_outputs=2, cell="gru", seeds=(1, 2))
    >>> spec.alpha
    0.2
    """

    n_inputs: int
    n_hidden: int
    n_outputs: int
    dt_ms: float = 20.0
    tau_ms: float = 100.0
    activation: str = "relu"
    sigma_rec: float = 0.05
    sigma_in: float = 0.0
    rec_gain: float = 0.9
    seeds: tuple[int, ...] = (0,)
    rec_init: str = "gaussian"
    # Structure (see `CTRNN.constrain_`): Dale's law with this share of excitatory units (the
    # first ones), also for input and output weights where asked; self-connections; areas.
    excitatory_fraction: float | None = None
    dale_inputs: bool = False
    dale_outputs: bool = False
    autapses: bool = True
    areas: tuple[int, ...] | None = None
    area_connections: tuple[tuple[int, ...], ...] | None = None
    # A trainable initial state `h0 [E, N]` (zeros at first) instead of starting at zero.
    learn_initial_state: bool = False
    # The cell, by its name in the registry (`neurodyn.models.CELLS`).
    cell: str = "ctrnn"
    # Fixed connectivity: 0/1 masks of which input, recurrent and output weights exist
    # (`mask_in [N, I]`, `mask_rec [N, N]` row = to, column = from, `mask_out [O, N]`).
    mask_in: tuple[tuple[float, ...], ...] | None = None
    mask_rec: tuple[tuple[float, ...], ...] | None = None
    mask_out: tuple[tuple[float, ...], ...] | None = None
    # Spiking cells only (`lif`; tau_ms is then the membrane time constant): the synaptic
    # current's time constant, the threshold and reset potentials, the refractory period, and
    # the time constant of the filtered spike trains the readout and the analyses see.
    tau_syn_ms: float = 5.0
    threshold: float = 1.0
    reset: float = 0.0
    refractory_ms: float = 0.0
    tau_readout_ms: float = 100.0
    # The low-rank cell only (`lowrank`): the rank r of `W_rec = m n^T / N` (None: 1).
    rank: int | None = None

    def __post_init__(self) -> None:
        f = self.excitatory_fraction
        if f is not None and not 0 < f < 1:
            raise ConfigError(f"excitatory_fraction must lie in (0, 1) or be null, got {f}")
        if f is None and (self.dale_inputs or self.dale_outputs):
            raise ConfigError("dale_inputs and dale_outputs need excitatory_fraction")
        if self.areas is not None:
            if sum(self.areas) != self.n_hidden or min(self.areas) < 1:
                raise ConfigError(
                    f"areas {list(self.areas)} must be positive sizes summing to n_hidden={self.n_hidden}"
                )
            k = len(self.areas)
            conn = self.area_connections
            if conn is None or len(conn) != k or any(len(row) != k for row in conn):
                raise ConfigError(
                    f"area_connections must be a {k} x {k} matrix of 0/1 (row: to, column: from)"
                )
        elif self.area_connections is not None:
            raise ConfigError("area_connections needs areas")
        if self.cell not in CELLS:
            raise ConfigError(f"cell must be one of {tuple(CELLS)}, got {self.cell!r}")
        shapes = {
            "mask_in": (self.n_hidden, self.n_inputs),
            "mask_rec": (self.n_hidden, self.n_hidden),
            "mask_out": (self.n_outputs, self.n_hidden),
        }
        for name, shape in shapes.items():
            mask = getattr(self, name)
            if mask is None:
                continue
            widths = {len(row) for row in mask}
            values = {v for row in mask for v in row}
            if (len(mask), *widths) != shape or not values <= {0, 1}:
                raise ConfigError(
                    f"{name} must be a {shape[0]} x {shape[1]} matrix of 0 and 1 (row: to, "
                    "column: from)"
                )
        if self.activation not in ACTIVATIONS:
            raise ConfigError(
                f"activation must be one of {sorted(ACTIVATIONS)}, got {self.activation!r}"
            )
        for name in ("n_inputs", "n_hidden", "n_outputs"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name} must be at least 1, got {getattr(self, name)}")
        if not 0 < self.dt_ms <= self.tau_ms:
            raise ConfigError(
                f"need 0 < dt_ms <= tau_ms, got dt_ms={self.dt_ms}, tau_ms={self.tau_ms}"
            )
        if not self.seeds:
            raise ConfigError("seeds must name at least one seed (one per ensemble member)")
        self._check_values()
        spiking = {
            name: getattr(self, name) != default for name, default in SPIKING_DEFAULTS.items()
        }
        if not getattr(CELLS[self.cell], "spiking", False) and any(spiking.values()):
            used = ", ".join(name for name, set_ in spiking.items() if set_)
            raise ConfigError(f"{used} apply to spiking cells (lif) only, not to {self.cell}")
        if self.rank is not None and not getattr(CELLS[self.cell], "low_rank", False):
            raise ConfigError(f"rank applies to the lowrank cell only, not to {self.cell}")
        CELLS[self.cell].check_spec(self)

    def _check_values(self) -> None:
        """Values that would only fail (or train nonsense) once training has started: seeds
        a generator cannot take, non-finite or negative scales, a network too big to hold."""
        bad_seeds = [s for s in self.seeds if not 0 <= s < 2**63]
        if bad_seeds:
            raise ConfigError(
                f"seeds must be integers from 0 to 2**63 - 1, got {excerpt(bad_seeds[0])}"
            )
        if len(set(self.seeds)) != len(self.seeds):
            raise ConfigError(
                "seeds must differ (equal seeds train identical members): "
                f"got {excerpt(list(self.seeds))}"
            )
        for name in ("tau_ms", "sigma_rec", "sigma_in", "rec_gain"):
            value = getattr(self, name)
            if not math.isfinite(value) or value < 0:
                raise ConfigError(f"{name} must be a finite non-negative number, got {value}")
        connections = self.area_connections or ()
        if not {v for row in connections for v in row} <= {0, 1}:
            raise ConfigError("area_connections must hold only 0 and 1 (row: to, column: from)")
        size = len(self.seeds) * self.n_hidden * max(self.n_hidden, self.n_inputs, self.n_outputs)
        if size > MAX_WEIGHTS:
            raise ConfigError(
                f"n_hidden={self.n_hidden} with {len(self.seeds)} seeds needs over {MAX_WEIGHTS} "
                "weights per matrix, more than any machine holds: use fewer units or seeds"
            )

    @property
    def has_masks(self) -> bool:
        return any(m is not None for m in (self.mask_in, self.mask_rec, self.mask_out))

    @property
    def alpha(self) -> float:
        return self.dt_ms / self.tau_ms


@dataclass(frozen=True)
class Trajectory:
    """What a forward pass returns.

    Attributes
    ----------
    states : Tensor [T, E, B, N]
        Hidden states (rates) h_t after each step.
    outputs : Tensor [T, E, B, O]
    input_drive : Tensor [T, E, B, N] or None
        `W_in x_t` (no bias, no noise), when asked for.
    recurrent_drive : Tensor [T, E, B, N] or None
        `W_rec h_{t-1}`: the recurrent input that enters the update producing h_t.
    """

    states: Tensor
    outputs: Tensor
    input_drive: Tensor | None = field(default=None)
    recurrent_drive: Tensor | None = field(default=None)
