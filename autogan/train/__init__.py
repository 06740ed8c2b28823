"""Training steps and their helpers: losses, one-stage and two-stage steps, EMA, resets.

``one_stage_step`` and ``two_stage_step`` share one signature; see ``autogan.train._steps``
for how one-stage steps stay exact for every loss, hinge included.
"""

from types import MappingProxyType

from autogan.train._ema import EMA
from autogan.train._losses import LOSSES, Loss, get_loss, register_loss
from autogan.train._options import StepOptions, to_channels_last
from autogan.train._regularization import OrthogonallyRegularized
from autogan.train._reset import ResetMonitor
from autogan.train._stats import StepStats
from autogan.train._steps import inactive_input_gradient, one_stage_step, two_stage_step

#: Step functions by ``train.step``, keyed as the config spells it (read-only: a saved config's
#: name must keep meaning the same step).
STEPS = MappingProxyType({"one_stage": one_stage_step, "two_stage": two_stage_step})

__all__ = [
    "EMA",
    "LOSSES",
    "Loss",
    "OrthogonallyRegularized",
    "ResetMonitor",
    "STEPS",
    "StepOptions",
    "StepStats",
    "get_loss",
    "inactive_input_gradient",
    "one_stage_step",
    "register_loss",
    "to_channels_last",
    "two_stage_step",
]
