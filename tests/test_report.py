import re

import numpy as np

from neurodyn.cli import main
from neurodyn.report import write_report
from neurodyn.runs import parse_config, train_run
from neurodyn.runs.analyze import analyze_run, load_analyses


def test_analyze_and_report_a_multitask_run(tmp_path, capsys):
    config = parse_config(
        {
            "task": ["pdm", "dlygo"],
            "model": {"n_hidden": 16, "seeds": [1, 2]},
            "train": {"steps": 10, "batch_size": 8, "log_every": 5, "checkpoint_every": 10},
        }
    )
    run = train_run(config, tmp_path, progress=False)
    results = analyze_run(run, member=1, batch_size=32)
    assert [r.task for r in results] == ["pdm", "dlygo"]
    pdm = results[0]
    # pdm trajectories are averaged per signed coherence (4 levels x 2 choices)
    assert len(pdm.pca.condition_values) == 8
    assert set(pdm.recurrent_input_ratio.by_epoch) == {"fixation", "stimulus", "decision"}
    assert pdm.step_tuning.unit_activity.shape == (30, 16)  # 600 ms stimulus at dt 20 ms
    loaded = load_analyses(run)
    np.testing.assert_array_equal(loaded[1].pca.projections, results[1].pca.projections)
    assert loaded[0].member == 1
    # hidden structure: one HMM state per epoch by default, DMD of rank 10
    assert loaded[0].epoch_states.occupancy.shape == (3, 3)
    np.testing.assert_allclose(loaded[0].epoch_states.occupancy.sum(1), 1.0)
    assert np.all(np.diff(loaded[0].epoch_states.log_likelihood) > -1e-6)
    assert len(loaded[1].dmd.eigenvalues) == 10

    path = write_report(run)
    text = path.read_text()
    assert text.startswith("<!doctype html>")
    assert (
        len(re.findall(r'<img src="data:image/png;base64,', text)) == 1 + 5 + 5
    )  # curves, then PCA, ratio, step tuning, HMM states, DMD per task
    assert "Task <code>pdm</code>" in text and "n_hidden: 16" in text
    assert "(nan)" not in text

    assert main(["report", str(run.path)]) == 0
    assert str(path) in capsys.readouterr().out
