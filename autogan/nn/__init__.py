"""GAN models: the weight-sharing supernet generator, derived generators and the discriminator.

Ops (conv block types, norms, upsamplings) are looked up by the names that
``search_spaces`` registers; ``register_conv_op`` / ``register_norm_op`` /
``register_up_op`` teach the networks a new one.
"""

from autogan.nn._cost import cell_costs, generator_cost
from autogan.nn._discriminator import Discriminator
from autogan.nn._generator import Generator, SupernetGenerator
from autogan.nn._norm_statistics import (
    batch_statistics,
    recalibrate_batch_norms,
    restore_running_statistics,
    running_statistics,
)
from autogan.nn._ops import ConvOp, register_conv_op, register_norm_op, register_up_op
from autogan.nn._spectral import apply_spectral_norm

__all__ = [
    "ConvOp",
    "Discriminator",
    "Generator",
    "SupernetGenerator",
    "apply_spectral_norm",
    "batch_statistics",
    "cell_costs",
    "generator_cost",
    "recalibrate_batch_norms",
    "register_conv_op",
    "register_norm_op",
    "register_up_op",
    "restore_running_statistics",
    "running_statistics",
]
