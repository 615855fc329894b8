"""The continual-learning study (Yang et al. 2019, Fig. 7)."""

import csv

import pytest

from neurodyn.cli import main
from neurodyn.errors import ConfigError
from neurodyn.studies import continual


def test_forgetting_is_the_drop_of_earlier_tasks_from_their_own_stage_to_the_end():
    groups = (("fdgo",), ("delaygo",), ("dm1", "dm2"))
    member = [
        {"fdgo": 0.9},
        {"fdgo": 0.6, "delaygo": 0.8},
        {"fdgo": 0.5, "delaygo": 0.4, "dm1": 0.7, "dm2": 0.6},
    ]
    result = continual.ContinualResult("r", groups, (1,), [member])
    # fdgo: 0.9 -> 0.5, delaygo: 0.8 -> 0.4; the last group's tasks do not count
    assert result.forgetting() == pytest.approx([0.4])


def test_the_groups_must_be_tasks_of_the_battery():
    with pytest.raises(ConfigError, match="groups must be non-empty lists"):
        continual.StudyConfig.from_dict({"groups": [["go"]]})
    config = continual.StudyConfig.from_dict({})
    runs = config.run_configs()
    assert runs["continual-synapses"]["train"]["intelligent_synapses"] == 1.0
    assert "intelligent_synapses" not in runs["continual-plain"]["train"]
    stages = runs["continual-plain"]["curriculum"]
    assert [s["task"]["only"] for s in stages] == continual.PAPER_GROUPS


def test_the_study_reads_every_tasks_evaluation_after_every_stage(tmp_path, capsys):
    assert main(["study", "continual", "--quick", "--runs", str(tmp_path), "--quiet"]) == 0
    assert "Forgetting" in capsys.readouterr().out
    with (tmp_path / "study-continual" / "performance.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    plain = {(r["after_stage"], r["task"]) for r in rows if r["run"] == "continual-plain"}
    # the first group's task is evaluated after both stages, the second's after its own
    assert plain == {("0", "fdgo"), ("1", "fdgo"), ("1", "delaygo")}
    assert "<img" in (tmp_path / "study-continual" / "report.html").read_text()
