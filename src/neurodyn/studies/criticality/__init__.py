"""Safavi, Chalk, Logothetis & Levina (2024), "Signatures of criticality in efficient coding
networks" (PNAS 121:e2302730121).

`neurodyn study criticality` simulates efficient spike-coding networks (Boerlin, Machens &
Denève 2013) with a synaptic delay at every noise level, for networks of 50 to 400 neurons and
several seeds (`neurodyn.studies.criticality.measure`): the coding error and the avalanches'
kappa and exponents against the noise, and per size the noise of the lowest coding error
against the noise at which the avalanches are most scale-free. Writes
`ROOT/study-criticality/` with `measures.csv` (one row per size and noise level),
`curves/N<size>.npz` and the report. Nothing trains. README.md sets the paper's claims next to
ours.
"""

from neurodyn.studies._study import Study
from neurodyn.studies.criticality import measure, report
from neurodyn.studies.criticality.measure import (
    PAPER,
    CriticalityConfig,
    SizeResult,
    measure_size,
)

__all__ = ["PAPER", "STUDY", "CriticalityConfig", "SizeResult", "measure_size"]

STUDY: Study[CriticalityConfig, list[SizeResult]] = Study(
    name="criticality",
    title="Signatures of criticality in efficient coding networks (Safavi et al. 2024)",
    package=__name__,
    config_type=CriticalityConfig,
    measure=measure.measure,
    rows=measure.rows,
    summary=measure.summary,
    report=report.report,
    columns=(
        "size",
        "noise",
        "coding_error",
        "kappa",
        "size_exponent",
        "duration_exponent",
        "rate_hz",
        "avalanches",
        "error_minimum",
        "kappa_optimum",
    ),
    # a partial `network:` or `signal:` keeps the other settings of config.yaml
    sections=("network", "signal"),
)
