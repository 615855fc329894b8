"""The search behind find_fixed_points on planted systems: Levenberg-Marquardt, merging of
copies, and the saddle-targeting starts."""

import numpy as np
import pytest
import torch

from neurodyn.analysis._dedup import merge_copies
from neurodyn.analysis._descent import jacobians, levenberg_marquardt, speed, speed_where
from neurodyn.analysis._search import KnownPoints, Solver
from neurodyn.analysis.fixed_points import FixedPointOptions, FixedPoints, find_fixed_points

F64 = torch.float64
DT = 0.1


def euler(flow):
    """The Euler map `h + dt f(h)` of a flow, as a step function `F(h, u)`."""
    return lambda h, u: h + DT * flow(h)


def four_wells(h):
    # dx/dt = x - x^3, dy/dt = y - y^3: stable at (+-1, +-1), index-1 saddles at (+-1, 0) and
    # (0, +-1), an unstable node at the origin
    return h - h**3


def three_roots(h):
    # dx/dt = -(x + 1)(x - 0.3)(x - 2): stable at -1 and 2, unstable at 0.3
    return -(h + 1) * (h - 0.3) * (h - 2)


def test_levenberg_marquardt_converges_to_1e_10_on_a_linear_and_a_nonlinear_system():
    g = torch.Generator().manual_seed(0)
    a = 0.4 * torch.randn(5, 5, generator=g, dtype=F64)
    b = torch.randn(5, generator=g, dtype=F64)
    exact = torch.linalg.solve(torch.eye(5, dtype=F64) - a, b)
    linear = lambda h, u: h @ a.T + b  # noqa: E731
    starts = (exact + 0.3 * torch.randn(1, 16, 5, generator=g, dtype=F64)).contiguous()
    u = torch.zeros(1, 16, 1, dtype=F64)
    options = FixedPointOptions(slow_q=1e3)
    jac = lambda h, x: a.expand(*h.shape[:-1], 5, 5)  # noqa: E731
    found, _ = levenberg_marquardt(linear, starts, u, options, jac, stop_below=1e-30)
    assert (found - exact).abs().max() < 1e-10

    # the double well of four_wells from near (1, -1): quadratic convergence to the corner
    step = euler(four_wells)

    def step_jacobian(h, x):
        return torch.diag_embed(1 + DT * (1 - 3 * h**2))

    near = torch.tensor([[[0.8, -1.3], [1.2, -0.7]]], dtype=F64)
    found, _ = levenberg_marquardt(step, near, u[:, :2], options, step_jacobian, stop_below=1e-30)
    np.testing.assert_allclose(found[0].numpy(), [[1, -1], [1, -1]], atol=1e-10)
    assert speed(step, found, u[:, :2]).max() < 1e-20


def test_merging_never_fuses_points_a_hundredth_apart():
    # two clusters of copies around points 1e-2 apart merge into one leader each
    g = torch.Generator().manual_seed(0)
    centre = torch.randn(8, generator=g, dtype=F64)
    other = centre + 1e-2 * torch.nn.functional.normalize(
        torch.randn(8, generator=g, dtype=F64), dim=0
    )
    jitter = 1e-5 * torch.randn(40, 8, generator=g, dtype=F64)
    states = torch.cat([centre.expand(20, -1), other.expand(20, -1)]) + jitter
    q = torch.rand(40, generator=g, dtype=F64)
    leader = merge_copies(
        states[None], q[None], torch.ones(1, 40, dtype=torch.bool), torch.zeros(1, 40), 1e-3
    )[0]
    assert len(set(leader[:20].tolist())) == 1 and len(set(leader[20:].tolist())) == 1
    assert leader[0] != leader[20]
    assert leader[0] == torch.argmin(q[:20]) and leader[20] == 20 + torch.argmin(q[20:])


