"""The explorer shows an adopted network's run as it shows a run neurodyn trained."""

import json
import urllib.request

import numpy as np
import pytest
import torch

import neurodyn
from neurodyn.runs.analyze import analyze_run, load_analyses
from neurodyn.runs.fixedpoints import find_run_fixed_points, saved_fixed_points
from tests.serve.conftest import serving


@pytest.fixture(scope="module")
def adopted_explorer(tmp_path_factory):
    torch.manual_seed(0)
    cell, readout = torch.nn.RNNCell(3, 8), torch.nn.Linear(8, 3)
    root = tmp_path_factory.mktemp("runs")
    run = neurodyn.adopt(cell, readout, task="pdm", runs=root, name="mine")
    analyze_run(run, batch_size=32)
    find_run_fixed_points(run, epoch="fixation", n_initial=32)
    for url in serving(root):
        yield url, run


def test_the_index_lists_the_adopted_run_and_its_page_draws_its_fixed_points(adopted_explorer):
    url, run = adopted_explorer
    with urllib.request.urlopen(f"{url}/", timeout=30) as response:
        index = response.read().decode()
    assert "mine" in index and "adopted" in index
    with urllib.request.urlopen(
        f"{url}/api/run/mine/trajectories?task=pdm&member=0", timeout=60
    ) as response:
        body = json.loads(response.read())
    drawn = [t for t in body["figure"]["data"] if t["mode"] == "markers"]
    at = [xyz for t in drawn for xyz in zip(t["x"], t["y"], t["z"], strict=True)]
    pca = load_analyses(run)[0].pca
    points = saved_fixed_points(run, "pdm")["fixation"]
    expected = (points.states - pca.mean) @ pca.components[:3].T
    np.testing.assert_allclose(sorted(at), sorted(expected.tolist()), atol=1e-6)
