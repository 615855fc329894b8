"""`neurodyn study NAME --pretrained`: the study's networks put into a zoo, taken out into a
fresh runs folder and measured without training give the study's own numbers."""

import contextlib
import io
import shutil

import pytest

from neurodyn import studies, zoo
from neurodyn.cli import main
from neurodyn.errors import ConfigError
from neurodyn.runs import Run, training


def test_pretrained_study_reproduces_the_trained_studys_measures(
    quick_study, tmp_path, monkeypatch
):
    quick = quick_study("yang19")
    folder = tmp_path / "zoo"
    added = zoo.add_study("yang19", quick.root, quick=True, zoo=folder, progress=False)
    assert [e.run_id for e in added] == ["yang19-quick"]
    assert added[0].study == "yang19" and added[0].study_config is not None

    def no_training(*args, **kwargs):
        raise AssertionError("--pretrained must not train")

    monkeypatch.setattr(training, "train_run", no_training)
    monkeypatch.setattr(training, "resume_run", no_training)
    root = tmp_path / "runs"
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(
            [
                "study",
                "yang19",
                "--pretrained",
                "--runs",
                str(root),
                "--zoo",
                str(folder),
                "--quiet",
            ]
        )
    assert code == 0
    # fresh copies of the same networks, measured the same way: the same table
    ours = (root / "study-yang19" / "measures.csv").read_text()
    assert ours == (quick.folder / "measures.csv").read_text()
    assert (root / "study-yang19" / "report.html").is_file()


def test_an_interim_network_is_measured_at_its_step_without_training(tmp_path, monkeypatch):
    from neurodyn.runs import parse_config

    study = studies.get("yang19")
    config = studies.load_config(study, quick=True)
    trained = tmp_path / "trained"
    for run_id, data in study.runs(config, trained).items():
        training.train_run(parse_config(data), trained, run_id=run_id, until_step=4, progress=False)
    folder = tmp_path / "zoo"
    (entry,) = zoo.add_study(
        "yang19", trained, quick=True, interim=True, zoo=folder, progress=False
    )
    assert entry.interim and entry.steps == 4

    def no_training(*args, **kwargs):
        raise AssertionError("--pretrained must not train an interim network on")

    monkeypatch.setattr(training, "train_run", no_training)
    monkeypatch.setattr(training, "resume_run", no_training)
    output = zoo.pretrained_study("yang19", tmp_path / "runs", zoo=folder, progress=False)
    assert (output.folder / "report.html").is_file()
    assert (tmp_path / "runs" / entry.run_id).is_dir()


def test_a_run_the_study_config_would_train_otherwise_is_refused(quick_study, tmp_path):
    quick = quick_study("yang19")
    config = studies.load_config(studies.get("yang19"), quick=True).to_dict()
    config["run"]["train"] = {**config["run"]["train"], "steps": 31}
    with pytest.raises(ConfigError, match="trained with another config than study 'yang19'"):
        zoo.add(
            quick.root / "yang19-quick",
            "yang19-quick",
            study="yang19",
            study_config=config,
            zoo=tmp_path / "zoo",
            progress=False,
        )
    assert zoo.entries(tmp_path / "zoo") == []


def test_a_study_run_trained_under_another_name_is_found_by_its_config(quick_study, tmp_path):
    quick = quick_study("yang19")
    mine = tmp_path / "runs" / "20261203-yang19"  # as `neurodyn train` would name it
    shutil.copytree(quick.root / "yang19-quick", mine)
    config = studies.load_config(studies.get("yang19"), quick=True).to_dict()
    entry = zoo.add(
        mine,
        "yang19-quick",
        study="yang19",
        study_config=config,
        zoo=tmp_path / "zoo",
        progress=False,
    )
    assert entry.run_id == "yang19-quick"  # where --pretrained will look for it
    assert zoo.get("yang19-quick", tmp_path / "other", zoo=tmp_path / "zoo").id == "yang19-quick"


