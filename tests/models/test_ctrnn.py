import dataclasses
import math

import numpy as np
import pytest
import torch

from neurodyn.errors import ConfigError, ShapeError
from neurodyn.models import ACTIVATIONS, CTRNN, NetworkSpec
from neurodyn.models.recurrence import SLOPES, SLOPES_OF_OUTPUT

NUMPY_ACTIVATIONS = {
    "relu": lambda z: np.maximum(z, 0),
    "tanh": np.tanh,
    "softplus": lambda z: np.log1p(np.exp(z)),
    "retanh": lambda z: np.tanh(np.maximum(z, 0)),
    "linear": lambda z: z,
}


def spec(**kw):
    base = dict(n_inputs=3, n_hidden=8, n_outputs=2, dt_ms=20.0, tau_ms=100.0, seeds=(1,))
    return NetworkSpec(**{**base, **kw})


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_forward_matches_a_plain_numpy_loop(activation):
    model = CTRNN(spec(activation=activation, seeds=(4, 5)))
    with torch.no_grad():
        model.b.normal_()
    x = torch.randn(12, 5, 3, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        traj = model(x, noise=False)
    f = NUMPY_ACTIVATIONS[activation]
    alpha = 0.2
    for e in range(2):
        w_in, w_rec, b = (
            getattr(model, n)[e].detach().double().numpy() for n in ("W_in", "W_rec", "b")
        )
        w_out, b_out = (
            model.W_out[e].detach().double().numpy(),
            model.b_out[e].detach().double().numpy(),
        )
        h = np.zeros((5, 8))
        for t in range(12):
            h = (1 - alpha) * h + alpha * f(x[t].double().numpy() @ w_in.T + h @ w_rec.T + b)
            np.testing.assert_allclose(traj.states[t, e].numpy(), h, rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(
                traj.outputs[t, e].numpy(), h @ w_out.T + b_out, rtol=1e-5, atol=1e-6
            )


def test_drives_reconstruct_the_update():
    model = CTRNN(spec(seeds=(0, 1)))
    x = torch.randn(9, 3, 3)
    traj = model(x, noise=False, return_drives=True)
    assert torch.allclose(traj.input_drive, torch.einsum("tbi,eni->tebn", x, model.W_in), atol=1e-5)
    previous = torch.cat([torch.zeros_like(traj.states[:1]), traj.states[:-1]])
    assert torch.allclose(
        traj.recurrent_drive, torch.einsum("tebm,enm->tebn", previous, model.W_rec), atol=1e-5
    )
    pre = traj.input_drive + traj.recurrent_drive + model.b[None, :, None]
    expected = 0.8 * previous + 0.2 * torch.relu(pre)
    assert torch.allclose(traj.states, expected, atol=1e-5)


def test_recurrent_noise_has_the_continuous_time_amplitude():
    # With zero weights and a near-linear activation, one step from h=0 gives
    # h_1 = alpha * tanh(noise) ~ alpha * sigma_rec * sqrt(2/alpha) * N(0, 1).
    model = CTRNN(spec(activation="tanh", sigma_rec=0.01, seeds=(0,)))
    with torch.no_grad():
        for p in model.parameters():
            p.zero_()
    g = [torch.Generator().manual_seed(0)]
    with torch.no_grad():
        h1 = model(torch.zeros(1, 20000, 3), generators=g).states[0, 0]
    expected = 0.2 * 0.01 * math.sqrt(2 / 0.2)
    assert float(h1.std()) == pytest.approx(expected, rel=0.02)


def test_bad_shapes_and_specs_are_named():
    model = CTRNN(spec(seeds=(0, 1)))
    with pytest.raises(ShapeError, match="channels"):
        model(torch.zeros(5, 2, 4))
    with pytest.raises(ShapeError, match="E=2"):
        model(torch.zeros(5, 3, 2, 3))
    with pytest.raises(ConfigError, match="activation"):
        spec(activation="sigmoidal")
    with pytest.raises(ConfigError, match="dt_ms"):
        spec(dt_ms=200.0)


@pytest.mark.parametrize("activation", ["relu", "tanh", "softplus", "retanh", "linear"])
def test_the_closed_form_speed_gradient_equals_autograd(activation):
    # q = |F(h, x) - h|^2 / 2 and its gradient, for the fixed-point finder: both members, a
    # leak (dt < tau), Dale's law and a recurrent mask, in float64
    spec = NetworkSpec(
        n_inputs=2,
        n_hidden=6,
        n_outputs=1,
        activation=activation,
        seeds=(3, 4),
        excitatory_fraction=0.5,
        mask_rec=tuple(map(tuple, (np.arange(36).reshape(6, 6) % 5 != 0).astype(float))),
    )
    model = CTRNN(spec).double()
    assert model.spec.alpha < 1
    h = torch.randn(2, 5, 6, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    x = torch.randn(5, 2, generator=torch.Generator().manual_seed(1), dtype=torch.float64)
    q, grad = model.speed_and_gradient(x)(h)
    h_ = h.clone().requires_grad_(True)
    expected_q = 0.5 * (model.step(h_, x) - h_).pow(2).sum(-1)
    (expected_grad,) = torch.autograd.grad(expected_q.sum(), h_)
    torch.testing.assert_close(q, expected_q.detach())
    torch.testing.assert_close(grad, expected_grad, rtol=1e-10, atol=1e-12)


def test_recurrent_initialisations():
    def w_rec(init, gain=0.5):
        spec = NetworkSpec(n_inputs=3, n_hidden=16, n_outputs=2, rec_gain=gain, rec_init=init)
        return CTRNN(spec).W_rec[0].detach()

    torch.testing.assert_close(w_rec("diagonal"), 0.5 * torch.eye(16))  # Yang et al.'s 'diag'
    q = w_rec("orthogonal", gain=1.0)
    torch.testing.assert_close(q @ q.T, torch.eye(16), atol=1e-5, rtol=0)
    g = w_rec("gaussian", gain=1.0)
    assert 0.7 < float(torch.linalg.eigvals(g).abs().max()) < 1.3
    r = w_rec("radius", gain=0.9)  # the same Gaussian, at exactly the asked spectral radius
    assert float(torch.linalg.eigvals(r.double()).abs().max()) == pytest.approx(0.9, abs=1e-5)
    assert torch.allclose(r / r.norm(), w_rec("gaussian") / w_rec("gaussian").norm(), atol=1e-6)
    # the other weights of a seed do not depend on the recurrent init
    a = CTRNN(NetworkSpec(n_inputs=3, n_hidden=16, n_outputs=2, rec_init="diagonal"))
    b = CTRNN(NetworkSpec(n_inputs=3, n_hidden=16, n_outputs=2))
    assert torch.equal(a.W_in, b.W_in) and torch.equal(a.W_out, b.W_out)
    with pytest.raises(ConfigError, match="rec_init must be one of"):
        NetworkSpec(n_inputs=3, n_hidden=16, n_outputs=2, rec_init="eye")


def test_dale_areas_and_autapses_hold_at_init_and_through_training(tmp_path):
    from neurodyn.runs import parse_config, train_run

    config = parse_config(
        {
            "task": "flipflop",
            "model": {
                "n_hidden": 12,
                "seeds": [1, 2],
                "excitatory_fraction": 0.75,
                "dale_inputs": True,
                "dale_outputs": True,
                "autapses": False,
                "areas": [8, 4],
                "area_connections": [[1, 0], [1, 1]],  # area 2 hears area 1, not back
            },
            "train": {"steps": 20, "batch_size": 8, "lr": 0.05, "log_every": 10},
        }
    )
    net0 = CTRNN(config.model.spec(config.make_task()))
    net = train_run(config, tmp_path, progress=False).load_model()
    for model in (net0, net):
        w = model.W_rec.detach()
        assert torch.all(w[:, :, :9] >= 0) and torch.all(w[:, :, 9:] <= 0)  # 9 excitatory
        assert torch.all(torch.diagonal(w, dim1=1, dim2=2) == 0)
        assert torch.all(w[:, :8, 8:] == 0)  # nothing from area 2 into area 1
        assert torch.all(model.W_in >= 0) and torch.all(model.W_out[:, :, 9:] == 0)
        assert torch.all(model.W_out >= 0)
    assert not torch.equal(net0.W_rec, net.W_rec)  # it did train


def test_dale_init_is_balanced():
    net = CTRNN(
        NetworkSpec(n_inputs=2, n_hidden=400, n_outputs=1, excitatory_fraction=0.8, rec_gain=1.0)
    )
    w = net.W_rec[0].detach()
    exc, inh = w[:, :320].sum(1), w[:, 320:].sum(1)
    # each unit's excitatory and inhibitory inputs cancel on average
    assert abs(float((exc + inh).mean())) < 0.05 * float(exc.mean())


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"excitatory_fraction": 1.0}, "excitatory_fraction must lie in"),
        ({"dale_outputs": True}, "need excitatory_fraction"),
        ({"areas": (2, 2)}, "summing to n_hidden"),
        ({"areas": (8, 8)}, "area_connections must be a 2 x 2"),
        ({"area_connections": ((1,),)}, "needs areas"),
    ],
)
def test_structure_errors(bad, message):
    with pytest.raises(ConfigError, match=message):
        NetworkSpec(n_inputs=2, n_hidden=16, n_outputs=1, **bad)


