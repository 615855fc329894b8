"""The circuit the local rule and BPTT train: its parameters (`Circuit`) and their
initialisation."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from neurodyn.errors import ConfigError
from neurodyn.tasks.bredenberg import StimulusTask


@dataclass(frozen=True)
class Circuit:
    """The learned parameters: W `recurrent [N, N]` (row: to), C `input [N, K]`, b `bias [N]`,
    D `readout [k, N]`."""

    recurrent: Tensor
    input: Tensor
    bias: Tensor
    readout: Tensor

    @property
    def n_units(self) -> int:
        return self.recurrent.shape[0]

    def tensors(self) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        return self.recurrent, self.input, self.bias, self.readout

    def to_numpy(self) -> dict[str, np.ndarray]:
        return {f.name: getattr(self, f.name).detach().numpy() for f in dataclasses.fields(self)}


def init_circuit(
    n_units: int,
    task: StimulusTask,
    *,
    seed: int,
    bias: float = 0.0,
    n_tuning: int = 12,
    dtype: torch.dtype = torch.float32,
) -> Circuit:
    """The authors' initialisation: W ~ U(+-0.3 / sqrt N), C ~ U(+-0.5 / sqrt K),
    D ~ U(+-1 / N), b constant (0 for estimation, 0.7 for classification in their code).
    Training runs in the circuit's dtype: float32 by default (drawing the noise, the largest
    cost of a step, is 5x faster than in float64 on CPU)."""
    if n_units < 1:
        raise ConfigError(f"n_units must be at least 1, got {n_units}")
    g = torch.Generator().manual_seed(seed)

    def uniform(shape: tuple[int, ...], half_width: float) -> Tensor:
        return (2 * torch.rand(shape, generator=g, dtype=dtype) - 1) * half_width

    return Circuit(
        recurrent=uniform((n_units, n_units), 0.3 / math.sqrt(n_units)),
        input=uniform((n_units, n_tuning), 0.5 / math.sqrt(n_tuning)),
        bias=torch.full((n_units,), float(bias), dtype=dtype),
        readout=uniform((task.n_outputs, n_units), 1.0 / n_units),
    )
