"""The zoo: every shipped network loads, performs as its manifest says on fresh trials and
reproduces its analysis headline; damage is caught by the checksums; an entry rebuilds bitwise
from its config; the whole zoo fits its budget and ships in the wheel."""

from __future__ import annotations

import fnmatch
import shutil
import tomllib
from pathlib import Path

import pytest

from neurodyn import zoo
from neurodyn.cli import main
from neurodyn.errors import ChecksumMismatch, NeurodynError, RunExists, ZooEntryNotFound
from neurodyn.runs import Run, parse_config, train_run
from neurodyn.zoo._manifest import MANIFEST, package_zoo

ROOT = Path(__file__).resolve().parents[2]
ENTRIES = zoo.entries()
NAMES = [e.name for e in ENTRIES if e.kind == "run"]
FILES = [e.name for e in ENTRIES if e.kind == "files"]


def test_the_zoo_ships_the_demo_and_flipflop_networks_within_its_budget():
    assert {"demo", "flipflop"} <= set(NAMES)
    size = zoo.total_bytes()
    assert 0 < size <= zoo.BUDGET_BYTES == 25 * 2**20


@pytest.mark.parametrize("name", NAMES)
def test_every_entry_loads_and_performs_as_its_manifest_says_on_fresh_trials(name, tmp_path):
    entry = zoo.entry(name)
    run = zoo.get(name, tmp_path)
    assert run.path == tmp_path / entry.run_id
    assert run.load_model().ensemble_size == len(entry.seeds)
    assert run.config.train.steps == (entry.planned_steps or entry.steps)
    # other trials than the manifest's (seed 0): the two differ by sampling error only
    fresh = zoo.fresh_performance(run, trials=entry.eval_trials, seed=1)
    assert fresh.mean.keys() == entry.performance.keys()
    for task, shipped in entry.performance.items():
        for e, value in enumerate(shipped):
            assert zoo.within_sampling_error(
                value,
                entry.performance_se[task][e],
                fresh.mean[task][e],
                fresh.se[task][e],
                entry.eval_trials,
            ), (task, e, value, fresh.mean[task][e])


def _reuse_every_trained_file(study, config, folder):
    """The study's own reuse of its trained files under `config`: each condition's file read
    back (a file trained under other settings is a ConfigError), none trained."""
    if study == "plasticity":
        from neurodyn.studies.plasticity import measure

        return [measure.train_condition(c, config, folder) for c in config.conditions()]
    from neurodyn.studies.priors import measure

    return [measure.train_circuit(c, config, folder) for c in config.circuit_conditions()]


@pytest.mark.parametrize("name", FILES)
def test_every_files_entry_comes_back_as_the_trained_files_its_study_reuses(
    name, tmp_path, monkeypatch
):
    from neurodyn import studies
    from neurodyn.studies.plasticity import measure as plasticity
    from neurodyn.studies.priors import measure as priors

    def no_training(*args, **kwargs):
        raise AssertionError("a shipped file must be reused, not retrained")

    for module in (plasticity, priors):
        for trainer in ("train_local", "train_bptt"):
            monkeypatch.setattr(module, trainer, no_training)
    entry = zoo.entry(name)
    out = zoo.get_study_files(entry, tmp_path)
    study = studies.get(entry.study)
    config = study.config_type.from_dict(entry.study_config)
    reused = _reuse_every_trained_file(entry.study, config, out / "networks")
    assert len(reused) == len(entry.files) == len(list((out / "networks").glob("*.npz")))
    # a second time: the files already there are the zoo's, so they stay
    assert zoo.get_study_files(entry, tmp_path) == out


@pytest.mark.parametrize("name", [e.name for e in ENTRIES if e.headline])
def test_every_headline_reproduces_from_the_shipped_weights(name, tmp_path):
    entry = zoo.entry(name)
    assert entry.headline is not None
    found = zoo.headline(
        zoo.get(name, tmp_path), entry.headline["kind"], entry.headline["settings"]
    )
    assert found["value"] == entry.headline["value"]


