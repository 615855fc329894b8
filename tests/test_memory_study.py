"""The memory study (Haviv et al. 2019): its probe trials, measures and command."""

import numpy as np
import pytest
import torch

from neurodyn.cli import main
from neurodyn.studies import memory
from neurodyn.tasks.haviv import DelayedClassification


def test_fixed_delay_trials_ask_exactly_d_steps_after_the_image_even_beyond_t_max():
    task = DelayedClassification(n_classes=4, t_max=10)
    for delay in (5, 37):
        batch = task.fixed_delay(32, delay, seed=0)
        trial = batch.trial
        assert torch.equal(trial["query"] - trial["shown"], torch.full((32,), delay))
        assert batch.n_steps == int(trial["query"].max()) + 1
        query_flag = batch.x[..., -1]
        steps = torch.nonzero(query_flag.T)[:, 1]  # the query step of each trial
        assert torch.equal(steps, trial["query"])
        # the class label is the target at the query step only; "null" (0) elsewhere
        target = batch.y.argmax(-1)
        at_query = target[trial["query"], torch.arange(32)]
        assert torch.equal(at_query, trial["label"] + 1)
        assert int((target != 0).sum()) == 32
    with pytest.raises(Exception, match="delay must be at least 1"):
        task.fixed_delay(4, 0)


def test_slower_networks_remember_longer_is_what_the_correlation_reads():
    rows = [
        memory.NetworkMeasures(
            "tmax", "gru", "fine-tune", 0.0, s, {}, 1.0, beyond, speed, np.nan, 10
        )
        for s, (speed, beyond) in enumerate([(1e-1, 0.2), (1e-2, 0.5), (1e-3, 0.7), (1e-4, 0.9)])
    ]
    rho, _ = memory.speed_predicts_memory(rows)
    assert rho == pytest.approx(-1.0)
    flat = [
        memory.NetworkMeasures("tmax", "gru", "fine-tune", 0.0, s, {}, 1.0, 0.5, 1e-3, np.nan, 10)
        for s in range(4)
    ]
    assert np.isnan(memory.speed_predicts_memory(flat)[0])


def test_a_new_class_on_an_existing_slow_point_is_traced_to_that_class(monkeypatch, tmp_path):
    from neurodyn.analysis.memory import ClassSlowPoints

    class FakeRun:
        class config:
            class model:
                seeds = (1,)

        def weight_history(self):
            return [(s, None) for s in (100, 600, 1100)]

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

    monkeypatch.setattr(memory, "class_slow_points", planted)
    joined = memory.backtracking(FakeRun(), stage_steps=500)
    assert joined == [[-1, 1]]  # class 4: its own point; class 5: class 1's


def test_the_study_runs_from_the_command_line(tmp_path, capsys):
    assert main(["study", "memory", "--quick", "--runs", str(tmp_path), "--quiet"]) == 0
    out = tmp_path / "study-memory"
    assert "accuracy, delays > 20" in capsys.readouterr().out
    header = (out / "measures.csv").read_text().splitlines()[0].split(",")
    assert {"acc_8", "acc_24", "beyond", "speed", "backtracked"} <= set(header)
    assert "<img" in (out / "report.html").read_text()


def test_the_study_files_are_the_default_configs():
    from pathlib import Path

    import yaml

    root = Path(__file__).parents[1] / "studies"
    data = yaml.safe_load((root / "memory.yaml").read_text())
    assert memory.StudyConfig.from_dict(data) == memory.StudyConfig.from_dict({})
