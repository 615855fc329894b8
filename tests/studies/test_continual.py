"""The continual-learning study (Yang et al. 2019, Fig. 7)."""

import csv
from pathlib import Path

import pytest
import yaml

from neurodyn.errors import ConfigError
from neurodyn.studies import continual, load_config
from neurodyn.studies.continual import STUDY, ContinualConfig, ContinualResult

PAPER_GROUPS = [["fdgo"], ["delaygo"], ["dm1", "dm2"], ["multidm"], ["contextdm1", "contextdm2"]]


@pytest.fixture(scope="module")
def quick(quick_study):
    return quick_study("continual")


def test_forgetting_is_the_drop_of_earlier_tasks_from_their_own_stage_to_the_end():
    groups = (("fdgo",), ("delaygo",), ("dm1", "dm2"))
    member = [
        {"fdgo": 0.9},
        {"fdgo": 0.6, "delaygo": 0.8},
        {"fdgo": 0.5, "delaygo": 0.4, "dm1": 0.7, "dm2": 0.6},
    ]
    result = ContinualResult("r", groups, (1,), [member])
    # fdgo: 0.9 -> 0.5, delaygo: 0.8 -> 0.4; the last group's tasks do not count
    assert result.forgetting() == pytest.approx([0.4])


def test_the_packaged_config_is_the_papers_order_with_and_without_the_penalty(tmp_path):
    data = yaml.safe_load((Path(continual.__file__).parent / "config.yaml").read_text())
    config = load_config(STUDY)
    assert config == ContinualConfig.from_dict(data)
    runs = config.run_configs()
    assert runs["continual-synapses"]["train"]["intelligent_synapses"] == 1.0
    assert "intelligent_synapses" not in runs["continual-plain"]["train"]
    stages = runs["continual-plain"]["curriculum"]
    assert [s["task"]["only"] for s in stages] == PAPER_GROUPS
    path = tmp_path / "mine.yaml"
    path.write_text("groups: [[go]]\n")
    with pytest.raises(ConfigError, match="groups must be non-empty lists"):
        load_config(STUDY, path)


def test_the_study_reads_every_tasks_evaluation_after_every_stage(quick):
    assert "Forgetting" in quick.stdout
    with (quick.folder / "measures.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    plain = {(r["after_stage"], r["task"]) for r in rows if r["run"] == "continual-plain"}
    # the first group's task is evaluated after both stages, the second's after its own
    assert plain == {("0", "fdgo"), ("1", "fdgo"), ("1", "delaygo")}
    assert {r["run"] for r in rows} == {"continual-plain", "continual-synapses"}
    assert "<img" in (quick.folder / "report.html").read_text()
