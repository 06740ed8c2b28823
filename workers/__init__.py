"""Where work runs: Ray actors or plain in-process objects.

Imports nothing else of ours; it runs the callables and actor classes it is given.
"""

from workers._backend import (
    BACKENDS,
    Actor,
    Backend,
    ClusterUnreachable,
    Future,
    InProcessBackend,
    RayBackend,
    Resources,
    WorkerLost,
    assigned_gpus,
    creation_error_line,
    make_backend,
)
from workers._pool import ActorPool, PendingMap, is_worker_death

__all__ = [
    "BACKENDS",
    "Actor",
    "ActorPool",
    "Backend",
    "ClusterUnreachable",
    "Future",
    "InProcessBackend",
    "PendingMap",
    "RayBackend",
    "Resources",
    "WorkerLost",
    "assigned_gpus",
    "creation_error_line",
    "is_worker_death",
    "make_backend",
]