def test_points_a_hundredth_apart_are_both_found_with_their_stability():
    # dx/dt = -1e4 x (x - 0.005)(x - 0.01): stable at 0 and 0.01, unstable between them
    def flow(h):
        return -1e4 * h * (h - 0.005) * (h - 0.01)

    starts = torch.linspace(-0.004, 0.014, 200, dtype=F64)[:, None]
    fps = find_fixed_points(euler(flow), starts, torch.zeros(1, dtype=F64), dt=DT)
    order = np.argsort(fps.states[:, 0])
    np.testing.assert_allclose(fps.states[order, 0], [0, 0.005, 0.01], atol=1e-10)
    assert fps.stability[order].tolist() == ["stable", "unstable", "stable"]


def test_exact_points_of_four_wells_with_their_stability():
    starts = torch.randn(256, 2, generator=torch.Generator().manual_seed(3), dtype=F64)
    fps = find_fixed_points(euler(four_wells), starts, torch.zeros(1, dtype=F64), dt=DT)
    expected = {(x, y) for x in (-1, 0, 1) for y in (-1, 0, 1)}
    assert {tuple(p) for p in np.round(fps.states).astype(int).tolist()} == expected
    np.testing.assert_allclose(fps.states, np.round(fps.states), atol=1e-12)
    kind = {
        tuple(np.round(p).astype(int)): s for p, s in zip(fps.states, fps.stability, strict=True)
    }
    for (x, y), stability in kind.items():
        zeros = int(x == 0) + int(y == 0)
        assert stability == ["stable", "saddle", "unstable"][zeros]
    assert fps.is_fixed.all() and fps.q.max() < 1e-20


@pytest.mark.parametrize(
    ("flow", "wells", "saddles"),
    [
        (three_roots, [[-1.0], [2.0]], [[0.3]]),
        (
            four_wells,
            [[1, 1], [1, -1], [-1, 1], [-1, -1]],
            [[1, 0], [-1, 0], [0, 1], [0, -1], [0, 0]],
        ),
    ],
)
def test_saddle_starts_find_the_saddles_plain_descent_misses(flow, wells, saddles):
    # starts only in the wells: descent finds the stable points and nothing else; starts
    # half-way between the stable points find the saddles (and, for four wells, the
    # unstable origin between diagonal corners)
    g = torch.Generator().manual_seed(0)
    wells_t = torch.tensor(wells, dtype=F64)
    starts = wells_t.repeat(16, 1) + 0.05 * torch.randn(
        16 * len(wells), wells_t.shape[1], generator=g, dtype=F64
    )
    u = torch.zeros(1, dtype=F64)
    plain = find_fixed_points(euler(flow), starts, u, dt=DT)
    assert len(plain) == len(wells) and (plain.stability == "stable").all()
    assert plain.points_by_start() == {"initial": len(wells)}

    options = FixedPointOptions(saddle_starts=True)
    fps = find_fixed_points(euler(flow), starts, u, dt=DT, options=options)
    assert len(fps) == len(wells) + len(saddles)
    found = fps.states[fps.stability != "stable"]
    for saddle in saddles:
        assert np.linalg.norm(found - np.array(saddle), axis=1).min() < 1e-10
    assert fps.points_by_start() == {"initial": len(wells), "midpoint": len(saddles)}
    # the midpoint starts are recorded after the starts given, each assigned to its point
    midpoint = fps.start_kind == "midpoint"
    assert midpoint.sum() == len(wells) * (len(wells) - 1) // 2
    assert (fps.start_kind[: len(starts)] == "initial").all()
    assert (fps.assignment[midpoint] >= 0).all()
    assert "by start" in repr(fps)


def test_a_result_saved_before_start_kind_existed_loads(tmp_path):
    starts = torch.randn(16, 2, generator=torch.Generator().manual_seed(0), dtype=F64)
    fps = find_fixed_points(euler(four_wells), starts, torch.zeros(1, dtype=F64), dt=DT)
    path = fps.save(tmp_path / "fps.npz")
    with np.load(path) as data:
        old = {k: data[k] for k in data.files if k != "start_kind"}
    np.savez(tmp_path / "old.npz", **old)
    back = FixedPoints.load(tmp_path / "old.npz")
    assert len(back.start_kind) == 0 and back.points_by_start() == fps.points_by_start()


