"""Analyses: pure functions from states, drives and masks to result dataclasses.

Each result saves and loads itself (`result.save(path)`, `Cls.load(path)`); figures for each
live in `neurodyn.plot`.
"""

from neurodyn.analysis._result import SavableResult
from neurodyn.analysis.trajectories import (
    PCATrajectories,
    RecurrentInputRatio,
    StepTuning,
    pca_trajectories,
    recurrent_input_ratio,
    step_tuning,
)

__all__ = [
    "PCATrajectories",
    "RecurrentInputRatio",
    "SavableResult",
    "StepTuning",
    "pca_trajectories",
    "recurrent_input_ratio",
    "step_tuning",
]
