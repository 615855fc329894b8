"""A planted low-rank network recovered by the low-rank latent fit: the fitted network's
collective variable spans the true one's within a small angle."""

import math

import torch

from neurodyn.data import synthesize
from neurodyn.fit import fit_latent, fitted_trajectories
from neurodyn.models import NetworkSpec, build_model

N, T, B = 30, 40, 120


def _largest_angle_deg(a, b):
    """The largest principal angle between the column spaces of `a [M, r]` and `b [M, r]`
    (each centred)."""
    a, b = a.detach(), b.detach()
    qa, _ = torch.linalg.qr((a - a.mean(0)).double())
    qb, _ = torch.linalg.qr((b - b.mean(0)).double())
    cosines = torch.linalg.svdvals(qa.T @ qb).clamp(max=1.0)
    return math.degrees(math.acos(float(cosines.min())))


def _planted(tmp_path):
    """A bistable rank-one network (Mastrogiuseppe & Ostojic: n = 2 m, so n.m / N = 2 > 1)
    flipped between its two states by input pulses along m, seen as Poisson counts."""
    truth = build_model(
        NetworkSpec(2, N, 1, tau_ms=60.0, activation="tanh", cell="lowrank", sigma_rec=0.0)
    )
    g = torch.Generator().manual_seed(0)
    m = torch.randn(N, 1, generator=g)
    with torch.no_grad():
        truth.m.copy_(m[None])
        truth.n.copy_(2.0 * m[None])
        truth.W_in.copy_(torch.cat([m, -m], 1)[None])
    x = torch.zeros(T, B, 2)
    for start in (2, 15, 28):
        sign = (torch.rand(B, 2, generator=g) < 0.6).float()
        x[start : start + 3] = torch.where(torch.rand(B, 2, generator=g) < 0.5, -1.0, 1.0) * sign
    synth = synthesize(truth, x, n_observed=25, mean_rate_hz=30.0, seed=0)
    return truth, synth, synth.recording.save(tmp_path / "rec.npz")


def test_the_low_rank_fit_recovers_the_planted_collective_variable(tmp_path):
    truth, synth, path = _planted(tmp_path)
    config = {
        "recording": {"heldout_neurons": 0.2, "heldout_trials": 0.2, "warmup_bins": 0},
        "model": {"n_hidden": 16, "seeds": [1], "cell": "lowrank", "rank": 1, "tau_ms": 60.0},
        "train": {"steps": 500, "batch_size": 32, "lr": 0.02, "log_every": 100},
    }
    run = fit_latent(path, config, runs=tmp_path / "runs", progress=False)
    model = run.load_model()
    assert int(torch.linalg.matrix_rank(model.W_rec[0].detach())) == 1
    true_kappa = truth.collective(synth.states[:, None])[:, 0].reshape(-1, 1)
    states, _ = fitted_trajectories(run)
    fitted_kappa = model.collective(states)[:, 0].reshape(-1, 1)
    assert _largest_angle_deg(fitted_kappa, true_kappa) < 15.0
    # before training the same network's collective variable is far from the truth's
    untrained = build_model(run.model_spec())
    with torch.no_grad():
        start = untrained(run.task.trials_batch(torch.arange(B)).x, noise=False).states
    start_kappa = untrained.collective(start)[:, 0].reshape(-1, 1)
    assert _largest_angle_deg(start_kappa, true_kappa) > 30.0
