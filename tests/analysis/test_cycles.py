"""Limit cycles and Poincaré sections against analytic answers: the Hopf normal form (radius
sqrt(mu), period 2 pi / omega, Floquet multiplier exp(-2 mu T)), the van der Pol oscillator's
period (small- and large-mu asymptotics), and the bad inputs the issue names."""

import math

import numpy as np
import pytest
import torch

from neurodyn import CTRNN, NetworkSpec
from neurodyn.analysis import (
    CycleOptions,
    LimitCycles,
    Section,
    StepFunctions,
    find_limit_cycles,
    model_limit_cycles,
    poincare_section,
)
from neurodyn.errors import ArgumentError
from tests.analysis.odes import hopf, rk4, van_der_pol

F64 = torch.float64
NO_INPUT = torch.zeros(1, dtype=F64)


def _starts(n: int, scale: float, seed: int = 0) -> torch.Tensor:
    return scale * torch.randn(n, 2, dtype=F64, generator=torch.Generator().manual_seed(seed))


@pytest.mark.parametrize("mu", [0.5, 1.0])
def test_hopf_normal_form(mu):
    dt, omega = 0.01, 2 * math.pi
    step, jac = rk4(*hopf(mu, omega), dt)
    cycles = find_limit_cycles(
        step, _starts(6, 1.5), NO_INPUT, dt=dt, step_functions=StepFunctions(jacobian=jac)
    )
    assert len(cycles) == 1 and set(cycles.status) == {"cycle"}
    period = 2 * math.pi / omega
    assert cycles.period[0] == pytest.approx(period, rel=1e-4)
    radii = np.linalg.norm(cycles.orbit(0), axis=1)
    assert np.allclose(radii, math.sqrt(mu), rtol=1e-4)
    assert abs(cycles.multipliers[0, 0]) == pytest.approx(math.exp(-2 * mu * period), rel=1e-5)
    assert cycles.stability.tolist() == ["stable"]
    assert cycles.floquet_multipliers(0)[0] == 1  # the trivial one along the flow


def test_ensemble_members_each_find_their_own_cycle():
    dt, mu = 0.01, torch.tensor([[0.25], [1.0]], dtype=F64)  # member e has mu[e]
    step, jac = rk4(*hopf(mu, 2 * math.pi), dt)  # type: ignore[arg-type]
    starts = torch.stack([_starts(4, 1.0, seed=1), _starts(4, 1.0, seed=2)])
    quick = CycleOptions(n_transient=300, window=150)
    cycles = find_limit_cycles(
        step, starts, NO_INPUT, dt=dt, options=quick, step_functions=StepFunctions(jacobian=jac)
    )
    assert cycles.member.tolist() == [0, 1]
    assert np.linalg.norm(cycles.points, axis=1) == pytest.approx([0.5, 1.0], rel=1e-4)
    # the same answer by automatic differentiation of the step (no Jacobian given)
    auto = find_limit_cycles(step, starts[:, :1], NO_INPUT, dt=dt, options=quick)
    assert auto.period == pytest.approx(cycles.period, rel=1e-9)


def test_unstable_cycle_of_the_time_reversed_normal_form():
    dt, mu = 0.01, 1.0
    forward, forward_jac = hopf(mu, 2 * math.pi)
    step, jac = rk4(lambda h: -forward(h), lambda h: -forward_jac(h), dt)
    starts = torch.tensor([[1.0 + 1e-7, 0.0], [0.0, 1.0 - 1e-7]], dtype=F64)
    cycles = find_limit_cycles(
        step,
        starts,
        NO_INPUT,
        dt=dt,
        options=CycleOptions(n_transient=0, window=120, max_period=300),
        step_functions=StepFunctions(jacobian=jac),
    )
    assert len(cycles) == 1
    assert cycles.stability.tolist() == ["unstable"]
    assert abs(cycles.multipliers[0, 0]) == pytest.approx(math.exp(2 * mu), rel=1e-5)


def test_van_der_pol_period_small_mu():
    mu, dt = 0.2, 0.02
    step, jac = rk4(*van_der_pol(mu), dt)
    cycles = find_limit_cycles(
        step,
        _starts(2, 1.0),
        NO_INPUT,
        dt=dt,
        options=CycleOptions(n_transient=200, window=400),
        step_functions=StepFunctions(jacobian=jac),
    )
    expected = 2 * math.pi * (1 + mu**2 / 16 - 5 * mu**4 / 3072)  # Lindstedt-Poincaré
    assert cycles.period[0] == pytest.approx(expected, rel=1e-4)
    assert cycles.stability.tolist() == ["stable"]


