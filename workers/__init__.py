"""Where work runs: Ray actors or plain in-process objects.

Imports nothing else of ours; it runs the callables and actor classes it is given.
"""

from workers._backend import (
    ClusterUnreachable,
    RayBackend,
    Resources,
    WorkerLost,
    assigned_gpus,
    creation_error_line,
    make_backend,
)
from workers._pool import ActorPool, is_worker_death

__all__ = [
    "ActorPool",
    "ClusterUnreachable",
    "RayBackend",
    "Resources",
    "WorkerLost",
    "assigned_gpus",
    "creation_error_line",
    "is_worker_death",
    "make_backend",
]
