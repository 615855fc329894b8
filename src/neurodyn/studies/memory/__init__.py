"""Haviv, Rivkind & Barak (ICML 2019), "Understanding and controlling memory in recurrent neural
networks": how the training curriculum and a speed regulariser set how long a network remembers.

`neurodyn study memory` trains GRU, LSTM and CTRNN ensembles on delayed classification of the
8 x 8 digits by two curricula, fine-tunes each with and without the speed penalty at the class
centres, and measures accuracy against delay far beyond the trained ones, the speed at the
class centres, the slow points of each class's memory and backtracking
(`neurodyn.studies.memory.measure`); writes `ROOT/study-memory/`. README.md sets the paper's
numbers next to ours.
"""

from neurodyn.studies._study import Study
from neurodyn.studies.memory import measure, report
from neurodyn.studies.memory.figures import plot_accuracy_by_delay, plot_speed_against_memory
from neurodyn.studies.memory.measure import (
    CURRICULA,
    T_MAX,
    TRAINED_DELAY,
    MemoryConfig,
    NetworkMeasures,
    StudyRun,
    accuracy_by_delay,
    backtracking,
    backtracking_steps,
    centre_speed,
    curriculum_tasks,
    group_means,
    measure_run,
    speed_predicts_memory,
)

__all__ = [
    "CURRICULA",
    "STUDY",
    "TRAINED_DELAY",
    "T_MAX",
    "MemoryConfig",
    "NetworkMeasures",
    "StudyRun",
    "accuracy_by_delay",
    "backtracking",
    "backtracking_steps",
    "centre_speed",
    "curriculum_tasks",
    "group_means",
    "measure_run",
    "plot_accuracy_by_delay",
    "plot_speed_against_memory",
    "speed_predicts_memory",
]

STUDY: Study[MemoryConfig, list[NetworkMeasures]] = Study(
    name="memory",
    title="Memory: curricula and the speed regulariser (Haviv, Rivkind & Barak 2019)",
    package=__name__,
    config_type=MemoryConfig,
    measure=measure.measure,
    rows=measure.rows,
    summary=measure.summary,
    report=report.report,
    runs=measure.runs,
    history_read=measure.history_read,
    columns=(
        "curriculum",
        "cell",
        "phase",
        "speed_penalty",
        "seed",
        "trained",
        "beyond",
        "speed",
        "slow_point_q",
        "n_slow_points",
    ),
    # a partial `model:` or `train:` keeps the other settings of config.yaml
    sections=("model", "train"),
)
