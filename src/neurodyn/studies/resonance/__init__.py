"""Metzner, Schilling, Maier & Krauss (2024), "Recurrence resonance - noise-enhanced dynamics in
recurrent neural networks" (Frontiers in Complex Systems 2; arXiv 2408.05579), after Krauss et
al. (2019), "Recurrence resonance in three-neuron motifs".

`neurodyn study resonance` builds noisy Boltzmann machines from each weight family, measures the
entropy H, the mutual information I between successive states and D = H - I against the noise
amplitude r over a finite observation, for several seeds, and next to it the exact curve of an
infinite observation (`neurodyn.studies.resonance.measure`); writes `ROOT/study-resonance/` with
`measures.csv` (one row per family), `curves/*.npz` and the report. Nothing trains: the study
runs in seconds. README.md sets the paper's numbers next to ours.
"""

from neurodyn.studies._study import Study
from neurodyn.studies.resonance import measure, report
from neurodyn.studies.resonance.measure import (
    PAPER,
    RR_GAIN_BITS,
    FamilyResult,
    ResonanceConfig,
    family_row,
    measure_family,
)

__all__ = [
    "PAPER",
    "RR_GAIN_BITS",
    "STUDY",
    "FamilyResult",
    "ResonanceConfig",
    "family_row",
    "measure_family",
]

STUDY: Study[ResonanceConfig, list[FamilyResult]] = Study(
    name="resonance",
    title="Recurrence resonance: noise-enhanced information flux (Metzner et al. 2024)",
    package=__name__,
    config_type=ResonanceConfig,
    measure=measure.measure,
    rows=measure.rows,
    summary=measure.summary,
    report=report.report,
    columns=(
        "family",
        "weights",
        "n_units",
        "observed",
        "r_opt",
        "I_max",
        "H_at_r_opt",
        "I_at_zero",
        "H_at_zero",
        "r_max",
        "I_at_r_max",
        "networks_with_rr",
    ),
    # a partial `noise_levels:` keeps the other settings of config.yaml
    sections=("noise_levels",),
)
