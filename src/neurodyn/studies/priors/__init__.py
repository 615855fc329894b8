"""Ganguli & Simoncelli (NeurIPS 2010), "Implicit encoding of prior probabilities in optimal
neural populations": does a network trained to estimate an angle allocate its Fisher
information, units and gain by the stimulus prior, and as which objective's optimum?

`neurodyn study priors` trains the plasticity study's stochastic circuit (Bredenberg,
Simoncelli & Savin 2020) with its local rule and with BPTT, and leaky rate networks with BPTT
on `orientation_estimation` (without and with a cost on their rates), under a wide, a narrow and a shifted von Mises prior; probes each
on a grid of angles and measures its linear Fisher information, density of preferred angles and
gains against the prior (`neurodyn.studies.priors.measure`); writes `ROOT/study-priors/`.
README.md sets the paper's predictions next to ours.
"""

from neurodyn.studies._study import Study
from neurodyn.studies.priors import measure, report
from neurodyn.studies.priors.figures import plot_fisher_by_prior, plot_powers
from neurodyn.studies.priors.measure import (
    CircuitCondition,
    NetworkResult,
    PriorsConfig,
    TrainedCircuit,
    angle_grid,
    measure_circuit,
    measure_rnn_run,
    train_circuit,
)

__all__ = [
    "STUDY",
    "CircuitCondition",
    "NetworkResult",
    "PriorsConfig",
    "TrainedCircuit",
    "angle_grid",
    "measure_circuit",
    "measure_rnn_run",
    "plot_fisher_by_prior",
    "plot_powers",
    "train_circuit",
]

STUDY: Study[PriorsConfig, list[NetworkResult]] = Study(
    name="priors",
    trains_outside_runs="stochastic circuits (the default's 18: one to two minutes each)",
    trained_files="networks/*.npz",
    title="Implicit encoding of prior probabilities in trained networks (Ganguli & Simoncelli 2010)",
    package=__name__,
    config_type=PriorsConfig,
    measure=measure.measure,
    rows=measure.rows,
    summary=measure.summary,
    report=report.report,
    runs=measure.runs,
    columns=(
        "network",
        "kind",
        "trainer",
        "prior",
        "kappa",
        "mu",
        "seed",
        "test_error",
        "fisher_mean",
        "fisher_near_over_far",
        "fisher_power",
        "fisher_power_se",
        "density_power",
        "gain_power",
    ),
    sections=(
        "circuit",
        "local",
        "bptt",
        "probe",
        "rnn_task",
        "rnn_model",
        "rnn_train",
        "rnn_probe",
        "rnn_budget",
    ),
)
