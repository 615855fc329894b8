"""The motifs study (Driscoll et al. 2024): its transfer protocol, its runs and bad config."""

import csv

import pytest
import torch

from neurodyn.cli import main
from neurodyn.errors import ConfigError
from neurodyn.runs import Run
from neurodyn.studies import get, load_config
from neurodyn.studies.motifs import MotifsConfig

STUDY = get("motifs")


def test_transfer_trains_only_the_input_weights(quick_study):
    quick = quick_study("motifs")
    pre = Run.open(quick.root / "motifs-quick-pre-delayanti").load_model()
    after = Run.open(quick.root / "motifs-quick-transfer-delayanti-related").load_model()
    changed = []
    for name, before in pre.named_parameters():
        if name == "W_in":
            changed.append(not torch.equal(before, getattr(after, name)))
        else:  # bit for bit the pre-trained network's
            assert torch.equal(before, getattr(after, name)), name
    assert changed == [True]
    # from scratch: the same trainable parameters, the rest the fresh initialisation's
    scratch = Run.open(quick.root / "motifs-quick-transfer-delayanti-scratch")
    fresh = type(pre)(scratch.load_model().spec)
    for name, p in scratch.load_model().named_parameters():
        if name != "W_in":
            assert torch.equal(p, getattr(fresh, name)), name


def test_the_study_writes_a_row_per_network_and_the_transfer_table(quick_study):
    folder = quick_study("motifs").folder
    with (folder / "measures.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    assert [r["member"] for r in rows] == ["0", "1"]
    with (folder / "transfer.csv").open() as fh:
        transfer = list(csv.DictReader(fh))
    assert sorted({r["start"] for r in transfer}) == ["related", "scratch", "unrelated"]
    assert len(transfer) == 3 * 2
    assert (folder / "motifs" / "member1.motif_clusters.npz").is_file()


def test_a_held_out_task_outside_the_set_is_refused_in_one_line(tmp_path, capsys):
    data = STUDY.defaults()
    data["transfer"] = {**data["transfer"], "held_out": ["delayantii"]}
    with pytest.raises(ConfigError, match="'delayantii' is not one of the run's tasks"):
        MotifsConfig.from_dict(data)
    path = tmp_path / "bad.yaml"
    path.write_text("transfer:\n  held_out: [nope]\n")
    assert main(["study", "motifs", "--config", str(path), "--runs", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "'nope' is not one of the run's tasks" in err and "Traceback" not in err


def test_the_paper_variant_has_the_papers_settings_and_the_default_its_scaled_budget():
    paper = load_config(STUDY, variant="paper")
    default = load_config(STUDY)
    model, train = paper.run["model"], paper.run["train"]
    assert (model["n_hidden"], model["activation"], model["rec_init"]) == (
        256,
        "softplus",
        "diagonal",
    )
    assert (model["tau_ms"], model["sigma_rec"], train["lr"], train["batch_size"]) == (
        100.0,
        0.05,
        0.001,
        64,
    )
    assert train["steps"] * train["batch_size"] == 100_000_000  # the code's 1e8 trials
    assert paper.transfer["held_out"] == ["delayanti", "dmcnogo"]
    for config in (paper, default):
        assert len(config.tasks) == 15 and config.run["task"]["interleave"] == "batch"
    # the default differs in size and budget only (and in the L2 strengths, which the code
    # gives per entry: ours scale with the number of units, as config.yaml derives)
    assert default.run["model"] == {**model, "n_hidden": 128}
    scale = 128 / 256
    assert default.run["train"]["l2_rate"] == pytest.approx(train["l2_rate"] * scale, rel=0.02)
    assert default.run["train"]["l2_weight"] == pytest.approx(
        train["l2_weight"] * scale**2, rel=0.02
    )
    assert default.run["train"]["lr"] == train["lr"]
    assert default.run["train"]["steps"] < train["steps"]
    assert default.run_id != paper.run_id  # both can live in one runs folder
