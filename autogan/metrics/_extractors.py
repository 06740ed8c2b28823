"""The feature-extractor registry: a name to a builder of :class:`FeatureExtractor`.

Every extractor wraps a torch-fidelity ``FeatureExtractorBase``, so Inception and
the digits classifier share one code path: float images in [-1, 1] are rounded to
uint8 exactly as torch-fidelity reads images, then the module's default IS and
FID layers are returned.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import torch
from torch_fidelity.feature_extractor_base import FeatureExtractorBase

from autogan.data._sources import float_to_uint8
from autogan.device import ieee_float32
from autogan.errors import ConfigError
from autogan.metrics._precision import bf16_autocast


class FeatureExtractor:
    """Images ``(B, C, H, W)`` (float in [-1, 1] or uint8, C in {1, 3}) to ``(features, logits)``.

    ``features`` ``(B, feature_dim)`` feed FID, ``logits`` ``(B, num_classes)`` feed IS;
    both float32 on ``device``.  ``identity`` names the extractor, its exact weights and
    its precision, and keys cached reference statistics.  The network runs in IEEE float32
    whatever ``run.tf32`` set for the process; ``bf16`` runs it under bfloat16 autocast on
    ``device`` instead, and on CUDA channels-last.
    """

    def __init__(
        self,
        name: str,
        module: FeatureExtractorBase,
        *,
        identity: str,
        input_channels: tuple[int, ...],
        feature_dim: int,
        num_classes: int,
        device: torch.device | str = "cpu",
        bf16: bool = False,
        info: dict[str, Any] | None = None,
    ):
        self.name = name
        self.module = module.eval().requires_grad_(False)
        self.identity = identity
        self.input_channels = input_channels
        self.feature_layer = module.get_default_feature_layer_for_metric("fid")
        self.logits_layer = module.get_default_feature_layer_for_metric("isc")
        if list(module.get_requested_features_list()) != [self.feature_layer, self.logits_layer]:
            raise ValueError(f"{name}: the module must be built to return ({self.feature_layer}, {self.logits_layer})")
        self.info = dict(info or {})
        self.bf16 = bf16
        if bf16:
            # Features computed in bf16 are not the float32 ones: a cached reference must not mix them.
            self.identity = f"{identity}-bf16"
        self.device = torch.device("cpu")
        self.feature_dim = feature_dim
        self.num_classes = num_classes
        self.to(device)

    @property
    def channels_last(self) -> bool:
        # cuDNN's bf16 convolutions are fastest in NHWC; on the CPU the layout would only cost copies.
        return self.bf16 and self.device.type == "cuda"

    def to(self, device: torch.device | str) -> "FeatureExtractor":
        self.device = torch.device(device)
        self.module.to(self.device)
        if self.channels_last:
            self.module.to(memory_format=torch.channels_last)
        return self

    def __call__(self, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        if images.dim() != 4 or images.shape[1] not in (1, 3):
            raise ValueError(f"{self.name}: expected images (B, 1|3, H, W), got shape {tuple(images.shape)}")
        images = images.to(self.device, non_blocking=True)
        if images.dtype != torch.uint8:
            # A bf16 generator's images: quantized in float32, where every level of 0..255 is exact.
            images = float_to_uint8(images.float())
        if images.shape[1] not in self.input_channels:
            images = images.expand(-1, 3, -1, -1)  # gray to RGB; the only conversion a module may need
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        # IEEE float32 even when the worker trains in TF32 (run.tf32): IS and FID, and the cached
        # reference statistics keyed without precision, are float32 numbers.
        with torch.no_grad(), ieee_float32(), bf16_autocast(self.device, self.bf16):
            features, logits = self.module(images)
        return features.float(), logits.float()

    def __repr__(self) -> str:
        return f"FeatureExtractor({self.name!r}, identity={self.identity!r}, device={self.device})"


Builder = Callable[..., FeatureExtractor]


@dataclass(frozen=True)
class ExtractorSpec:
    """A registered extractor: ``build(device=, weights_path=, cache_dir=, bf16=)`` makes one."""

    name: str
    build: Builder
    description: str = ""
    uses_weights_path: bool = field(default=False)


_REGISTRY: dict[str, ExtractorSpec] = {}
#: Read-only view of the registry, name -> spec: ``register_extractor`` is the one way in, so its
#: checks hold for every entry.
EXTRACTORS: Mapping[str, ExtractorSpec] = MappingProxyType(_REGISTRY)


def register_extractor(name: str, build: Builder, description: str = "", *, uses_weights_path: bool = False) -> None:
    """Register ``build`` under ``name``; a name is registered once."""
    if not isinstance(name, str) or not name or name.strip() != name or os.sep in name:
        raise ValueError(f"extractor name must be a non-empty string without spaces or path separators, got {name!r}")
    if name in EXTRACTORS:
        raise ValueError(f"feature extractor {name!r} is already registered")
    if not callable(build):
        raise ValueError(f"feature extractor {name!r}: build must be callable")
    _REGISTRY[name] = ExtractorSpec(name, build, description, uses_weights_path)


def extractor_names() -> tuple[str, ...]:
    """Registered extractor names, in registration order (CLI choices come from here)."""
    return tuple(EXTRACTORS)


def get_extractor(
    name: str,
    device: torch.device | str = "cpu",
    weights_path: str | os.PathLike | None = None,
    cache_dir: str | os.PathLike | None = None,
    *,
    bf16: bool = False,
) -> FeatureExtractor:
    """Build the registered extractor ``name`` on ``device``.

    ``weights_path`` overrides where its weights come from; ``cache_dir`` is where
    built-in extractors keep trained weights (default ``$AUTOGAN_CACHE`` or
    ``~/.cache/autogan``).  ``bf16`` runs the network under bfloat16 autocast on
    ``device`` (see :mod:`autogan.metrics._precision` for when rewards ask for it).
    """
    if name not in EXTRACTORS:
        raise ConfigError(f"unknown feature extractor {name!r}: choose one of {', '.join(extractor_names())}")
    return EXTRACTORS[name].build(device=device, weights_path=weights_path, cache_dir=cache_dir, bf16=bf16)


def default_extractor(dataset: str) -> str:
    """The extractor that makes sense for ``dataset``: the digits classifier for digits, Inception otherwise."""
    return "digits-classifier" if dataset == "digits" else "inception-v3"


def _build_inception(device="cpu", weights_path=None, cache_dir=None, bf16=False) -> FeatureExtractor:
    from autogan.metrics._inception import load_inception

    module, path, digest = load_inception(weights_path)
    return FeatureExtractor(
        "inception-v3",
        module,
        identity=f"inception-v3-{digest[:16]}",
        input_channels=(3,),
        feature_dim=module.fc.in_features,
        num_classes=module.fc.out_features,
        device=device,
        bf16=bf16,
        info={"weights": str(path), "sha256": digest},
    )


def _build_digits_classifier(device="cpu", weights_path=None, cache_dir=None, bf16=False) -> FeatureExtractor:
    from autogan.metrics._digits_classifier import TORCH_FIDELITY_NAME, DigitsClassifierExtractor

    module = DigitsClassifierExtractor(
        TORCH_FIDELITY_NAME,
        ["features", "logits"],
        feature_extractor_weights_path=str(weights_path) if weights_path else None,
        cache_dir=cache_dir,
    )
    trained = module.trained
    return FeatureExtractor(
        "digits-classifier",
        module,
        identity=f"digits-classifier-{trained.checksum[:16]}",
        input_channels=(1, 3),
        feature_dim=module.net.fc.in_features,
        num_classes=module.net.fc.out_features,
        device=device,
        bf16=bf16,
        info={
            "weights": str(trained.path) if trained.path else None,
            "held_out_accuracy": trained.accuracy,
            "held_out_images": trained.num_test,
        },
    )


register_extractor(
    "inception-v3",
    _build_inception,
    "torch-fidelity's exact port of the 2015 TF Inception (paper-comparable IS/FID; needs its weights file)",
    uses_weights_path=True,
)
register_extractor(
    "digits-classifier",
    _build_digits_classifier,
    "small CNN trained on the built-in digits on first use, then cached",
)
