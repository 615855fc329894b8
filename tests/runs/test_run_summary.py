from neurodyn.runs import Run, parse_config, train_run


def test_a_run_shows_in_a_notebook_as_a_short_summary(tmp_path):
    config = parse_config(
        {
            "task": "flipflop",
            "model": {"n_hidden": 8, "seeds": [3, 4]},
            "train": {"steps": 5, "batch_size": 8},
        }
    )
    run = train_run(config, tmp_path, run_id="tiny", progress=False)
    page = run._repr_html_()
    assert page.startswith("<b>Run tiny</b><table>")
    assert "<td>tasks</td><td>flipflop</td>" in page
    assert "<td>members (seeds)</td><td>2 [3, 4]</td>" in page
    assert "<td>status</td><td>finished, 5 / 5 steps</td>" in page
    performance = Run.open(run.path).record().performance
    assert f"flipflop {performance['flipflop']:.3f}" in page
    assert "<td>analysis files</td><td>0</td>" in page and len(page) < 1000
