"""Networks fitted to recordings (`neurodyn.data`).

- `fit_rates`: the fast data-constrained fit, one rate unit per neuron, all weights from one
  batched ridge solve (`RateFit`), as a baseline and an initialiser.
- `fit_latent`: latent networks (any cell) with a Poisson or Gaussian observation model and
  a per-trial initial-state encoder, trained by the BPTT trainer and written as a run
  (`neurodyn fit DATA --config FIT.yaml`).
- `fitted_split`, `fitted_trajectories`: a fitted run's held-out neurons and trials, and its
  states on the recording's trials, for `neurodyn.analysis.recovery`.
- `recovery`: a fitted run scored against the truth of a synthetic recording (`Recovery`).
"""

from neurodyn.fit.latent import (
    fit_config,
    fit_latent,
    fitted_split,
    fitted_trajectories,
    predicted_rates,
)
from neurodyn.fit.rate import RateFit, fit_rates
from neurodyn.fit.truth import recovery

__all__ = [
    "RateFit",
    "fit_config",
    "fit_latent",
    "fit_rates",
    "fitted_split",
    "fitted_trajectories",
    "predicted_rates",
    "recovery",
]
