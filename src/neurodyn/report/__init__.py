"""The self-contained HTML report of a run."""

from neurodyn.report.html import render_report, write_report

__all__ = ["render_report", "write_report"]