def test_a_study_ships_only_the_kept_weights_it_reads_and_measures_the_same(quick_study, tmp_path):
    # the memory study's classes curriculum keeps weights every 10 steps of 8 stages of 10
    # (steps 10-80); backtracking reads the first kept after each new class: 20, 30, .., 80.
    # The T_max curriculum and the fine-tunings read none.
    quick = quick_study("memory")
    assert Run.open(quick.root / "memory-classes-gru-plain").history_steps() == list(
        range(10, 90, 10)
    )
    folder = tmp_path / "zoo"
    added = {e.run_id: e for e in zoo.add_study("memory", quick.root, quick=True, zoo=folder,
                                                progress=False)}  # fmt: skip
    history = {
        name: sorted(f for f in entry.files if f.startswith("history/"))
        for name, entry in added.items()
    }
    assert history["memory-classes-gru-plain"] == [
        f"history/step-{step:07d}.safetensors" for step in range(20, 90, 10)
    ]
    assert [name for name, files in history.items() if files] == ["memory-classes-gru-plain"]
    output = zoo.pretrained_study("memory", tmp_path / "runs", zoo=folder, progress=False)
    ours = (output.folder / "measures.csv").read_text()
    assert ours == (quick.folder / "measures.csv").read_text()
    assert "backtracked" in ours.splitlines()[0]


def test_a_studys_trained_files_ship_and_are_measured_without_training(
    quick_study, tmp_path, monkeypatch
):
    # the plasticity study's circuits are not runs: they ship as one entry of safetensors
    # files, come back as the same .npz files, and the study measures them untrained
    from neurodyn.errors import ChecksumMismatch, NeurodynError, RunExists
    from neurodyn.studies.plasticity import measure as plasticity

    quick = quick_study("plasticity")
    folder = tmp_path / "zoo"
    (entry,) = zoo.add_study("plasticity", quick.root, quick=True, zoo=folder, progress=False)
    trained = sorted(p.name for p in (quick.folder / "networks").glob("*.npz"))
    assert entry.kind == "files" and entry.name == "plasticity-networks"
    assert sorted(entry.files) == [f"networks/{n[:-4]}.safetensors" for n in trained]
    assert not list(entry.folder(folder).rglob("*.npz"))  # nothing zipped or pickled ships
    assert zoo.coverage(folder)["plasticity"] == "shipped"

    def no_training(*args, **kwargs):
        raise AssertionError("--pretrained must not train")

    monkeypatch.setattr(plasticity, "train_local", no_training)
    monkeypatch.setattr(plasticity, "train_bptt", no_training)
    root = tmp_path / "runs"
    zoo.pretrained_study("plasticity", root, zoo=folder, progress=False)
    out = root / "study-plasticity"
    assert (out / "measures.csv").read_bytes() == (quick.folder / "measures.csv").read_bytes()

    # not a run: get, load and rebuild say so; a different file in the way is never overwritten
    for action in (zoo.get, zoo.load, zoo.rebuild):
        with pytest.raises(NeurodynError, match="trained files"):
            action("plasticity-networks", zoo=folder)
    other = tmp_path / "other"
    (other / "study-plasticity" / "networks").mkdir(parents=True)
    first = quick.folder / "networks" / trained[0]
    shutil.copy(
        quick.folder / "networks" / trained[1], other / "study-plasticity" / "networks" / first.name
    )
    with pytest.raises(RunExists, match="holds another network"):
        zoo.get_study_files(entry, other, zoo=folder)
    # files are refused under another config than the study's runs in the zoo were shipped with
    import dataclasses

    from neurodyn.zoo._manifest import read_manifest, write_manifest

    run_like = dataclasses.replace(
        entry, name="plasticity-run", kind="run", study_config={"seeds": [9]}, files={}
    )
    write_manifest([*read_manifest(folder), run_like], folder)
    with pytest.raises(NeurodynError, match="under another study config"):
        zoo.add_study_files("plasticity", quick.root, quick=True, replace=True, zoo=folder)
    write_manifest([e for e in read_manifest(folder) if e.name != "plasticity-run"], folder)
    # a damaged file is named before anything is written
    damaged = entry.folder(folder) / sorted(entry.files)[0]
    damaged.write_bytes(damaged.read_bytes()[:-1] + b"\0")
    with pytest.raises(ChecksumMismatch, match="is damaged"):
        zoo.get_study_files(entry, tmp_path / "third", zoo=folder)
    assert not (tmp_path / "third").exists()