def test_levenberg_marquardt_falls_back_to_the_damped_step_where_newton_fails():
    # dx/dt = -atan(x): from |x| > 1.39 the Newton step overshoots to a larger |x| (from 3 to
    # -9.5), raising q; the damped step must carry the state to the point 0
    step = lambda h, u: h - DT * torch.atan(h)  # noqa: E731

    def step_jacobian(h, x):
        return torch.diag_embed(1 - DT / (1 + h**2))

    starts = torch.tensor([[[3.0], [-5.0]]], dtype=F64)
    newton = starts - torch.atan(starts) * (1 + starts**2)
    assert (newton.abs() > starts.abs()).all()
    u = torch.zeros(1, 2, 1, dtype=F64)
    found, _ = levenberg_marquardt(
        step, starts, u, FixedPointOptions(slow_q=1e3), step_jacobian, stop_below=1e-30
    )
    assert found.abs().max() < 1e-10 and speed(step, found, u).max() < 1e-20


def test_the_tail_sent_to_levenberg_marquardt_finds_the_points_descent_finds():
    # newton_tail larger than the batch: every state leaves descent after the first check
    # for Levenberg-Marquardt; the nine points of four wells are the same as by descent
    starts = torch.randn(256, 2, generator=torch.Generator().manual_seed(3), dtype=F64)
    u = torch.zeros(1, dtype=F64)
    by_descent = find_fixed_points(
        euler(four_wells), starts, u, dt=DT, options=FixedPointOptions(newton_tail=0)
    )
    by_tail = find_fixed_points(
        euler(four_wells), starts, u, dt=DT, options=FixedPointOptions(newton_tail=10_000)
    )
    expected = sorted((x, y) for x in (-1, 0, 1) for y in (-1, 0, 1))
    for fps in (by_descent, by_tail):
        order = np.lexsort(np.round(fps.states).T[::-1])
        np.testing.assert_allclose(fps.states[order], expected, atol=1e-12)
        zeros = (np.abs(fps.states[order]) < 0.5).sum(1)
        assert fps.stability[order].tolist() == [["stable", "saddle", "unstable"][z] for z in zeros]
    # no state descended past the first check
    assert by_tail.n_iters.max() <= FixedPointOptions().check_every


def test_eigenvectors_are_computed_from_the_jacobians_when_read_in_eigenvalue_order(tmp_path):
    # a linear map with complex pairs: one point, its Jacobian is A; each eigenvector column
    # satisfies A v = lambda v with the eigenvalue in the same position
    g = torch.Generator().manual_seed(1)
    a = 0.3 * torch.randn(6, 6, generator=g, dtype=F64)
    starts = torch.randn(8, 6, generator=g, dtype=F64)
    fps = find_fixed_points(lambda h, u: h @ a.T + u, starts, torch.ones(6, dtype=F64))
    assert len(fps) == 1 and np.iscomplexobj(fps.eigenvalues) and fps.eigenvalues.imag.any()
    np.testing.assert_allclose(fps.jacobians[0], a.numpy())
    path = fps.save(tmp_path / "fps.npz")  # before the vectors were read: saved without them
    with np.load(path) as data:
        assert "eigenvectors" not in data.files
    for result in (fps, FixedPoints.load(path)):
        vectors = result.eigenvectors[0]
        assert vectors.shape == (6, 6)
        np.testing.assert_allclose(a.numpy() @ vectors, vectors * result.eigenvalues[0], atol=1e-12)
    # a result saved with its eigenvectors and before `jacobians` existed loads them as saved
    fps.save(tmp_path / "with.npz")
    with np.load(tmp_path / "with.npz") as data:
        old = {k: data[k] for k in data.files if k != "jacobians"}
    np.savez(tmp_path / "old.npz", **old)
    back = FixedPoints.load(tmp_path / "old.npz")
    np.testing.assert_array_equal(back.eigenvectors, fps.eigenvectors)
    assert len(back.jacobians) == 0


