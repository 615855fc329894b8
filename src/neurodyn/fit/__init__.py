"""Networks fitted to recordings (`neurodyn.data`).

- `fit_rates`: the fast data-constrained fit, one rate unit per neuron, all weights from one
  batched ridge solve (`RateFit`), as a baseline and an initialiser.
- `fit_latent`: latent networks (any cell) with a Poisson or Gaussian observation model and
  a per-trial initial-state encoder, trained by the BPTT trainer and written as a run
  (`neurodyn fit DATA --config FIT.yaml`).
- `fitted_split`, `fitted_trajectories`: a fitted run's held-out neurons and trials, and its
  states on the recording's trials, for `neurodyn.analysis.recovery`.
- `recovery`: a fitted run scored against the truth of a synthetic recording (`Recovery`).
- `fit_recording`: `neurodyn fit DATA --config FIT.yaml` (`method: latent` or `rates`, the
  rate fit written as a run by `fit_rate_run`), scored against a truth run when one is given
  (`score_against_truth`, kept for `neurodyn report`); `fit_record` reads what made a fit.
"""

from neurodyn.fit.fitting import fit_rate_run, fit_record, fit_recording, score_against_truth
from neurodyn.fit.latent import (
    fit_config,
    fit_latent,
    fitted_split,
    fitted_trajectories,
    predicted_rates,
)
from neurodyn.fit.rate import RateFit, fit_rates
from neurodyn.fit.truth import recovery, true_fixed_points

__all__ = [
    "RateFit",
    "fit_config",
    "fit_latent",
    "fit_rate_run",
    "fit_rates",
    "fit_record",
    "fit_recording",
    "fitted_split",
    "fitted_trajectories",
    "predicted_rates",
    "recovery",
    "score_against_truth",
    "true_fixed_points",
]
