"""Execution backends: Ray (local or a cluster) and in-process.

Both run *actors* built from classes they are given, call their methods
asynchronously, and share large values (supernet weights) through ``put``.
Nothing here knows about GANs.
"""

from __future__ import annotations

import abc
import contextlib
import logging
import os
from dataclasses import dataclass
from typing import Any, Callable, Sequence

logger = logging.getLogger("autogan.workers")

LOOPBACK = "127.0.0.1"


@dataclass(frozen=True)
class Resources:
    """What one actor reserves: CPU cores and (fractional) GPUs."""

    num_cpus: float = 1.0
    num_gpus: float = 0.0


class WorkerLost(RuntimeError):
    """An actor died and the work it held could not be finished after retries."""


class Future(abc.ABC):
    @abc.abstractmethod
    def result(self) -> Any:
        """Block until the call finishes; re-raise its exception."""


class Actor(abc.ABC):
    """A handle to a stateful worker; ``call`` returns a ``Future``."""

    @abc.abstractmethod
    def call(self, method: str, *args: Any, **kwargs: Any) -> Future: ...


class Backend(abc.ABC):
    """Where work runs.  ``actor`` creates workers; ``put`` shares a value with all of them."""

    name: str = "backend"

    @abc.abstractmethod
    def actor(
        self, cls: type, *args: Any, resources: Resources = Resources(), retry_calls: bool = True, **kwargs: Any
    ) -> Actor:
        """A worker built as ``cls(*args, **kwargs)``; it is restarted if it dies.

        ``retry_calls=False`` makes a call that was running when the worker died fail
        instead of re-running on the restarted worker: for stateful workers whose state
        the caller must restore first.
        """

    @abc.abstractmethod
    def put(self, value: Any) -> Any:
        """Store ``value`` once; pass the returned handle to many calls instead of the value."""

    @abc.abstractmethod
    def kill(self, actor: Actor) -> None:
        """Kill a worker as a crash would (used for fault drills); it restarts on its next call."""

    def release(self, actor: Actor) -> None:
        """End a worker for good and free its resources (no restart)."""

    def wait_all(self, futures: Sequence[Future], timeout: float | None = None) -> list[Any]:
        """The results of ``futures``; ``TimeoutError`` if not all are done within ``timeout`` seconds."""
        return [f.result() for f in futures]

    def capacity(self) -> list[Resources] | None:
        """What each node offers in all; None where actors cost nothing (in-process)."""
        return None

    @property
    def may_grow(self) -> bool:
        """Whether capacity can appear later (a cluster that autoscales), so a shortfall is worth waiting out."""
        return False

    def shutdown(self) -> None:
        """Release the backend's processes; safe to call twice."""

    def __enter__(self) -> "Backend":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.shutdown()


# --------------------------------------------------------------------------- in-process


class _DoneFuture(Future):
    def __init__(self, fn: Callable[[], Any]):
        # Run lazily, at result(): submitting several calls and then waiting
        # behaves like a (serial) pool and keeps exceptions at the wait site.
        self._fn = fn
        self._done = False
        self._value: Any = None
        self._error: BaseException | None = None

    def result(self) -> Any:
        if not self._done:
            try:
                self._value = self._fn()
            except BaseException as exc:  # re-raised below at every result() call
                self._error = exc
            self._done = True
        if self._error is not None:
            raise self._error
        return self._value


class _LocalActor(Actor):
    def __init__(self, cls: type, args: tuple, kwargs: dict):
        self._factory = lambda: cls(*args, **kwargs)
        self.instance = self._factory()

    def call(self, method: str, *args: Any, **kwargs: Any) -> Future:
        bound = getattr(self.instance, method)
        return _DoneFuture(lambda: bound(*args, **kwargs))

    def restart(self) -> None:
        self.instance = self._factory()


class InProcessBackend(Backend):
    """Runs actors as plain objects in this process: for tests and debugging."""

    name = "inprocess"

    def actor(
        self, cls: type, *args: Any, resources: Resources = Resources(), retry_calls: bool = True, **kwargs: Any
    ) -> Actor:
        return _LocalActor(cls, args, kwargs)

    def put(self, value: Any) -> Any:
        return value

    def kill(self, actor: Actor) -> None:
        assert isinstance(actor, _LocalActor)
        actor.restart()


