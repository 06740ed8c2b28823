"""Inspect a search: the ranked table, and one self-contained HTML report.

``run`` reads and ranks a run directory, ``table`` formats the ranking as text,
``architecture`` draws the diagrams, ``charts`` the curves (matplotlib), and ``page`` assembles
them into the HTML report.
"""

from autogan.report.architecture import architecture_svg
from autogan.report.charts import search_charts
from autogan.report.page import render_html, write_report
from autogan.report.run import RunSummary, latest_sample_grid, load_run, rank
from autogan.report.table import format_table, ranking_rows

__all__ = [
    "RunSummary",
    "architecture_svg",
    "format_table",
    "latest_sample_grid",
    "load_run",
    "rank",
    "ranking_rows",
    "render_html",
    "search_charts",
    "write_report",
]