def planted_linear_map(growths, seed=0):
    """`h -> A h + b` with `A = Q diag(1 + growths) Q^T` (real eigenvalues `1 + growth`, a
    discrete map's growth `|lambda| - 1`), its one fixed point `(I - A)^-1 b`, and `A`."""
    g = torch.Generator().manual_seed(seed)
    n = len(growths)
    q, _ = torch.linalg.qr(torch.randn(n, n, generator=g, dtype=F64))
    a = q @ torch.diag(1 + torch.as_tensor(growths, dtype=F64)) @ q.T
    b = torch.randn(n, generator=g, dtype=F64)
    point = torch.linalg.solve(torch.eye(n, dtype=F64) - a, b)
    return (lambda h, u: h @ a.T + b), point, a


@pytest.mark.parametrize("side", [-1.0, 1.0])
def test_float32_eigenvalues_classify_points_near_the_boundary_as_float64_does(side):
    # 64 units (float32 eigenvalues by default): one mode a hair either side of the marginal
    # boundary (|lambda| - 1 = marginal_tol +- 1e-7, below float32's resolution there), the
    # others well inside. Unstable (a saddle) or marginal, as float64 says: the point is
    # decomposed again in float64, to its exact eigenvalues.
    tol = 1e-3
    growths = np.r_[tol + side * 1e-7, np.linspace(-0.9, -0.2, 63)]
    step, point, _ = planted_linear_map(growths)
    starts = point + 0.01 * torch.randn(
        4, 64, generator=torch.Generator().manual_seed(1), dtype=F64
    )
    fps = find_fixed_points(step, starts, torch.zeros(1, dtype=F64))
    expected = "saddle" if side > 0 else "marginal"
    assert fps.options["float32_eigenvalues_from"] == 64 and len(fps) == 1
    assert fps.stability.tolist() == [expected]
    np.testing.assert_allclose(np.sort(fps.eigenvalues[0].real), np.sort(1 + growths), atol=1e-12)
    exact = find_fixed_points(
        step,
        starts,
        torch.zeros(1, dtype=F64),
        options=FixedPointOptions(float32_eigenvalues_from=None),
    )
    assert exact.stability.tolist() == [expected]


def test_float32_eigenvalues_far_from_the_boundary_are_good_to_1e_5():
    # every mode far from the boundary: float32's eigenvalues are kept, close to the exact
    # ones, and the class is float64's
    growths = np.r_[0.3, np.linspace(-0.9, -0.2, 127)]
    step, point, a = planted_linear_map(growths, seed=2)
    starts = point + 0.01 * torch.randn(
        4, 128, generator=torch.Generator().manual_seed(3), dtype=F64
    )
    fps = find_fixed_points(step, starts, torch.zeros(1, dtype=F64))
    assert fps.stability.tolist() == ["saddle"] and fps.n_unstable.tolist() == [1]
    error = np.abs(np.sort(fps.eigenvalues[0].real) - np.sort(1 + growths)).max()
    assert 0 < error < 1e-5  # float32's, not float64's (which would be ~1e-15)
    np.testing.assert_allclose(fps.jacobians[0], a.numpy(), atol=1e-14)


def three_pattern_network():
    """`tanh(W h)` with W storing three orthogonal +-1 patterns of 24 units (gain 2): 47
    points (6 stable, 41 saddles), many of them a few tenths apart along the patterns."""
    rows = [[1] * 12 + [-1] * 12, ([1] * 6 + [-1] * 6) * 2, ([1] * 3 + [-1] * 3) * 4]
    patterns = torch.tensor(rows, dtype=F64)
    w = 2.0 * patterns.T @ patterns / 24
    g = torch.Generator().manual_seed(0)
    starts = torch.randn(256, 3, generator=g, dtype=F64) @ patterns
    starts = starts + 0.3 * torch.randn(256, 24, generator=g, dtype=F64)
    return (lambda h, u: torch.tanh(h @ w.T)), starts


