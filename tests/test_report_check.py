"""The reports a person opens: the summary at the top, versions and wall times, the figures,
and the comparison's statement of what was compared; screenshots where Chromium is installed."""

import re

import numpy as np
import pytest

from neurodyn.report import write_report
from neurodyn.report.compare import write_comparison_report
from neurodyn.report.screenshot import find_chromium, screenshot
from neurodyn.runs import parse_config, train_run
from neurodyn.runs.analyze import analyze_run
from neurodyn.runs.compare import compare_runs, comparison_setup, save_comparison
from neurodyn.runs.fixedpoints import find_run_fixed_points, saved_fixed_points

CONFIG = {
    "task": ["pdm", "dlygo"],
    "model": {"n_hidden": 12, "seeds": [1]},
    "train": {"steps": 20, "batch_size": 8, "log_every": 10, "checkpoint_every": 20},
}


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    root = tmp_path_factory.mktemp("runs")
    one = train_run(parse_config(CONFIG), root, run_id="one", progress=False)
    two_config = {**CONFIG, "model": {**CONFIG["model"], "seeds": [2, 3]}}
    two = train_run(parse_config(two_config), root, run_id="two", progress=False)
    analyze_run(one, batch_size=32)
    find_run_fixed_points(one, task="dlygo", n_initial=32)
    run_report = write_report(one)
    result = compare_runs([one, two], "cka", n_trials=8)
    setup = comparison_setup([one, two], "cka", n_trials=8)
    folder = save_comparison(result, root, "check")
    compare_report = write_comparison_report(folder / "report.html", result, setup=setup.describe())
    return one, run_report, compare_report, setup


def test_the_run_report_opens_with_a_summary_of_what_was_trained_and_found(reports):
    run, path, _, _ = reports
    text = path.read_text()
    summary = text[text.index("<h2>Summary</h2>") : text.index("<h2>Final performance</h2>")]
    assert "1 ctrnn network of 12 units (seeds 1) on pdm, dlygo, 20 of 20 steps" in summary
    perf = run.info().performance
    assert f"pdm {perf['pdm']:.2f}" in summary and f"dlygo {perf['dlygo']:.2f}" in summary
    counts = saved_fixed_points(run, "dlygo")["delay"].count()
    counts.pop("slow")
    words = ", ".join(f"{v} {k}" for k, v in counts.items() if v) or "none"
    assert f"fixed points under the delay input: {words}" in summary
    # before any figure
    assert text.index("<h2>Summary</h2>") < text.index("<img")


def test_the_run_report_states_versions_and_the_wall_time_of_each_phase(reports):
    run, path, _, _ = reports
    text = path.read_text()
    seconds = run.info().seconds
    assert set(seconds) == {"training", "analyses", "fixed points dlygo.delay"}
    for phase in seconds:
        assert f"<td>{phase}</td>" in text
    versions = run.info().versions
    assert f"neurodyn {versions['neurodyn']}, torch {versions['torch']}" in text


def test_the_run_report_has_its_figures_in_ms_with_aligned_epochs(reports):
    _, path, _, _ = reports
    text = path.read_text()
    # curves; per task PCA, drive ratio, step tuning, HMM, DMD; fixed points and eigenvalues
    assert len(re.findall(r'<img src="data:image/png;base64,', text)) == 1 + 2 * 5 + 2
    assert "aligned to the start of each epoch" in text
    assert "right of the dashed line Re = 0" in text


def test_the_comparison_report_says_what_was_compared(reports):
    _, _, path, setup = reports
    text = path.read_text()
    assert "similaritys" not in text and "values are similarities" in text
    assert setup.describe() in text
    assert "the same 8 trials of pdm+dlygo" in setup.describe()
    # run "one" has one network: no distance within it, said in words
    assert "<td>one</td><td>one network</td>" in text and "nan" not in text


@pytest.mark.skipif(find_chromium() is None, reason="no Chromium to take screenshots with")
def test_screenshots_of_both_reports_show_a_page(reports, tmp_path):
    import matplotlib.image

    _, run_report, compare_report, _ = reports
    for page in (run_report, compare_report):
        png = screenshot(page, tmp_path / f"{page.parent.name}.png", height=2000)
        image = matplotlib.image.imread(png)
        assert image.shape[:2] == (2000, 1200)
        # not a blank page: text and figures make dark pixels
        assert np.mean(image[..., :3].mean(-1) < 0.5) > 0.005
