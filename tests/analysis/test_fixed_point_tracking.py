import numpy as np
import torch

from neurodyn.analysis.fixed_point_tracking import (
    FixedPointContinuation,
    continue_fixed_points,
    summarise_across_training,
)
from neurodyn.analysis.fixed_points import find_fixed_points

F64 = torch.float64


def test_pitchfork_in_two_dimensions_is_located_between_grid_points():
    # dx/dt = a x - x^3, dy/dt = -y, a = 2 alpha - 1: the origin turns from a stable node into
    # a saddle at alpha = 0.5, and two stable nodes at x = +-sqrt(a) appear.
    dt = 0.1

    def step(h, u):
        x, y = h[..., 0], h[..., 1]
        return h + dt * torch.stack([u[..., 0] * x - x**3, -y], -1)

    starts = torch.randn(64, 2, generator=torch.Generator().manual_seed(0), dtype=F64)
    alphas = np.linspace(0, 1, 10)  # no grid point at the bifurcation itself
    cont = continue_fixed_points(
        step,
        torch.tensor([-1.0], dtype=F64),
        torch.tensor([1.0], dtype=F64),
        starts,
        alphas=alphas,
        dt=dt,
    )
    counts = cont.counts()
    assert counts["stable"].tolist() == [1] * 5 + [2] * 5
    assert counts["saddle"].tolist() == [0] * 5 + [1] * 5
    change = [e for e in cont.events if e["kind"] == "stability"]
    assert len(change) == 1 and change[0]["alpha"] == alphas[5]
    assert (change[0]["from"], change[0]["to"]) == ("stable", "saddle")
    # the new stable points sit at +-sqrt(a)
    last = cont.at(9)
    stable_x = sorted(cont.states[last][cont.stability[last] == "stable"][:, 0])
    np.testing.assert_allclose(stable_x, [-1, 1], atol=1e-9)
    # the origin is continued through the whole grid
    origin = [i for i in range(len(cont.states)) if np.allclose(cont.states[i], 0, atol=1e-9)]
    assert len(origin) == 10
    assert all(cont.parent[i] == j for i, j in zip(origin[1:], origin[:-1], strict=True))


def test_saddle_node_points_vanish_together():
    # dx/dt = -(a + x^2) with a = 2 alpha - 1: a stable/unstable pair at x = -+sqrt(-a) meets at
    # alpha = 0.5 and vanishes.
    dt = 0.1

    def step(h, u):
        return h - dt * (u + h**2)

    starts = torch.linspace(-2, 2, 21, dtype=F64)[:, None]
    alphas = np.linspace(0, 1, 11)
    cont = continue_fixed_points(
        step,
        torch.tensor([-1.0], dtype=F64),
        torch.tensor([1.0], dtype=F64),
        starts,
        alphas=alphas,
        dt=dt,
    )
    n_points = np.bincount(cont.alpha_index, minlength=11)
    assert n_points.tolist()[:5] == [2] * 5 and n_points.tolist()[6:] == [0] * 5
    gone = [e for e in cont.events if e["kind"] in ("vanishes", "merges")]
    assert gone and min(e["alpha"] for e in gone) in (alphas[5], alphas[6])


def test_continuation_round_trips(tmp_path):
    cont = continue_fixed_points(
        lambda h, u: 0.5 * h + u,
        torch.zeros(2, dtype=F64),
        torch.ones(2, dtype=F64),
        torch.randn(4, 2, dtype=F64),
        alphas=[0.0, 1.0],
    )
    back = FixedPointContinuation.load(cont.save(tmp_path / "c.npz"))
    np.testing.assert_allclose(back.states, [[0, 0], [2, 2]], atol=1e-10)
    assert back.events == cont.events == [] and back.parent.tolist() == [-1, 0]


def test_summary_across_training_counts_points_and_unstable_weight_modes():
    fps = find_fixed_points(
        lambda h, u: h + 0.1 * (h - h**3),
        torch.linspace(-2, 2, 9, dtype=F64)[:, None],
        torch.zeros(1, dtype=F64),
        dt=0.1,
    )
    weights = [torch.diag(torch.tensor([0.5, 0.9])), torch.diag(torch.tensor([1.5, -2.0]))]
    summary = summarise_across_training([0, 100], [fps, fps], weights)
    assert summary.counts["stable"].tolist() == [2, 2]
    assert summary.counts["unstable"].tolist() == [1, 1]
    assert summary.n_outside_unit_circle.tolist() == [0, 2]
    np.testing.assert_allclose(summary.spectral_radius, [0.9, 2.0])
