"""Spread calls over a group of actors, and redo any call whose actor died."""

from __future__ import annotations

from typing import Any, Sequence

from workers._backend import Actor, Backend, Future, WorkerLost, logger


def is_worker_death(exc: BaseException) -> bool:
    """True for failures of the worker itself (a crash, a lost node), not of the code it ran."""
    if isinstance(exc, WorkerLost):
        return True
    try:
        from ray import exceptions as ray_exceptions
    except ImportError:  # Ray is optional for the in-process backend
        return False
    death = (
        ray_exceptions.RayActorError,
        ray_exceptions.WorkerCrashedError,
        ray_exceptions.NodeDiedError,
        ray_exceptions.ObjectLostError,
        ray_exceptions.OwnerDiedError,
    )
    return isinstance(exc, death)


class PendingMap:
    """Results of ``ActorPool.submit``: ``results()`` returns them in item order."""

    def __init__(self, pool: "ActorPool", method: str, items: Sequence[Any], shared: tuple, kwargs: dict):
        self._pool = pool
        self._method = method
        self._items = list(items)
        self._shared = shared
        self._kwargs = kwargs
        self._futures: list[Future] = [
            pool._submit_one(method, index, item, shared, kwargs) for index, item in enumerate(self._items)
        ]

    def results(self) -> list[Any]:
        out: list[Any] = [None] * len(self._items)
        for index, future in enumerate(self._futures):
            attempt = 0
            while True:
                try:
                    out[index] = future.result()
                    break
                except BaseException as exc:
                    if not is_worker_death(exc) or attempt >= self._pool.retries:
                        if is_worker_death(exc):
                            raise WorkerLost(
                                f"{self._method} on item {index} failed {attempt + 1} times because its worker died"
                            ) from exc
                        raise
                    attempt += 1
                    self._pool.retried += 1
                    logger.warning(
                        "worker died during %s (item %d); retrying on another worker (%d/%d)",
                        self._method,
                        index,
                        attempt,
                        self._pool.retries,
                    )
                    future = self._pool._submit_one(
                        self._method, index + attempt, self._items[index], self._shared, self._kwargs
                    )
        return out


class ActorPool:
    """Round-robin calls over ``actors``; a call lost with its actor is recomputed, never dropped.

    Ray already restarts a crashed actor and retries its queued calls; this
    layer covers what outlives those retries, and makes the in-process and Ray
    backends behave alike.
    """

    def __init__(self, backend: Backend, actors: Sequence[Actor], *, retries: int = 3):
        if not actors:
            raise ValueError("ActorPool needs at least one actor")
        self.backend = backend
        self.actors = list(actors)
        self.retries = retries
        self.retried = 0

    def _submit_one(self, method: str, slot: int, item: Any, shared: tuple, kwargs: dict) -> Future:
        actor = self.actors[slot % len(self.actors)]
        return actor.call(method, item, *shared, **kwargs)

    def submit(self, method: str, items: Sequence[Any], *shared: Any, **kwargs: Any) -> PendingMap:
        """Call ``actor.method(item, *shared, **kwargs)`` for every item, without waiting."""
        return PendingMap(self, method, items, shared, kwargs)

    def map(self, method: str, items: Sequence[Any], *shared: Any, **kwargs: Any) -> list[Any]:
        return self.submit(method, items, *shared, **kwargs).results()

    def broadcast(self, method: str, *args: Any, **kwargs: Any) -> list[Any]:
        """Call a method once on every actor (e.g. to load new weights)."""
        return self.backend.wait_all([a.call(method, *args, **kwargs) for a in self.actors])
