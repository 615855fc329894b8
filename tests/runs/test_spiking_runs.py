"""A LIF run through the analyses of states (they read its filtered spike trains, N per
network, not the 5N internal state) and the analyses of the step function (refused with one
line naming the analysis). Networks are untrained, with planted silent and driven units, so
the answers are known without training."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from neurodyn.analysis.task_variance import task_variance
from neurodyn.cli import main
from neurodyn.errors import ArgumentError
from neurodyn.models import LIFNetwork
from neurodyn.runs import parse_config, train_run
from neurodyn.runs.analyze import analyze_task
from neurodyn.runs.compare import compare_runs, network_states
from neurodyn.runs.dynamics import run_lyapunov
from neurodyn.runs.escape import run_escape
from neurodyn.runs.fixedpoints import (
    default_epoch,
    epoch_input,
    find_run_fixed_points,
    interpolate_run,
)
from neurodyn.runs.task_variance import task_states

N = 12


@pytest.fixture(scope="module")
def lif_run(tmp_path_factory):
    config = parse_config(
        {
            "task": ["pdm", "dlygo"],
            "model": {"n_hidden": N, "cell": "lif", "tau_ms": 20.0, "seeds": [1, 2]},
            "train": {"steps": 1, "batch_size": 4, "eval_batch_size": 8},
        }
    )
    return train_run(config, tmp_path_factory.mktemp("runs"), run_id="lif", progress=False)


def planted(run, *, active: tuple[int, ...]) -> LIFNetwork:
    """Member 0 of the run with every unit but `active` silenced by a bias far below
    threshold, the active ones driven by their inputs and a bias above it, no recurrence."""
    net = run.load_member(0)
    assert isinstance(net, LIFNetwork)
    with torch.no_grad():
        net.W_rec.zero_()
        net.b.fill_(-100.0)
        for unit in active:
            net.b[0, unit] = 1.5
            net.W_in[0, unit] *= 4.0
    return net


def test_pca_of_a_lif_run_lies_in_the_filtered_spikes_of_its_firing_units(lif_run, monkeypatch):
    net = planted(lif_run, active=(0, 3))
    monkeypatch.setattr(type(lif_run), "load_member", lambda self, member: net)
    result = analyze_task(lif_run, lif_run.task.tasks[0], batch_size=32)
    pca = result.pca
    assert pca.components.shape[-1] == N  # the filtered spikes, not the 5N state
    assert pca.mean.min() >= 0.0 and pca.mean.max() <= 1.0  # spikes per step, filtered
    assert pca.mean[0] > 0 and pca.mean[3] > 0
    silent = [u for u in range(N) if u not in (0, 3)]
    assert pca.mean[silent].max() == 0.0
    # two firing units: two components carry the variance, both within their span
    assert pca.explained_variance_ratio[:2].sum() == pytest.approx(1.0, abs=1e-6)
    assert abs(pca.components[:2][:, silent]).max() < 1e-6


def test_task_variance_of_a_silent_unit_is_zero_though_its_potential_varies(lif_run):
    net = planted(lif_run, active=(1, 2))
    seen = task_states(net, lif_run.task, trials=16, seed=0)
    assert all(s.shape[-1] == N for s in seen.states.values())
    variance = task_variance(seen.states, seen.after_first_epoch).variance  # [N, K]
    assert variance[[1, 2]].min() > 0
    assert abs(variance[[0, 3, 4]]).max() == 0.0
    # the silent units' potentials follow the stimuli: the full state would have shown it
    with torch.no_grad():
        batch = lif_run.task.tasks[0].sample(16, seed=0)
        states = net(lif_run.task.embed("pdm", batch).x, noise=False).states[:, 0]
    potential = states[..., 2 * N : 3 * N]
    assert float(potential[..., 0].var(dim=1).mean()) > 0


def test_compare_reads_the_filtered_spikes_and_finds_a_network_equal_to_itself(
    lif_run, monkeypatch
):
    model = lif_run.load_model()
    with torch.no_grad():
        model.b[:, : N // 2] = 1.5  # half the units above threshold, so both members fire
    monkeypatch.setattr(type(lif_run), "load_model", lambda self: model)
    labels, states, _ = network_states([lif_run], n_trials=8)
    batch = lif_run.task.sample(8, seed=0)
    with torch.no_grad():
        expected = model.filtered_spikes(model(batch.x, noise=False).states)
    assert [s.shape[-1] for s in states] == [N, N]
    torch.testing.assert_close(states[1], expected[:, 1])
    result = compare_runs([lif_run, lif_run], "cka", n_trials=8)
    again = len(labels)  # member 0 again, in the second copy of the run
    assert result.labels == [*labels, *labels]
    assert result.values[0, again] == pytest.approx(1.0, abs=1e-5)
    assert result.values[0, 1] < 0.999  # the other member is another network


def test_compare_refuses_a_silent_network(lif_run, monkeypatch):
    model = lif_run.load_model()
    with torch.no_grad():
        model.b[0, : N // 2] = 1.5  # member 0 fires
        model.b[1] = -100.0  # member 1 never does
    monkeypatch.setattr(type(lif_run), "load_model", lambda self: model)
    with pytest.raises(ArgumentError, match="lif:2 is silent"):
        network_states([lif_run], n_trials=8)


@pytest.mark.parametrize(
    ("analysis", "name"),
    [
        (
            lambda run: interpolate_run(run, "pdm", "dlygo", n_initial=4),
            "fixed points along a rule interpolation",
        ),
        (lambda run: run_lyapunov(run, n_initial=2), "Lyapunov spectra"),
        (lambda run: run_escape(run, sigmas=[0.1]), "escapes between memories"),
    ],
)
def test_the_step_function_analyses_refuse_a_spiking_run(lif_run, analysis, name):
    with pytest.raises(ArgumentError, match=f"{name}.*spiking cell 'lif'.*filtered spike"):
        analysis(lif_run)


def test_the_cli_refuses_a_rule_interpolation_of_a_spiking_run_in_one_line(lif_run, capsys):
    argv = ["fixedpoints", str(lif_run.path), "--quiet", "--interpolate", "pdm", "dlygo"]
    assert main(argv) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("neurodyn: error: fixed points along interpolations and training do not")
    assert "\n" not in err and "Traceback" not in err


def test_fixed_points_of_a_spiking_run_are_its_rate_equivalents_steady_rates(lif_run):
    # uncoupled neurons: each one's steady rate is phi of its own steady current, no search
    # needed to know the answer
    model = lif_run.load_model()
    with torch.no_grad():
        model.W_rec.zero_()
        model.b[:, : N // 2] = 1.5
    found = find_run_fixed_points(lif_run, task="pdm", n_initial=8, model=model)
    equivalent = model.rate_equivalent()
    u = epoch_input(lif_run, lif_run.task.tasks[0], default_epoch(lif_run.task.tasks[0]))
    a_syn = math.exp(-model.spec.dt_ms / model.spec.tau_syn_ms)
    with torch.no_grad():
        current = (model.W_in @ u + model.b) / (1 - a_syn)  # [E, N]
        expected = equivalent.steady_rate(current).numpy()
    assert found.states.shape[1] == N
    for member in range(2):
        points = found.states[(found.member == member) & found.is_fixed]
        assert len(points) == 1
        np.testing.assert_allclose(points[0], expected[member], atol=1e-6)
    assert expected[:, : N // 2].min() > 0  # the driven half fires
