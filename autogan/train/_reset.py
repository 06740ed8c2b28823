"""AutoGAN's dynamic reset: detect a collapsed supernet from flat loss curves."""

from __future__ import annotations

import math
from collections import deque
from typing import Any

import numpy as np


class ResetMonitor:
    """Keeps the last ``window`` losses of G and of D.

    ``update(loss_g, loss_d)`` returns True (collapsed) once a window is full and its
    population variance (``np.var``, as the reference) is below ``threshold``, for either
    network.  A non-finite loss also returns True: a diverged supernet needs the same
    reset.  ``None`` skips a network for that call (e.g. ``loss_g`` of a D-only step).
    After resetting the networks, call ``reset()``.
    """

    def __init__(self, window: int = 500, threshold: float = 1e-3) -> None:
        if isinstance(window, bool) or not isinstance(window, int) or window < 2:
            raise ValueError(f"ResetMonitor: window={window!r} must be an integer of at least 2")
        if not threshold >= 0:
            raise ValueError(f"ResetMonitor: threshold={threshold!r} must be non-negative")
        self.window = window
        self.threshold = float(threshold)
        self._g: deque[float] = deque(maxlen=window)
        self._d: deque[float] = deque(maxlen=window)

    def update(self, loss_g: float | None, loss_d: float | None) -> bool:
        collapsed = False
        for history, value in ((self._g, loss_g), (self._d, loss_d)):
            if value is None:
                continue
            value = float(value)
            if not math.isfinite(value):
                collapsed = True
                continue
            history.append(value)
            if len(history) == self.window and np.var(np.fromiter(history, dtype=np.float64)) < self.threshold:
                collapsed = True
        return collapsed

    def variances(self) -> tuple[float | None, float | None]:
        """Current ``(var_g, var_d)``, None while a window is not yet full."""
        return tuple(
            float(np.var(np.fromiter(h, dtype=np.float64))) if len(h) == self.window else None
            for h in (self._g, self._d)
        )

    def reset(self) -> None:
        self._g.clear()
        self._d.clear()

    def state_dict(self) -> dict[str, Any]:
        return {"window": self.window, "threshold": self.threshold, "g": list(self._g), "d": list(self._d)}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.window = int(state["window"])
        self.threshold = float(state["threshold"])
        self._g = deque((float(v) for v in state["g"]), maxlen=self.window)
        self._d = deque((float(v) for v in state["d"]), maxlen=self.window)
