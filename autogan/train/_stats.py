"""What a training step returns: its scalars, left on the device until someone reads them."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from typing import Sequence

import torch
from torch import Tensor


@dataclass(frozen=True, eq=False, repr=False)
class StepStats:
    """Scalars of one step, left on the device so that the step never waits for it.

    ``values`` is ``(loss_d, loss_g, d_real, d_fake, inactive)``, float32, shape ``(5,)``,
    with ``loss_g`` NaN for a D-only step.  The first named field read copies all five to
    the host (a sync on CUDA); ``StepStats.read_all`` does that for many steps at once.
    Equality, hashing and repr are by the named fields, so they read too.
    """

    values: Tensor  # (5,)
    trains_g: bool

    @cached_property
    def _numbers(self) -> list[float]:
        return self.values.tolist()

    @staticmethod
    def read_all(stats: Sequence["StepStats"]) -> None:
        """Copy the statistics of many steps to the host in one transfer; their fields then read for free."""
        if not stats:
            return
        rows = torch.stack([s.values for s in stats]).tolist()  # (steps, 5): one sync
        for s, row in zip(stats, rows):
            s.__dict__["_numbers"] = row  # what the cached property would have stored

    @property
    def loss_d(self) -> float:
        return self._numbers[0]

    @property
    def loss_g(self) -> float | None:
        """None for a D-only step."""
        return self._numbers[1] if self.trains_g else None

    @property
    def d_real(self) -> float:
        """Mean D output on real images."""
        return self._numbers[2]

    @property
    def d_fake(self) -> float:
        """Mean D output on fake images."""
        return self._numbers[3]

    @property
    def inactive(self) -> int:
        """Fake samples whose D gradient is zero or too small for the one-stage ratio (merged steps only)."""
        return int(self._numbers[4])

    _NAMES = ("loss_d", "loss_g", "d_real", "d_fake", "inactive")

    def _fields(self) -> tuple:
        return tuple(getattr(self, name) for name in self._NAMES)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, StepStats):
            return NotImplemented
        return self._fields() == other._fields()

    def __hash__(self) -> int:
        return hash(self._fields())

    def __repr__(self) -> str:
        return "StepStats(" + ", ".join(f"{n}={v!r}" for n, v in zip(self._NAMES, self._fields())) + ")"
