import math

import numpy as np
import pytest
import torch

from neurodyn.analysis.fixed_point_tracking import only_fixed
from neurodyn.analysis.fixed_points import (
    FixedPointOptions,
    FixedPoints,
    StepFunctions,
    find_fixed_points,
    jacobians,
    model_fixed_points,
)
from neurodyn.errors import ConfigError
from neurodyn.models import CTRNN, NetworkSpec

F64 = torch.float64


def test_linear_rnn_fixed_point_and_eigenvalues_are_the_linear_algebra_answers():
    g = torch.Generator().manual_seed(0)
    n = 6
    a = 0.3 * torch.randn(n, n, generator=g, dtype=F64)
    b = torch.randn(n, 2, generator=g, dtype=F64)
    u = torch.tensor([0.7, -1.2], dtype=F64)
    fps = find_fixed_points(
        lambda h, x: h @ a.T + x @ b.T, torch.randn(32, n, generator=g, dtype=F64), u
    )
    expected = torch.linalg.solve(torch.eye(n, dtype=F64) - a, b @ u)
    assert len(fps) == 1 and fps.is_fixed.all()
    np.testing.assert_allclose(fps.states[0], expected.numpy(), atol=1e-10)
    eig = np.linalg.eigvals(a.numpy())
    np.testing.assert_allclose(
        np.sort_complex(fps.eigenvalues[0]), np.sort_complex(eig), atol=1e-10
    )
    expected_class = "stable" if np.abs(eig).max() < 1 else "saddle"
    assert fps.stability[0] == expected_class
    assert (fps.assignment == 0).all()  # every start ended at the one point


def test_double_well_flow_points_and_stability():
    # dx/dt = x - x^3, dy/dt = -y: stable nodes at (+-1, 0), a saddle at the origin.
    dt = 0.1

    def flow_map(h, u):
        x, y = h[..., 0], h[..., 1]
        return h + dt * torch.stack([x - x**3, -y], -1)

    starts = torch.randn(200, 2, generator=torch.Generator().manual_seed(1), dtype=F64)
    fps = find_fixed_points(flow_map, starts, torch.zeros(1, dtype=F64), dt=dt)
    order = np.argsort(fps.states[:, 0])
    np.testing.assert_allclose(fps.states[order], [[-1, 0], [0, 0], [1, 0]], atol=1e-9)
    assert list(fps.stability[order]) == ["stable", "saddle", "stable"]
    assert list(fps.n_unstable[order]) == [0, 1, 0]
    # flow eigenvalues: -2, -1 at the wells; +1, -1 at the saddle (most unstable first)
    np.testing.assert_allclose(fps.flow_eigenvalues[order[0]].real, [-1, -2], atol=1e-8)
    np.testing.assert_allclose(fps.flow_eigenvalues[order[1]].real, [1, -1], atol=1e-8)
    np.testing.assert_allclose(fps.unstable_modes(order[1])[:, 0] ** 2, [1, 0], atol=1e-12)
    assert fps.count() == {"stable": 2, "saddle": 1, "unstable": 0, "marginal": 0, "slow": 0}


def test_hopfield_patterns_are_stable_fixed_points():
    n, n_patterns = 64, 3
    g = torch.Generator().manual_seed(2)
    patterns = torch.where(torch.rand(n_patterns, n, generator=g) < 0.5, -1.0, 1.0).to(F64)
    weights = patterns.T @ patterns / n
    alpha, gain = 0.2, 4.0

    def step(h, u):
        return (1 - alpha) * h + alpha * torch.tanh(gain * h @ weights.T)

    # As with a trained network, start from states the dynamics visit: cue each pattern and
    # its negative with 20% of the signs flipped, and let the network run for 10 steps.
    cues = torch.cat([patterns, -patterns]).repeat(10, 1)
    flips = torch.where(torch.rand(cues.shape, generator=g) < 0.2, -1.0, 1.0).to(F64)
    starts = cues * flips
    for _ in range(10):
        starts = step(starts, None)
    fps = find_fixed_points(step, starts, torch.zeros(1, dtype=F64), dt=alpha)
    stable = fps.states[fps.stability == "stable"]
    overlaps = np.abs(stable @ patterns.numpy().T) / (
        np.linalg.norm(stable, axis=1, keepdims=True) * math.sqrt(n)
    )
    # every stored pattern (and its negative) is a stable point, each found once
    assert len(stable) == 2 * n_patterns
    assert sorted(overlaps.argmax(1).tolist()) == sorted(list(range(n_patterns)) * 2)
    assert overlaps.max(1).min() > 0.99


