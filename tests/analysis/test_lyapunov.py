"""Lyapunov spectra against known answers: a linear flow (its eigenvalues' real parts), the
Lorenz system (0.906, 0, -14.57; sum = -(sigma + 1 + beta) exactly), and random tanh networks
on both sides of the transition to chaos at g = 1 (Sompolinsky, Crisanti & Sommers 1988)."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch

from neurodyn import CTRNN, NetworkSpec
from neurodyn.analysis import (
    LyapunovSpectrum,
    StepFunctions,
    kaplan_yorke_dimension,
    lyapunov_spectrum,
    model_lyapunov_spectrum,
)
from neurodyn.errors import ArgumentError
from tests.analysis.odes import lorenz, rk4

F64 = torch.float64
NO_INPUT = torch.zeros(1, dtype=F64)


def _linear_flow_map(dt: float) -> tuple[torch.Tensor, np.ndarray]:
    a = torch.tensor(
        [
            [-0.5, 2.0, 0.0, 0.0],
            [-2.0, -0.5, 0.0, 0.0],
            [0.0, 0.0, -1.0, 0.0],
            [0.0, 0.0, 0.0, 0.3],
        ],
        dtype=F64,
    )
    q = torch.linalg.qr(torch.randn(4, 4, dtype=F64, generator=torch.Generator().manual_seed(3)))[0]
    a = q @ a @ q.T  # the same spectrum in a basis where nothing is diagonal
    return torch.linalg.matrix_exp(a * dt), np.array([0.3, -0.5, -0.5, -1.0])


def test_linear_flow_exponents_are_the_real_parts_of_its_eigenvalues():
    dt = 0.1
    step_matrix, expected = _linear_flow_map(dt)
    starts = torch.randn(3, 4, dtype=F64, generator=torch.Generator().manual_seed(0))
    spectrum = lyapunov_spectrum(
        lambda h, u: h @ step_matrix.T,
        starts,
        NO_INPUT,
        n_steps=1500,
        dt=dt,
        step_functions=StepFunctions(jacobian=lambda h, u: step_matrix.expand(*h.shape, 4)),
    )
    assert spectrum.mean() == pytest.approx(expected, abs=0.02)
    assert spectrum.exponents.shape == (3, 4)
    # the history's last estimate is the answer, and it settles
    assert np.sort(spectrum.history[-1], axis=1)[:, ::-1] == pytest.approx(spectrum.exponents)
    late = np.abs(spectrum.history[-1] - spectrum.history[-10]).max()
    assert late < np.abs(spectrum.history[-1] - spectrum.history[1]).max()


def test_automatic_differentiation_gives_the_closed_form_answer():
    dt = 0.1
    step_matrix, _ = _linear_flow_map(dt)
    starts = torch.randn(2, 4, dtype=F64, generator=torch.Generator().manual_seed(1))
    for k in (4, 1):  # the full Jacobian by rows (k = N), forward mode (k << N)
        kwargs = dict(n_steps=60, n_exponents=k, dt=dt, seed=4)
        closed = lyapunov_spectrum(
            lambda h, u: h @ step_matrix.T,
            starts,
            NO_INPUT,
            step_functions=StepFunctions(jacobian=lambda h, u: step_matrix.expand(*h.shape, 4)),
            **kwargs,
        )
        auto = lyapunov_spectrum(lambda h, u: h @ step_matrix.T, starts, NO_INPUT, **kwargs)
        assert auto.exponents == pytest.approx(closed.exponents, abs=1e-10)


def test_lorenz_spectrum():
    dt = 0.01
    step, jac = rk4(*lorenz(), dt)
    starts = torch.randn(4, 3, dtype=F64, generator=torch.Generator().manual_seed(0)) * 5
    spectrum = lyapunov_spectrum(
        step,
        starts + torch.tensor([0.0, 0.0, 25.0], dtype=F64),
        NO_INPUT,
        n_steps=4000,
        n_transient=500,
        dt=dt,
        step_functions=StepFunctions(jacobian=jac),
    )
    # 40 time units: the usual finite-time spread; benchmarks/lyapunov.py runs the long check
    mean = spectrum.mean()
    assert mean[0] == pytest.approx(0.906, abs=0.15)
    assert mean[1] == pytest.approx(0.0, abs=0.1)
    assert mean[2] == pytest.approx(-14.57, abs=0.3)
    # the sum is the (constant) divergence of the flow, -(sigma + 1 + beta), at every step
    assert spectrum.exponents.sum(1) == pytest.approx(-(10 + 1 + 8 / 3), abs=1e-3)
    assert spectrum.kaplan_yorke == pytest.approx(2.06, abs=0.02)


def test_the_docs_short_lorenz_run_counts_its_drifting_first_exponent_as_zero():
    # docs/dynamics.md's example: 8 time units from (1, 1, 20); the first exponent's estimate
    # still moves by more than half its size over the second half, so the dimension is 2.0
    # (the page once said 2.06, the 40-unit value)
    dt = 0.01
    step, _ = rk4(*lorenz(), dt)
    start = torch.tensor([[1.0, 1.0, 20.0]], dtype=F64)
    spectrum = lyapunov_spectrum(step, start, NO_INPUT, n_steps=800, n_transient=200, dt=dt)
    assert spectrum.mean() == pytest.approx([0.69, 0.02, -14.38], abs=0.01)
    assert spectrum.kaplan_yorke.tolist() == [2.0]
    assert "2.06 over 40" in (Path(__file__).parents[2] / "docs" / "dynamics.md").read_text()


def test_random_tanh_networks_become_chaotic_above_g_1():
    # CTRNN h' = (-h + tanh(W h)) / tau with W Gaussian of variance g^2 / N: conjugate (x = W h)
    # to the network of Sompolinsky, Crisanti & Sommers (1988), x' = -x + W tanh(x)
    spec = NetworkSpec(
        n_inputs=1, n_hidden=200, n_outputs=1, activation="tanh", rec_gain=1.0,
        dt_ms=10.0, tau_ms=100.0, seeds=(1, 2),
    )  # fmt: skip
    model = CTRNN(spec)
    gains = torch.tensor([0.5, 2.5])
    with torch.no_grad():
        model.W_rec.mul_(gains[:, None, None])
        model.b.zero_()
    starts = torch.randn(3, 200, generator=torch.Generator().manual_seed(0))
    spectrum = model_lyapunov_spectrum(
        model, starts, torch.zeros(1), n_steps=4000, n_exponents=1, n_transient=1000
    )
    per_tau = spectrum.exponents[:, 0] * spec.tau_ms  # [E * K], per time constant
    quiet, chaotic = per_tau[spectrum.member == 0], per_tau[spectrum.member == 1]
    # g < 1: the origin is stable, the largest exponent the linearisation's, about g - 1
    assert quiet == pytest.approx(gains[0].item() - 1, abs=0.1)
    assert (chaotic > 0).all() and chaotic.mean() > 0.05
    # the closed-form tangent map agrees with the generic method on the same network
    net = model.double()
    generic = lyapunov_spectrum(
        net.step,
        starts.double()[None].expand(2, -1, -1),
        torch.zeros(1, dtype=F64),
        n_steps=50,
        n_exponents=2,
        dt=spec.dt_ms,
        step_functions=StepFunctions(jacobian=net.step_jacobian),
    )
    fast = model_lyapunov_spectrum(model, starts, torch.zeros(1), n_steps=50, n_exponents=2)
    assert fast.exponents == pytest.approx(generic.exponents, abs=1e-10)


def test_kaplan_yorke_dimension():
    rows = np.array([[1.0, 0.0, -2.0], [-0.1, -0.2, -0.3], [0.5, 0.1, 0.2]])
    assert kaplan_yorke_dimension(rows, 3)[:2].tolist() == [2.5, 0.0]
    assert kaplan_yorke_dimension(rows, 3)[2] == 3.0  # volume-expanding: the whole space
    assert math.isnan(kaplan_yorke_dimension(rows[2:, :2], 3)[0])  # k < N cannot tell


def test_bad_inputs(tmp_path):
    step = lambda h, u: 0.5 * h  # noqa: E731
    h = torch.ones(2, 3, dtype=F64)
    with pytest.raises(ArgumentError, match=r"n_exponents must be from 1 to .* 3, got 4"):
        lyapunov_spectrum(step, h, NO_INPUT, n_steps=10, n_exponents=4)
    with pytest.raises(ArgumentError, match="diverge"):
        lyapunov_spectrum(lambda h, u: 1e30 * h, h, NO_INPUT, n_steps=100)
    spectrum = lyapunov_spectrum(step, h, NO_INPUT, n_steps=10, n_exponents=1)
    assert "ask for more" not in spectrum.notes
    spectrum.save(tmp_path / "s.npz")
    assert LyapunovSpectrum.load(tmp_path / "s.npz").exponents == pytest.approx(math.log(0.5))


def test_a_stable_cycle_has_dimension_one_on_every_trajectory():
    # van der Pol: speed varies along the cycle, so the zero exponent's finite-time estimate
    # (about log(speed ratio) / T) falls either side of 0 from start to start; the dimension
    # must not follow it down to 0 (nor report 1 + a small fraction from a positive one)
    from tests.analysis.odes import van_der_pol

    dt = 0.01
    step, jac = rk4(*van_der_pol(1.5), dt)
    starts = torch.randn(8, 2, dtype=F64, generator=torch.Generator().manual_seed(0))
    spectrum = lyapunov_spectrum(
        step,
        starts,
        NO_INPUT,
        n_steps=3000,
        n_transient=2000,
        dt=dt,
        step_functions=StepFunctions(jacobian=jac),
    )
    raw = kaplan_yorke_dimension(spectrum.exponents, 2)
    assert (raw < 0.5).any()  # without the tolerance, some trajectories' cycles are points
    assert (spectrum.exponents[:, 1] < -0.5).all()  # the contracting direction is resolved
    np.testing.assert_allclose(spectrum.kaplan_yorke, 1.0)
