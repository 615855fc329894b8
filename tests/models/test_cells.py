"""The interface every registered cell implements, checked the same way for each: what the
trainer, the runs and the analyses rely on and nothing cell-specific."""

import pytest
import safetensors.torch
import torch

from neurodyn.errors import ConfigError
from neurodyn.models import ACTIVATIONS, CELLS, NetworkSpec, build_model

N_IN, N_HIDDEN, N_OUT = 3, 6, 2


def spec(cell, **kw):
    return NetworkSpec(
        **{"n_inputs": N_IN, "n_hidden": N_HIDDEN, "n_outputs": N_OUT, "cell": cell, **kw}
    )


def randn(*shape, seed=0, dtype=torch.float32):
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def member_generators(*seeds):
    return [torch.Generator().manual_seed(s) for s in seeds]


@pytest.mark.parametrize("cell", CELLS)
def test_states_and_outputs_are_time_major_with_the_ensemble_axis(cell):
    model = build_model(spec(cell, seeds=(1, 2)))
    size = model.state_size
    assert size % N_HIDDEN == 0
    for x in (randn(5, 4, N_IN), randn(5, 2, 4, N_IN)):  # shared, and one stream per member
        traj = model(x)
        assert tuple(traj.states.shape) == (5, 2, 4, size)
        assert tuple(traj.outputs.shape) == (5, 2, 4, N_OUT)
    assert tuple(model.step(randn(2, 4, size), randn(4, N_IN)).shape) == (2, 4, size)
    assert model.ensemble_size == 2 and type(model) is CELLS[cell]


@pytest.mark.parametrize("cell", CELLS)
def test_an_ensemble_computes_what_each_member_computes_alone(cell):
    seeds = (1, 2, 3)
    ensemble = build_model(spec(cell, seeds=seeds, sigma_rec=0.1, sigma_in=0.1))
    x = randn(7, 3, 4, N_IN)  # one input stream per member
    with torch.no_grad():
        clean = ensemble(x, noise=False)
        noisy = ensemble(x, generators=member_generators(10, 11, 12))
    assert not torch.equal(clean.states, noisy.states)
    for e, seed in enumerate(seeds):
        alone = build_model(spec(cell, seeds=(seed,), sigma_rec=0.1, sigma_in=0.1))
        for name, p in alone.named_parameters():
            assert torch.equal(p[0], getattr(ensemble, name)[e]), name
        taken_out = ensemble.member(e)
        for name, p in taken_out.named_parameters():
            assert torch.equal(p, getattr(alone, name)), name
        with torch.no_grad():
            by_itself = alone(x[:, e], noise=False)
            # the noise a member gets comes from its own generator only
            noisy_alone = alone(x[:, e], generators=member_generators(10 + e))
        torch.testing.assert_close(by_itself.states[:, 0], clean.states[:, e])
        torch.testing.assert_close(by_itself.outputs[:, 0], clean.outputs[:, e])
        torch.testing.assert_close(noisy_alone.states[:, 0], noisy.states[:, e])


@pytest.mark.parametrize("cell", CELLS)
def test_step_is_the_noise_free_forward_pass_one_step_at_a_time(cell):
    model = build_model(spec(cell, seeds=(0, 1)))
    h0 = randn(2, 4, model.state_size, seed=1).abs()
    x = randn(3, 4, N_IN, seed=2)
    with torch.no_grad():
        states = model(x, h0=h0, noise=False).states
        h = h0
        for t in range(3):
            h = model.step(h, x[t])
            torch.testing.assert_close(h, states[t])


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
@pytest.mark.parametrize("cell", CELLS)
def test_the_step_jacobian_equals_autograd(cell, activation):
    model = build_model(spec(cell, seeds=(3, 4), activation=activation)).double()
    with torch.no_grad():  # biases off zero, so every unit is somewhere in its range
        for p in model.parameters():
            p.add_(0.3 * randn(*p.shape, seed=5, dtype=torch.float64))
    h = randn(2, 3, model.state_size, seed=6, dtype=torch.float64)
    x = randn(3, N_IN, seed=7, dtype=torch.float64)
    jac = model.step_jacobian(h, x)
    assert tuple(jac.shape) == (2, 3, model.state_size, model.state_size)
    # the whole map's Jacobian: members and trials do not interact, so it is block diagonal
    full = torch.autograd.functional.jacobian(lambda state: model.step(state, x), h)
    for e in range(2):
        for b in range(3):
            torch.testing.assert_close(jac[e, b], full[e, b, :, e, b])
            full[e, b, :, e, b] = 0
    assert float(full.abs().max()) == 0.0


@pytest.mark.parametrize("cell", CELLS)
def test_weights_saved_as_runs_save_them_load_into_the_same_network(cell, tmp_path):
    the_spec = spec(cell, seeds=(2, 5))
    model = build_model(the_spec)
    with torch.no_grad():  # moved off its initialisation, which a fresh build would repeat
        for p in model.parameters():
            p.add_(randn(*p.shape, seed=8))
    weights = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    safetensors.torch.save_file(weights, tmp_path / "model.safetensors")
    loaded = build_model(the_spec)
    loaded.load_state_dict(safetensors.torch.load_file(tmp_path / "model.safetensors"))
    x = randn(6, 4, N_IN, seed=9)
    with torch.no_grad():
        before, after = model(x, noise=False), loaded(x, noise=False)
    assert torch.equal(before.states, after.states)
    assert torch.equal(before.outputs, after.outputs)


def test_an_unknown_cell_is_refused_naming_the_registered_ones():
    with pytest.raises(ConfigError, match=r"cell must be one of .*'gru'.*got 'rnn'"):
        spec("rnn")


def test_the_old_spec_name_is_the_new_spec_with_a_deprecation_warning():
    import neurodyn
    from neurodyn import models
    from neurodyn.models import ctrnn

    for module in (neurodyn, models, ctrnn):
        with pytest.warns(DeprecationWarning, match="renamed NetworkSpec"):
            assert module.CTRNNSpec is NetworkSpec
