"""Continual learning, as Yang, Joglekar, Song, Newsome & Wang (2019), "Task representations in
neural networks trained to perform many cognitive tasks" (Nature Neuroscience 22, 297-306),
Fig. 7: the battery's tasks learned group after group, without and with the
intelligent-synapses penalty (Zenke, Poole & Ganguli 2017).

`neurodyn study continual` trains both runs, reads every task's performance after every stage
and writes `ROOT/study-continual/` (measures.csv: one row per run, network, stage and task).
"""

from neurodyn.studies._study import Study
from neurodyn.studies.continual.measure import (
    ContinualConfig,
    ContinualResult,
    evaluations,
    measure,
    rows,
    runs,
    summary,
)
from neurodyn.studies.continual.report import report

__all__ = ["STUDY", "ContinualConfig", "ContinualResult", "evaluations"]

STUDY: Study[ContinualConfig, list[ContinualResult]] = Study(
    name="continual",
    title="Continual learning (Yang et al. 2019, Fig. 7)",
    package=__name__,
    config_type=ContinualConfig,
    measure=measure,
    rows=rows,
    summary=summary,
    report=report,
    runs=runs,
    columns=("run", "seed", "after_stage", "task", "performance"),
)
