"""Training: masked losses, penalties, BPTT with Adam over an ensemble, checkpointable state."""

from neurodyn.train.losses import (
    masked_binary_cross_entropy,
    masked_cross_entropy,
    masked_mse,
    rate_l2,
    task_loss,
    weight_l2,
)
from neurodyn.train.penalties import (
    ElasticWeightConsolidation,
    IntelligentSynapses,
    Penalty,
    RateL2,
    SpeedAtClassCentres,
    SpikeRate,
    WeightL2,
)
from neurodyn.train.trainer import (
    Evaluation,
    TrainOptions,
    TrainState,
    clip_per_member,
    evaluate,
    fit,
    member_generators,
    sample_ensemble,
)

__all__ = [
    "ElasticWeightConsolidation",
    "Evaluation",
    "IntelligentSynapses",
    "Penalty",
    "RateL2",
    "SpeedAtClassCentres",
    "SpikeRate",
    "TrainOptions",
    "TrainState",
    "WeightL2",
    "clip_per_member",
    "evaluate",
    "fit",
    "masked_binary_cross_entropy",
    "masked_cross_entropy",
    "masked_mse",
    "member_generators",
    "rate_l2",
    "sample_ensemble",
    "task_loss",
    "weight_l2",
]
