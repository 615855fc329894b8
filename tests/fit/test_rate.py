import math

import pytest
import torch

from neurodyn.data import from_arrays
from neurodyn.errors import ArgumentError
from neurodyn.fit import fit_rates


def _linear_gaussian(n=8, trials=200, steps=60, seed=0):
    """x_{t+1} = A x_t + noise, A with known eigenvalues (a rotation pair and real ones)."""
    g = torch.Generator().manual_seed(seed)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=torch.float64))
    block = torch.zeros(n, n, dtype=torch.float64)
    block[0, 0] = block[1, 1] = 0.9 * math.cos(0.3)
    block[0, 1], block[1, 0] = -0.9 * math.sin(0.3), 0.9 * math.sin(0.3)
    block[2:, 2:] = torch.diag(torch.linspace(0.3, 0.8, n - 2, dtype=torch.float64))
    a = q @ block @ q.T
    x = [torch.randn(trials, n, generator=g, dtype=torch.float64)]
    for _ in range(steps - 1):
        x.append(x[-1] @ a.T + 0.2 * torch.randn(trials, n, generator=g, dtype=torch.float64))
    return torch.stack(x).float(), torch.linalg.eigvals(a)


def _sorted_eigs(values):
    values = values.to(torch.complex128)
    order = torch.argsort(values.real * 10 + values.imag)
    return values[order]


def test_linear_gaussian_fit_recovers_the_system_eigenvalues():
    states, eigs = _linear_gaussian()
    fit = fit_rates(states, activation="linear", ridge=1e-8)
    found = torch.linalg.eigvals(fit.system_matrix[0].double())
    assert torch.allclose(_sorted_eigs(found), _sorted_eigs(eigs), atol=0.03)


def test_leaky_linear_fit_maps_back_to_the_same_system():
    """A fit with tau = 4 dt is a different parametrisation of the same discrete map."""
    states, eigs = _linear_gaussian(seed=1)
    rec = from_arrays(states, bin_ms=10.0, kind="rates")
    fit = fit_rates(rec, tau_ms=40.0, activation="linear", ridge=1e-8)
    assert fit.alpha == 0.25
    found = torch.linalg.eigvals(fit.system_matrix[0].double())
    assert torch.allclose(_sorted_eigs(found), _sorted_eigs(eigs), atol=0.03)


def _subspace_angle_deg(a, b):
    qa, _ = torch.linalg.qr(a.double())
    qb, _ = torch.linalg.qr(b.double())
    cosines = torch.linalg.svdvals(qa.T @ qb).clamp(max=1.0)
    return math.degrees(float(torch.arccos(cosines.min())))


def test_planted_low_rank_network_is_recovered_by_the_rank_r_fit():
    n, rank, trials, steps = 40, 2, 60, 40
    g = torch.Generator().manual_seed(0)
    m = torch.randn(n, rank, generator=g, dtype=torch.float64)
    nn_ = torch.randn(n, rank, generator=g, dtype=torch.float64)
    w = 2.0 * m @ nn_.T / n  # W = m n^T / N (Mastrogiuseppe & Ostojic)
    w_in = torch.randn(n, 3, generator=g, dtype=torch.float64)
    u = 0.5 * torch.randn(steps, trials, 3, generator=g, dtype=torch.float64)
    r = [torch.zeros(trials, n, dtype=torch.float64)]
    for t in range(steps - 1):
        r.append(torch.tanh(r[-1] @ w.T + u[t] @ w_in.T))
    rates = torch.stack(r)
    noisy = (rates + 0.01 * torch.randn(rates.shape, generator=g, dtype=torch.float64)).float()
    low = fit_rates(noisy, inputs=u.float(), activation="tanh", rank=rank, ridge=1e-4)
    full = fit_rates(noisy, inputs=u.float(), activation="tanh", ridge=1e-4)
    assert torch.linalg.matrix_rank(low.W_rec[0].double(), rtol=1e-6) == rank
    # the fitted weights' column space is the planted m's, within a few degrees
    u_low = torch.linalg.svd(low.W_rec[0].double()).U[:, :rank]
    assert _subspace_angle_deg(u_low, m) < 5.0
    # and the rank constraint removes the noise the full-rank fit puts in every direction
    err_low = (low.W_rec[0].double() - w).norm() / w.norm()
    err_full = (full.W_rec[0].double() - w).norm() / w.norm()
    assert err_low < err_full


def test_ridge_strengths_are_the_ensemble_axis_of_one_solve():
    states, _ = _linear_gaussian(n=5, trials=20, steps=20)
    both = fit_rates(states, activation="linear", ridge=[1e-3, 10.0])
    one = fit_rates(states, activation="linear", ridge=10.0)
    assert both.W_rec.shape == (2, 5, 5)
    assert torch.allclose(both.W_rec[1], one.W_rec[0], atol=1e-5)
    assert both.r2[0] > both.r2[1]  # less shrinkage fits the training bins better


def test_tanh_fit_is_a_ctrnn_with_the_same_step():
    g = torch.Generator().manual_seed(2)
    rates = torch.tanh(torch.randn(30, 10, 6, generator=g))
    fit = fit_rates(rates, activation="tanh", tau_ms=2.0, dt_ms=1.0)
    net = fit.network()
    h = rates[0][None]
    # a fit without inputs becomes a cell with one undriven input channel
    assert torch.allclose(
        net.step(h, torch.zeros(1, 10, 1)), fit.step(h, torch.zeros(1, 10, 0)), atol=1e-5
    )


def test_bad_input_is_refused():
    counts = from_arrays(torch.ones(5, 2, 3), bin_ms=10.0)
    with pytest.raises(ArgumentError, match="spike counts"):
        fit_rates(counts)
    with pytest.raises(ArgumentError, match="activation"):
        fit_rates(torch.zeros(5, 2, 3), activation="relu")
    with pytest.raises(ArgumentError, match="rank"):
        fit_rates(torch.zeros(5, 2, 3), rank=4)
    with pytest.raises(ArgumentError, match="linear fit has no CTRNN"):
        fit_rates(torch.zeros(5, 2, 3), activation="linear").network()
