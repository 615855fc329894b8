"""Driscoll, Shenoy & Sussillo (2024), "Flexible multitask computation in recurrent networks
utilizes shared dynamical motifs" (Nature Neuroscience 27, 1349-1363).

`neurodyn study motifs` trains the paper's network on its 15 tasks (or reuses / resumes the
run) and the transfer networks, then for every network of the main run: performance, the
task-period variance and its Ward clusters of units and periods with the motif blocks (Fig. 3),
cluster lesions per task period (Fig. 6), fixed points per task period (Fig. 2), the
MemoryPro-MemoryAnti interpolation (Fig. 4); and the transfer learning curves (Fig. 7),
written to `ROOT/study-motifs/`. The motif analysis itself works on any run whose tasks
declare their periods: `neurodyn analyze RUN --motifs`.
"""

from neurodyn.studies._study import Study
from neurodyn.studies.motifs.measure import (
    MotifsConfig,
    MotifsResults,
    measure,
    rows,
    runs,
    summary,
    tables,
)
from neurodyn.studies.motifs.report import report

__all__ = ["STUDY", "MotifsConfig", "MotifsResults"]

STUDY: Study[MotifsConfig, MotifsResults] = Study(
    name="motifs",
    title="Driscoll et al. 2024: shared dynamical motifs in a network trained on 15 tasks",
    package=__name__,
    config_type=MotifsConfig,
    measure=measure,
    rows=rows,
    summary=summary,
    report=report,
    runs=runs,
    columns=(
        "member",
        "steps",
        "min_performance",
        "active_units",
        "unit_clusters",
        "period_clusters",
        "shared_motifs",
    ),
    tables=tables,
    can_skip_training=True,
)
