"""Derdikman, Whitlock, Tsao, Fyhn, Hafting, Moser & Moser (2009), "Fragmentation of grid cell
maps in a multicompartment environment" (Nature Neuroscience 12, 1325), with networks trained
to path-integrate (Banino et al. 2018; Sorscher et al. 2019, 2023).

`neurodyn study grid-fragmentation` trains a ReLU network on `path_integration` in an open
arena, finds its grid-like units (gridness above the shuffle threshold), then runs it on
directed runs through a hairpin maze and through the virtual hairpin (the same runs without
the inner walls) and measures the arm-by-arm correlation pattern and the resets at the turns
(`neurodyn.studies.grid_fragmentation.measure`); writes `ROOT/study-grid-fragmentation/`.
README.md sets the paper's findings next to ours.
"""

from neurodyn.studies._study import Study
from neurodyn.studies.grid_fragmentation import measure, report
from neurodyn.studies.grid_fragmentation.figures import plot_mazes, top_grid_units
from neurodyn.studies.grid_fragmentation.measure import GridConfig, MazeResult, NetworkResult

__all__ = ["STUDY", "GridConfig", "MazeResult", "NetworkResult", "plot_mazes", "top_grid_units"]

STUDY: Study[GridConfig, list[NetworkResult]] = Study(
    name="grid-fragmentation",
    title="Fragmentation of grid maps in a hairpin maze (Derdikman et al. 2009)",
    package=__name__,
    config_type=GridConfig,
    measure=measure.measure,
    rows=measure.rows,
    summary=measure.summary,
    report=report.report,
    runs=measure.runs,
    columns=(
        "seed",
        "decoding_error_m",
        "gridness_threshold",
        "grid_fraction",
        "gridness_median",
        "hairpin_same_direction",
        "hairpin_opposite_direction",
        "hairpin_reset_fraction",
        "virtual_same_direction",
        "virtual_opposite_direction",
        "virtual_reset_fraction",
    ),
    can_skip_training=True,
    # a partial `task:`, `model:` or `train:` keeps the other settings of config.yaml
    sections=("task", "model", "train"),
)
