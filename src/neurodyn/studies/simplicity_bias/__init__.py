"""Turner & Barak (2023), "The simplicity bias in multi-task RNNs" (NeurIPS 2023): when does
one network reuse an attractor for several tasks?

`neurodyn study simplicity-bias` trains one ensemble of seeds per task set and setting
(gated, orthogonal, parallel), measures every network (W_rec outliers, separability of the
tasks' states, shared attractors, when outliers emerged) and writes
`ROOT/study-simplicity-bias/`. `--variant emergence` is the slower training that shows
outliers appearing one after another.
"""

from neurodyn.studies._study import Study
from neurodyn.studies.simplicity_bias.measure import (
    N_PROBES,
    PROBE_KEPT,
    PROBE_STEPS,
    NetworkMeasures,
    OutlierHistory,
    SimplicityBiasConfig,
    SimplicityBiasResults,
    measure,
    measure_run,
    outlier_emergence,
    outlier_history,
    probe_states,
    rows,
    runs,
    shared_attractors,
    summary,
)
from neurodyn.studies.simplicity_bias.report import report

__all__ = [
    "N_PROBES",
    "PROBE_KEPT",
    "PROBE_STEPS",
    "STUDY",
    "NetworkMeasures",
    "OutlierHistory",
    "SimplicityBiasConfig",
    "SimplicityBiasResults",
    "measure_run",
    "outlier_emergence",
    "outlier_history",
    "probe_states",
    "shared_attractors",
]

STUDY: Study[SimplicityBiasConfig, SimplicityBiasResults] = Study(
    name="simplicity-bias",
    title="Simplicity bias in multi-task RNNs (Turner & Barak 2023)",
    package=__name__,
    config_type=SimplicityBiasConfig,
    measure=measure,
    rows=rows,
    summary=summary,
    report=report,
    runs=runs,
    columns=(
        "components",
        "setting",
        "seed",
        "performance",
        "outliers",
        "separability",
        "f_ratio",
        "shared",
        "n_stable",
        "emergence",
    ),
)
