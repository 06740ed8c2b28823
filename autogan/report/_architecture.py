"""The architecture diagram: one SVG per architecture, drawn here (no Graphviz binary)."""

from __future__ import annotations

from typing import Any

from search_spaces import Architecture

from autogan.report._svg import arrow, box, esc, label

_CONV_COLOURS = {"pre": "#2b6cb0", "post": "#b7791f"}
_CELL_W, _CELL_GAP, _TOP, _CELL_H = 224, 46, 64, 170


def _conv_chain(cell: Any, first: bool) -> str:
    """The ops of one of the cell's two convs in execution order."""
    norm = [] if cell.norm == "none" else [cell.norm.upper()]
    up = [f"up:{cell.up}"] if first else []
    if cell.conv == "pre":
        ops = [*norm, "ReLU", *up, "conv3×3"]
    elif cell.conv == "post":
        ops = [*up, "conv3×3", *norm, "ReLU"]
    else:
        ops = [*up, f"{cell.conv} conv3×3", *norm]
    return " → ".join(ops)


def architecture_svg(arch: Architecture, *, bottom_width: int = 4, title: str = "") -> str:
    """An inline SVG diagram of ``arch``: one box per cell with its two convs, the shortcut
    as an arc over the cell, and skip-ins as curves from an earlier cell's first conv."""
    n = len(arch.cells)
    x0 = 110
    width = x0 + n * (_CELL_W + _CELL_GAP) + 90
    skip_rows = sum(len(c.skips) for c in arch.cells)
    height = _TOP + _CELL_H + 26 + 22 * skip_rows
    out: list[str] = [
        f'<svg class="arch" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
        f'aria-label="{esc(title or str(arch))}">',
        f"<title>{esc(str(arch))}</title>",
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z" fill="#4a5568"/></marker></defs>',
    ]
    mid = _TOP + _CELL_H / 2
    # The fixed stem: latent -> linear -> bottom feature map.
    out.append(box(8, mid - 26, 82, 52, "#edf2f7", "#4a5568"))
    out.append(label(49, mid - 6, "z → Linear", size=11, anchor="middle"))
    out.append(label(49, mid + 10, f"{bottom_width}×{bottom_width}", size=11, anchor="middle"))
    out.append(arrow(90, mid, x0, mid))
    size = bottom_width
    first_conv_out: dict[int, tuple[float, float]] = {}
    for number, cell in enumerate(arch.cells, start=1):
        left = x0 + (number - 1) * (_CELL_W + _CELL_GAP)
        colour = _CONV_COLOURS.get(cell.conv, "#4a5568")
        out.append(box(left, _TOP, _CELL_W, _CELL_H, "#ffffff", colour, stroke_width=2, rounded=8))
        out.append(label(left + 10, _TOP + 18, f"cell {number}", size=13, weight="bold", fill=colour))
        out.append(
            label(left + _CELL_W - 10, _TOP + 18, f"{size}→{size * 2}", size=11, anchor="end", fill="#4a5568")
        )
        out.append(
            label(
                left + 10,
                _TOP + 34,
                f"{cell.conv}-activation · norm {cell.norm} · up {cell.up}",
                size=10,
                fill="#2d3748",
            )
        )
        # Conv 1 (upsamples), the skip-in add, conv 2.
        box_x, box_w = left + 24, _CELL_W - 48
        out.append(box(box_x, _TOP + 44, box_w, 34, "#ebf4ff" if cell.conv == "pre" else "#fffaf0", colour))
        out.append(label(box_x + box_w / 2, _TOP + 58, "conv 1", size=10, anchor="middle", weight="bold"))
        out.append(label(box_x + box_w / 2, _TOP + 72, _conv_chain(cell, True), size=9.5, anchor="middle"))
        add_y = _TOP + 96
        out.append(arrow(box_x + box_w / 2, _TOP + 78, box_x + box_w / 2, add_y - 8))
        if cell.skips:
            out.append(f'<circle cx="{box_x + box_w / 2}" cy="{add_y}" r="8" fill="#fff" stroke="#c53030" stroke-width="1.5"/>')
            out.append(label(box_x + box_w / 2, add_y + 4, "+", size=12, anchor="middle", fill="#c53030", weight="bold"))
        else:
            out.append(f'<line x1="{box_x + box_w / 2}" y1="{add_y - 8}" x2="{box_x + box_w / 2}" y2="{add_y + 8}" stroke="#4a5568"/>')
        first_conv_out[number] = (box_x + box_w / 2, add_y)
        out.append(arrow(box_x + box_w / 2, add_y + 8, box_x + box_w / 2, _TOP + 116))
        out.append(box(box_x, _TOP + 116, box_w, 34, "#ebf4ff" if cell.conv == "pre" else "#fffaf0", colour))
        out.append(label(box_x + box_w / 2, _TOP + 130, "conv 2", size=10, anchor="middle", weight="bold"))
        out.append(label(box_x + box_w / 2, _TOP + 144, _conv_chain(cell, False), size=9.5, anchor="middle"))
        # The shortcut: conv1x1(up(input)) added to the cell output; drawn as an arc over the box.
        if cell.shortcut:
            # Up over the box and down into the cell's output, clear of the labels inside.
            sx0, sx1, over = left - _CELL_GAP / 2 + 6, left + _CELL_W + _CELL_GAP / 2 - 6, _TOP - 14
            out.append(
                f'<path d="M{sx0},{mid} L{sx0},{over + 8} Q{sx0},{over} {sx0 + 8},{over} L{sx1 - 8},{over} '
                f'Q{sx1},{over} {sx1},{over + 8} L{sx1},{mid - 6}" fill="none" stroke="#2f855a" stroke-width="2" '
                'stroke-dasharray="5 3" marker-end="url(#arrow)"/>'
            )
            out.append(
                label(left + _CELL_W / 2, over - 5, f"shortcut: conv1×1(up:{cell.up}(x))", size=10, anchor="middle", fill="#2f855a")
            )
        next_left = left + _CELL_W + _CELL_GAP
        out.append(arrow(left + _CELL_W, mid, next_left if number < n else next_left, mid))
        size *= 2
    # The output head.
    head_x = x0 + n * (_CELL_W + _CELL_GAP)
    out.append(box(head_x, mid - 26, 82, 52, "#edf2f7", "#4a5568"))
    out.append(label(head_x + 41, mid - 6, "to_rgb", size=11, anchor="middle"))
    out.append(label(head_x + 41, mid + 10, f"{size}×{size} · tanh", size=10, anchor="middle"))
    # Skip-ins: from cell i's first-conv output, down the right margin of cell i, along a lane
    # under the boxes, and up the left margin of cell j into its add; never across a conv box.
    # Each skip has its own lane and its own vertical offsets, so no two paths share a segment, and its
    # label sits in the left margin at the lane's height, where no path runs.
    lane = _TOP + _CELL_H + 18
    leaving: dict[int, int] = {}
    entering: dict[int, int] = {}
    for number, cell in enumerate(arch.cells, start=1):
        for source in cell.skips:
            sx, sy = first_conv_out[source]
            tx, ty = first_conv_out[number]
            out_x = sx + box_w / 2 + 12 + 7 * leaving.get(source, 0)
            in_x = tx - box_w / 2 - 12 - 7 * entering.get(number, 0)
            leaving[source] = leaving.get(source, 0) + 1
            entering[number] = entering.get(number, 0) + 1
            out.append(
                f'<path d="M{sx + 8},{sy} L{out_x},{sy} L{out_x},{lane} L{in_x},{lane} L{in_x},{ty} L{tx - 9},{ty}" '
                'fill="none" stroke="#c53030" stroke-width="1.6" marker-end="url(#arrow)"/>'
            )
            out.append(label(8, lane + 4, f"skip: cell {source} → cell {number} (resize + conv1×1)", size=10, fill="#c53030"))
            lane += 22
    out.append("</svg>")
    return "".join(out)
