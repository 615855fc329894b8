"""GRU and LSTM networks: torch's cells, the CTRNN's interface, analyses that work on them."""

import pytest
import torch

from neurodyn.errors import ConfigError
from neurodyn.models import GatedRNN, NetworkSpec, build_model


def spec(cell, **kw):
    return NetworkSpec(**{"n_inputs": 3, "n_hidden": 6, "n_outputs": 2, "cell": cell, **kw})


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_every_member_computes_what_torchs_own_cell_computes(cell):
    model = build_model(spec(cell, seeds=(4, 5, 6), sigma_rec=0.0))
    assert isinstance(model, GatedRNN)
    g = torch.Generator().manual_seed(0)
    x = torch.randn(9, 5, 3, generator=g)
    start = torch.randn(3, 5, model.state_size, generator=g)
    with torch.no_grad():
        traj = model(x, h0=start, noise=False)
    n = 6
    for e in range(3):
        torch_cell = model.to_torch_cell(e)
        h, c = start[e, :, :n], start[e, :, n:]
        for t in range(9):
            with torch.no_grad():
                if cell == "gru":
                    h = torch_cell(x[t], h)
                    expected = h
                else:
                    h, c = torch_cell(x[t], (h, c))
                    expected = torch.cat([h, c], dim=-1)
            torch.testing.assert_close(traj.states[t, e], expected, rtol=1e-5, atol=1e-6)
        readout = h @ model.W_out[e].T + model.b_out[e]
        torch.testing.assert_close(traj.outputs[-1, e], readout.detach(), rtol=1e-5, atol=1e-6)


def test_structure_options_are_refused_for_gated_cells():
    with pytest.raises(ConfigError, match="excitatory_fraction, autapses apply to the ctrnn"):
        spec("gru", excitatory_fraction=0.8, autapses=False)
    with pytest.raises(ConfigError, match="cell must be one of"):
        spec("rnn")


def test_an_lstm_learns_the_flipflop_and_its_memories_are_stable_points_of_h_and_c(tmp_path):
    from neurodyn.runs import train_run
    from neurodyn.runs.config import parse_config
    from neurodyn.runs.fixedpoints import find_run_fixed_points

    config = parse_config(
        {
            "task": "flipflop",
            "model": {"n_hidden": 32, "cell": "lstm", "sigma_rec": 0.0, "seeds": [3]},
            "train": {"steps": 300, "batch_size": 32, "lr": 0.01, "log_every": 100},
        }
    )
    run = train_run(config, tmp_path, run_id="lstm", progress=False)
    assert run.info().performance["flipflop"] > 0.95
    found = find_run_fixed_points(run, n_initial=256)
    assert found.states.shape[1] == 64  # the LSTM's state: h and c
    # 3 bits: 8 memories, each a stable fixed point of (h, c) -> (h', c')
    assert found.count(0)["stable"] == 8
    assert found.q.max() < 1e-10
