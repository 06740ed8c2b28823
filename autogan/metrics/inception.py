"""``inception-v3``: torch-fidelity's exact port of the 2015 TF Inception graph, from local weights only.

IS and FID comparable with papers need exactly these weights; torchvision's
ImageNet Inception gives different numbers, so there is no fallback: a missing
file is an error that says which file is needed and where to put it.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
import torch.nn as nn
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3, FeatureExtractorInceptionV3

from autogan.errors import MissingFileError, UserError, first_line
from autogan.log import logger
from autogan.metrics.cache import file_sha256

INCEPTION_WEIGHTS_FILE = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_SHA256_PREFIX = "6726825d"
INCEPTION_WEIGHTS_URL = URL_INCEPTION_V3
INCEPTION_WEIGHTS_ENV = "AUTOGAN_INCEPTION_WEIGHTS"
# torch-fidelity's layer names: pool features for FID, bias-free logits for IS (its defaults for both).
INCEPTION_FEATURES = ("2048", "logits_unbiased")


def torch_fidelity_cache_path() -> Path:
    """Where torch-fidelity's own download lands: torch hub's ``checkpoints`` directory."""
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_WEIGHTS_FILE


def _where_to_put_it() -> str:
    return (
        f"download {INCEPTION_WEIGHTS_URL} (sha256 starts with {INCEPTION_SHA256_PREFIX}) on a machine with "
        f"internet access and put it at {torch_fidelity_cache_path()}, or give its path "
        f"(--inception-weights PATH, search.inception_weights=PATH, or {INCEPTION_WEIGHTS_ENV})"
    )


def resolve_inception_weights(weights_path: str | os.PathLike | None = None) -> Path:
    """The weights file to use: ``weights_path``, else ``$AUTOGAN_INCEPTION_WEIGHTS``, else torch-fidelity's cache.

    Raises :class:`MissingFileError` naming the file, its checksum prefix and where to put it.
    """
    for given, origin in ((weights_path, "--inception-weights"), (os.environ.get(INCEPTION_WEIGHTS_ENV), INCEPTION_WEIGHTS_ENV)):
        if given:
            path = Path(given).expanduser()
            if not path.is_file():
                raise MissingFileError(
                    f"Inception weights {path} (from {origin}) do not exist: point it at {INCEPTION_WEIGHTS_FILE}, "
                    f"or {_where_to_put_it()}"
                )
            return path
    cached = torch_fidelity_cache_path()
    if cached.is_file():
        return cached
    raise MissingFileError(f"inception-v3 needs {INCEPTION_WEIGHTS_FILE}, not found at {cached}: {_where_to_put_it()}")


def load_inception(weights_path: str | os.PathLike | None = None) -> tuple[FeatureExtractorInceptionV3, Path, str]:
    """torch-fidelity's ``FeatureExtractorInceptionV3`` with local weights; returns (module, path, sha256).

    The module never downloads: it is always given a local path.
    """
    path = resolve_inception_weights(weights_path)
    digest = file_sha256(path)
    if path.name == INCEPTION_WEIGHTS_FILE and not digest.startswith(INCEPTION_SHA256_PREFIX):
        raise UserError(
            f"{path} has sha256 {digest[:8]}..., not {INCEPTION_SHA256_PREFIX}...: the download is incomplete or "
            f"altered; delete it and {_where_to_put_it()}"
        )
    if not digest.startswith(INCEPTION_SHA256_PREFIX):
        logger.warning(
            "Inception weights %s are not the published %s (sha256 %s...): IS and FID will not be comparable with papers",
            path,
            INCEPTION_WEIGHTS_FILE,
            digest[:8],
        )
    # torch-fidelity reads the file with weights_only=False; reading it first with the safe unpickler
    # guarantees that read can only produce tensors.  mmap keeps this check cheap.
    try:
        torch.load(path, map_location="cpu", weights_only=True, mmap=True)
    except Exception as exc:
        raise UserError(f"{path} is not a plain weights file that torch can load safely ({exc}): {_where_to_put_it()}") from exc
    try:
        module = FeatureExtractorInceptionV3("inception-v3-compat", list(INCEPTION_FEATURES), feature_extractor_weights_path=str(path))
    except RuntimeError as exc:
        raise UserError(f"{path} does not hold torch-fidelity's Inception weights ({first_line(exc)}): {_where_to_put_it()}") from exc
    return module, path, digest


class _InceptionSkeleton(FeatureExtractorInceptionV3):
    # Accepts an empty state dict, so the architecture can be built without any weights file.
    def load_state_dict(self, state_dict, strict=True, assign=False):
        return None


def random_inception_state_dict(seed: int = 0) -> dict[str, torch.Tensor]:
    """A state dict in the published file's exact format (names, shapes, dtypes) with seeded random values.

    For tests and speed benchmarks of the real network without the real weights;
    scores computed with it mean nothing.  Conv and linear weights are He-normal,
    batch norms the identity, so activations keep their scale through the depth.
    """
    import io
    import tempfile

    with tempfile.TemporaryDirectory() as scratch, torch.device("meta"):
        empty = Path(scratch) / "empty.pth"
        with torch.device("cpu"):
            buffer = io.BytesIO()
            torch.save({}, buffer)
            empty.write_bytes(buffer.getvalue())
        skeleton = _InceptionSkeleton("inception-v3-compat", ["2048"], feature_extractor_weights_path=str(empty))
    skeleton = skeleton.to_empty(device="cpu")
    generator = torch.Generator().manual_seed(seed)
    for module in skeleton.modules():
        if isinstance(module, (nn.Conv2d, nn.Linear)):
            nn.init.kaiming_normal_(module.weight, nonlinearity="relu", generator=generator)
            if module.bias is not None:
                nn.init.normal_(module.bias, std=0.01, generator=generator)
        elif isinstance(module, nn.BatchNorm2d):
            nn.init.ones_(module.weight)
            nn.init.zeros_(module.bias)
            module.running_mean.zero_()
            module.running_var.fill_(1.0)
            module.num_batches_tracked.zero_()
    return {k: v.detach().clone() for k, v in skeleton.state_dict().items()}
