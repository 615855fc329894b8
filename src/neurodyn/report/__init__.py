"""Reports: the self-contained HTML report of a run, a sweep and a comparison of networks,
built from the public blocks of `neurodyn.report.blocks`."""

from neurodyn.report.compare import write_comparison_report
from neurodyn.report.html import render_report, write_report
from neurodyn.report.sweep import write_sweep_report

__all__ = ["render_report", "write_comparison_report", "write_report", "write_sweep_report"]
