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


# `make test` runs the suite on two pytest-xdist workers, then the `solo` tests alone (plain
# `pytest` runs everything in one process).  Tests that start Ray (the session's instance, an
# embedded search's) go to one worker, one at a time: two Ray instances at once would only share
# the same cores and /tmp/ray.  Every other module stays on one worker, so that its
# module-scoped fixtures are built once.  The multi-node tests run real Ray nodes whose health
# checks starve when the other worker trains a model beside them (a head node was declared dead
# in one of two parallel runs): they run last, alone.
_RAY_MODULES = {"test_ray_limits.py", "test_search_loop.py", "test_worker_placement.py", "test_backends.py"}
_SOLO_MODULES = {"test_multinode.py"}


def pytest_collection_modifyitems(config, items):
    for item in items:
        starts_ray = getattr(item.module, "STARTS_RAY", set())  # a module that names its Ray cases
        named_case = getattr(item, "callspec", None) is not None and item.callspec.params.get("name") in starts_ray
        if item.path.name in _SOLO_MODULES:
            item.add_marker(pytest.mark.solo)
        elif item.path.name in _RAY_MODULES or "ray_session" in getattr(item, "fixturenames", ()) or named_case:
            item.add_marker(pytest.mark.xdist_group("ray"))
        else:
            item.add_marker(pytest.mark.xdist_group(str(item.path)))


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
