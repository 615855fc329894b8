"""Vafidis, Bhargava & Rangel (ICLR 2025), "Disentangling representations through multi-task
learning": do networks that report many classifications of a noisy latent variable come to
represent the variable itself, abstractly?

`neurodyn study abstraction` trains one ensemble per number of classification lines N on
`latent_classification`, and measures each network's out-of-distribution generalisation (a
linear read-out of x* fitted on three quadrants, scored on the fourth) and the abstraction
measures of its final states (`neurodyn.studies.abstraction.measure`); writes
`ROOT/study-abstraction/`. README.md sets the paper's findings next to ours.
"""

from neurodyn.studies._study import Study
from neurodyn.studies.abstraction import measure, report
from neurodyn.studies.abstraction.figures import plot_generalisation
from neurodyn.studies.abstraction.measure import (
    AbstractionConfig,
    NetworkResult,
    final_states,
    measure_run,
    quadrant_of,
)

__all__ = [
    "STUDY",
    "AbstractionConfig",
    "NetworkResult",
    "final_states",
    "measure_run",
    "plot_generalisation",
    "quadrant_of",
]

STUDY: Study[AbstractionConfig, list[NetworkResult]] = Study(
    name="abstraction",
    title="Abstraction from multi-task learning (Vafidis, Bhargava & Rangel 2025)",
    package=__name__,
    config_type=AbstractionConfig,
    measure=measure.measure,
    rows=measure.rows,
    summary=measure.summary,
    report=report.report,
    runs=measure.runs,
    columns=(
        "n_tasks",
        "seed",
        "performance",
        "id_r2",
        "ood_r2",
        "ccgp_x",
        "ccgp_y",
        "parallelism_x",
        "parallelism_y",
        "shattering",
    ),
    can_skip_training=True,
    # a partial `task:`, `model:` or `train:` keeps the other settings of config.yaml
    sections=("task", "model", "train"),
)