def test_fresh_performance_gives_each_task_of_a_task_set_its_own_trials(tmp_path, monkeypatch):
    from neurodyn.zoo import _measure

    sizes = []
    real = _measure.sample_ensemble

    def counting(task, batch_size, generators):
        sizes.append(batch_size)
        return real(task, batch_size, generators)

    monkeypatch.setattr(_measure, "sample_ensemble", counting)
    run = zoo.get("demo", tmp_path)  # pdm and dlygo in one network
    zoo.fresh_performance(run, trials=32, chunks=8)
    assert sizes == [8] * 8  # 4 trials of each task in each of the 8 chunks


def test_the_flipflop_network_has_the_27_fixed_points_of_a_3_bit_flipflop():
    # Sussillo & Barak (2013): 8 stable memories, 12 saddles with one unstable mode between
    # two memories, 6 with two, 1 with three (the corners, edges, faces and centre of a cube)
    headline = zoo.entry("flipflop").headline
    assert headline is not None
    assert headline["value"] == {"fixed": [27], "stable": [8], "by_unstable_modes": [[8, 12, 6, 1]]}


def test_load_copies_into_the_cache_and_refreshes_a_stale_copy(tmp_path, monkeypatch):
    monkeypatch.setenv("NEURODYN_CACHE_DIR", str(tmp_path))
    run = zoo.load("flipflop")
    assert run.path.is_relative_to(tmp_path)
    (run.path / "model.safetensors").write_bytes(b"stale")
    again = zoo.load("flipflop")
    assert again.path == run.path
    assert again.load_model().ensemble_size == 1


def test_get_twice_reuses_the_copy_and_refuses_another_run_of_that_name(tmp_path):
    first = zoo.get("flipflop", tmp_path)
    assert zoo.get("flipflop", tmp_path) == first
    (first.path / "config.yaml").write_text("name: other\n")
    with pytest.raises(RunExists, match="is not zoo network 'flipflop'"):
        zoo.get("flipflop", tmp_path)


def test_an_unknown_name_gets_the_nearest_ones():
    with pytest.raises(ZooEntryNotFound, match="Did you mean 'flipflop'"):
        zoo.entry("flipflip")