def test_van_der_pol_period_large_mu():
    mu, dt = 10.0, 0.01
    step, jac = rk4(*van_der_pol(mu), dt)
    options = CycleOptions(n_transient=200, window=2000, max_period=2000)
    cycles = find_limit_cycles(
        step,
        torch.tensor([[2.0, 0.7]], dtype=F64),  # near the cycle
        NO_INPUT,
        dt=dt,
        options=options,
        step_functions=StepFunctions(jacobian=jac),
    )
    # relaxation oscillations: T = (3 - 2 ln 2) mu + 3 a mu^(-1/3) + O(log(mu) / mu), a the
    # first zero of Airy's Ai' (2.338); the O(log mu / mu) terms make it 1.6% long at mu = 10
    asymptotic = (3 - 2 * math.log(2)) * mu + 3 * 2.338107 * mu ** (-1 / 3)
    assert cycles.period[0] == pytest.approx(asymptotic, rel=0.02)
    assert cycles.period[0] < asymptotic
    # and the known numerical value, 19.0784 (e.g. Strogatz, Nonlinear Dynamics, ex. 7.5)
    assert cycles.period[0] == pytest.approx(19.0784, rel=1e-3)


def test_starts_that_settle_on_fixed_points_give_an_empty_result_saying_why():
    a = torch.tensor([[0.9, 0.1], [-0.1, 0.9]], dtype=F64)
    cycles = find_limit_cycles(lambda h, u: h @ a.T, _starts(4, 1.0), NO_INPUT)
    assert len(cycles) == 0
    assert "fixed points" in cycles.reason and "none" in repr(cycles)
    assert cycles.outcomes()["fixed point"] == 4


def test_a_section_the_trajectories_never_cross_is_an_error():
    step, _ = rk4(*hopf(1.0, 2 * math.pi), 0.01)
    far = Section(np.array([1.0, 0.0]), 5.0)  # x = 5, outside the unit circle
    with pytest.raises(ArgumentError, match="crosses the section"):
        find_limit_cycles(step, _starts(2, 1.0), NO_INPUT, dt=0.01, section=far)
    states = torch.stack([torch.cos(torch.arange(100.0)), torch.sin(torch.arange(100.0))], -1)
    with pytest.raises(ArgumentError, match="crosses the section"):
        poincare_section(states, far)


def test_poincare_section_of_trajectories_returns_after_one_period():
    dt = 0.01
    step, _ = rk4(*hopf(1.0, 2 * math.pi), dt)
    h = _starts(3, 0.5)
    states = [h]
    for _ in range(1000):
        states.append(step(states[-1], None))
    trajectory = torch.stack(states)[300:]  # [T, B, 2], on the cycle
    crossings = poincare_section(trajectory)
    assert crossings.return_times() * dt == pytest.approx(1.0, rel=1e-4)
    assert set(crossings.trial.tolist()) == {0, 1, 2}
    assert np.linalg.norm(crossings.points, axis=1) == pytest.approx(1.0, rel=1e-3)


def test_a_ctrnn_oscillator_closed_form_tangents_match_autodiff(tmp_path):
    # h' = (-h + tanh(W h)) / tau, W = a rotation scaled by 1.5: a Hopf cycle around 0
    spec = NetworkSpec(n_inputs=1, n_hidden=2, n_outputs=1, activation="tanh", dt_ms=5.0)
    model = CTRNN(spec)
    with torch.no_grad():
        model.W_rec.copy_(torch.tensor([[[1.5, -1.0], [1.0, 1.5]]]))
        model.b.zero_()
    cycles = model_limit_cycles(model, _starts(4, 0.5).float(), torch.zeros(1))
    assert len(cycles) == 1 and cycles.stability.tolist() == ["stable"]
    net = model.double()
    auto = find_limit_cycles(
        lambda h, u: net.step(h[None], u[None])[0], _starts(4, 0.5), NO_INPUT, dt=spec.dt_ms
    )
    assert auto.period == pytest.approx(cycles.period, rel=1e-8)
    assert np.abs(auto.multipliers) == pytest.approx(np.abs(cycles.multipliers), rel=1e-6)
    cycles.save(tmp_path / "cycles.npz")
    loaded = LimitCycles.load(tmp_path / "cycles.npz")
    assert loaded.period == pytest.approx(cycles.period) and loaded.status.tolist() == ["cycle"] * 4
    assert len(repr(cycles)) < 1000
