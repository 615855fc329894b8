"""The old import path of the Boltzmann machines, which are models: `neurodyn.models.boltzmann`.

Kept so that code importing `neurodyn.analysis.boltzmann` keeps working; import from
`neurodyn.models.boltzmann` in new code.
"""

from neurodyn.models.boltzmann import (
    MAX_EXACT_UNITS,
    WEIGHT_FAMILIES,
    all_states,
    autapse_weights,
    check_network,
    family_weights,
    hopfield_weights,
    noisy_firing_probability,
    nrooks_weights,
    random_patterns,
    random_weights,
    sbm_transition_matrix,
    simulate_sbm,
    state_codes,
    symmetric_bias,
)

__all__ = [
    "MAX_EXACT_UNITS",
    "WEIGHT_FAMILIES",
    "all_states",
    "autapse_weights",
    "check_network",
    "family_weights",
    "hopfield_weights",
    "noisy_firing_probability",
    "nrooks_weights",
    "random_patterns",
    "random_weights",
    "sbm_transition_matrix",
    "simulate_sbm",
    "state_codes",
    "symmetric_bias",
]
