"""Execution backends: Ray (local or a cluster) and in-process.

Both run *actors* built from classes they are given, call their methods
asynchronously, and share large values (supernet weights) through ``put``.
Nothing here knows about GANs.
"""

from __future__ import annotations

import abc
import logging
from dataclasses import dataclass
from typing import Any, Callable, Sequence

logger = logging.getLogger("autogan.workers")


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

    def wait_all(self, futures: Sequence[Future]) -> list[Any]:
        return [f.result() for f in futures]

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
    not results.  The embedded instance runs without the dashboard.
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
        if not ray.is_initialized():
            options: dict[str, Any] = {"log_to_driver": False, "configure_logging": False}
            if runtime_env:
                options["runtime_env"] = runtime_env
            if address is None:
                # The embedded instance: this machine's resources, no dashboard to expose.
                options.update(num_cpus=num_cpus, num_gpus=num_gpus, include_dashboard=False)
            else:
                options["address"] = address
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

    def wait_all(self, futures: Sequence[Future]) -> list[Any]:
        import ray

        return ray.get([f.ref for f in futures])  # type: ignore[attr-defined]

    def shutdown(self) -> None:
        import ray

        if self._owns_instance and ray.is_initialized():
            ray.shutdown()
            self._owns_instance = False


BACKENDS: dict[str, Callable[..., Backend]] = {"ray": RayBackend, "inprocess": InProcessBackend}


def make_backend(name: str, **options: Any) -> Backend:
    if name not in BACKENDS:
        raise ValueError(f"backend {name!r} is unknown; choose one of {sorted(BACKENDS)}")
    if name == "inprocess":
        return InProcessBackend()
    return BACKENDS[name](**options)
