"""A network trained outside neurodyn, adopted: torch's RNNCell, GRUCell and LSTMCell and a
user's own cells (parameters that require grad) get neurodyn's network interface, and the
analyses find on them what is known analytically or what neurodyn's own cells with the same
weights give."""

import numpy as np
import pytest
import torch
from torch import nn

from neurodyn.analysis import FixedPointOptions, find_fixed_points, model_fixed_points
from neurodyn.analysis.fixed_point_tracking import continue_fixed_points
from neurodyn.errors import ArgumentError, ConfigError, ShapeError
from neurodyn.models import CTRNN, AdoptedModule, AdoptedNetwork, NetworkSpec, build_model
from neurodyn.models.adopted import constructor_kwargs, import_object, import_path
from tests.models.user_cells import (
    HalvingCell,
    LeakyTanhCell,
    LinearCell,
    OpaqueCell,
    StateOnlyCell,
)

N_IN, N, N_OUT = 3, 6, 2


def randn(*shape, seed=0, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def seeded(make, seed):
    torch.manual_seed(seed)
    return make()


def starts(n, size, seed=1, scale=1.0):
    return scale * randn(n, size, seed=seed)


@pytest.mark.parametrize("kind", [nn.RNNCell, nn.GRUCell, nn.LSTMCell, LinearCell])
def test_the_interface_of_neurodyns_cells(kind):
    """Time-major shapes with the ensemble axis, members as they compute alone, `step` as the
    forward pass one step at a time, its Jacobian as autograd's: the checks every cell passes."""
    cells = [seeded(lambda: kind(N_IN, N), s) for s in (1, 2)]
    readouts = [nn.Linear(N, N_OUT), nn.Linear(N, N_OUT)]
    net = AdoptedNetwork(cells, readouts, dt_ms=20.0, n_inputs=N_IN, n_hidden=N)
    size = net.state_size
    assert size == (2 * N if kind is nn.LSTMCell else N) and net.ensemble_size == 2
    x = randn(5, 2, 4, N_IN, seed=3)  # one input stream per member
    h0 = randn(2, 4, size, seed=4)
    with torch.no_grad():
        traj = net(x, h0=h0)
    assert tuple(traj.states.shape) == (5, 2, 4, size)
    assert tuple(traj.outputs.shape) == (5, 2, 4, N_OUT)
    with torch.no_grad():
        h = h0
        for t in range(5):
            h = net.step(h, x[t])
            torch.testing.assert_close(h, traj.states[t])
        alone = net.member(1)(x[:, 1], h0=h0[1])
    torch.testing.assert_close(alone.states[:, 0], traj.states[:, 1])
    torch.testing.assert_close(alone.outputs[:, 0], traj.outputs[:, 1])
    jac = net.step_jacobian(h0, x[0])
    full = torch.autograd.functional.jacobian(lambda state: net.step(state, x[0]), h0)
    for e in range(2):
        for b in range(4):
            torch.testing.assert_close(jac[e, b], full[e, b, :, e, b])
    assert not jac.requires_grad
    assert all(p.requires_grad for p in net.parameters())  # the user's modules, untouched


def test_an_lstm_cells_tuple_state_is_h_and_c_as_in_neurodyns_own_lstm():
    ours = build_model(NetworkSpec(N_IN, N, N_OUT, cell="lstm", seeds=(2,), sigma_rec=0.0))
    cell = ours.to_torch_cell(0)
    readout = nn.Linear(N, N_OUT)
    with torch.no_grad():
        readout.weight.copy_(ours.W_out[0])
        readout.bias.copy_(ours.b_out[0])
    adopted = AdoptedNetwork(cell, readout, dt_ms=20.0)
    x = randn(8, 5, N_IN, seed=5)
    with torch.no_grad():
        theirs, mine = ours(x, noise=False), adopted(x)
    torch.testing.assert_close(mine.states, theirs.states, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(mine.outputs, theirs.outputs, rtol=1e-5, atol=1e-6)


def test_an_rnn_cell_with_zero_input_has_its_fixed_point_at_zero_with_the_recurrent_spectrum():
    """tanh(W_hh h) with no biases: h = 0 is fixed, and the Jacobian there is W_hh."""
    cell = seeded(lambda: nn.RNNCell(N_IN, N), 0)
    with torch.no_grad():
        cell.bias_ih.zero_()
        cell.bias_hh.zero_()
        cell.weight_hh.mul_(0.5)  # spectral radius below 1: the one fixed point is 0
    net = AdoptedNetwork(cell, nn.Linear(N, N_OUT), dt_ms=20.0)
    found = model_fixed_points(net, starts(32, N), torch.zeros(N_IN))
    assert len(found) == 1 and found.stability.tolist() == ["stable"]
    np.testing.assert_allclose(found.states[0], 0.0, atol=1e-10)
    expected = np.linalg.eigvals(cell.weight_hh.detach().double().numpy())
    np.testing.assert_allclose(
        np.sort_complex(found.eigenvalues[0]), np.sort_complex(expected), atol=1e-6
    )
    assert np.isnan(found.dt)  # a map, classified against the unit circle


def test_a_plain_step_function_over_a_cell_whose_parameters_require_grad():
    """The protocol without the adapter: `F(h, u)` closing over a user's module."""
    cell = seeded(lambda: nn.RNNCell(N_IN, N), 0)
    with torch.no_grad():
        cell.bias_ih.zero_()
        cell.bias_hh.zero_()
        cell.weight_hh.mul_(0.5)
    before = [p.detach().clone() for p in cell.parameters()]
    found = find_fixed_points(lambda h, u: cell(u, h), starts(16, N), torch.zeros(N_IN))
    assert len(found) == 1
    np.testing.assert_allclose(found.states[0], 0.0, atol=1e-6)
    assert all(p.requires_grad for p in cell.parameters())
    assert all(torch.equal(p, q) for p, q in zip(cell.parameters(), before, strict=True))


def test_a_linear_user_cells_fixed_point_solves_the_linear_system():
    cell = seeded(lambda: LinearCell(N_IN, N), 3)
    net = AdoptedNetwork(cell, nn.Linear(N, N_OUT), dt_ms=20.0, n_inputs=N_IN)
    u = randn(N_IN, seed=6)
    found = model_fixed_points(net, starts(32, N, scale=3.0), u)
    w, b_in, b = (p.detach().double() for p in (cell.W, cell.B, cell.b))
    exact = torch.linalg.solve(torch.eye(N, dtype=torch.float64) - w, b_in @ u.double() + b)
    assert len(found) == 1 and found.is_fixed.all()
    np.testing.assert_allclose(found.states[0], exact.numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(
        np.sort_complex(found.eigenvalues[0]),
        np.sort_complex(np.linalg.eigvals(w.numpy())),
        atol=1e-9,
    )


def test_the_fixed_points_of_a_linear_cell_move_with_the_input_as_the_solution_does():
    """A dynamics analysis that takes a step function: continuation along an input line."""
    cell = seeded(lambda: LinearCell(N_IN, N), 4)
    net = AdoptedNetwork(cell, nn.Linear(N, N_OUT), dt_ms=20.0, n_inputs=N_IN)
    u_a, u_b = torch.zeros(N_IN), torch.ones(N_IN)
    cont = continue_fixed_points(
        lambda h, u: net.step(h[None], u[None])[0],
        u_a,
        u_b,
        starts(16, N),
        alphas=np.linspace(0, 1, 5),
    )
    w, b_in, b = (p.detach().double().numpy() for p in (cell.W, cell.B, cell.b))
    for i, alpha in enumerate(cont.alphas):
        exact = np.linalg.solve(np.eye(N) - w, b_in @ (alpha * np.ones(N_IN)) + b)
        here = cont.states[cont.alpha_index == i]
        assert len(here) == 1
        np.testing.assert_allclose(here[0], exact, atol=1e-5)


def test_an_adopted_gru_cell_has_the_planted_fixed_points_of_neurodyns_gru_with_its_weights():
    """A planted GRU: reset gates open, update gates at 1/2, candidate n = tanh(2 h) unit by
    unit, so each unit is bistable: h = tanh(2 h) at 0 (unstable) and +-0.9575 (stable), and
    two units have 9 fixed points (4 stable, 4 saddles, 1 unstable)."""
    n = 2
    cell = nn.GRUCell(N_IN, n)
    with torch.no_grad():
        for p in cell.parameters():
            p.zero_()
        cell.bias_ih[:n] = 10.0  # reset gate: sigma(10) ~ 1
        cell.weight_hh[2 * n :] = 2.0 * torch.eye(n)
    ours = build_model(NetworkSpec(N_IN, n, N_OUT, cell="gru", seeds=(0,), sigma_rec=0.0))
    with torch.no_grad():
        for mine, theirs in (("W_in", "weight_ih"), ("W_rec", "weight_hh")):
            getattr(ours, mine)[0].copy_(getattr(cell, theirs))
        ours.b[0].copy_(cell.bias_ih)
        ours.b_rec[0].copy_(cell.bias_hh)
    adopted = AdoptedNetwork(cell, nn.Linear(n, N_OUT), dt_ms=20.0)
    h0 = 2.4 * torch.rand(256, n, generator=torch.Generator().manual_seed(7)) - 1.2
    u = torch.zeros(N_IN)
    theirs = model_fixed_points(ours, h0, u)
    mine = model_fixed_points(adopted, h0, u)
    assert (
        mine.count()
        == theirs.count()
        == {
            "stable": 4,
            "saddle": 4,
            "unstable": 1,
            "marginal": 0,
            "slow": 0,
        }
    )
    order_theirs, order_mine = np.lexsort(theirs.states.T), np.lexsort(mine.states.T)
    np.testing.assert_allclose(mine.states[order_mine], theirs.states[order_theirs], atol=1e-9)
    assert mine.stability[order_mine].tolist() == theirs.stability[order_theirs].tolist()
    gain, h_star = 2.0 / (1.0 + np.exp(-10.0)), 1.0  # the positive root of h = tanh(gain h)
    for _ in range(200):  # a contraction there (slope 0.17)
        h_star = np.tanh(gain * h_star)
    np.testing.assert_allclose(np.abs(mine.states[mine.stability == "stable"]), h_star, atol=1e-8)


def test_a_flow_cell_is_classified_on_the_flow_as_neurodyns_ctrnn_with_its_weights():
    cell = seeded(lambda: LeakyTanhCell(N_IN, N, alpha=0.2), 6)
    ours = CTRNN(
        NetworkSpec(N_IN, N, N_OUT, dt_ms=20.0, tau_ms=100.0, activation="tanh", sigma_rec=0.0)
    )
    with torch.no_grad():
        ours.W_in[0].copy_(cell.W_in)
        ours.W_rec[0].copy_(cell.W_rec)
        ours.b[0].copy_(cell.b)
    adopted = AdoptedNetwork(cell, nn.Linear(N, N_OUT), dt_ms=20.0, continuous_time=True)
    h0, u = starts(128, N, seed=8), torch.zeros(N_IN)
    options = FixedPointOptions(outlier_distance_scale=None)
    theirs = model_fixed_points(ours, h0, u, options=options)
    mine = model_fixed_points(adopted, h0, u, options=options)
    assert mine.dt == theirs.dt == 20.0 and len(mine) == len(theirs) >= 1
    order_theirs, order_mine = np.lexsort(theirs.states.T), np.lexsort(mine.states.T)
    np.testing.assert_allclose(mine.states[order_mine], theirs.states[order_theirs], atol=1e-9)
    np.testing.assert_allclose(
        np.sort_complex(mine.flow_eigenvalues[order_mine]),
        np.sort_complex(theirs.flow_eigenvalues[order_theirs]),
        atol=1e-9,
    )


def test_a_module_rebuilt_from_its_import_path_and_read_arguments_is_the_same_module():
    for module, path in (
        (nn.RNNCell(N_IN, N, nonlinearity="relu"), "torch.nn.modules.rnn:RNNCell"),
        (nn.Linear(N, N_OUT, bias=False), "torch.nn.modules.linear:Linear"),
        (LinearCell(N_IN, N, gain=0.3), "tests.models.user_cells:LinearCell"),
    ):
        assert import_path(module) == path
        kwargs = constructor_kwargs(module)
        rebuilt = import_object(path, "cell")(**kwargs)
        rebuilt.load_state_dict(module.state_dict())  # same parameters, same names
        h, u = randn(4, N), randn(4, N_IN)
        if isinstance(module, nn.Linear):
            torch.testing.assert_close(rebuilt(h), module(h))
        else:
            torch.testing.assert_close(rebuilt(u, h), module(u, h))
    assert constructor_kwargs(nn.RNNCell(N_IN, N)) == {"input_size": N_IN, "hidden_size": N}


def test_bad_cells_get_one_line_errors_that_say_what_to_do():
    readout = nn.Linear(N, N_OUT)
    with pytest.raises(ConfigError, match=r"StateOnlyCell cannot be called as cell\(u") as err:
        AdoptedNetwork(StateOnlyCell(N), readout, dt_ms=20.0, n_inputs=N_IN)
    assert "\n" not in str(err.value)
    with pytest.raises(ShapeError, match="inputs have 5 channels, the network expects 3"):
        AdoptedNetwork(nn.RNNCell(N_IN, N), readout, dt_ms=20.0)(torch.zeros(4, 2, 5))
    with pytest.raises(ConfigError, match="cannot be called") as err:
        AdoptedNetwork(nn.RNNCell(5, N), readout, dt_ms=20.0, n_inputs=N_IN)
    assert "\n" not in str(err.value)
    with pytest.raises(ConfigError, match="readout Linear cannot read h"):
        AdoptedNetwork(nn.RNNCell(N_IN, N), nn.Linear(N + 1, N_OUT), dt_ms=20.0)
    with pytest.raises(ConfigError, match=r"must be tuple of Tensors.*state_parts=2"):
        AdoptedNetwork(nn.LSTMCell(N_IN, N), readout, dt_ms=20.0, state_parts=1)
    with pytest.raises(
        ShapeError, match=r"HalvingCell\(u, h\) returned \[\(2, 3\)\], not \[2, N\]"
    ):
        AdoptedNetwork(HalvingCell(N_IN, N), readout, dt_ms=20.0)
    with pytest.raises(ConfigError, match="pass n_inputs="):
        AdoptedNetwork(LinearCell(N_IN, N), readout, dt_ms=20.0)
    with pytest.raises(ConfigError, match="one readout per cell"):
        AdoptedNetwork([nn.RNNCell(N_IN, N)] * 2, readout, dt_ms=20.0)

    class Local(nn.RNNCell):
        pass

    with pytest.raises(ConfigError, match="define it at the top level of a module file"):
        import_path(Local(N_IN, N))
    with pytest.raises(ConfigError, match="pass it in cell_kwargs="):
        constructor_kwargs(OpaqueCell(N))
    assert constructor_kwargs(OpaqueCell(N), {"width": N}) == {"width": N}
    with pytest.raises(ConfigError, match=r"cannot be imported .*ModuleNotFoundError"):
        import_object("no_such_package.cells:Cell", "adopted.cell")
    with pytest.raises(ConfigError, match="has no 'NoCell'"):
        import_object("torch.nn:NoCell", "adopted.cell")
    with pytest.raises(ConfigError, match=r"import path `package.module:Class`"):
        AdoptedModule(cell="torch.nn.RNNCell", readout="torch.nn:Linear")


def test_a_lesioned_adopted_cell_loses_the_units_outgoing_weights_only():
    from neurodyn.analysis import lesioned

    cell, readout = seeded(lambda: nn.RNNCell(N_IN, N), 9), seeded(lambda: nn.Linear(N, N_OUT), 10)
    net = AdoptedNetwork(cell, readout, dt_ms=20.0)
    x = randn(7, 4, N_IN, seed=11)
    with torch.no_grad():
        every = lesioned(net, list(range(N)))(x)
        # no unit reaches another or the output: h_t = tanh(W_ih x_t + b), outputs the bias
        expected = torch.tanh(x @ cell.weight_ih.T + cell.bias_ih + cell.bias_hh)
        torch.testing.assert_close(every.states[:, 0], expected)
        torch.testing.assert_close(every.outputs[:, 0], readout.bias.expand(7, 4, N_OUT))
        one = lesioned(net, [2])
        h = torch.zeros(4, N)
        w_hh, w_out = cell.weight_hh.clone(), readout.weight.clone()
        w_hh[:, 2], w_out[:, 2] = 0.0, 0.0
        for t in range(7):
            h = torch.tanh(x[t] @ cell.weight_ih.T + cell.bias_ih + h @ w_hh.T + cell.bias_hh)
        torch.testing.assert_close(one(x).states[-1, 0], h)
        torch.testing.assert_close(one(x).outputs[-1, 0], h @ w_out.T + readout.bias)
    assert bool((cell.weight_hh[:, 2] != 0).all())  # the network passed in is not changed
    with pytest.raises(ArgumentError, match="needs the recurrent weights as torch's cells name"):
        lesioned(AdoptedNetwork(LinearCell(N_IN, N), readout, dt_ms=20.0, n_inputs=N_IN), [0])
