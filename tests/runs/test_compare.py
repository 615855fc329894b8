import shutil

import pytest
import torch

from neurodyn.analysis.similarity import SimilarityMatrix
from neurodyn.cli import main
from neurodyn.errors import NeurodynError
from neurodyn.runs import Run, parse_config, train_run
from neurodyn.runs.compare import METRICS, compare_runs, comparison_folder, sweep_runs


def small_run(tmp_path, name, seeds, task="flipflop"):
    config = parse_config(
        {
            "task": task,
            "model": {"n_hidden": 8, "seeds": seeds},
            "train": {"steps": 5, "batch_size": 8},
        }
    )
    return train_run(config, tmp_path, run_id=name, progress=False)


def test_identical_networks_are_identical_and_others_are_not(tmp_path):
    a = small_run(tmp_path, "a", [1, 2])
    shutil.copytree(a.path, tmp_path / "copy")
    copy = Run.open(tmp_path / "copy")
    cka = compare_runs([a, copy], "cka")
    assert cka.labels == ["a:1", "a:2", "copy:1", "copy:2"]
    assert cka.values[0, 2] == pytest.approx(1.0) and cka.values[1, 3] == pytest.approx(1.0)
    assert cka.values[0, 1] < 0.999
    dynamics = compare_runs([a, copy], "dsa")
    assert dynamics.values[0, 2] == pytest.approx(0.0, abs=1e-4) and dynamics.values[0, 1] > 0.01
    procrustes = compare_runs([a, copy], "procrustes")
    assert (
        procrustes.values[0, 2] == pytest.approx(0.0, abs=1e-6) and procrustes.values[0, 1] > 0.01
    )


def test_cli_compare_writes_a_report_and_rejects_other_tasks(tmp_path, capsys):
    a, b = small_run(tmp_path, "a", [1, 2]), small_run(tmp_path, "b", [3])
    assert (
        main(
            [
                "compare",
                str(a.path),
                str(b.path),
                "--metric",
                "rsa",
                "--runs",
                str(tmp_path),
                "--name",
                "x",
            ]
        )
        == 0
    )
    assert "3 networks compared with rsa" in capsys.readouterr().out
    report = (tmp_path / "compare-x" / "report.html").read_text()
    assert "mean distance within" in report and report.count("data:image/png") == 1
    other = small_run(tmp_path, "c", [1], task="dlygo")
    with pytest.raises(NeurodynError, match="inputs of different sizes"):
        compare_runs([a, other], "cka")
    assert main(["compare", str(a.path), "--metric", "nope"]) == 2
    # SVCCA of a network with itself is 1; of two networks that differ, less
    shutil.copytree(a.path, tmp_path / "copy")
    svcca = compare_runs([a, b, Run.open(tmp_path / "copy")], "svcca").values
    assert svcca[0, 3] == pytest.approx(1.0, abs=1e-9) and svcca[1, 4] == pytest.approx(
        1.0, abs=1e-9
    )
    assert svcca[0, 1] < 0.99 and svcca[0, 2] < 0.99


def test_cli_compare_without_runs_writes_beside_the_compared_runs(tmp_path, monkeypatch, capsys):
    # it wrote ./runs/compare-NAME/ wherever the command was started, making a runs folder
    a, b = small_run(tmp_path / "mine", "a", [1]), small_run(tmp_path / "mine", "b", [2])
    monkeypatch.chdir(tmp_path)
    assert main(["compare", str(a.path), str(b.path), "--trials", "4", "--name", "x"]) == 0
    assert (tmp_path / "mine" / "compare-x" / "report.html").exists()
    assert not (tmp_path / "runs").exists()
    # runs of two folders: ./runs, as before
    c = small_run(tmp_path / "theirs", "c", [3])
    assert main(["compare", str(a.path), str(c.path), "--trials", "4", "--name", "y"]) == 0
    assert (tmp_path / "runs" / "compare-y" / "report.html").exists()


def test_a_run_named_twice_is_compared_with_itself_and_said(tmp_path, capsys):
    # `compare runs/a runs/a` put each network's copy in the matrix without a word: a check
    # some want (distance 0), a slip for others; it is done, with one line saying so
    a = small_run(tmp_path, "a", [1, 2])
    argv = ["compare", str(a.path), str(a.path), "--metric", "procrustes", "--trials", "4"]
    assert main([*argv, "--name", "x"]) == 0
    err = capsys.readouterr().err
    assert (
        "neurodyn: warning: run a is named twice: each of its networks is also compared with "
        "its own copy (distance 0); name a run once to leave the copies out"
    ) in err
    values = SimilarityMatrix.load(tmp_path / "compare-x" / "similarity.npz").values
    assert values.shape == (4, 4) and values[0, 2] == pytest.approx(0.0, abs=1e-6)
    assert main(["compare", str(a.path), "--trials", "4", "--name", "y"]) == 0
    assert "named twice" not in capsys.readouterr().err


