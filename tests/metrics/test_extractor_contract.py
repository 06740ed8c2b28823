"""Every registered feature extractor keeps the contract the rewards and the metrics rely on.

As ``tests/controllers/test_controller_contract.py`` does for controllers: a new extractor is
covered the moment it is registered.
"""

from __future__ import annotations

import pytest
import torch

from autogan.data._digits import load_digits
from autogan.data._sources import float_to_uint8
from autogan.metrics import EXTRACTORS, extractor_names, get_extractor
from autogan.metrics._extractors import ExtractorSpec


@pytest.fixture(scope="module", params=extractor_names())
def extractor(request, metrics_inception_weights, metrics_cache_dir):
    spec = EXTRACTORS[request.param]
    weights = metrics_inception_weights if spec.uses_weights_path else None
    return get_extractor(request.param, weights_path=weights, cache_dir=metrics_cache_dir)


def test_the_registry_is_read_only_and_spells_what_the_config_accepts():
    assert isinstance(EXTRACTORS["digits-classifier"], ExtractorSpec)
    with pytest.raises(TypeError):
        EXTRACTORS["mine"] = EXTRACTORS["digits-classifier"]  # type: ignore[index]
    assert tuple(EXTRACTORS) == extractor_names()


def test_features_and_logits_have_the_declared_shapes_for_gray_and_rgb_at_any_size(extractor):
    for images in (load_digits(size=8)[:6], load_digits(size=32)[:6].expand(-1, 3, -1, -1)):
        features, logits = extractor(images)
        assert features.shape == (6, extractor.feature_dim) and features.dtype == torch.float32
        assert logits.shape == (6, extractor.num_classes) and logits.dtype == torch.float32
        assert torch.isfinite(features).all() and torch.isfinite(logits).all()


def test_float_in_minus_one_to_one_and_uint8_are_the_same_images(extractor):
    gray = load_digits(size=32)[:8]
    for a, b in zip(extractor(gray), extractor(float_to_uint8(gray))):
        torch.testing.assert_close(a, b, rtol=0, atol=1e-4)


def test_a_batch_is_scored_image_by_image_and_the_same_twice(extractor):
    # Rewards and FIDs are sums over batches of any split: one image's features must not
    # depend on its neighbours (a BatchNorm left in training mode would break this).
    images = load_digits(size=32)[:10]
    whole, _ = extractor(images)
    parts = torch.cat([extractor(part)[0] for part in images.split(3)])
    torch.testing.assert_close(whole, parts, rtol=0, atol=1e-4)
    torch.testing.assert_close(whole, extractor(images)[0], rtol=0, atol=0)


def test_its_identity_names_it_and_its_weights(extractor):
    assert extractor.identity.startswith(extractor.name) or extractor.name in extractor.identity
    assert extractor.identity and " " not in extractor.identity
