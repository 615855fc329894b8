"""Bredenberg, Simoncelli & Savin (NeurIPS 2020), "Learning efficient task-dependent
representations with synaptic plasticity".

`neurodyn study plasticity` trains a stochastic rate circuit on orientation estimation and
half-circle classification with a local reward-modulated Hebbian rule, at several noise levels
and under three priors, and the same circuits by truncated BPTT; probes every network before
and after learning and measures the learned code and its noise
(`neurodyn.studies.plasticity.measure`). It trains circuits, not runs: they are kept in
`ROOT/study-plasticity/networks/` beside `measures.csv`, `measures_by_condition.csv` and the
report. README.md sets the paper's numbers next to ours.
"""

from neurodyn.studies._study import Study
from neurodyn.studies.plasticity import measure, report
from neurodyn.studies.plasticity.measure import (
    BOUNDARY_PAIRS,
    NEAR_PRIOR_PEAK,
    SUMMARY_COLUMNS,
    Condition,
    NetworkResult,
    PlasticityConfig,
    TrainedNetwork,
    condition_means,
    mean_sd_text,
    measure_network,
    time_to_fraction,
    train_condition,
)

__all__ = [
    "BOUNDARY_PAIRS",
    "NEAR_PRIOR_PEAK",
    "STUDY",
    "SUMMARY_COLUMNS",
    "Condition",
    "NetworkResult",
    "PlasticityConfig",
    "TrainedNetwork",
    "condition_means",
    "mean_sd_text",
    "measure_network",
    "time_to_fraction",
    "train_condition",
]

STUDY: Study[PlasticityConfig, list[NetworkResult]] = Study(
    name="plasticity",
    trains_outside_runs="stochastic circuits (the default's 30: about 12 minutes on one core)",
    trained_files="networks/*.npz",
    title=(
        "Learning task-dependent codes with a local plasticity rule "
        "(Bredenberg, Simoncelli & Savin 2020)"
    ),
    package=__name__,
    config_type=PlasticityConfig,
    measure=measure.measure,
    rows=measure.rows,
    summary=measure.summary,
    report=report.report,
    columns=(
        "network",
        "condition",
        "task",
        "trainer",
        "sigma",
        "kappa",
        "mu",
        "seed",
        "n_units",
        "test_error_before",
        "test_error_after",
        "final_objective",
        "time_to_90_percent",
        "share_preferring_near_prior_centre",
        "noise_fraction_before",
        "noise_fraction_after",
        "noise_fraction_after_near_centre",
        "noise_fraction_after_elsewhere",
        "population_mean_prior_correlation",
        "engagement_ratio",
        "train_seconds",
    ),
    tables=measure.tables,
    # a partial trainer or probe section keeps the other settings of config.yaml
    sections=("local", "bptt", "probe"),
)
