"""GAN models: the weight-sharing supernet generator, derived generators and the discriminator.

Ops (conv block types, norms, upsamplings) are looked up by the names that
``search_spaces`` registers; ``register_conv_op`` / ``register_norm_op`` /
``register_up_op`` teach the networks a new one.
"""

from autogan.nn._cost import CellCosts, Cost, cell_costs, generator_cost
from autogan.nn._discriminator import Discriminator, SpectralNorm
from autogan.nn._generator import Generator, GeneratorCell, SupernetCell, SupernetGenerator
from autogan.nn._norm_statistics import (
    NORM_MODES,
    batch_statistics,
    recalibrate_batch_norms,
    restore_running_statistics,
    running_statistics,
)
from autogan.nn._ops import (
    ConvOp,
    Interpolate,
    OpNotImplemented,
    implemented_ops,
    register_conv_op,
    register_norm_op,
    register_up_op,
)
from autogan.nn._spectral import apply_spectral_norm

__all__ = [
    "NORM_MODES",
    "ConvOp",
    "CellCosts",
    "Cost",
    "Discriminator",
    "Generator",
    "GeneratorCell",
    "Interpolate",
    "OpNotImplemented",
    "SpectralNorm",
    "SupernetCell",
    "SupernetGenerator",
    "apply_spectral_norm",
    "batch_statistics",
    "cell_costs",
    "generator_cost",
    "implemented_ops",
    "register_conv_op",
    "register_norm_op",
    "recalibrate_batch_norms",
    "register_up_op",
    "restore_running_statistics",
    "running_statistics",
]
