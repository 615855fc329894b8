"""The explorer's answers where a result is missing or a name is wrong, and its command."""

import json
import sys
import urllib.error
import urllib.request

import numpy as np

from neurodyn.cli import build_parser, main
from neurodyn.errors import install_hint


def _get(url: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def test_views_of_results_not_saved_say_which_command_saves_them(explorer):
    # the runs of the sweep were trained but never analysed
    status, body = _get(f"{explorer}/api/run/tiny-lr=0.003/trajectories?task=pdm")
    assert status == 200 and "figure" not in body
    assert "neurodyn analyze" in body["note"] and "tiny-lr=0.003" in body["note"]
    status, body = _get(f"{explorer}/api/run/tiny-lr=0.003/task_variance")
    assert "No task variance saved" in body["note"] and "neurodyn study yang19" in body["note"]


def test_unknown_names_get_a_404_that_says_where_to_look(explorer):
    status, body = _get(f"{explorer}/api/run/nope/learning")
    assert status == 404 and body["error"].startswith("no run 'nope' in ")
    status, body = _get(f"{explorer}/api/run/yang19/trajectories?task=flipflop")
    assert status == 404 and "was not trained on task 'flipflop'" in body["error"]
    status, body = _get(f"{explorer}/api/run/yang19/trajectories?member=5")
    assert status == 404 and "member 5 does not exist" in body["error"]


def test_fixed_points_are_drawn_where_the_analysis_put_them(explorer, runs_root):
    from neurodyn.runs import Run
    from neurodyn.runs.analyze import load_analyses
    from neurodyn.runs.fixedpoints import saved_fixed_points

    run = Run.open(runs_root / "yang19")
    pca = next(a.pca for a in load_analyses(run) if a.task == "pdm")
    points = saved_fixed_points(run, "pdm")["stimulus"]
    _, body = _get(f"{explorer}/api/run/yang19/trajectories?task=pdm&member=0")
    drawn = [t for t in body["figure"]["data"] if t["mode"] == "markers"]
    at = sorted(
        np.round(xyz, 6).tolist() for t in drawn for xyz in zip(t["x"], t["y"], t["z"], strict=True)
    )
    mine = points.states[points.member == 0]
    expected = sorted(np.round((mine - pca.mean) @ pca.components[:3].T, 6).tolist())
    assert len(at) == len(mine) > 0 and at == expected


def test_serve_listens_on_this_machine_only_unless_told(monkeypatch, capsys):
    args = build_parser().parse_args(["serve"])
    assert (args.host, args.port, args.runs) == ("127.0.0.1", 8050, "runs")
    # without the extra the command says how to install it (exit 2, no traceback)
    for name in [m for m in sys.modules if m.startswith("neurodyn.serve")]:
        monkeypatch.delitem(sys.modules, name)
    for name in [m for m in sys.modules if m.split(".")[0] == "starlette"] + ["starlette"]:
        monkeypatch.setitem(sys.modules, name, None)  # what an import of a missing package sees

    def never(*args, **kwargs):
        raise AssertionError("the server was started although starlette is missing")

    monkeypatch.setattr("uvicorn.run", never)
    assert main(["serve"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("neurodyn: error: neurodyn serve needs starlette, part of the serve")
    assert install_hint("serve") in err  # as this installation takes it


def test_serve_refuses_what_it_cannot_serve_before_starting(monkeypatch, capsys, tmp_path):
    import socket

    def never(*args, **kwargs):
        raise AssertionError("the server was started")

    monkeypatch.setattr("uvicorn.run", never)
    (tmp_path / "runs.txt").write_text("not a folder")
    with socket.create_server(("127.0.0.1", 0)) as taken:
        busy = str(taken.getsockname()[1])
        for argv, message in [
            (["--runs", str(tmp_path / "runs.txt")], "is a file, not a folder of runs"),
            (["--port", "99999"], "port must be from 1 to 65535, got 99999"),
            (["--port", busy], f"cannot listen on 127.0.0.1:{busy}"),
            (["--host", "no-such-host.invalid"], "cannot listen on no-such-host.invalid"),
        ]:
            assert main(["serve", "--runs", str(tmp_path), *argv]) == 2, argv
            err = capsys.readouterr().err
            assert message in err and err.count("\n") == 1 and "Traceback" not in err, err


def test_a_fitted_run_shows_no_training_steps_or_learning_curves(tmp_path):
    # a rate fit solves for its weights: its page said "fitted · 0 / 2000 steps" above an
    # empty learning-curve panel
    from neurodyn.runs import Run, parse_config

    from .conftest import serving

    config = parse_config({"task": "pdm", "model": {"n_hidden": 8, "seeds": [0]}})
    run = Run.create(tmp_path, config, run_id="fit")
    with run.writing():
        run._update_info(status="fitted")
    trained = Run.create(tmp_path, config, run_id="trained")
    for url in serving(tmp_path):
        with urllib.request.urlopen(f"{url}/run/fit", timeout=30) as response:
            page = response.read().decode()
        assert "fitted · no training steps" in page and "0 / 2000 steps" not in page
        assert "Learning curves" not in page
        with urllib.request.urlopen(f"{url}/run/{trained.id}", timeout=30) as response:
            assert "0 / 2000 steps" in response.read().decode()  # an untrained run: as before
        with urllib.request.urlopen(url, timeout=30) as response:
            index = response.read().decode()
        assert "<td>fitted</td><td>fitted</td>" in index
