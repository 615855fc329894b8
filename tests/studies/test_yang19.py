"""The Yang et al. 2019 study (task variance, clusters, lesions, task vectors)."""

import csv
import itertools
from pathlib import Path

import numpy as np
import pytest
import yaml

from neurodyn import studies
from neurodyn.analysis.task_variance import silhouette_score
from neurodyn.errors import ConfigError, NeurodynError
from neurodyn.runs import Run, parse_config
from neurodyn.studies import load_config, yang19
from neurodyn.studies.yang19 import (
    ANALOGIES,
    FTV_PAIRS,
    STUDY,
    Yang19Config,
    analyse_multitask,
    analyze_multitask,
    task_labels,
)
from neurodyn.tasks.yang19 import BATTERY

ROOT = Path(__file__).parents[2]


@pytest.fixture(scope="module")
def quick(quick_study):
    return quick_study("yang19")


@pytest.fixture(scope="module")
def measures(quick):
    with (quick.folder / "measures.csv").open() as fh:
        return list(csv.DictReader(fh))


@pytest.fixture(scope="module")
def analyses(quick):
    """Each quick network analysed again from the run on disk (the analyses are seeded)."""
    run = Run.open(quick.root / "yang19-quick")
    return [analyze_multitask(run, member, n_trials=16) for member in (0, 1)]


def test_the_packaged_config_is_what_the_runner_loads_and_the_run_of_configs_yang19():
    data = yaml.safe_load((Path(yang19.__file__).parent / "config.yaml").read_text())
    config = load_config(STUDY)
    assert config == Yang19Config.from_dict(data)
    run = yaml.safe_load((ROOT / "configs" / "yang19.yaml").read_text())
    assert parse_config(config.run) == parse_config(run)
    assert config.analysis_trials == 256 and config.run_id == "yang19"


def test_a_config_with_other_fields_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="takes `run` and `analysis_trials`"):
        Yang19Config.from_dict({"trials": 3})
    path = tmp_path / "mine.yaml"
    path.write_text("trials: 3\n")
    with pytest.raises(ConfigError, match=r"unknown study field\(s\) \['trials'\]"):
        load_config(STUDY, path)
    path.write_text("analysis_trials: 4\n")
    with pytest.raises(ConfigError, match="analysis_trials must be at least 8"):
        load_config(STUDY, path)


def test_the_paper_constants_name_tasks_of_the_battery():
    battery = {task.name for task in BATTERY}
    named = set(itertools.chain(*FTV_PAIRS, *ANALOGIES))
    assert named <= battery and len(FTV_PAIRS) == 8 and len(ANALOGIES) == 3


def test_the_runner_wrote_the_quick_config(quick):
    written = yaml.safe_load((quick.folder / "config.yaml").read_text())
    assert written == load_config(STUDY, quick=True).to_dict()
    assert written["run"]["task"]["tasks"] == ["fdgo", "delaygo", "fdanti", "delayanti"]


def test_quick_measures_are_what_the_analyses_of_the_saved_run_give(quick, measures, analyses):
    assert "| network | min performance |" in quick.stdout
    assert quick.stdout.count("/1 (") == 2  # the one analogy among these four tasks, per network
    assert [row["member"] for row in measures] == ["0", "1"]
    for row, result in zip(measures, analyses, strict=True):
        # the silhouette of the kept clustering, recomputed from its labels, is the best one
        active = result.variance.active
        score = silhouette_score(result.variance.normalised[active], result.clusters.labels[active])
        assert float(row["silhouette"]) == pytest.approx(score, abs=5e-4)
        assert score == pytest.approx(np.nanmax(result.clusters.silhouette))
        assert int(row["clusters"]) == len(np.unique(result.clusters.labels[active]))
        # Dly Anti = Anti + Dly Go - Go, from the task vectors
        vectors = dict(zip(result.vectors.tasks, result.vectors.vectors, strict=True))
        composed = vectors["fdanti"] + vectors["delaygo"] - vectors["fdgo"]
        distance = {t: np.linalg.norm(v - composed) for t, v in vectors.items()}
        nearest = min(distance, key=distance.__getitem__)
        assert row["analogy_delayanti"] == nearest
        expected = distance["delayanti"] / np.linalg.norm(vectors["delayanti"] - vectors["fdanti"])
        assert float(row["analogy_delayanti_relative_error"]) == pytest.approx(expected, abs=5e-4)
        rank = 1 + sum(d < distance["delayanti"] for d in distance.values())
        assert int(row["analogy_delayanti_rank"]) == rank
        four = ("fdgo", "delaygo", "fdanti", "delayanti")
        perf = [float(row[f"perf_strict_{t}"]) for t in four]
        assert float(row["min_perf_strict"]) == min(perf)
        paper = [float(row[f"perf_paper_{t}"]) for t in four]
        assert float(row["min_perf_paper"]) == min(paper)
        # the paper's criterion looks at less: never below ours
        assert all(p >= s for p, s in zip(paper, perf, strict=True))
        assert result.performance_paper == pytest.approx(
            {t: float(row[f"perf_paper_{t}"]) for t in four}, abs=5e-5
        )


def test_the_report_names_tasks_as_the_paper_does(quick):
    run = Run.open(quick.root / "yang19-quick")
    labels = task_labels(run)
    assert labels == {"fdgo": "Go", "delaygo": "Dly Go", "fdanti": "Anti", "delayanti": "Dly Anti"}
    report = (quick.folder / "report.html").read_text()
    assert "<td>Dly Anti</td>" in report
    # curves, then per network: variance matrix, silhouette, lesions and one task-vector
    # figure for the one analogy among these four tasks (none of the paper's fractional-
    # variance pairs is among them)
    assert report.count("data:image/png") == 1 + 2 * 4


def test_analyse_multitask_is_the_old_spelling_and_warns(quick, analyses):
    run = Run.open(quick.root / "yang19-quick")
    with pytest.warns(DeprecationWarning, match="analyze_multitask"):
        old = analyse_multitask(run, 1, n_trials=16)
    assert old.performance == analyses[1].performance
    np.testing.assert_array_equal(old.clusters.labels, analyses[1].clusters.labels)


def test_no_train_analyses_an_existing_run_only(tmp_path):
    with pytest.raises(NeurodynError, match="no run"):
        studies.run("yang19", root=tmp_path / "none", quick=True, progress=False, train=False)


def test_the_report_says_when_the_networks_are_only_partly_trained(quick, analyses, tmp_path):
    import shutil

    from neurodyn.studies.yang19.report import report

    config = load_config(studies.get("yang19"), quick=True)
    finished = Run.open(quick.root / "yang19-quick")
    body = report(analyses, config, {config.run_id: finished}, tmp_path)
    assert "Partly trained" not in body
    # the same run, its config asking for 4x the steps it took: an interim network
    copy = tmp_path / "yang19-quick"
    shutil.copytree(finished.path, copy)
    data = yaml.safe_load((copy / "config.yaml").read_text())
    done = finished.info().steps_done
    data["train"]["steps"] = 4 * done
    (copy / "config.yaml").write_text(yaml.safe_dump(data))
    body = report(analyses, config, {config.run_id: Run.open(copy)}, tmp_path)
    assert f"stopped at step {done:,} of the {4 * done:,}" in body and "(25%)" in body
