"""Recurrent networks. Each exposes a noise-free step function `F(h, x)` for the analyses.

`build_model(spec)` builds the network `spec.cell` names: the leaky rate RNN (`CTRNN`) or a
GRU / LSTM (`GatedRNN`), all with the same interface (ensemble axis, noise streams, readout,
`step`, `step_jacobian`).
"""

from neurodyn.models.ctrnn import ACTIVATIONS, CELLS, CTRNN, CTRNNSpec, Trajectory
from neurodyn.models.gated import GatedRNN

Network = CTRNN | GatedRNN


def build_model(spec: CTRNNSpec) -> Network:
    """The network of `spec` (its `cell`: ctrnn, gru or lstm), initialised from its seeds."""
    return CTRNN(spec) if spec.cell == "ctrnn" else GatedRNN(spec)


__all__ = [
    "ACTIVATIONS",
    "CELLS",
    "CTRNN",
    "CTRNNSpec",
    "GatedRNN",
    "Network",
    "Trajectory",
    "build_model",
]
