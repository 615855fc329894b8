"""Recurrent networks. Each exposes a noise-free step function `F(h, x)` for the analyses.

Every network is a cell of the registry, built from one spec type: `build_model(spec)` builds
the cell `spec.cell` names, the leaky rate RNN (`CTRNN`), its low-rank form (`LowRankRNN`,
`W_rec = m n^T / N`) or a GRU / LSTM (`GatedRNN`), all with
the same interface (`EnsembleNetwork`: ensemble axis, noise streams, readout, `step`,
`step_jacobian`). A new cell is one module and one `register_cell` line below.

A network trained outside neurodyn (any `nn.Module` RNN cell with a readout) is adopted by
`AdoptedNetwork`, which gives it the same interface; it is not a cell of the registry either:
a run's config names its modules' classes by import path (`AdoptedModule`).

The stochastic circuit of `neurodyn.models.stochastic` is not a cell: it has no readout nor
ensemble axis, its inputs are fixed tuning curves of a stimulus, and it is trained by a local
rule (`neurodyn.train.plasticity`) on its own parameter set, never by the BPTT trainer.
Likewise the engram network of `neurodyn.models.engram` (allocation by competitive
inhibition), which stores contexts by a Hebbian rule (`neurodyn.train.hebbian`).
Nor is the efficient spike-coding network (`neurodyn.models.spike_coding`): its weights follow
from its decoder (Boerlin, Machens & Denève 2013) and nothing trains them.

The causal transformer of `neurodyn.models.transformer` is not a cell either: it has no state
to step, and reads whole sequences of discrete states (`neurodyn.tasks.MarkovMixture`).
"""

import warnings
from typing import Any

from neurodyn.models._ensemble import EnsembleNetwork
from neurodyn.models._registry import CELLS, build_model, register_cell
from neurodyn.models.adopted import AdoptedModule, AdoptedNetwork, AdoptedSpec
from neurodyn.models.ctrnn import CTRNN
from neurodyn.models.gated import GatedRNN
from neurodyn.models.lif import LIFNetwork, LIFRateEquivalent, spike_function
from neurodyn.models.lowrank import LowRankRNN
from neurodyn.models.recurrence import ACTIVATIONS
from neurodyn.models.spec import NetworkSpec, Trajectory
from neurodyn.models.spike_coding import (
    SpikeCodingNetwork,
    SpikeCodingTrace,
    leaky_signal,
    random_command,
    simulate_spike_coding,
    spike_coding_network,
)
from neurodyn.models.transformer import CausalTransformer, TransformerSpec

register_cell("ctrnn", CTRNN)
register_cell("gru", GatedRNN)
register_cell("lstm", GatedRNN)
register_cell("lif", LIFNetwork)
register_cell("lowrank", LowRankRNN)

# Any registered cell (annotations across the package name this, not a cell class).
Network = EnsembleNetwork


def __getattr__(name: str) -> Any:
    if name == "CTRNNSpec":  # it specifies every cell, so it is named for what it is
        warnings.warn(
            "neurodyn.models.CTRNNSpec is renamed NetworkSpec; the old name will be removed",
            DeprecationWarning,
            stacklevel=2,
        )
        return NetworkSpec
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "ACTIVATIONS",
    "CELLS",
    "CTRNN",
    "AdoptedModule",
    "AdoptedNetwork",
    "AdoptedSpec",
    "CausalTransformer",
    "EnsembleNetwork",
    "GatedRNN",
    "LIFNetwork",
    "LIFRateEquivalent",
    "LowRankRNN",
    "Network",
    "NetworkSpec",
    "SpikeCodingNetwork",
    "SpikeCodingTrace",
    "Trajectory",
    "TransformerSpec",
    "build_model",
    "leaky_signal",
    "random_command",
    "register_cell",
    "simulate_spike_coding",
    "spike_coding_network",
    "spike_function",
]
