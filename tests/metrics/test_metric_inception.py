"""The real Inception path (torch-fidelity's port) exercised with seeded random weights in its file format."""

from __future__ import annotations

import pytest
import torch
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

from cli_contract import assert_one_line_error

from autogan.cli import main
from autogan.data._digits import load_digits
from autogan.data._sources import float_to_uint8
from autogan.errors import MissingFileError, UserError
from autogan.metrics import INCEPTION_SHA256_PREFIX, get_extractor, resolve_inception_weights
from autogan.metrics._inception import INCEPTION_WEIGHTS_FILE, torch_fidelity_cache_path


@pytest.fixture
def no_torch_fidelity_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))
    monkeypatch.delenv("AUTOGAN_INCEPTION_WEIGHTS", raising=False)
    return tmp_path


def test_inception_loads_and_runs_through_our_code(metrics_inception_extractor, metrics_inception_weights):
    extractor = metrics_inception_extractor
    assert isinstance(extractor.module, FeatureExtractorInceptionV3)
    gray = load_digits(size=32)[:3]  # gray images are replicated to RGB on the way in
    features, logits = extractor(gray)
    assert features.shape == (3, 2048) and logits.shape == (3, 1008)
    assert torch.isfinite(features).all() and torch.isfinite(logits).all()
    assert features.std() > 0
    # Same numbers as torch-fidelity's module fed the uint8 RGB images directly.
    reference = FeatureExtractorInceptionV3(
        "inception-v3-compat", ["2048", "logits_unbiased"], feature_extractor_weights_path=str(metrics_inception_weights)
    )
    expected = reference(float_to_uint8(gray).expand(-1, 3, -1, -1))
    torch.testing.assert_close(features, expected[0], rtol=0, atol=0)
    torch.testing.assert_close(logits, expected[1], rtol=0, atol=0)
    assert extractor.identity.startswith("inception-v3-")


def test_inception_weights_from_env_var_and_explicit_path(metrics_inception_weights, no_torch_fidelity_cache, monkeypatch):
    monkeypatch.setenv("AUTOGAN_INCEPTION_WEIGHTS", str(metrics_inception_weights))
    assert resolve_inception_weights() == metrics_inception_weights
    explicit = no_torch_fidelity_cache / "explicit.pth"
    explicit.write_bytes(b"")
    assert resolve_inception_weights(explicit) == explicit  # an explicit path wins over the env var


def test_inception_weights_from_torch_fidelity_cache(no_torch_fidelity_cache):
    cached = torch_fidelity_cache_path()
    assert cached.parent == no_torch_fidelity_cache / "torch-home" / "hub" / "checkpoints"
    cached.parent.mkdir(parents=True)
    cached.write_bytes(b"not the real weights")
    assert resolve_inception_weights() == cached
    # A file under the published name whose checksum differs is an incomplete download, never used.
    with pytest.raises(UserError, match=f"not {INCEPTION_SHA256_PREFIX}.*incomplete or altered"):
        get_extractor("inception-v3")


def test_missing_inception_weights_give_the_exact_error(no_torch_fidelity_cache):
    with pytest.raises(MissingFileError) as error:
        get_extractor("inception-v3")
    message = str(error.value)
    assert INCEPTION_WEIGHTS_FILE in message
    assert INCEPTION_SHA256_PREFIX in message
    assert str(torch_fidelity_cache_path()) in message
    assert "--inception-weights" in message and "AUTOGAN_INCEPTION_WEIGHTS" in message
    with pytest.raises(MissingFileError, match="/no/such/file.pth.*from --inception-weights"):
        get_extractor("inception-v3", weights_path="/no/such/file.pth")


def test_cli_missing_inception_weights_exits_2_with_one_line(no_torch_fidelity_cache, capsys):
    code = main(["metrics", "--dataset", "digits", "--real", "--extractor", "inception-v3"])
    captured = capsys.readouterr()
    line = assert_one_line_error(code, captured.err, "metrics", out=captured.out)
    assert INCEPTION_WEIGHTS_FILE in line


def test_inception_weights_are_read_once_and_only_safely(metrics_inception_weights, monkeypatch):
    """The bytes that are checked are the bytes the network gets: the file is never unpickled unsafely."""
    from autogan.metrics._inception import load_inception

    real_load = torch.load
    unsafe = []

    def recording_load(f, *args, **kwargs):
        if not kwargs.get("weights_only", False):
            unsafe.append(str(f))
        return real_load(f, *args, **kwargs)

    monkeypatch.setattr(torch, "load", recording_load)
    module, path, digest = load_inception(metrics_inception_weights)
    assert str(metrics_inception_weights) not in unsafe
    assert type(module) is FeatureExtractorInceptionV3 and not module.training
    expected = real_load(metrics_inception_weights, weights_only=True)
    for name, tensor in module.state_dict().items():
        torch.testing.assert_close(tensor, expected[name], rtol=0, atol=0)


def test_inception_weights_holding_objects_are_refused(tmp_path, capsys):
    path = tmp_path / "weights.pth"
    torch.save({"Conv2d_1a_3x3.conv.weight": torch.zeros(1), "payload": _Unrelated()}, path)
    code = main(["metrics", "--dataset", "digits", "--real", "--extractor", "inception-v3", "--inception-weights", str(path)])
    line = assert_one_line_error(code, capsys.readouterr().err, "metrics")
    assert "not a plain weights file that torch can load safely" in line


class _Unrelated:
    """An object no weights file holds."""


def test_unpublished_weights_that_load_are_used_with_one_warning(metrics_inception_weights):
    # The comparability warning belongs to weights that are used; a refused file says only its error.
    import logging

    from autogan.log import logger
    from autogan.metrics._inception import load_inception

    records: list[logging.LogRecord] = []
    handler = logging.Handler()
    handler.emit = records.append
    logger.addHandler(handler)
    try:
        load_inception(metrics_inception_weights)
    finally:
        logger.removeHandler(handler)
    warnings = [r.getMessage() for r in records if r.levelno == logging.WARNING]
    assert len(warnings) == 1 and "will not be comparable with papers" in warnings[0]
