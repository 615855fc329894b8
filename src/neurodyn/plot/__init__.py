"""Figures. Each function takes result objects and an optional `ax=` (a figure of several
panels: `axes=` or `fig=`), draws into it or into a new figure, returns the figure, and never
computes: the analyses (`neurodyn.analysis`) make what is drawn.

No module here selects a matplotlib backend: a script or notebook keeps its own, and the
`neurodyn` command chooses the file-only Agg backend for itself.
"""

from neurodyn.plot.avalanches import plot_avalanches, plot_criticality
from neurodyn.plot.compare import plot_comparison
from neurodyn.plot.dynamics import (
    plot_koopman,
    plot_limit_cycles,
    plot_lyapunov,
    plot_poincare_section,
)
from neurodyn.plot.figures import (
    plot_learning_curves,
    plot_pca,
    plot_recurrent_input_ratio,
    plot_step_tuning,
)
from neurodyn.plot.fisher import plot_fisher_information, plot_prior_powers
from neurodyn.plot.fixed_points import (
    plot_across_training,
    plot_continuation,
    plot_eigenvalues,
    plot_fixed_points,
)
from neurodyn.plot.information import (
    plot_resonance,
    plot_resonance_comparison,
    plot_resonance_grid,
)
from neurodyn.plot.latent import plot_dmd, plot_epoch_states
from neurodyn.plot.motifs import plot_motifs, plot_period_lesions
from neurodyn.plot.population_code import (
    plot_bias_variance,
    plot_discriminability,
    plot_engagement,
    plot_noise_volume_fraction,
    plot_population_tuning,
    plot_preferred_stimuli,
    plot_reward_curves,
)
from neurodyn.plot.recovery import plot_recovery
from neurodyn.plot.spatial import (
    plot_arm_correlations,
    plot_autocorrelograms,
    plot_gridness,
    plot_rate_maps,
    plot_resets,
)
from neurodyn.plot.sweep import plot_parameter_effect
from neurodyn.plot.task_variance import (
    plot_fractional_variance,
    plot_lesion_effects,
    plot_silhouette,
    plot_task_variance_matrix,
    plot_task_vectors,
)

__all__ = [
    "plot_across_training",
    "plot_arm_correlations",
    "plot_autocorrelograms",
    "plot_avalanches",
    "plot_bias_variance",
    "plot_comparison",
    "plot_continuation",
    "plot_criticality",
    "plot_discriminability",
    "plot_dmd",
    "plot_eigenvalues",
    "plot_engagement",
    "plot_epoch_states",
    "plot_fisher_information",
    "plot_fixed_points",
    "plot_fractional_variance",
    "plot_gridness",
    "plot_koopman",
    "plot_learning_curves",
    "plot_lesion_effects",
    "plot_limit_cycles",
    "plot_lyapunov",
    "plot_motifs",
    "plot_noise_volume_fraction",
    "plot_parameter_effect",
    "plot_pca",
    "plot_period_lesions",
    "plot_poincare_section",
    "plot_population_tuning",
    "plot_preferred_stimuli",
    "plot_prior_powers",
    "plot_rate_maps",
    "plot_recovery",
    "plot_recurrent_input_ratio",
    "plot_resets",
    "plot_resonance",
    "plot_resonance_comparison",
    "plot_resonance_grid",
    "plot_reward_curves",
    "plot_silhouette",
    "plot_step_tuning",
    "plot_task_variance_matrix",
    "plot_task_vectors",
]
