"""The SVG primitives the architecture diagram and the charts are drawn with."""

from __future__ import annotations

import html
from typing import Any


def esc(value: Any) -> str:
    """``value`` as text safe inside an SVG or HTML element or a quoted attribute."""
    return html.escape(str(value), quote=True)


def box(x: float, y: float, w: float, h: float, fill: str, stroke: str, *, stroke_width: float = 1, rounded: float = 4) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{w:.1f}" height="{h:.1f}" rx="{rounded}" fill="{fill}" '
        f'stroke="{stroke}" stroke-width="{stroke_width}"/>'
    )


def label(x: float, y: float, text: str, *, size: float = 11, anchor: str = "start", fill: str = "#1a202c", weight: str = "normal") -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" fill="{fill}" '
        f'font-weight="{weight}">{esc(text)}</text>'
    )


def arrow(x1: float, y1: float, x2: float, y2: float) -> str:
    return (
        f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" stroke="#4a5568" stroke-width="1.4" '
        'marker-end="url(#arrow)"/>'
    )
