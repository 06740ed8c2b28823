"""Session-wide fixtures: one small Ray instance, and a private cache for trained models."""

import os

import pytest


@pytest.fixture(scope="session")
def ray_session():
    """`ray.init(num_cpus=2)` once for the whole run; most tests need no Ray at all."""
    ray = pytest.importorskip("ray")
    if not ray.is_initialized():
        ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()
