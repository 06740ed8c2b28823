"""Inspect a search: the ranked table, and one self-contained HTML report.

``run`` reads and ranks a run directory, ``table`` formats the ranking as text, ``size`` prints an
architecture's size (counted at the retrain width by ``autogan.retrain``),
``architecture`` draws the diagrams, ``charts`` the curves (matplotlib), and ``page`` assembles
them into the HTML report.
"""

from autogan.report.architecture import architecture_svg
from autogan.report.charts import search_charts
from autogan.report.page import render_html, write_report
from autogan.report.run import RunSummary, latest_sample_grid, load_run, rank
from autogan.report.size import size_text
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
    "size_text",
    "write_report",
]
