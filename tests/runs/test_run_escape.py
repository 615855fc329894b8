"""Escape on a run: `run_escape` and `neurodyn dynamics RUN --escape`, on a flip-flop network
whose recurrent weights are `2 I` (training with a vanishing learning rate keeps them): every
unit is bistable on its own under the memory epoch's zero input, so its memories are the 8
corners `(+-h*, +-h*, +-h*)` with `tanh(2 h*) = h*`, and the saddles between neighbouring
corners have one coordinate at 0, with the path barrier of the 1-D potential
`(h^2 / 2 - log cosh(2 h) / 2) / tau` (the flow is `(-h + tanh(2 h)) / tau`)."""

from __future__ import annotations

import math
import re

import numpy as np
import pytest
from scipy.optimize import brentq

from neurodyn.cli import main
from neurodyn.errors import ConfigError
from neurodyn.runs import parse_config, train_run
from neurodyn.runs.escape import run_escape

TAU_MS = 100.0


def bistable_run(root, sigma_rec: float, name: str):
    config = parse_config(
        {
            "task": "flipflop",
            "model": {
                "n_hidden": 3,
                "tau_ms": TAU_MS,
                "activation": "tanh",
                "rec_init": "diagonal",
                "rec_gain": 2.0,
                "sigma_rec": sigma_rec,
                "seeds": [1],
            },
            "train": {"steps": 1, "batch_size": 4, "lr": 1e-9},
        }
    )
    return train_run(config, root, run_id=name, progress=False)


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    return bistable_run(root, 0.3, "noisy"), bistable_run(root, 0.0, "quiet")


def test_memories_saddles_and_switches_of_a_bistable_network(runs):
    noisy, _ = runs
    # starts spread widely around the visited states, so the corners trials rarely visit
    # are found too
    found = run_escape(noisy, n_steps=300, n_per_attractor=8, n_initial=256, start_noise=2.0)
    h_star = brentq(lambda h: math.tanh(2 * h) - h, 0.5, 1.5)
    corners = np.sort(found.attractors[0], axis=0)
    assert corners.shape == (8, 3)
    np.testing.assert_allclose(np.abs(found.attractors[0]), h_star, atol=1e-5)
    assert len({tuple(np.sign(c)) for c in found.attractors[0]}) == 8
    saddles = found.saddles
    assert saddles is not None and len(saddles) == 12  # one per edge of the cube
    assert (saddles.connects >= 0).all()
    zero_coordinate = np.sum(np.abs(saddles.states) < 1e-5, axis=1)
    assert (zero_coordinate == 1).all()

    def potential(h):
        return h**2 / 2 - math.log(math.cosh(2 * h)) / 2

    barrier = (potential(0.0) - potential(h_star)) / TAU_MS
    np.testing.assert_allclose(saddles.barrier, barrier, rtol=1e-4)
    # the run's own noise by default; switches between the memories under it
    assert [e.sigma for e in found.escapes] == [0.3]
    assert found.escapes[0].n_switches > 0
    assert (noisy.path / "analysis" / "flipflop.memory.escape.sigma0.3.npz").is_file()
    assert (noisy.path / "analysis" / "flipflop.memory.saddles.npz").is_file()


def test_cli_escape_and_its_bad_input(runs, capsys):
    noisy, quiet = runs
    argv = ["dynamics", str(noisy.path), "--escape", "--sigma", "0.4", "--steps", "100"]
    assert main([*argv, "--trajectories", "4", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"member 0: \d memories; sigma 0.4: \d+ switches, lifetime", out)
    # a run trained without noise needs the levels; no noise is refused; an analysis is needed
    assert main(["dynamics", str(quiet.path), "--escape", "--quiet"]) == 2
    assert "trained without recurrent noise" in capsys.readouterr().err
    assert main(["dynamics", str(quiet.path), "--escape", "--sigma", "0", "--quiet"]) == 2
    assert "must be positive" in capsys.readouterr().err
    assert main(["dynamics", str(quiet.path), "--quiet"]) == 2
    assert "--escape" in capsys.readouterr().err
    with pytest.raises(ConfigError, match="trained without recurrent noise"):
        run_escape(quiet)
