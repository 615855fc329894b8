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


def test_the_parser_and_import_neurodyn_leave_torch_unimported():
    # `neurodyn --help` built the parser with torch's version in it, and `import neurodyn`
    # imported every subpackage: a second or more before any command could speak
    import subprocess
    import sys

    code = (
        "import sys, neurodyn, neurodyn.cli as cli; cli.build_parser(); "
        "print(sorted(m for m in ('torch', 'scipy', 'matplotlib.pyplot') if m in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
    # and the loop's names still come with the package
    code = "import neurodyn; print(neurodyn.CTRNN.__name__, neurodyn.tasks.get('pdm').n_inputs)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.stdout.strip() == "CTRNN 3", done.stderr


def test_python_m_neurodyn_runs_the_command():
    # `python -m neurodyn` said "'neurodyn' is a package and cannot be directly executed"
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-m", "neurodyn", "--version"], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith(f"neurodyn {neurodyn.__version__}, torch ")