def test_jacobians_match_autograd_for_a_ctrnn_ensemble():
    model = CTRNN(NetworkSpec(n_inputs=2, n_hidden=5, n_outputs=1, activation="tanh", seeds=(1, 2)))
    h = torch.randn(2, 3, 5)
    u = torch.randn(2, 3, 2)
    jac = jacobians(model.step, h, u)
    for e in range(2):
        for k in range(3):

            def one(x, e=e, k=k):
                return model.step(x[None, None].expand(2, 1, -1), u[:, k : k + 1])[e, 0]

            expected = torch.autograd.functional.jacobian(one, h[e, k])
            torch.testing.assert_close(jac[e, k], expected)


def test_slow_points_are_kept_apart_from_fixed_points():
    # 1-D flow dx/dt = x^2 + c with c > 0 has no fixed point; x = 0 is a slow point (q ~ c^2).
    c, dt = 1e-3, 1.0

    def step(h, u):
        return h + dt * (h**2 + c)

    starts = torch.linspace(-0.5, 0.1, 50, dtype=F64)[:, None]
    fps = find_fixed_points(step, starts, torch.zeros(1, dtype=F64), dt=dt)
    assert len(fps) == 1 and not fps.is_fixed[0]
    np.testing.assert_allclose(fps.states[0], [0.0], atol=1e-3)
    assert fps.q[0] == pytest.approx(0.5 * c**2, rel=1e-3)
    assert fps.count()["slow"] == 1


def test_distance_outliers_are_dropped():
    # dx/dt = -x (x - 1)(x - 100): the point at 100 is far from starts near 0..1
    def step(h, u):
        return h + 1e-3 * (-h * (h - 1) * (h - 100))

    starts = torch.linspace(-0.2, 1.2, 20, dtype=F64)[:, None]
    starts = torch.cat([starts, torch.tensor([[99.0]], dtype=F64)])
    far = find_fixed_points(step, starts, torch.zeros(1, dtype=F64), dt=1e-3)
    kept = find_fixed_points(
        step,
        starts,
        torch.zeros(1, dtype=F64),
        dt=1e-3,
        options=FixedPointOptions(outlier_distance_scale=None),
    )
    assert sorted(np.round(kept.states[:, 0], 6)) == [0.0, 1.0, 100.0]
    assert sorted(np.round(far.states[:, 0], 6)) == [0.0, 1.0]


def test_ensemble_in_one_call_equals_single_calls():
    spec = dict(n_inputs=3, n_hidden=12, n_outputs=3, activation="tanh", rec_gain=1.5)
    model = CTRNN(NetworkSpec(**spec, seeds=(1, 2, 3)))
    starts = torch.randn(3, 40, 12, generator=torch.Generator().manual_seed(3))
    u = torch.zeros(3)
    # float64 throughout, so rounding cannot tip a start lying on a basin boundary either way.
    # Slow points are left out: in this chaotic network they are shallow minima of q, where
    # last-bit differences (batches of other shapes) may end a descent elsewhere.
    together = only_fixed(model_fixed_points(model, starts, u, descent_dtype=F64))
    assert len(set(together.member.tolist())) == 3
    for e in range(3):
        alone = only_fixed(
            model_fixed_points(model.member(e), starts[e : e + 1], u, descent_dtype=F64)
        )
        mine = together.member == e
        assert mine.sum() == len(alone) > 0
        order_t = np.lexsort(together.states[mine].T)
        order_a = np.lexsort(alone.states.T)
        np.testing.assert_allclose(together.states[mine][order_t], alone.states[order_a], atol=1e-8)
        assert list(together.stability[mine][order_t]) == list(alone.stability[order_a])


