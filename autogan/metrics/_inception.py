"""``inception-v3``: torch-fidelity's exact port of the 2015 TF Inception graph, from local weights only.

IS and FID comparable with papers need exactly these weights; torchvision's
ImageNet Inception gives different numbers, so there is no fallback: a missing
file is an error that says which file is needed and where to put it.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tempfile
import warnings
from pathlib import Path

import torch
from torch_fidelity.feature_extractor_inceptionv3 import URL_INCEPTION_V3, FeatureExtractorInceptionV3

from autogan.errors import MissingFileError, UserError, first_line
from autogan.log import logger

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

    The file is read once: its checksum and the weights the network gets come from the
    same bytes, unpickled only by torch's safe loader.  The module never downloads.
    """
    path = resolve_inception_weights(weights_path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UserError(f"Inception weights {path}: cannot be read ({exc.strerror}): {_where_to_put_it()}") from None
    digest = hashlib.sha256(data).hexdigest()
    if path.name == INCEPTION_WEIGHTS_FILE and not digest.startswith(INCEPTION_SHA256_PREFIX):
        raise UserError(
            f"{path} has sha256 {digest[:8]}..., not {INCEPTION_SHA256_PREFIX}...: the download is incomplete or "
            f"altered; delete it and {_where_to_put_it()}"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the safe unpickler's remarks; its refusal is what we report
            state = torch.load(io.BytesIO(data), map_location="cpu", weights_only=True)
    except pickle.UnpicklingError:
        raise UserError(
            f"{path} is not a plain weights file that torch can load safely (it is damaged, or holds Python objects "
            f"besides tensors, which are not unpickled as that could run code): {_where_to_put_it()}"
        ) from None
    except Exception as exc:
        raise UserError(f"{path} is not a plain weights file that torch can load safely ({first_line(exc)}): {_where_to_put_it()}") from None
    del data
    try:
        module = _inception_with_state(state)
    except (RuntimeError, TypeError, AttributeError) as exc:
        raise UserError(f"{path} does not hold torch-fidelity's Inception weights ({first_line(exc)}): {_where_to_put_it()}") from None
    # Only weights that load are worth the warning: a refused file's error is its one line.
    if not digest.startswith(INCEPTION_SHA256_PREFIX):
        logger.warning(
            "Inception weights %s are not the published %s (sha256 %s...): IS and FID will not be comparable with papers",
            path,
            INCEPTION_WEIGHTS_FILE,
            digest[:8],
        )
    return module, path, digest


def _inception_with_state(state: dict[str, torch.Tensor]) -> FeatureExtractorInceptionV3:
    """torch-fidelity's network holding ``state``.

    torch-fidelity only builds it from a file, which it unpickles unsafely; it is built
    here without any weights, then turned into the plain class and given the state.
    """
    with tempfile.TemporaryDirectory() as scratch:
        empty = Path(scratch) / "empty.pth"
        buffer = io.BytesIO()
        torch.save({}, buffer)
        empty.write_bytes(buffer.getvalue())
        module = _InceptionSkeleton("inception-v3-compat", list(INCEPTION_FEATURES), feature_extractor_weights_path=str(empty))
    module.__class__ = FeatureExtractorInceptionV3  # the skeleton only differs in ignoring load_state_dict
    module.load_state_dict(state)
    return module


class _InceptionSkeleton(FeatureExtractorInceptionV3):
    # Accepts an empty state dict, so the architecture can be built without any weights file.
    def load_state_dict(self, state_dict, strict=True, assign=False):
        return None
