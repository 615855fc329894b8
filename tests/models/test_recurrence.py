"""The fast recurrence engines give autograd's answer on the plain loop."""

import shutil

import pytest
import torch
from torch.utils.cpp_extension import is_ninja_available

from neurodyn.errors import ConfigError
from neurodyn.models import ACTIVATIONS, CTRNN, NetworkSpec
from neurodyn.models.recurrence import engine, leaky_recurrence, leaky_recurrence_reference
from neurodyn.train import masked_mse
from neurodyn.train.trainer import adam, member_generators

FAST = ("compiled", "python")


def network_gradients(activation: str, dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """Gradients of a masked loss on a noisy 3-member ensemble with a learned initial state,
    with the engine NEURODYN_ENGINE selects."""
    spec = NetworkSpec(
        n_inputs=4,
        n_hidden=12,
        n_outputs=3,
        activation=activation,
        sigma_rec=0.3,
        sigma_in=0.1,
        seeds=(3, 4, 5),
        learn_initial_state=True,
    )
    model = CTRNN(spec).to(dtype)
    with torch.no_grad():
        model.b.normal_(generator=torch.Generator().manual_seed(1))
        model.h0.normal_(generator=torch.Generator().manual_seed(2))
    g = torch.Generator().manual_seed(0)
    x = torch.randn(15, 3, 6, 4, generator=g, dtype=dtype)  # one input stream per member
    target = torch.randn(15, 3, 6, 3, generator=g, dtype=dtype)
    mask = (torch.rand(15, 3, 6, 3, generator=g) > 0.3).to(dtype)
    traj = model(x, generators=member_generators(spec.seeds, "noise"))
    loss = masked_mse(traj.outputs, target, mask).sum() + 0.1 * traj.states.pow(2).mean()
    loss.backward()
    return {name: p.grad.clone() for name, p in model.named_parameters()}


@pytest.mark.parametrize("name", FAST)
@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_network_gradients_equal_autograd_on_the_plain_loop(name, activation, monkeypatch):
    for dtype, tol in ((torch.float64, 1e-12), (torch.float32, 2e-5)):
        monkeypatch.setenv("NEURODYN_ENGINE", "reference")
        expected = network_gradients(activation, dtype)
        monkeypatch.setenv("NEURODYN_ENGINE", name)
        got = network_gradients(activation, dtype)
        assert set(got) == {"W_in", "W_rec", "b", "W_out", "b_out", "h0"}
        for key in expected:
            scale = expected[key].abs().max()
            assert scale > 0, key
            assert (got[key] - expected[key]).abs().max() <= tol * scale, (key, dtype)


@pytest.mark.parametrize("name", FAST)
def test_states_without_gradients_equal_those_with(name, monkeypatch):
    monkeypatch.setenv("NEURODYN_ENGINE", name)
    g = torch.Generator().manual_seed(0)
    drive = torch.randn(2, 9, 4, 5, generator=g)
    h0 = torch.randn(2, 4, 5, generator=g)
    w = torch.randn(2, 5, 5, generator=g) / 2
    with torch.no_grad():
        bare = leaky_recurrence(drive, h0, w, 0.3, "tanh")
    tracked = leaky_recurrence(drive, h0, w.requires_grad_(), 0.3, "tanh")
    reference = leaky_recurrence_reference(drive, h0, w, 0.3, "tanh")
    assert torch.equal(bare, tracked.detach())
    torch.testing.assert_close(bare, reference.detach())


@pytest.mark.parametrize("name", FAST)
def test_the_linear_recurrence_passes_gradcheck_and_is_a_linear_map(name, monkeypatch):
    # the hand-written backward pass against finite differences in float64, in drive, h0 and
    # W_rec; and the states are exactly the linear map h_t = A h_{t-1} + alpha drive_t with
    # A = (1 - alpha) I + alpha W_rec
    monkeypatch.setenv("NEURODYN_ENGINE", name)
    g = torch.Generator().manual_seed(0)
    drive = torch.randn(2, 7, 3, 4, generator=g, dtype=torch.float64)
    h0 = torch.randn(2, 3, 4, generator=g, dtype=torch.float64)
    w = torch.randn(2, 4, 4, generator=g, dtype=torch.float64) / 2
    inputs = tuple(t.clone().requires_grad_() for t in (drive, h0, w))
    assert torch.autograd.gradcheck(
        lambda d, h, v: leaky_recurrence(d, h, v, 0.3, "linear"), inputs
    )
    with torch.no_grad():
        states = leaky_recurrence(drive, h0, w, 0.3, "linear")
    a = 0.7 * torch.eye(4, dtype=torch.float64) + 0.3 * w
    h = h0
    for t in range(7):
        h = h @ a.transpose(1, 2) + 0.3 * drive[:, t]
        torch.testing.assert_close(states[:, t], h, rtol=1e-13, atol=1e-13)


@pytest.mark.skipif(
    shutil.which("c++") is None or not is_ninja_available(),
    reason="no C++ compiler or ninja on this machine",
)
def test_the_compiled_loops_build_where_a_compiler_exists(monkeypatch):
    monkeypatch.delenv("NEURODYN_ENGINE", raising=False)
    assert engine("cpu") == "compiled"


def test_an_unknown_engine_is_named(monkeypatch):
    monkeypatch.setenv("NEURODYN_ENGINE", "fast")
    with pytest.raises(ConfigError, match="NEURODYN_ENGINE must be one of"):
        engine("cpu")


def one_pass(dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """States and gradients of one forward and backward pass of a 2-member ensemble with a
    learned initial state, with the engine NEURODYN_ENGINE selects."""
    spec = NetworkSpec(
        n_inputs=3,
        n_hidden=8,
        n_outputs=2,
        activation="tanh",
        seeds=(1, 2),
        learn_initial_state=True,
    )
    model = CTRNN(spec).to(dtype)
    with torch.no_grad():
        model.h0.normal_(generator=torch.Generator().manual_seed(2))
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 4, 3, generator=g, dtype=dtype)
    target = torch.randn(6, 2, 4, 2, generator=g, dtype=dtype)
    traj = model(x, noise=False)
    ((traj.outputs - target) ** 2).mean(dim=(0, 2, 3)).sum().backward()
    out = {name: p.grad.clone() for name, p in model.named_parameters()}
    out["states"] = traj.states.detach()
    return out


def train_two_steps(dtype: torch.dtype) -> dict[str, torch.Tensor]:
    """Parameters after two training steps (forward, backward, the trainer's Adam) of a
    2-member ensemble, with the engine NEURODYN_ENGINE selects."""
    spec = NetworkSpec(n_inputs=3, n_hidden=8, n_outputs=2, activation="tanh", seeds=(1, 2))
    model = CTRNN(spec).to(dtype)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(6, 4, 3, generator=g, dtype=dtype)
    target = torch.randn(6, 2, 4, 2, generator=g, dtype=dtype)
    optimizer = adam(list(model.parameters()), 1e-2)
    for _ in range(2):
        optimizer.zero_grad(set_to_none=True)
        out = model(x, noise=False).outputs
        ((out - target) ** 2).mean(dim=(0, 2, 3)).sum().backward()
        optimizer.step()
    return {name: p.detach().clone() for name, p in model.named_parameters()}


def assert_close_relative(got, expected, tol, what):
    for key, value in expected.items():
        assert got[key].dtype == value.dtype, key
        assert (got[key] - value).abs().max() <= tol * value.abs().max(), (key, what)


def test_the_inductor_engine_equals_the_hand_written_one(monkeypatch):
    # forward and backward through torch.compile against the C++ loops (the hand-written
    # BPTT): the same arithmetic to float rounding
    for dtype, tol in ((torch.float64, 1e-12), (torch.float32, 2e-6)):
        monkeypatch.setenv("NEURODYN_ENGINE", "compiled")
        expected = one_pass(dtype)
        monkeypatch.setenv("NEURODYN_ENGINE", "inductor")
        assert_close_relative(one_pass(dtype), expected, tol, dtype)
    # the whole step, Adam included: torch's compiled Adam counts steps in a float32 tensor,
    # so its bias corrections carry float32 rounding (about 1e-7 of a step) at any dtype
    for dtype in (torch.float64, torch.float32):
        monkeypatch.setenv("NEURODYN_ENGINE", "compiled")
        expected = train_two_steps(dtype)
        monkeypatch.setenv("NEURODYN_ENGINE", "inductor")
        assert_close_relative(train_two_steps(dtype), expected, 1e-5, dtype)