def test_a_learned_initial_state_starts_at_zero_trains_and_round_trips(tmp_path):
    from neurodyn.runs import parse_config, train_run

    config = parse_config(
        {
            "task": "flipflop",
            "model": {"n_hidden": 8, "seeds": [1, 2], "learn_initial_state": True},
            "train": {"steps": 5, "batch_size": 8, "lr": 0.05, "log_every": 5},
        }
    )
    spec = config.model.spec(config.make_task())
    fresh = CTRNN(spec)
    plain = CTRNN(dataclasses.replace(spec, learn_initial_state=False))
    x = torch.randn(10, 4, 3)
    # h0 starts at zero: the same trajectories as a network without it
    torch.testing.assert_close(fresh(x, noise=False).states, plain(x, noise=False).states)
    trained = train_run(config, tmp_path, progress=False).load_model()
    assert trained.h0.shape == (2, 8) and float(trained.h0.detach().abs().sum()) > 0
    torch.testing.assert_close(trained.member(1).h0[0], trained.h0[1])
    out = trained(x, noise=False).states
    torch.testing.assert_close(out[0], trained.step(trained.h0[:, None].expand(-1, 4, -1), x[0]))


def test_connectivity_masks_hold_at_init_and_through_training(tmp_path):
    from neurodyn.runs import parse_config, train_run

    g = torch.Generator().manual_seed(0)
    masks = {
        "mask_in": (torch.rand(10, 3, generator=g) > 0.5).int().tolist(),
        "mask_rec": (torch.rand(10, 10, generator=g) > 0.7).int().tolist(),
        "mask_out": (torch.rand(3, 10, generator=g) > 0.5).int().tolist(),
    }
    config = parse_config(
        {
            "task": "flipflop",
            "model": {"n_hidden": 10, "seeds": [1, 2], **masks},
            "train": {"steps": 20, "batch_size": 8, "lr": 0.05, "log_every": 10},
        }
    )
    net0 = CTRNN(config.model.spec(config.make_task()))
    net = train_run(config, tmp_path, progress=False).load_model()
    for name, key in (("W_in", "mask_in"), ("W_rec", "mask_rec"), ("W_out", "mask_out")):
        allowed = torch.tensor(masks[key], dtype=torch.bool)
        for model in (net0, net):
            assert torch.all(getattr(model, name).detach()[:, ~allowed] == 0), name
        moved = getattr(net, name).detach() != getattr(net0, name).detach()
        assert moved[:, allowed].any(), name  # the allowed ones trained
    with pytest.raises(ConfigError, match=r"mask_rec must be a 10 x 10 matrix of 0 and 1"):
        spec(n_hidden=10, mask_rec=((1, 0),))
    with pytest.raises(ConfigError, match="masks apply to the ctrnn cell only"):
        spec(cell="gru", mask_in=((1, 1, 1),) * 8)


@pytest.mark.parametrize("activation", sorted(SLOPES_OF_OUTPUT))
def test_slopes_from_the_output_equal_the_slopes(activation):
    # f'(z) read from y = f(z) (what speed_and_gradient uses) is f'(z) itself, across zero
    z = torch.linspace(-4, 4, 81, dtype=torch.float64)
    torch.testing.assert_close(
        SLOPES_OF_OUTPUT[activation](ACTIVATIONS[activation](z)), SLOPES[activation](z)
    )
