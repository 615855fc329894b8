"""Ramsaran et al. (Science 2023), "A shift in the mechanisms controlling hippocampal engram
formation during brain maturation": dense engrams under immature PV inhibition give imprecise
memories, sparse ones under mature inhibition precise ones.

`neurodyn study engrams` runs an ensemble of engram networks (`neurodyn.models.engram`)
through contextual fear conditioning under a sweep of PV inhibition strengths (the maturation
axis), at a juvenile and an adult strength, under chemogenetic-like shifts of excitability at
encoding (shrinking and expanding engrams) and under k-winners-take-all, and measures engram
density, A/B engram overlap, freezing and discrimination
(`neurodyn.studies.engrams.measure`); writes `ROOT/study-engrams/`. README.md sets the paper's
numbers next to ours.
"""

from neurodyn.studies._study import Study
from neurodyn.studies.engrams import measure, report
from neurodyn.studies.engrams.figures import plot_density_precision
from neurodyn.studies.engrams.measure import (
    Condition,
    ConditionResult,
    EngramsConfig,
    conditions,
    measure_condition,
)

__all__ = [
    "STUDY",
    "Condition",
    "ConditionResult",
    "EngramsConfig",
    "conditions",
    "measure_condition",
    "plot_density_precision",
]

STUDY: Study[EngramsConfig, list[ConditionResult]] = Study(
    name="engrams",
    title="Engram sparsity and memory precision (Ramsaran et al. 2023)",
    package=__name__,
    config_type=EngramsConfig,
    measure=measure.measure,
    rows=measure.rows,
    summary=measure.summary,
    report=report.report,
    columns=(
        "condition",
        "group",
        "shift",
        "fraction",
        "seed",
        "density",
        "overlap",
        "overlap_chance",
        "test_density_a",
        "test_density_b",
        "freezing_a",
        "freezing_b",
        "discrimination",
    ),
    # a partial `ages:` keeps the other age of config.yaml
    sections=("ages",),
)
