"""Learning the stochastic circuit (`neurodyn.models.stochastic`) with the local,
reward-modulated Hebbian rule of Bredenberg, Simoncelli & Savin (NeurIPS 2020), and the same
circuit trained by truncated BPTT for comparison.

The objective is the stationary expected reward `O = E_theta E_{r|theta}[alpha(D r, theta)]`
(`StimulusTask.reward`). For a symmetric W the circuit samples `p(r | theta)` proportional to
`exp(-2 E / sigma^2)`, and E is linear in W, C and b, so the score-function identity gives

    dO/dW_ij = sigma^-2     E[alpha (r_i r_j - <r_i r_j>_{r|theta})]
    dO/dC_ik = 2 sigma^-2   E[alpha (r_i - <r_i>_{r|theta}) s_k]
    dO/db_i  = 2 sigma^-2   E[alpha (r_i - <r_i>_{r|theta})]

(only the symmetric part of W enters the density). The rule (the authors' code) follows one
sample of each bracket at every Euler step, the conditional means replaced by running averages
`<x> <- (1 - a) <x> + a x` (reset at each trial's start; the rule waits a transient before
it acts, so that they have settled):

    W <- W + dt A eta_W [R (r r^T - <r r^T>) - lambda_W W]
    C <- C + dt A eta_C [R (r s^T - <r s^T>) - lambda_C C]
    b <- b + dt A eta_b [R (r - <r>) - lambda_b b]

with R = alpha(t), the current reward. Its expected step (without the decay) is therefore
`dt A eta_W sigma^2 dO/dW` and `dt A eta sigma^2 / 2` times the C and b gradients: gradient
ascent with a rate per parameter (a test checks this against finite differences of O computed
by quadrature on a 2-unit circuit). The readout D learns by a supervised delta rule (the
gradient of alpha in D): `D += dt A eta_D [-(D r - y) r^T - lambda_D D]` for estimation,
`D += dt A eta_D [gain (t - o) r^T - lambda_D D]` for classification.

One difference from the authors' code, for speed: `n_chains` independent copies of the
circuit (each with its own stimulus and noise) run side by side and each step applies the mean
of their updates. Each chain's update has the authors' expectation, so the mean has it too,
with 1/n_chains of the variance: the same expected learning per step, less noisy, which lets
the study use larger rates than the authors' single chain could (the study's README says
which).

Shapes: B chains, N units, K input channels, k outputs.
"""

from neurodyn.train.plasticity._circuit import Circuit, init_circuit
from neurodyn.train.plasticity._probe import Probe, probe, probe_angles, probe_performance
from neurodyn.train.plasticity._rule import (
    LocalRule,
    RunningAverages,
    readout_delta,
    reward_hebbian,
)
from neurodyn.train.plasticity._train import (
    NOISE_BLOCK,
    LearningCurve,
    Training,
    train_bptt,
    train_local,
)

__all__ = [
    "NOISE_BLOCK",
    "Circuit",
    "LearningCurve",
    "LocalRule",
    "Probe",
    "RunningAverages",
    "Training",
    "init_circuit",
    "probe",
    "probe_angles",
    "probe_performance",
    "readout_delta",
    "reward_hebbian",
    "train_bptt",
    "train_local",
]
