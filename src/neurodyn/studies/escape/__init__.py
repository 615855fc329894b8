"""Memory lifetimes under noise: `neurodyn study escape`.

CTRNN ensembles trained on the 3-bit flip-flop and on a delayed-response ring task at several
training noise levels; for each network, the switching rates between its memories against test
noise, the Arrhenius fit of its memory lifetime, and the barriers of the saddles the
fixed-point finder finds between its memories (`neurodyn.studies.escape.measure`); writes
`ROOT/study-escape/`. README.md states what it found.
"""

from neurodyn.studies._study import Study
from neurodyn.studies.escape import measure, report
from neurodyn.studies.escape.figures import plot_arrhenius, plot_barriers
from neurodyn.studies.escape.measure import (
    TASKS,
    EscapeConfig,
    NetworkEscape,
    PairBarrier,
    StudyResults,
    basin_depth_trend,
    measure_run,
)

__all__ = [
    "STUDY",
    "TASKS",
    "EscapeConfig",
    "NetworkEscape",
    "PairBarrier",
    "StudyResults",
    "basin_depth_trend",
    "measure_run",
    "plot_arrhenius",
    "plot_barriers",
]

STUDY: Study[EscapeConfig, StudyResults] = Study(
    name="escape",
    title="Memory lifetimes under noise: escape between attractors of trained networks",
    package=__name__,
    config_type=EscapeConfig,
    measure=measure.measure,
    rows=measure.rows,
    summary=measure.summary,
    report=report.report,
    runs=measure.runs,
    columns=(
        "task",
        "train_noise",
        "seed",
        "performance",
        "n_memories",
        "barrier",
        "barrier_low",
        "barrier_high",
        "n_levels",
        "path_barrier",
        "n_saddles",
    ),
    tables=measure.tables,
    can_skip_training=True,
    # a partial `model:`, `train:` or `escape:` keeps the other settings of config.yaml
    sections=("model", "train", "escape"),
)
