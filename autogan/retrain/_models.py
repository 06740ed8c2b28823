"""The retrained networks: the standalone generator and the SN-ResNet discriminator, from stored arguments."""

from __future__ import annotations

from typing import Any

from torch import nn

from search_spaces import Architecture

from autogan.config import RetrainConfig
from autogan.seeding import SeedPurpose, derived_seed


def build_generator(args: dict[str, Any]) -> nn.Module:
    """A generator from the ``model["generator"]`` dict of a retrain checkpoint (or ``generator_args``)."""
    from autogan.nn import Generator, apply_spectral_norm

    arch = Architecture.from_dict(args["arch"])
    generator = Generator(
        arch,
        int(args["ch"]),
        int(args["latent_dim"]),
        int(args["bottom_width"]),
        int(args["out_channels"]),
        skip_out_includes_skip_ins=bool(args.get("skip_out_includes_skip_ins", False)),
        seed=int(args.get("seed", 0)),
    )
    if args.get("spectral_norm"):
        apply_spectral_norm(generator, int(args.get("seed", 0)))
    return generator


def generator_args(config: RetrainConfig, arch: Architecture) -> dict[str, Any]:
    """Constructor arguments of the retrained generator: what a checkpoint needs to rebuild it."""
    return {
        "arch": arch.to_dict(),
        "ch": config.model.ch,
        "latent_dim": config.model.latent_dim,
        "bottom_width": config.model.bottom_width,
        "out_channels": config.data.channels,
        "skip_out_includes_skip_ins": config.model.skip_semantics == "reference",
        "spectral_norm": config.model.g_spectral_norm,
        "seed": derived_seed(config.run.seed, SeedPurpose.RETRAIN_G_INIT) % 2**31,
    }


def discriminator_args(config: RetrainConfig, arch: Architecture) -> dict[str, Any]:
    return {
        "df": config.model.df,
        "in_channels": config.data.channels,
        "stages": len(arch.cells),
        "extra_blocks": config.model.d_extra_blocks,
        "seed": derived_seed(config.run.seed, SeedPurpose.RETRAIN_D_INIT) % 2**31,
    }


def build_discriminator(args: dict[str, Any]) -> nn.Module:
    from autogan.nn import Discriminator

    return Discriminator(
        int(args["df"]),
        int(args["in_channels"]),
        int(args["stages"]),
        extra_blocks=int(args.get("extra_blocks", 0)),
        seed=int(args.get("seed", 0)),
    )