@pytest.fixture
def copied_zoo(tmp_path) -> Path:
    folder = tmp_path / "zoo"
    shutil.copytree(package_zoo(), folder, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    return folder


def test_a_damaged_file_gives_the_checksum_error(copied_zoo, tmp_path, capsys):
    weights = copied_zoo / "networks" / "flipflop" / "model.safetensors"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0x01  # one bit of one weight
    weights.write_bytes(bytes(data))
    with pytest.raises(ChecksumMismatch, match=r"model\.safetensors is damaged"):
        zoo.get("flipflop", tmp_path / "runs", zoo=copied_zoo)
    assert not (tmp_path / "runs" / "flipflop").exists()
    code = main(
        ["zoo", "get", "flipflop", "--runs", str(tmp_path / "runs"), "--zoo", str(copied_zoo)]
    )
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "reinstall neurodyn" in err and "Traceback" not in err


def test_a_missing_file_gives_the_checksum_error(copied_zoo, tmp_path):
    (copied_zoo / "networks" / "demo" / "config.yaml").unlink()
    with pytest.raises(ChecksumMismatch, match="lacks"):
        zoo.load("demo", zoo=copied_zoo)


def _tiny_run(root: Path, name: str = "tiny", steps: int = 30) -> Run:
    config = parse_config(
        {
            "name": name,
            "task": "flipflop",
            "model": {"n_hidden": 8, "activation": "tanh", "sigma_rec": 0.0, "seeds": [1, 2]},
            "train": {"steps": steps, "batch_size": 8, "checkpoint_every": steps},
        }
    )
    return train_run(config, root, run_id=name, progress=False)


def test_rebuild_of_a_small_entry_is_bitwise_equal(tmp_path):
    folder = tmp_path / "zoo"
    entry = zoo.add(
        _tiny_run(tmp_path / "runs"), "tiny", headline_kind="outliers", zoo=folder, progress=False
    )
    assert set(entry.files) == {"config.yaml", "run.json", "metrics.csv", "model.safetensors"}
    assert entry.engine is not None and entry.stream == "3"  # a new run: stream 3
    result = zoo.rebuild("tiny", zoo=folder, progress=False)
    assert result.expected_bitwise and result.bitwise and result.max_abs_difference == 0.0
    assert result.agrees and result.lines()[-1] == "verdict: reproduced"


def test_rebuild_compares_performance_and_headline_when_the_weights_differ(tmp_path):
    folder = tmp_path / "zoo"
    zoo.add(
        _tiny_run(tmp_path / "runs"), "tiny", headline_kind="outliers", zoo=folder, progress=False
    )
    # the shipped weights, as if trained elsewhere: the first member's W_rec scaled
    import safetensors.torch

    path = folder / "networks" / "tiny" / "model.safetensors"
    weights = safetensors.torch.load_file(path)
    weights["W_rec"][0] *= 1.5
    safetensors.torch.save_file(weights, path)
    manifest = folder / MANIFEST
    entry = zoo.entry("tiny", folder)
    manifest.write_text(
        manifest.read_text().replace(entry.files["model.safetensors"], zoo._manifest.sha256(path))
    )
    result = zoo.rebuild("tiny", zoo=folder, progress=False)
    assert not result.bitwise and result.max_abs_difference > 0
    assert result.performance.keys() == {"flipflop"}
    assert result.headline_agrees is not None


def test_add_refuses_an_unfinished_run_a_taken_name_and_a_zoo_over_budget(tmp_path, monkeypatch):
    folder = tmp_path / "zoo"
    run = _tiny_run(tmp_path / "runs")
    half = train_run(run.config, tmp_path / "runs", run_id="half", until_step=10, progress=False)
    with pytest.raises(NeurodynError, match="not finished"):
        zoo.add(half, "half", zoo=folder, progress=False)
    zoo.add(run, "tiny", zoo=folder, progress=False)
    with pytest.raises(RunExists, match="--replace"):
        zoo.add(run, "tiny", zoo=folder, progress=False)
    monkeypatch.setattr(zoo._store, "BUDGET_BYTES", 100)
    with pytest.raises(NeurodynError, match="over its"):
        zoo.add(run, "tiny2", zoo=folder, progress=False)
    assert [e.name for e in zoo.entries(folder)] == ["tiny"]
    assert not (folder / "networks" / "tiny2").exists()


def test_an_unfinished_run_ships_as_interim_at_its_checkpoint_and_rebuilds_to_that_step(tmp_path):
    folder = tmp_path / "zoo"
    run = _tiny_run(tmp_path / "runs")
    half = train_run(run.config, tmp_path / "runs", run_id="half", until_step=10, progress=False)
    entry = zoo.add(half, "half", interim=True, zoo=folder, progress=False)
    assert entry.interim and (entry.steps, entry.planned_steps) == (10, run.config.train.steps)
    assert entry.budget_text == f"10 of {run.config.train.steps} steps (interim)"
    # the source run is untouched; the shipped copy says it stopped there
    assert half.info().status != "finished"
    copy = zoo.get("half", tmp_path / "out", zoo=folder)
    assert copy.info().status == "stopped" and copy.info().steps_done == 10
    # the first 10 steps of the same training give the same weights, bit for bit
    result = zoo.rebuild("half", zoo=folder, progress=False)
    assert result.bitwise
    # a finished run asked for as interim ships as what it is
    assert not zoo.add(run, "tiny", interim=True, zoo=folder, progress=False).interim
    assert main(["zoo", "list", "--zoo", str(folder)]) == 0


def test_the_wheel_ships_every_file_of_every_entry():
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["neurodyn"]
    shipped = [MANIFEST] + [f"networks/{e.name}/{f}" for e in ENTRIES for f in e.files]
    for relative in shipped:
        assert any(fnmatch.fnmatch(f"zoo/{relative}", p) for p in patterns), relative


def test_study_pretrained_without_networks_says_how_to_ship_them(tmp_path, capsys):
    with pytest.raises(ZooEntryNotFound, match="neurodyn zoo add --study yang19"):
        zoo.pretrained_study("yang19", tmp_path, zoo=tmp_path / "empty", progress=False)
    code = main(["study", "yang19", "--pretrained", "--quick", "--runs", str(tmp_path)])
    assert code == 2 and "drop --config" in capsys.readouterr().err


def test_pretrained_names_what_a_study_trains_outside_runs(tmp_path):
    # the icl-phases study's sequence models are measured while they train and are not runs:
    # --pretrained has nothing to take and says why, instead of asking to `zoo add` them
    with pytest.raises(ZooEntryNotFound, match=r"sequence models.*which are not runs"):
        zoo.pretrained_study("icl-phases", tmp_path, progress=False)
    with pytest.raises(NeurodynError, match=r"which the zoo cannot hold yet"):
        zoo.add_study("icl-phases", tmp_path)
    # the plasticity study's circuits can ship (tests/studies/test_pretrained.py): asked of an
    # empty zoo or before they are trained, each says what to do
    with pytest.raises(ZooEntryNotFound, match=r"zoo add --study plasticity"):
        zoo.pretrained_study("plasticity", tmp_path, zoo=tmp_path / "empty", progress=False)
    with pytest.raises(NeurodynError, match=r"no networks/\*.npz in .*neurodyn study plasticity"):
        zoo.add_study("plasticity", tmp_path, zoo=tmp_path / "empty")


def test_zoo_list_prints_every_entry(capsys):
    assert main(["zoo", "list"]) == 0
    out = capsys.readouterr().out
    for name in NAMES:
        assert f"\n{name} " in out
    assert "27 fixed points (8 stable)" in out and "MiB" in out
    # what the studies train that the zoo does not hold is named, not silently left out
    assert (
        "not shipped (not runs)" in out and "icl-phases: sequence models (the default's 27)" in out
    )


def test_coverage_names_each_studys_place_in_the_zoo(tmp_path, monkeypatch):
    import dataclasses

    from neurodyn import studies
    from neurodyn.zoo import _store

    coverage = zoo.coverage()
    assert set(coverage) == set(studies.names())
    # resonance trains nothing; plasticity trains circuits, which are not runs, and priors
    # such circuits beside its shipped runs; memory's fine-tunings name their start by id, so
    # its runs can move into the zoo
    assert coverage["resonance"] == "no runs"
    assert coverage["icl-phases"] == "not runs"
    empty = zoo.coverage(tmp_path / "empty")
    assert empty["plasticity"] == "not runs" and empty["priors"] == "not shipped"
    assert coverage["memory"] in ("shipped", "not shipped")
    assert coverage["yang19"] in ("shipped", "not shipped")
    # the recovery study's truths are the zoo's flipflop and demo networks, shipped alone
    assert coverage["recovery"] == "shipped"
    assert zoo.coverage(tmp_path / "empty")["recovery"] == "not shipped"
    # a study whose run configs name their runs folder cannot ship: its runs could not move
    memory = studies.get("memory")

    def tied(config, root):
        return {
            name: {**data, "name": str(root)} for name, data in memory.runs(config, root).items()
        }

    monkeypatch.setattr(_store, "get_study", lambda name: dataclasses.replace(memory, runs=tied))
    config = studies.load_config(memory, quick=True).to_dict()
    with pytest.raises(NeurodynError, match="cannot be shipped"):
        zoo.add(
            _tiny_run(tmp_path / "runs"),
            "m",
            study="memory",
            study_config=config,
            zoo=tmp_path / "zoo",
            progress=False,
        )


def test_a_study_over_budget_adds_none_of_its_runs(tmp_path, monkeypatch):
    # two runs of a study, the budget room for one: neither is added (not the first alone)
    root = tmp_path / "runs"
    _tiny_run(root, "a")
    _tiny_run(root, "b")

    class TwoRuns:
        trained_files = trains_outside_runs = None

        def runs(self, config, where):
            return {"a": {}, "b": {}}

        def history_read(self, config, run):
            return None

    monkeypatch.setattr(zoo._store, "get_study", lambda name: TwoRuns())
    monkeypatch.setattr(zoo._store, "load_study_config", lambda *a, **k: None)
    shipped = ("config.yaml", "run.json", "metrics.csv", "model.safetensors")
    one_run = sum((root / "a" / f).stat().st_size for f in shipped)
    monkeypatch.setattr(zoo._store, "BUDGET_BYTES", one_run + 8192)
    folder = tmp_path / "zoo"
    with pytest.raises(NeurodynError, match=r"2 runs would take the zoo .* nothing was added"):
        zoo.add_study("two", root, zoo=folder, progress=False)
    assert zoo.entries(folder) == [] and not (folder / "networks" / "a").exists()
    # a study with trained files too: they are not added either when its runs are refused
    TwoRuns.trained_files = "networks/*.npz"

    def files_added(*args, **kwargs):
        raise AssertionError("the trained files were added before the runs' checks")

    monkeypatch.setattr(zoo._store, "add_study_files", files_added)
    with pytest.raises(NeurodynError, match=r"2 runs would take the zoo .* nothing was added"):
        zoo.add_study("two", root, zoo=folder, progress=False)


def test_a_study_finds_its_runs_shipped_alone_only_under_their_own_config():
    from neurodyn import studies
    from neurodyn.zoo._manifest import read_manifest
    from neurodyn.zoo._pretrained import _shipped_runs

    recovery = studies.get("recovery")
    config = studies.load_config(recovery)
    manifest = read_manifest(None)
    found = _shipped_runs(recovery, config, Path("runs"), manifest, None)
    assert {r: (e.name, e.study) for r, e in found.items()} == {
        "flipflop": ("flipflop", None),
        "demo": ("demo", None),
    }
    # a truth trained longer than the shipped flip-flop network is not that network
    longer = dict(config.truths)
    longer["flipflop"] = {**longer["flipflop"], "train": {**longer["flipflop"]["train"],
                                                          "steps": 3000}}  # fmt: skip
    other = type(config).from_dict({**config.to_dict(), "truths": longer})
    assert set(_shipped_runs(recovery, other, Path("runs"), manifest, None)) == {"demo"}


def test_the_readme_line_neurodyn_zoo_load_works_after_import_neurodyn():
    # README: `neurodyn.zoo.load("flipflop")`; a fresh interpreter, where nothing else has
    # imported neurodyn.zoo first
    import subprocess
    import sys

    code = "import neurodyn; print(neurodyn.zoo.entry('flipflop').name)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "flipflop"


def test_zoo_get_prints_the_command_that_reproduces_the_headline(tmp_path, capsys):
    import shlex

    assert main(["zoo", "get", "flipflop", "--runs", str(tmp_path)]) == 0
    line = [x for x in capsys.readouterr().out.splitlines() if x.startswith("its headline")]
    assert len(line) == 1 and "27 fixed points (8 stable)" in line[0]
    command = shlex.split(line[0].split(": ", 1)[1])
    assert command[:2] == ["neurodyn", "fixedpoints"]
    assert main([*command[1:], "--quiet"]) == 0
    assert "8 stable, 19 saddle" in capsys.readouterr().out
