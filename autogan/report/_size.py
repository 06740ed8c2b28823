"""An architecture's size as the views print it (counted by ``autogan.retrain``, at the retrain width)."""

from __future__ import annotations

from typing import Any


def size_text(size: dict[str, Any] | None) -> str:
    """``1.23M params, 0.456 GMACs`` (per image)."""
    if size is None:
        return "-"
    return f"{params_text(size['params'])} params, {size['gmacs']:.3f} GMACs"


def params_text(params: int) -> str:
    """``94.4k`` or ``1.23M``."""
    return f"{params / 1e6:.2f}M" if params >= 1e6 else f"{params / 1e3:.1f}k"
