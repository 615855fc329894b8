"""The low-rank cell: W_rec = m n^T / N of rank r, its options, and lesions through m and n
(the interface every cell shares is tests/models/test_cells.py)."""

import pytest
import torch

from neurodyn.analysis.lesions import lesioned
from neurodyn.errors import ConfigError
from neurodyn.models import CTRNN, LowRankRNN, NetworkSpec, build_model


def spec(**kw):
    return NetworkSpec(**{"n_inputs": 2, "n_hidden": 10, "n_outputs": 1, "cell": "lowrank", **kw})


def test_the_recurrent_weights_are_m_n_over_n_of_rank_r():
    model = build_model(spec(rank=3, seeds=(1, 2)))
    assert isinstance(model, LowRankRNN)
    w = model.W_rec.detach()
    torch.testing.assert_close(w, model.m @ model.n.transpose(1, 2) / 10)
    assert [int(torch.linalg.matrix_rank(w[e])) for e in range(2)] == [3, 3]
    assert "W_rec" not in dict(model.named_parameters())  # m and n are what trains
    # the recurrent drive of any state lies in the span of m: m kappa
    h = torch.randn(2, 4, 10, generator=torch.Generator().manual_seed(0))
    drive = torch.bmm(h, model.W_rec.transpose(1, 2))
    torch.testing.assert_close(drive, torch.bmm(model.collective(h), model.m.transpose(1, 2)))


def test_a_rank_one_network_has_one_nonzero_eigenvalue_n_dot_m_over_n():
    model = build_model(spec(seeds=(4,)))  # rank None: 1
    eig = torch.linalg.eigvals(model.W_rec[0].detach().double())
    top = eig[eig.abs().argmax()]
    expected = float(model.n[0, :, 0].detach() @ model.m[0, :, 0].detach()) / 10
    assert abs(top.real.item() - expected) < 1e-5 and (eig.abs() > 1e-5).sum() == 1


def test_gradients_reach_m_and_n():
    model = build_model(spec(rank=2, sigma_rec=0.0, activation="tanh"))
    model(torch.randn(6, 3, 2)).outputs.square().sum().backward()
    assert model.m.grad.abs().sum() > 0 and model.n.grad.abs().sum() > 0


def test_rank_is_refused_for_other_cells_and_full_rank_structure_for_this_one():
    with pytest.raises(ConfigError, match="rank applies to the lowrank cell only"):
        NetworkSpec(n_inputs=2, n_hidden=10, n_outputs=1, rank=2)
    with pytest.raises(ConfigError, match=r"rank must lie in \[1, n_hidden=10\]"):
        spec(rank=11)
    with pytest.raises(ConfigError, match="excitatory_fraction, areas would make"):
        spec(excitatory_fraction=0.8, areas=(5, 5), area_connections=((1, 1), (1, 1)))
    with pytest.raises(ConfigError, match="rec_init='orthogonal' sets a full-rank"):
        spec(rec_init="orthogonal")
    masked = build_model(spec(mask_out=((1,) * 5 + (0,) * 5,)))
    assert bool((masked.W_out[0, 0, 5:] == 0).all())


def test_a_lesion_zeroes_the_same_columns_as_in_the_full_matrix():
    model = build_model(spec(rank=2, seeds=(1, 2)))
    full = CTRNN(spec(cell="ctrnn", seeds=(1, 2)))
    with torch.no_grad():
        for name in ("W_in", "b", "W_out", "b_out"):
            getattr(full, name).copy_(getattr(model, name))
        full.W_rec.copy_(model.W_rec)
    cut, cut_full = lesioned(model, [1, 7]), lesioned(full, [1, 7])
    torch.testing.assert_close(cut.W_rec, cut_full.W_rec)
    assert int(torch.linalg.matrix_rank(cut.W_rec[0].detach())) == 2
    x = torch.randn(5, 3, 2, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        torch.testing.assert_close(cut(x, noise=False).states, cut_full(x, noise=False).states)