def test_states_joined_to_known_points_give_the_points_every_state_refined_gives():
    # with merge, states join a point located before (by this search or the first one) as
    # soon as two chord steps halve their distance to it; without, every state is refined on
    # its own: the same points, with the same classes
    step, starts = three_pattern_network()
    u = torch.zeros(1, dtype=F64)
    joined = find_fixed_points(step, starts, u, options=FixedPointOptions(saddle_starts=True))
    alone = find_fixed_points(
        step, starts, u, options=FixedPointOptions(saddle_starts=True, merge=False)
    )
    assert len(joined) == len(alone) == 47
    assert (
        joined.count()
        == alone.count()
        == {
            "stable": 6,
            "saddle": 41,
            "unstable": 0,
            "marginal": 0,
            "slow": 0,
        }
    )
    distance = np.linalg.norm(joined.states[:, None] - alone.states[None], axis=-1)
    assert distance.min(1).max() < 1e-8  # both at q < tol_q
    np.testing.assert_array_equal(joined.stability, alone.stability[distance.argmin(1)])
    # a midpoint start that reached a point of the first search stopped on it
    midpoint = joined.start_kind == "midpoint"
    reached = joined.assignment[midpoint]
    np.testing.assert_allclose(
        joined.final_states[midpoint], joined.states[reached], atol=joined.options["tol_unique"]
    )


def test_points_take_levenberg_marquardts_last_factors_and_join_the_same_states(monkeypatch):
    # a point located by Levenberg-Marquardt keeps the LU factors of A its last iteration
    # computed (within one step of it) as its chord matrix, instead of a new Jacobian and LU:
    # every start ends at the same point as with the factors computed at the point, and the
    # finder factors fewer matrices
    from neurodyn.analysis import _descent

    step, starts = three_pattern_network()
    u = torch.zeros(1, dtype=F64)
    options = FixedPointOptions(saddle_starts=True)
    factored = []
    lu_factor = torch.linalg.lu_factor_ex

    def counting(a, *args, **kwargs):
        factored.append(a.shape[:-2].numel())
        return lu_factor(a, *args, **kwargs)

    monkeypatch.setattr(torch.linalg, "lu_factor_ex", counting)
    reused = find_fixed_points(step, starts, u, options=options)
    with_reuse, factored[:] = sum(factored), []
    taken = []
    of = _descent.LastFactors.of
    monkeypatch.setattr(
        _descent.LastFactors,
        "of",
        lambda self, keys: taken.extend(of(self, keys)) or [None] * len(keys),
    )
    fresh = find_fixed_points(step, starts, u, options=options)
    assert len(taken) >= len(fresh) and all(f is not None for f in taken)
    assert with_reuse <= sum(factored) - len(fresh)
    assert len(reused) == len(fresh) == 47
    np.testing.assert_allclose(reused.states, fresh.states, atol=1e-10)
    np.testing.assert_array_equal(reused.stability, fresh.stability)
    np.testing.assert_array_equal(reused.assignment, fresh.assignment)


def test_a_state_joins_a_known_point_only_where_newton_takes_it_there():
    # four wells, one point known (the well at (1, 1)): every state on a grid over all nine
    # points that joins it is one Newton's iteration takes to (1, 1); states near the other
    # points (none of them known) never join
    step = euler(four_wells)
    jacobian = lambda h, u: jacobians(step, h, u)  # noqa: E731
    options = FixedPointOptions()
    solver = Solver(step, jacobian, None, step, jacobian, None, F64, options)
    known = KnownPoints(solver, 1)
    well = torch.tensor([[[1.0, 1.0]]], dtype=F64)
    known.add(
        well,
        torch.zeros(1, 1, 1, dtype=F64),
        torch.zeros(1, 1, dtype=torch.long),
        torch.ones(1, 1, dtype=torch.bool),
    )
    axis = torch.linspace(-1.6, 1.6, 33, dtype=F64)
    grid = torch.cartesian_prod(axis, axis)[None]  # [1, 1089, 2]
    u = torch.zeros(1, grid.shape[1], 1, dtype=F64)
    group = torch.zeros(1, grid.shape[1], dtype=torch.long)
    point_of = known.join(grid, u, group, torch.ones_like(group, dtype=torch.bool))
    joined = grid[0, point_of[0] == 0]
    assert 20 < len(joined) < grid.shape[1] // 4
    x = joined.clone()
    for _ in range(50):  # Newton on F(h) - h = 0
        a = jacobians(step, x[None], u[:, : len(x)])[0] - torch.eye(2, dtype=F64)
        x = x - torch.linalg.solve(a, step(x, None) - x)
    torch.testing.assert_close(x, well[0].expand_as(x), atol=1e-12, rtol=0)
    others = torch.tensor(
        [[a, b] for a in (-1.0, 0.0, 1.0) for b in (-1.0, 0.0, 1.0) if (a, b) != (1.0, 1.0)],
        dtype=F64,
    )
    near_others = (torch.cdist(grid[0], others).min(1).values < 0.3) & (point_of[0] == 0)
    assert not bool(near_others.any())


