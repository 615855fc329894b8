"""Yang, Joglekar, Song, Newsome & Wang (2019), "Task representations in neural networks trained
to perform many cognitive tasks" (Nature Neuroscience 22, 297-306).

`neurodyn study yang19` trains the paper's network on the 20-task battery (or reuses / resumes
the run), then for every ensemble member: performance on every task, task variance and its
clusters (Fig. 2), fractional task variance of the paper's task pairs (Fig. 3), cluster lesions
(Fig. 2d) and compositional task vectors (Fig. 6), written to `ROOT/study-yang19/`.
`neurodyn study yang19 --no-train` analyses the run as it is, e.g. while a long training goes on.

`analyze_multitask` runs the same analyses on any multitask run, not only the battery.
"""

from neurodyn.studies._study import Study
from neurodyn.studies.yang19.measure import (
    ANALOGIES,
    FTV_PAIRS,
    MultitaskAnalysis,
    Yang19Config,
    analyse_multitask,
    analyze_multitask,
    measure,
    rows,
    runs,
    set_vectors,
    summary,
    task_labels,
    vector_epoch,
)
from neurodyn.studies.yang19.report import report

__all__ = [
    "ANALOGIES",
    "FTV_PAIRS",
    "STUDY",
    "MultitaskAnalysis",
    "Yang19Config",
    "analyse_multitask",
    "analyze_multitask",
    "set_vectors",
    "task_labels",
    "vector_epoch",
]

STUDY: Study[Yang19Config, list[MultitaskAnalysis]] = Study(
    name="yang19",
    title="Yang et al. 2019: task representations in a network trained on many tasks",
    package=__name__,
    config_type=Yang19Config,
    measure=measure,
    rows=rows,
    summary=summary,
    report=report,
    runs=runs,
    columns=(
        "member",
        "min_perf_strict",
        "min_perf_paper",
        "active_units",
        "clusters",
        "silhouette",
    ),
    can_skip_training=True,
)