def test_conditions_are_found_in_one_call_and_kept_apart():
    # h' = 0.5 h + u: one fixed point 2u per condition, even when two conditions coincide
    inputs = torch.tensor([[1.0], [1.0], [-1.0], [-1.0]], dtype=F64).repeat(5, 1)
    condition = torch.tensor([0, 1, 2, 2]).repeat(5)
    fps = find_fixed_points(
        lambda h, u: 0.5 * h + u,
        torch.randn(20, 1, dtype=F64),
        inputs,
        condition=condition,
    )
    by_condition = {int(c): float(x) for c, x in zip(fps.condition, fps.states[:, 0], strict=True)}
    assert by_condition == pytest.approx({0: 2.0, 1: 2.0, 2: -2.0})


def test_marginal_line_attractor():
    # h' = h - 0.1 * (h - (h . v) v): a line of fixed points along v, stable across it
    v = torch.tensor([0.6, 0.8], dtype=F64)

    def step(h, u):
        along = (h @ v)[..., None] * v
        return h - 0.1 * (h - along)

    fps = find_fixed_points(
        step,
        torch.randn(5, 2, dtype=F64, generator=torch.Generator().manual_seed(0)),
        torch.zeros(1, dtype=F64),
        dt=1.0,
    )
    assert set(fps.stability) == {"marginal"} and (fps.n_marginal == 1).all()


def test_save_and_load_round_trip(tmp_path):
    fps = find_fixed_points(
        lambda h, u: 0.5 * h + u, torch.randn(4, 3, dtype=F64), torch.ones(3, dtype=F64)
    )
    back = FixedPoints.load(fps.save(tmp_path / "fp.npz"))
    np.testing.assert_array_equal(back.eigenvalues, fps.eigenvalues)
    assert back.stability.tolist() == fps.stability.tolist() and np.isnan(back.dt)
    assert back.options["tol_q"] == 1e-12


def test_flipflop_network_has_eight_stable_memories_and_saddles_between_them():
    # Sussillo & Barak (2013): a network trained on the 3-bit flip-flop holds each of the 8
    # memories in a stable fixed point, with index-1 saddles on the edges between them.
    from neurodyn import tasks
    from neurodyn.train import TrainOptions, TrainState, evaluate, fit

    task = tasks.get("flipflop")
    spec = NetworkSpec(3, 24, 3, dt_ms=10, tau_ms=20, activation="tanh", sigma_rec=0.0, seeds=(1,))
    options = TrainOptions(steps=600, batch_size=32, lr=0.01, log_every=100)
    model = fit(TrainState.new(CTRNN(spec), options), task, options, progress=False).model
    assert evaluate(model, task).performance["flipflop"][0] > 0.99

    batch = task.sample(64, seed=5)
    with torch.no_grad():
        visited = model(batch.x, noise=False).states[:, 0].reshape(-1, 24)
    g = torch.Generator().manual_seed(0)
    starts = visited[torch.randint(len(visited), (512,), generator=g)]
    starts = starts + 0.02 * torch.randn(starts.shape, generator=g)
    fps = model_fixed_points(model, starts, torch.zeros(3))
    readout = fps.states @ model.W_out[0].detach().double().numpy().T + (
        model.b_out[0].detach().double().numpy()
    )
    stable = fps.stability == "stable"
    assert stable.sum() == 8
    corners = {tuple(np.sign(r).astype(int)) for r in readout[stable]}
    assert len(corners) == 8 and np.abs(readout[stable]).min() > 0.8
    edge = (fps.stability == "saddle") & (fps.n_unstable == 1)
    assert edge.sum() >= 10
    # an edge saddle reads out one bit undecided (near 0), the other two decided
    near_zero = (np.abs(readout[edge]) < 0.3).sum(1)
    assert (near_zero == 1).all()
    assert fps.is_fixed.all() and fps.q.max() < 1e-18

    # from a few starts plus those between the stable points (taken straight to
    # Levenberg-Marquardt): the full set of a 3-bit flip-flop network, 8 memories at the
    # corners of a cube, 12 index-1 saddles on its edges, 6 index-2 on its faces and one
    # index-3 at its centre
    every = model_fixed_points(
        model, starts[:64], torch.zeros(3), options=FixedPointOptions(saddle_starts=True)
    )
    assert every.is_fixed.all() and every.q.max() < 1e-18
    assert np.bincount(every.n_unstable, minlength=4).tolist() == [8, 12, 6, 1]
    assert every.points_by_start()["midpoint"] >= 19


