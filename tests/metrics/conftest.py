"""Shared, session-scoped state for the metrics tests.

The digits classifier trains once per session into a temporary AUTOGAN_CACHE, and
the random Inception weights file is written once.  Fixture names carry a
``metrics_`` prefix so they cannot clash with fixtures of a top-level conftest.
"""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def metrics_cache_dir(tmp_path_factory):
    """A fresh AUTOGAN_CACHE for the session, so no test reads or writes the user's cache."""
    cache = tmp_path_factory.mktemp("autogan-cache")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AUTOGAN_CACHE", str(cache))
        patch.delenv("AUTOGAN_INCEPTION_WEIGHTS", raising=False)
        yield cache


@pytest.fixture(scope="session")
def metrics_digits_extractor(metrics_cache_dir):
    from autogan.metrics import get_extractor

    return get_extractor("digits-classifier", cache_dir=metrics_cache_dir)


@pytest.fixture(scope="session")
def metrics_inception_weights(tmp_path_factory):
    """torch-fidelity's Inception architecture with seeded random weights, saved in the published file's format."""
    from autogan.metrics.testing import random_inception_state_dict

    path = tmp_path_factory.mktemp("inception") / "random-inception.pth"
    torch.save(random_inception_state_dict(seed=0), path)
    return path


@pytest.fixture(scope="session")
def metrics_inception_extractor(metrics_inception_weights):
    from autogan.metrics import get_extractor

    return get_extractor("inception-v3", weights_path=metrics_inception_weights)
