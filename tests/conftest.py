"""Session-wide fixtures: one small Ray instance, and a private cache for trained models."""

import os
import tempfile

import pytest
import torch

from torch_probes import precision_flags

# Trained models (the digits classifier) go to a private cache, never the user's; set at
# import so that subprocesses started by tests (CLI runs, Ray workers) inherit it.
os.environ["AUTOGAN_CACHE"] = tempfile.mkdtemp(prefix="autogan-test-cache-")
os.environ.pop("AUTOGAN_INCEPTION_WEIGHTS", None)


@pytest.fixture(scope="session")
def ray_session():
    """A 2-CPU Ray instance once for the whole run; most tests need no Ray at all."""
    ray = pytest.importorskip("ray")
    if not ray.is_initialized():
        from workers import RayBackend

        RayBackend(num_cpus=2)  # the embedded instance as a search starts it: no dashboard, loopback only
    yield ray
    ray.shutdown()


@pytest.fixture
def tf32_on():
    """The switches as configure_backends leaves them on CUDA with run.tf32=true (settable on any build)."""
    before = precision_flags()
    torch.backends.cuda.matmul.fp32_precision = torch.backends.cudnn.conv.fp32_precision = "tf32"
    yield
    torch.backends.cuda.matmul.fp32_precision, torch.backends.cudnn.conv.fp32_precision = before
