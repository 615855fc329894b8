"""Extended DMD against known Koopman spectra: a linear map (its eigenvalues, and 1 for the
constant), the flow x1' = mu x1, x2' = lam (x2 - x1^2) whose dictionary {x1, x2, x1^2} is
Koopman-invariant, and a network near a stable fixed point (the Jacobian's eigenvalues)."""

import numpy as np
import pytest
import torch

from neurodyn import CTRNN, NetworkSpec
from neurodyn.analysis import (
    KoopmanModes,
    Monomials,
    RadialFeatures,
    edmd,
    model_fixed_points,
)
from neurodyn.errors import ShapeError

F64 = torch.float64


def _linear_trajectories(a: torch.Tensor, n_steps: int = 30, n_trials: int = 4) -> torch.Tensor:
    x = [torch.randn(n_trials, a.shape[0], dtype=F64, generator=torch.Generator().manual_seed(0))]
    for _ in range(n_steps - 1):
        x.append(x[-1] @ a.T)
    return torch.stack(x)  # [T, B, D]


def _closest(found: np.ndarray, wanted: np.ndarray) -> np.ndarray:
    return np.array([np.abs(found - w).min() for w in wanted])


def test_linear_map_eigenvalues_eigenfunctions_and_modes():
    a = torch.tensor([[0.9, -0.3, 0.0], [0.3, 0.9, 0.0], [0.1, 0.0, 0.5]], dtype=F64)
    states = _linear_trajectories(a)
    koopman = edmd(states, Monomials(1))
    expected = np.append(np.linalg.eigvals(a.numpy()), 1.0)  # 1: the constant function
    assert np.sort_complex(koopman.eigenvalues) == pytest.approx(np.sort_complex(expected))
    # each eigenfunction is multiplied by its eigenvalue at every step
    phi = koopman.eigenfunction_values  # [T, B, r]
    assert phi[1:] == pytest.approx(phi[:-1] * koopman.eigenvalues, abs=1e-9)
    # and the modes rebuild the states from the eigenfunctions
    rebuilt = (phi @ koopman.modes.T).real
    assert rebuilt == pytest.approx(states.numpy(), abs=1e-9)
    assert koopman.eigenfunctions(Monomials(1)(states).numpy()) == pytest.approx(phi)


def test_finite_koopman_invariant_subspace():
    mu, lam, dt = -0.05, -1.0, 0.1
    t = torch.arange(60, dtype=F64)[:, None] * dt
    g = torch.Generator().manual_seed(1)
    x1_0, x2_0 = torch.randn(5, dtype=F64, generator=g), torch.randn(5, dtype=F64, generator=g)
    b = lam / (lam - 2 * mu)
    x1 = x1_0 * torch.exp(mu * t)
    x2 = (x2_0 - b * x1_0**2) * torch.exp(lam * t) + b * x1**2  # the exact solution
    states = torch.stack([x1, x2], -1)
    exact = np.exp(np.array([0.0, mu, lam, 2 * mu]) * dt)
    # a dictionary with the invariant subspace {1, x1, x2, x1^2} in it, and functions outside
    koopman = edmd(states, Monomials(2), dt=dt)
    assert _closest(koopman.eigenvalues, exact).max() < 1e-8
    # exactly the invariant subspace: exactly its eigenvalues
    invariant = edmd(
        states, lambda x: torch.stack([x[..., 0], x[..., 1], x[..., 0] ** 2], -1), dt=dt
    )
    assert np.sort(invariant.continuous_eigenvalues().real) == pytest.approx(
        [lam, 2 * mu, mu], abs=1e-8
    )


def test_near_a_stable_fixed_point_koopman_eigenvalues_are_the_jacobians():
    spec = NetworkSpec(n_inputs=1, n_hidden=4, n_outputs=1, activation="tanh", rec_gain=0.8)
    model = CTRNN(spec).double()
    u = torch.tensor([0.3], dtype=F64)
    fps = model_fixed_points(model, 0.1 * torch.randn(8, 4, dtype=F64), u)
    point = torch.as_tensor(fps.states[0])
    starts = point + 1e-5 * torch.randn(6, 4, dtype=F64, generator=torch.Generator().manual_seed(2))
    x = [starts[None]]
    with torch.no_grad():
        for _ in range(40):
            x.append(model.step(x[-1], u.expand(1, 6, 1)))
    states = torch.cat(x)[:, 0]  # [T, B, N]
    koopman = edmd(states, Monomials(1))
    expected = np.append(fps.eigenvalues[0], 1.0)
    assert _closest(koopman.eigenvalues, expected).max() < 1e-4


def test_radial_features_delays_bad_shapes_and_saving(tmp_path):
    a = torch.tensor([[0.8, 0.2], [-0.2, 0.8]], dtype=F64)
    states = _linear_trajectories(a, n_steps=40)
    features = RadialFeatures.from_states(states, 10, seed=0)
    assert "10 centres" in repr(features)
    # the linear map's eigenvalues are among the radial dictionary's (it holds x itself)
    full = edmd(states, features, n_delays=2)
    assert _closest(full.eigenvalues, np.linalg.eigvals(a.numpy())).max() < 1e-6
    koopman = edmd(states, features, rank=6, n_delays=2)
    assert len(koopman) == 6 and koopman.eigenfunction_values.shape == (39, 4, 6)
    with pytest.raises(ShapeError, match="features"):
        edmd(states, lambda x: x.sum(-1))
    koopman.save(tmp_path / "k.npz")
    loaded = KoopmanModes.load(tmp_path / "k.npz")
    assert loaded.eigenvalues == pytest.approx(koopman.eigenvalues)
    assert len(repr(loaded)) < 1000
