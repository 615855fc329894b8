"""The dynamics figures draw what the results hold, where the projection puts it."""

import math

import matplotlib
import numpy as np
import torch

from neurodyn.analysis import (
    StepFunctions,
    find_limit_cycles,
    lyapunov_spectrum,
    poincare_section,
    principal_axes,
)
from neurodyn.plot import plot_limit_cycles, plot_lyapunov, plot_poincare_section
from tests.analysis.odes import hopf, rk4

matplotlib.use("Agg")
F64 = torch.float64


def test_cycle_orbit_and_multipliers_are_drawn_at_their_values():
    step, jac = rk4(*hopf(1.0, 2 * math.pi), 0.01)
    starts = torch.tensor([[0.5, 0.0], [0.0, 1.5]], dtype=F64)
    cycles = find_limit_cycles(
        step, starts, torch.zeros(1, dtype=F64), dt=0.01, step_functions=StepFunctions(jacobian=jac)
    )
    projection = principal_axes(cycles.orbit(0))
    fig = plot_limit_cycles(cycles, projection)
    left, right = fig.axes
    drawn = np.column_stack(left.lines[0].get_data())
    assert np.allclose(drawn[:-1], projection.project(cycles.orbit(0)))
    offsets = right.collections[0].get_offsets()
    assert np.allclose(offsets[:, 0], cycles.multipliers[0].real)
    trajectory = [starts]
    for _ in range(300):
        trajectory.append(step(trajectory[-1], None))
    section = poincare_section(torch.stack(trajectory[100:]))
    fig = plot_poincare_section(section)
    assert len(fig.axes[0].collections[0].get_offsets()) == len(section)


def test_lyapunov_spectrum_points_are_the_mean_exponents_per_second():
    a = torch.tensor([[0.9, 0.0], [0.0, 0.5]], dtype=F64)
    spectrum = lyapunov_spectrum(
        lambda h, u: h @ a.T, torch.ones(2, 2, dtype=F64), torch.zeros(1, dtype=F64),
        n_steps=50, dt=2.0,
    )  # fmt: skip
    left, _ = plot_lyapunov(spectrum).axes
    assert np.allclose(left.lines[0].get_ydata(), 1e3 * spectrum.mean())