def test_a_closed_form_speed_gradient_is_used_and_finds_the_same_point():
    # the linear map F(h) = A h + u: r = (A - I) h + u, dq/dh = (A - I)^T r; with and without
    # the closed form the finder lands on the one fixed point (I - A)^{-1} u
    a = torch.tensor([[0.5, 0.2], [0.0, 0.8]], dtype=torch.float64)
    u = torch.tensor([1.0, 1.0], dtype=torch.float64)
    calls = []

    def speed_grad(inputs):
        def fn(h):
            calls.append(h.shape)
            r = h @ (a - torch.eye(2, dtype=torch.float64)).T + inputs
            return 0.5 * r.pow(2).sum(-1), r @ (a - torch.eye(2, dtype=torch.float64))

        return fn

    starts = torch.randn(8, 2, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    options = FixedPointOptions(newton=False)
    plain = find_fixed_points(lambda h, x: h @ a.T + x, starts, u, options=options)
    closed = find_fixed_points(
        lambda h, x: h @ a.T + x,
        starts,
        u,
        options=options,
        step_functions=StepFunctions(speed_and_gradient=speed_grad),
    )
    assert calls and all(len(shape) == 2 for shape in calls)  # member axis taken off
    np.testing.assert_allclose(closed.states, plain.states, atol=1e-6)
    np.testing.assert_allclose(closed.states[0], [4.0, 5.0], atol=1e-5)
    # the old keyword still works, warns, and gives the same points to the bit
    with pytest.warns(DeprecationWarning, match="speed_grad_fn"):
        old = find_fixed_points(
            lambda h, x: h @ a.T + x, starts, u, options=options, speed_grad_fn=speed_grad
        )
    np.testing.assert_array_equal(old.states, closed.states)
    with pytest.raises(ConfigError, match="not both"):
        find_fixed_points(
            lambda h, x: h @ a.T + x,
            starts,
            u,
            step_functions=StepFunctions(),
            speed_grad_fn=speed_grad,
        )


@pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
def test_copies_a_micro_distance_apart_on_a_large_state_are_one_point(dtype):
    # Every state of the identity map is a fixed point, so de-duplication alone decides. On a
    # 1e2-scale state, copies 1e-6 apart are one point and points 1e-2 apart are two (with
    # ||a||^2 + ||b||^2 - 2ab in float32 the rounding error, ~1e-1, swamped both distances).
    g = torch.Generator().manual_seed(0)
    n_units, n_copies = 64, 40
    centre = 100.0 + torch.rand(n_units, generator=g, dtype=F64)
    other = centre + 1e-2 * torch.nn.functional.normalize(
        torch.randn(n_units, generator=g, dtype=F64), dim=0
    )
    jitter = 1e-6 * torch.nn.functional.normalize(
        torch.randn(2 * n_copies, n_units, generator=g, dtype=F64), dim=1
    )
    states = torch.cat([centre.expand(n_copies, -1), other.expand(n_copies, -1)]) + jitter
    fps = find_fixed_points(
        lambda h, u: h,
        states.to(dtype),
        torch.zeros(1, dtype=dtype),
        options=FixedPointOptions(newton=False),
    )
    assert len(fps) == 2
    np.testing.assert_array_equal(np.bincount(fps.assignment), [n_copies, n_copies])
    gap = np.linalg.norm(fps.states[0].astype(np.float64) - fps.states[1].astype(np.float64))
    assert gap == pytest.approx(1e-2, rel=1e-2 if dtype == torch.float32 else 1e-3)
