"""Inspect a search: the ranked table, and one self-contained HTML report.

``_run`` reads and ranks a run directory, ``_table`` formats the ranking as text, ``_size`` prints
an architecture's size (counted at the retrain width by ``autogan.retrain``), ``_architecture``
draws the diagrams, ``_charts`` the curves (matplotlib), ``_quality`` the quality-against-size
chart, and ``_page`` assembles them into the HTML report.
"""

from autogan.report._page import write_report
from autogan.report._run import load_run, rank
from autogan.report._size import size_text
from autogan.report._table import format_table, ranking_rows

__all__ = [
    "format_table",
    "load_run",
    "rank",
    "ranking_rows",
    "size_text",
    "write_report",
]
