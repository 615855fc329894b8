"""Recurrent networks. Each exposes a noise-free step function `F(h, x)` for the analyses."""

from neurodyn.models.ctrnn import ACTIVATIONS, CTRNN, CTRNNSpec, Trajectory

__all__ = ["ACTIVATIONS", "CTRNN", "CTRNNSpec", "Trajectory"]
