"""The memory study (Haviv, Rivkind & Barak 2019): its config, its measures on planted cases and
one quick run read for real answers."""

import csv

import numpy as np
import pytest
import yaml

from neurodyn.analysis.memory import ClassSlowPoints
from neurodyn.errors import ConfigError
from neurodyn.studies import load_config, memory
from neurodyn.studies.memory import STUDY, MemoryConfig, NetworkMeasures

PACKAGE = STUDY.package


@pytest.fixture
def quick(quick_study):
    """`neurodyn study memory --quick`, run once per session (the registry test reads it too)."""
    return quick_study("memory")


def test_the_packaged_config_is_what_the_runner_loads(tmp_path):
    from importlib import resources

    data = yaml.safe_load((resources.files(PACKAGE) / "config.yaml").read_text())
    config = load_config(STUDY)
    assert config == MemoryConfig.from_dict(data) and config.to_dict() == data
    # 2 curricula x 3 cells, each a curriculum run and two fine-tunings from it
    assert len(config.run_configs()) == 18
    quick_config = load_config(STUDY, quick=True)
    assert quick_config.model == {**data["model"], "n_hidden": 16, "seeds": [1]}
    assert quick_config.train == {**data["train"], "log_every": 10, "checkpoint_every": 40,
                           "keep_weights_every": 10}  # fmt: skip
    # a user's partial section keeps the defaults it does not name; a misspelt key is named
    path = tmp_path / "mine.yaml"
    path.write_text("model: {n_hidden: 32}\n")
    assert load_config(STUDY, path).model == {**data["model"], "n_hidden": 32}
    path.write_text("model: {n_hiden: 32}\n")
    with pytest.raises(ConfigError, match=r"unknown model field\(s\) \['n_hiden'\]"):
        load_config(STUDY, path)
    path.write_text("curricula: [classes, size]\n")
    with pytest.raises(ConfigError, match="curricula must be among"):
        load_config(STUDY, path)
    with pytest.raises(ConfigError, match=r"missing field\(s\) \['cells'"):
        MemoryConfig.from_dict({k: v for k, v in data.items() if k != "cells"})


def test_slower_networks_remember_longer_is_what_the_correlation_reads():
    rows = [
        NetworkMeasures("tmax", "gru", "fine-tune", 0.0, s, {}, 1.0, beyond, speed, np.nan, 10)
        for s, (speed, beyond) in enumerate([(1e-1, 0.2), (1e-2, 0.5), (1e-3, 0.7), (1e-4, 0.9)])
    ]
    rho, _ = memory.speed_predicts_memory(rows)
    assert rho == pytest.approx(-1.0)
    flat = [
        NetworkMeasures("tmax", "gru", "fine-tune", 0.0, s, {}, 1.0, 0.5, 1e-3, np.nan, 10)
        for s in range(4)
    ]
    assert np.isnan(memory.speed_predicts_memory(flat)[0])


def test_a_new_class_on_an_existing_slow_point_is_traced_to_that_class(monkeypatch):
    class FakeRun:
        class config:
            class model:
                seeds = (1,)

        def history_steps(self):
            return [100, 600, 1100]

        def weight_history(self, steps):
            return [(s, None) for s in steps]

    def planted(model, task, **kw):
        c = task.n_classes
        points = np.array([[[float(k), 0.0] for k in range(c)]])
        if c == 5:  # the 5th class lands on class 1's point
            points[0, 4] = points[0, 1]
        return ClassSlowPoints(
            classes=np.arange(c),
            point=points,
            q=np.zeros((1, c)),
            share=np.ones((1, c)),
            centre=points + 3.0,
            distance=np.zeros((1, c)),
            n_distinct=np.array([c]),
            start_q=np.ones((1, c)),
        )

    monkeypatch.setattr(memory.measure, "class_slow_points", planted)
    joined = memory.backtracking(FakeRun(), stage_steps=500)
    assert joined == [[-1, 1]]  # class 4: its own point; class 5: class 1's
    # it reads the first kept weights after each new class, and only those
    assert memory.backtracking_steps([100, 200, 600, 700, 1100], 500) == [600, 1100]
    assert memory.backtracking_steps([100, 200], 500) == []


def test_the_quick_study_measures_every_network_of_both_curricula(quick):
    root, printed = quick.root, quick.stdout
    assert "| classes | gru | fine-tune + speed | 1 |" in printed
    with (root / "study-memory" / "measures.csv").open() as fh:
        rows = list(csv.DictReader(fh))
    # per curriculum: the curriculum run and its two fine-tunings, one GRU network each
    assert [(r["curriculum"], r["phase"], r["speed_penalty"]) for r in rows] == [
        (c, phase, weight)
        for c in ("classes", "tmax")
        for phase, weight in (("curriculum", "0.0"), ("fine-tune", "0.0"),
                              ("fine-tune + speed", "0.1"))
    ]  # fmt: skip
    for row in rows:
        # accuracy is a share of the 64 probe trials; with delays 8 and 24 only, "trained"
        # (delays <= 16) is the accuracy at 8 and "beyond" (> 20) the one at 24
        for delay in ("8", "24"):
            assert float(row[f"acc_{delay}"]) * 64 == round(float(row[f"acc_{delay}"]) * 64)
        assert row["trained"] == row["acc_8"] and row["beyond"] == row["acc_24"]
        assert 1 <= int(row["n_slow_points"]) <= 10
    # backtracking reads the classes curriculum only: one entry per added class (4th .. 10th),
    # each an earlier class (0 .. k - 1 for the k-th) or -1 for a point of its own
    joined = [int(c) for c in rows[0]["backtracked"].split()]
    assert len(joined) == 7
    assert all(-1 <= c < k for c, k in zip(joined, range(3, 10), strict=True))
    assert all(r["backtracked"] == "" for r in rows[1:])
    # from the same weights and batches, the penalised fine-tuning ends slower at the class
    # centres than its control without the penalty
    for control, penalised in (rows[1:3], rows[4:6]):
        assert float(penalised["speed"]) < float(control["speed"])


def test_the_quick_report_has_the_title_summary_figures_and_backtracking(quick):
    root = quick.root
    report = (root / "study-memory" / "report.html").read_text()
    assert "<h1>Memory: curricula and the speed regulariser" in report
    assert "<h2>Summary</h2>" in report and "rho = nan" in report  # no accuracy varies
    assert report.count("data:image/png;base64") == 2  # accuracy by delay, speed vs memory
    assert "Backtracking new classes" in report
    # each fine-tuning started from its curriculum run's weights
    tuned = yaml.safe_load((root / "memory-tmax-gru-tuned-speed" / "config.yaml").read_text())
    # (by id: the run beside it, so the runs folder can move)
    assert tuned["model"]["init_from"] == "memory-tmax-gru-plain"
