"""The supernet trainer as the driver calls it, and how the driver gets it back after it was lost."""

from __future__ import annotations

import time
from typing import Any

from workers import is_worker_death

#: Lost workers survived per run before the search gives up.
MAX_RECOVERIES = 5


class PinnedTrainer:
    """Calls to the trainer actor that name the instance whose state the driver expects.

    A restarted actor is a new instance with fresh weights; pinned calls make it fail
    loudly until the driver has loaded the checkpoint back into it.
    """

    def __init__(self, actor: Any):
        self.actor = actor
        self.instance = actor.call("instance_id").result()

    def call(self, method: str, *args: Any) -> Any:
        if method == "load_state_dict":
            return self.actor.call(method, *args)
        return self.actor.call(method, *args, instance=self.instance)

    def repin(self, timeout: float = 120.0) -> None:
        """Pin the restarted trainer, once the backend has brought it back."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                self.instance = self.actor.call("instance_id").result()
                return
            except Exception as exc:
                if not is_worker_death(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)