def test_merging_thousands_of_states_pairs_them_as_the_distance_matrix_does():
    # 2000 states (past the matrix form's limit): 300 clusters of copies a few 1e-4 apart,
    # some clusters 1.5e-3 from another, and loners; the pairs within 2 tol and the leaders
    # are those of the full distance matrix
    g = torch.Generator().manual_seed(4)
    centres = torch.randn(300, 8, generator=g, dtype=F64)
    centres[150:200] = centres[100:150] + 1.5e-3 * torch.nn.functional.normalize(
        torch.randn(50, 8, generator=g, dtype=F64), dim=-1
    )
    which = torch.randint(300, (1700,), generator=g)
    copies = centres[which] + 2e-4 * torch.randn(1700, 8, generator=g, dtype=F64)
    states = torch.cat([copies, torch.randn(300, 8, generator=g, dtype=F64)])[None]
    q = torch.rand(1, 2000, generator=g, dtype=F64)
    group = torch.randint(2, (1, 2000), generator=g)
    tol = 1e-3
    leader = merge_copies(states, q, torch.ones(1, 2000, dtype=torch.bool), group, tol)
    # the same greedy merge over the pairs of the full matrix
    x = states[0]
    close = (torch.cdist(x, x) < tol) & (group[0][:, None] == group[0][None, :])
    close.fill_diagonal_(False)
    expected = torch.arange(2000)
    taken = torch.zeros(2000, dtype=torch.bool)
    for a in sorted(torch.nonzero(close.any(1)).flatten().tolist(), key=lambda k: (q[0, k], k)):
        if taken[a]:
            continue
        taken[a] = True
        follow = close[a] & ~taken
        expected[follow] = a
        taken |= follow
    assert (leader[0] != torch.arange(2000)).sum() > 1000
    torch.testing.assert_close(leader[0], expected)


def test_speed_where_is_q_on_the_selected_states_and_inf_elsewhere():
    g = torch.Generator().manual_seed(5)
    h = torch.randn(2, 7, 2, generator=g, dtype=F64)
    u = torch.zeros(2, 7, 1, dtype=F64)
    select = torch.rand(2, 7, generator=g) < 0.5
    step = euler(four_wells)
    q = speed_where(step, h, u, select)
    torch.testing.assert_close(q[select], speed(step, h, u)[select])
    assert bool(torch.isinf(q[~select]).all())


def leaky_network(activation, alpha, n_members=2, n_units=12, seed=0):
    """A CTRNN of random weights (gain 1.5: points and saddles) in float64."""
    from neurodyn.models import CTRNN, NetworkSpec

    spec = NetworkSpec(
        2,
        n_units,
        1,
        dt_ms=alpha * 100,
        tau_ms=100,
        activation=activation,
        rec_gain=1.5,
        sigma_rec=0.0,
        seeds=tuple(range(seed, seed + n_members)),
    )
    net = CTRNN(spec).double()
    for p in net.parameters():
        p.requires_grad_(False)
    return net


