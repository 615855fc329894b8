"""Li, Han, E & Li (2022), "Approximation and optimization theory for linear continuous-time
recurrent neural networks" (JMLR 23(42); ICLR 2021 as "On the curse of memory in recurrent
neural networks"): linear RNNs learning linear functionals of white noise, and how the
target's memory limits both what a width-m network can approximate and how fast gradient
training gets there.

`neurodyn study memory-kernels` trains linear RNNs of several widths on exponential and
power-law kernels (Adam on the exact white-noise loss), runs plain gradient descent on that
loss from a small initialisation, trains one width on the `memory_kernel` task itself with
neurodyn's trainer, and measures the approximation error, the plateaus of the training curves
and the learned eigenvalues
(`neurodyn.studies.memory_kernels.measure`); writes `ROOT/study-memory-kernels/`. README.md
sets the theory's predictions next to ours.
"""

from neurodyn.studies._study import Study
from neurodyn.studies.memory_kernels import measure, report
from neurodyn.studies.memory_kernels.figures import plot_errors, plot_plateaus, plot_timescales
from neurodyn.studies.memory_kernels.measure import (
    KernelsConfig,
    KernelsResults,
    NetworkResult,
    dominant_timescale_ms,
    kernel_by_doubling,
    train_exact,
)

__all__ = [
    "STUDY",
    "KernelsConfig",
    "KernelsResults",
    "NetworkResult",
    "dominant_timescale_ms",
    "kernel_by_doubling",
    "plot_errors",
    "plot_plateaus",
    "plot_timescales",
    "train_exact",
]

STUDY: Study[KernelsConfig, KernelsResults] = Study(
    name="memory-kernels",
    title="The curse of memory in linear RNNs (Li, Han, E & Li 2022)",
    package=__name__,
    config_type=KernelsConfig,
    measure=measure.measure,
    rows=measure.rows,
    summary=measure.summary,
    report=report.report,
    runs=measure.runs,
    columns=(
        "experiment",
        "kernel",
        "family",
        "memory_ms",
        "omega",
        "width",
        "seed",
        "error",
        "plateau_steps",
        "steps_to_fit",
        "dominant_ms",
    ),
    tables=measure.tables,
    can_skip_training=True,
    # a partial `task:`, `model:`, `exact:`, `descent:`, `train:` or `plateau:` keeps the rest
    sections=("task", "model", "exact", "descent", "train", "plateau"),
)
