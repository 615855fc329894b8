"""Recovering the dynamics behind a recording, against the truth (the question of the
Computation-through-Dynamics benchmark, Versteeg et al. 2024): task-trained networks are
recorded through a fraction of their units as Poisson counts, latent CTRNNs of two sizes, a
low-rank CTRNN, a GRU and the fast rate fit are fitted to each recording, and every fit is
scored on held-out neurons (bits/spike) and against the truth (state R^2, fixed points, the
timescales of the linearised dynamics at them, DSA).

`neurodyn study recovery` (`neurodyn.studies.recovery.measure`) writes `ROOT/study-recovery/`;
README.md holds the findings.
"""

from neurodyn.studies._study import Study
from neurodyn.studies.recovery import measure, report
from neurodyn.studies.recovery.figures import plot_fit_against_recovery
from neurodyn.studies.recovery.measure import FitScore, RecoveryConfig

__all__ = ["STUDY", "FitScore", "RecoveryConfig", "plot_fit_against_recovery"]

STUDY: Study[RecoveryConfig, list[FitScore]] = Study(
    name="recovery",
    title="Recovering dynamics from recordings, against the truth",
    package=__name__,
    config_type=RecoveryConfig,
    measure=measure.measure,
    rows=measure.rows,
    summary=measure.summary,
    report=report.report,
    runs=measure.runs,
    columns=(
        "truth",
        "fraction",
        "n_observed",
        "model",
        "member",
        "bits_per_spike",
        "true_bits_per_spike",
        "psth_r2",
        "state_r2",
        "n_fixed_true",
        "n_fixed_fitted",
        "fixed_point_distance",
        "stability_agreement",
        "timescale_error",
        "slowest_timescale_ms",
        "true_slowest_timescale_ms",
        "dsa_distance",
        "fit_seconds",
    ),
    sections=("recording",),
)