def cpp_loops_or_skip():
    from neurodyn.models.recurrence import engine

    if engine("cpu") != "compiled":
        pytest.skip("the C++ loops are not built here")


@pytest.mark.parametrize("activation", ["tanh", "relu", "softplus", "retanh", "linear"])
@pytest.mark.parametrize("alpha", [1.0, 0.2])
def test_the_cpp_descent_takes_the_python_loops_steps(activation, alpha, monkeypatch):
    # LeakySpeed.descend (C++) against _descend_dense's Python loop on the same states: equal
    # to rounding over the first iterations (later, states near a point accept or refuse a
    # step on differences of q at rounding level, and the two part: the next test checks
    # that the points found are the same)
    from neurodyn.analysis._descent import _descend_dense

    cpp_loops_or_skip()
    net = leaky_network(activation, alpha)
    g = torch.Generator().manual_seed(1)
    h = torch.randn(2, 16, 12, generator=g, dtype=F64)
    u = torch.randn(2, 16, 2, generator=g, dtype=F64)
    active = torch.rand(2, 16, generator=g) > 0.25
    options = FixedPointOptions()
    for n_iters in (1, 3):
        cpp = _descend_dense(
            net.step, h, u, active, n_iters, options, 1e-12, net.speed_and_gradient
        )
        monkeypatch.setenv("NEURODYN_ENGINE", "python")
        assert net.speed_and_gradient(u).descend(h, active, n_iters, {}) is None
        python = _descend_dense(
            net.step, h, u, active, n_iters, options, 1e-12, net.speed_and_gradient
        )
        monkeypatch.delenv("NEURODYN_ENGINE")
        for a, b in zip(cpp[:2], python[:2], strict=True):
            torch.testing.assert_close(a, b, rtol=1e-9, atol=1e-12)
        for a, b in zip(cpp[2:], python[2:], strict=True):
            torch.testing.assert_close(a, b, rtol=0, atol=0)
    # it did run: active states moved, inactive ones kept their start
    assert (cpp[0] != h)[active].any() and (cpp[0] == h)[~active].all()
    assert cpp[3].sum() == 3 * active.sum()
    # float32 takes tanh as a rational function (a few ulp from torch's): one step agrees to
    # float32's precision
    net32 = net.float()
    steps = [
        _descend_dense(net32.step, h.float(), u.float(), active, 1, options, 1e-12, fn)
        for fn in (net32.speed_and_gradient, lambda x: net32.speed_and_gradient(x).__call__)
    ]
    torch.testing.assert_close(steps[0][0], steps[1][0], rtol=1e-5, atol=1e-6)


def test_fixed_points_found_with_the_cpp_descent_are_the_python_loops(monkeypatch):
    # the three-pattern network as a CTRNN (alpha 1, no input): its 47 points, the same
    # with either descent, with the same classes
    from neurodyn.analysis.fixed_points import model_fixed_points

    cpp_loops_or_skip()
    _, starts = three_pattern_network()
    net = leaky_network("tanh", 1.0, n_members=1, n_units=24)
    rows = [[1] * 12 + [-1] * 12, ([1] * 6 + [-1] * 6) * 2, ([1] * 3 + [-1] * 3) * 4]
    patterns = torch.tensor(rows, dtype=F64)
    net.W_rec.copy_(2.0 * patterns.T @ patterns / 24)
    net.b.zero_()
    options = FixedPointOptions(saddle_starts=True)
    found = {}
    for engine in ("auto", "python"):
        monkeypatch.setenv("NEURODYN_ENGINE", engine)
        found[engine] = model_fixed_points(net, starts, torch.zeros(2), options=options)
    cpp, python = found["auto"], found["python"]
    assert len(cpp) == len(python) == 47
    assert cpp.count() == python.count()
    distance = np.linalg.norm(cpp.states[:, None] - python.states[None], axis=-1)
    assert distance.min(1).max() < 1e-8
    np.testing.assert_array_equal(cpp.stability, python.stability[distance.argmin(1)])