# --------------------------------------------------------------------------- Ray


class _RayFuture(Future):
    def __init__(self, ref: Any):
        self.ref = ref

    def result(self) -> Any:
        import ray

        return ray.get(self.ref)


class _RayActor(Actor):
    def __init__(self, handle: Any):
        self.handle = handle

    def call(self, method: str, *args: Any, **kwargs: Any) -> Future:
        return _RayFuture(getattr(self.handle, method).remote(*args, **kwargs))


class RayBackend(Backend):
    """Ray: an embedded local instance by default, or a running cluster by ``address``.

    Actors restart after a crash and their in-flight calls are retried
    (``max_restarts`` / ``max_task_retries``), so a dead evaluator costs time,
    not results.  The embedded instance runs without the dashboard, and every
    process of it listens on the loopback interface only.
    """

    name = "ray"

    def __init__(
        self,
        address: str | None = None,
        *,
        num_cpus: int | None = None,
        num_gpus: int | None = None,
        max_restarts: int = 4,
        max_task_retries: int = 4,
        runtime_env: dict | None = None,
    ):
        import ray

        self.max_restarts = max_restarts
        self.max_task_retries = max_task_retries
        self._owns_instance = False
        self._joined_cluster = address is not None
        if not ray.is_initialized():
            # Actors' own warnings (torch's "CUDA initialization" above all) belong in the driver's log.
            options: dict[str, Any] = {"log_to_driver": True, "configure_logging": False}
            if runtime_env:
                options["runtime_env"] = runtime_env
            if address is None:
                # The embedded instance: this machine's resources, no dashboard to expose.
                # address="local": without it ray.init joins any cluster that `ray start` left running here.
                options.update(address="local", num_cpus=num_cpus, num_gpus=num_gpus, include_dashboard=False,
                               _node_ip_address=LOOPBACK)
                with _single_machine_ray():
                    ray.init(**options)
            else:
                _check_reachable(address)
                options["address"] = address
                if _listens_on_loopback(address):
                    # Nodes started on this machine's loopback: join as one of them, or Ray
                    # rewrites 127.0.0.1 to the external address, where nothing listens.
                    options["_node_ip_address"] = LOOPBACK
                    with _single_machine_ray():
                        ray.init(**options)
                else:
                    ray.init(**options)
            self._owns_instance = True
            logger.info("ray: %s", "embedded local instance" if address is None else f"joined cluster at {address}")

    def actor(
        self, cls: type, *args: Any, resources: Resources = Resources(), retry_calls: bool = True, **kwargs: Any
    ) -> Actor:
        import ray

        remote_cls = ray.remote(cls).options(
            num_cpus=resources.num_cpus,
            num_gpus=resources.num_gpus,
            max_restarts=self.max_restarts,
            max_task_retries=self.max_task_retries if retry_calls else 0,
        )
        return _RayActor(remote_cls.remote(*args, **kwargs))

    def put(self, value: Any) -> Any:
        import ray

        return ray.put(value)

    def kill(self, actor: Actor) -> None:
        import ray

        assert isinstance(actor, _RayActor)
        ray.kill(actor.handle, no_restart=False)

    def release(self, actor: Actor) -> None:
        import ray

        assert isinstance(actor, _RayActor)
        ray.kill(actor.handle, no_restart=True)

    def wait_all(self, futures: Sequence[Future], timeout: float | None = None) -> list[Any]:
        import ray

        refs = [f.ref for f in futures]  # type: ignore[attr-defined]
        if timeout is not None:
            _, pending = ray.wait(refs, num_returns=len(refs), timeout=timeout)
            if pending:
                raise TimeoutError(f"{len(pending)} of {len(refs)} calls did not finish within {timeout:g}s")
        return ray.get(refs)

    def capacity(self) -> list[Resources]:
        import ray

        return [
            Resources(num_cpus=node["Resources"].get("CPU", 0.0), num_gpus=node["Resources"].get("GPU", 0.0))
            for node in ray.nodes()
            if node.get("Alive")
        ]

    @property
    def may_grow(self) -> bool:
        # Only a cluster can autoscale; an instance on this machine has what it has.
        return self._joined_cluster

    def shutdown(self) -> None:
        import ray

        if self._owns_instance and ray.is_initialized():
            ray.shutdown()
            self._owns_instance = False


