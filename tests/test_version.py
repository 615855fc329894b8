"""neurodyn --version, and the versions recorded with every new run and shown in its report."""

import numpy as np
import pytest
import torch

import neurodyn
from neurodyn.cli import main
from neurodyn.report.html import render_report
from neurodyn.runs import Run, parse_config


def test_version_prints_neurodyn_torch_and_numpy(capsys):
    with pytest.raises(SystemExit) as stop:
        main(["--version"])
    assert stop.value.code == 0
    assert capsys.readouterr().out == (
        f"neurodyn {neurodyn.__version__}, torch {torch.__version__}, numpy {np.__version__}\n"
    )


def test_a_new_run_records_the_versions_and_its_report_shows_them(tmp_path):
    config = parse_config({"task": "flipflop", "model": {"n_hidden": 8, "seeds": [1]}})
    run = Run.create(tmp_path, config, run_id="r")
    recorded = Run.open(run.path).info().versions
    assert recorded == {
        "neurodyn": neurodyn.__version__,
        "torch": torch.__version__,
        "numpy": np.__version__,
    }
    assert (
        f"with neurodyn {neurodyn.__version__}, torch {torch.__version__}, numpy {np.__version__}"
        in render_report(run)
    )