def test_a_comparison_is_never_overwritten(tmp_path, capsys, monkeypatch):
    # a second `compare --name x` replaced compare-x/ without a word
    a = small_run(tmp_path, "a", [1, 2])
    argv = ["compare", str(a.path), "--trials", "4"]
    assert main([*argv, "--name", "x"]) == 0
    before = (tmp_path / "compare-x" / "similarity.npz").read_bytes()
    capsys.readouterr()
    assert main([*argv, "--name", "x", "--metric", "rsa"]) == 2
    assert capsys.readouterr().err.strip() == (
        f"neurodyn: error: {tmp_path / 'compare-x'} already exists; comparisons are never "
        "overwritten. Pick another --name, or delete it yourself."
    )
    assert (tmp_path / "compare-x" / "similarity.npz").read_bytes() == before
    # unnamed ones in the same second are numbered on
    import datetime as dt

    from neurodyn.runs import compare

    class Frozen(dt.datetime):
        @classmethod
        def now(cls, tz=None):
            return dt.datetime(2026, 12, 4, 12, 0, 0, tzinfo=tz)

    monkeypatch.setattr(compare, "datetime", Frozen)
    first = comparison_folder(tmp_path, None, "cka")
    assert first.name == "compare-20261204-120000-cka"
    first.mkdir()
    assert comparison_folder(tmp_path, None, "cka").name == "compare-20261204-120000-cka-2"


def test_svcca_gives_one_for_a_rotation_and_the_planted_canonical_correlations():
    # x and y share three directions with correlations rho exactly: orthonormal centred
    # columns q, x = q[:, :3], y = q[:, :3] rho + q[:, 3:6] sqrt(1 - rho^2), each then mixed
    # into 10 units (an invertible map on the signal, which CCA ignores) plus a 1e-7 noise
    # floor far below SVCCA's 99% of variance
    g = torch.Generator().manual_seed(7)
    f64 = torch.float64
    raw = torch.randn(400, 6, generator=g, dtype=f64)
    q = torch.linalg.qr(raw - raw.mean(0))[0]
    rho = torch.tensor([0.9, 0.6, 0.3], dtype=f64)
    x = q[:, :3]
    y = q[:, :3] * rho + q[:, 3:6] * (1 - rho**2).sqrt()

    def units(z):
        mix = torch.linalg.qr(torch.randn(10, 3, generator=g, dtype=f64))[0].T
        scale = torch.tensor([2.0, 1.5, 1.0], dtype=f64)[:, None]  # singular values 2 .. 1
        return z @ (scale * mix) + 1e-7 * torch.randn(400, 10, generator=g, dtype=f64)

    svcca = METRICS["svcca"]
    x_units = units(x)
    rotated = x_units @ torch.linalg.qr(torch.randn(10, 10, generator=g, dtype=f64))[0]
    values = svcca([x_units, rotated, units(y)]).values
    assert values[0, 1] == pytest.approx(1.0, abs=1e-6)
    assert values[0, 2] == pytest.approx(float(rho.mean()), abs=1e-5)


def test_a_sweep_is_the_runs_sharing_its_name_as_prefix_or_matching_a_glob(tmp_path, capsys):
    for name in ["sw-1", "sw-2", "swell", "other-sw"]:
        small_run(tmp_path, name, [1])
    assert [r.id for r in sweep_runs(tmp_path, "sw")] == ["sw-1", "sw-2"]
    assert [r.id for r in sweep_runs(tmp_path, "*sw*")] == ["other-sw", "sw-1", "sw-2", "swell"]
    with pytest.raises(NeurodynError, match=r"no run in .* belongs to sweep 'nope'.*sw-1"):
        sweep_runs(tmp_path, "nope")
    args = ["compare", "--sweep", "sw", "--runs", str(tmp_path), "--name", "s"]
    assert main(args) == 0
    assert "2 networks compared with linear_cka" in capsys.readouterr().out
    assert main(["compare", "--runs", str(tmp_path)]) == 2
    assert "name the runs to compare" in capsys.readouterr().err
