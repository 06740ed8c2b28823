"""How far a retraining has come: a tqdm bar on a terminal, else a log line a minute.

A listener of the ``Retrainer`` like the writer, so the loop only trains and evaluates.
"""

from __future__ import annotations

import time
from typing import Any, Sequence

from autogan.log import logger

PROGRESS_EVERY = 60.0  # seconds between progress lines where there is no bar


class RetrainProgress:
    """The bar (or the log lines) of one ``Retrainer.run`` from G step ``initial`` to ``total``."""

    def __init__(self, total: int, initial: int, interactive: bool | None):
        from tqdm.auto import tqdm

        self.total = total
        # None: a bar where stderr is a terminal (tqdm decides), log lines elsewhere.
        self.bar = tqdm(total=total, initial=initial, desc="retrain", unit="G step",
                        disable=None if interactive is None else not interactive)
        self.started = self.last_line = time.monotonic()
        self.first_step = initial

    def trained(self, retrainer: Any, losses: dict[str, float]) -> None:
        self.bar.update(1)
        if self.bar.disable and time.monotonic() - self.last_line >= PROGRESS_EVERY:
            self.last_line = time.monotonic()
            rate = (retrainer.step - self.first_step) / (self.last_line - self.started)
            logger.info("retrain: G step %d of %d, %.2f G steps/s, about %.1f min left; loss_d %.3f, loss_g %.3f",
                        retrainer.step, self.total, rate, (self.total - retrainer.step) / rate / 60,
                        losses["loss_d"], losses["loss_g"])
        self.bar.set_postfix(loss_d=f"{losses['loss_d']:.3f}", loss_g=f"{losses['loss_g']:.3f}")

    def evaluated(self, retrainer: Any, evaluations: Sequence[Any], new_best: bool) -> None:
        pass

    def close(self) -> None:
        self.bar.close()