def assigned_gpus() -> list[Any] | None:
    """The GPUs the backend assigned the calling worker; None outside a Ray actor (in-process, a script).

    An empty list means Ray gave this actor no GPU, whatever ``CUDA_VISIBLE_DEVICES`` says.
    """
    try:
        import ray
    except ImportError:
        return None
    if not ray.is_initialized() or ray.get_runtime_context().get_actor_id() is None:
        return None
    return list(ray.get_gpu_ids())


def creation_error_line(exc: BaseException, kinds: tuple[str, ...]) -> str | None:
    """The message of the error an actor's constructor raised, when it is one of ``kinds`` (class names).

    Ray reports a failed constructor as a dead actor whose message holds the remote
    traceback; this finds the exception's own line in it, so the caller can say it plainly.
    """
    if not getattr(exc, "actor_init_failed", False):
        return None
    for line in reversed(str(exc).splitlines()):
        name, sep, message = line.strip().partition(": ")
        if sep and name.rpartition(".")[2] in kinds:
            return message.strip()
    return None


class ClusterUnreachable(ConnectionError):
    """Nothing answers at the address of the cluster to join."""


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail in seconds where ``ray.init`` would retry a dead address for minutes."""
    import socket

    if address == "auto" or "://" in address:
        return  # Ray resolves these itself, and fails fast when there is nothing to find
    host, _, port = address.rpartition(":")
    if not host or not port.isdigit():
        raise ClusterUnreachable(f"{address!r} is not HOST:PORT")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout):
            pass
    except OSError as exc:
        raise ClusterUnreachable(f"nothing answers at {address} ({exc.strerror or exc})") from None


def _listens_on_loopback(address: str) -> bool:
    """Whether the cluster at ``address`` (``auto``: Ray's ``RAY_ADDRESS``, as a job sets it) is on loopback."""
    if address == "auto":
        address = os.environ.get("RAY_ADDRESS", "")
    host = address.split("://")[-1].rpartition(":")[0].strip("[]")
    return host in {LOOPBACK, "localhost", "::1"}


@contextlib.contextmanager
def _single_machine_ray():
    """Start Ray as a single-machine instance: its processes advertise and bind loopback only.

    Ray swaps a loopback ``node_ip_address`` for the machine's external address, and its
    servers then listen on every interface, unless it believes it cannot form a cluster
    (``RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER=0``); that flag is read when Ray is imported, so
    it is set in the environment (for the processes Ray starts) and in Ray's constants.
    Ray's notice that it turned on token authentication (its default for a new local
    instance) is kept off stderr, where it would precede our own lines.
    """
    from ray._private import ray_constants

    saved_env = os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER")
    saved_flag = ray_constants.ENABLE_RAY_CLUSTER
    notices = logging.getLogger("ray._private.authentication.authentication_token_setup")
    saved_level = notices.level
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False
    notices.setLevel(logging.ERROR)
    try:
        yield
    finally:
        # The processes Ray started keep the flag; this process may still join a cluster later.
        notices.setLevel(saved_level)
        ray_constants.ENABLE_RAY_CLUSTER = saved_flag
        if saved_env is None:
            os.environ.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)
        else:
            os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = saved_env


BACKENDS: dict[str, Callable[..., Backend]] = {"ray": RayBackend, "inprocess": InProcessBackend}


def make_backend(name: str, **options: Any) -> Backend:
    if name not in BACKENDS:
        raise ValueError(f"backend {name!r} is unknown; choose one of {sorted(BACKENDS)}")
    if name == "inprocess":
        return InProcessBackend()
    return BACKENDS[name](**options)
