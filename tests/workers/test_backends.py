"""One contract for every backend: in-process and Ray."""

import os
import time

import pytest

from workers import ActorPool, RayBackend, Resources, WorkerLost
from workers._backend import InProcessBackend

try:  # Ray workers cannot import test modules by name; ship these classes by value.
    import sys

    from ray import cloudpickle

    cloudpickle.register_pickle_by_value(sys.modules[__name__])
except ImportError:
    pass


class Accumulator:
    """A stateful worker: remembers what it was sent."""

    def __init__(self, offset):
        self.offset = offset
        self.seen = []

    def add(self, item, shared):
        self.seen.append(item)
        return item + self.offset + sum(shared)

    def pid(self):
        return os.getpid()

    def slow_square(self, item, delay):
        """The square, and the process that computed it."""
        time.sleep(delay)
        return item * item, os.getpid()

    def fail(self, item):
        raise ValueError(f"bad item {item}")


@pytest.fixture(params=["inprocess", "ray"])
def backend(request):
    if request.param == "ray":
        request.getfixturevalue("ray_session")
        yield RayBackend()
    else:
        yield InProcessBackend()


class TestBackendContract:
    def test_actor_keeps_state_and_returns_results(self, backend):
        actor = backend.actor(Accumulator, 10, resources=Resources(num_cpus=0.5))
        assert actor.call("add", 1, [1, 2]).result() == 14
        assert actor.call("add", 2, [0]).result() == 12

    def test_pool_returns_results_in_item_order_with_shared_value(self, backend):
        shared = backend.put(list(range(100)))
        actors = [backend.actor(Accumulator, k, resources=Resources(num_cpus=0.5)) for k in (0, 0)]
        pool = ActorPool(backend, actors)
        assert pool.map("add", list(range(8)), shared) == [i + 4950 for i in range(8)]

    def test_released_actors_free_their_resources(self, backend):
        # Four times the session's 2 CPUs, one after another: only works if release frees them.
        for _ in range(4):
            actor = backend.actor(Accumulator, 0, resources=Resources(num_cpus=2))
            assert actor.call("add", 1, [0]).result() == 1
            backend.release(actor)

    def test_code_errors_propagate_unretried(self, backend):
        pool = ActorPool(backend, [backend.actor(Accumulator, 0, resources=Resources(num_cpus=0.5))])
        with pytest.raises(Exception, match="bad item 3"):
            pool.map("fail", [3])
        assert pool.retried == 0


def test_ray_recomputes_work_of_a_killed_actor(ray_session):
    backend = RayBackend()
    actors = [backend.actor(Accumulator, 0, resources=Resources(num_cpus=0.5)) for _ in range(2)]
    pool = ActorPool(backend, actors)
    pid_before, other_pid = (actor.call("pid").result() for actor in actors)
    pending = pool.submit("slow_square", list(range(6)), 0.3)
    time.sleep(0.2)
    backend.kill(actors[0])
    results = pending.results()
    assert [square for square, _ in results] == [i * i for i in range(6)]
    # The actor came back (restarted), in a new process.
    pid_after = actors[0].call("pid").result()
    assert pid_after != pid_before
    # Item 0 went to the killed actor first and takes 0.3 s: the kill at 0.2 s caught it unfinished,
    # so its result must come from a live process that computed it again, never from the dead one.
    assert results[0][1] in {pid_after, other_pid}
    computed_by = {pid for _, pid in results}
    assert computed_by <= {pid_before, pid_after, other_pid} and pid_after in computed_by


class Flaky:
    """Dies (as a worker would) on its first call of each item."""

    def __init__(self):
        self.failed = set()

    def work(self, item):
        if item not in self.failed:
            self.failed.add(item)
            raise WorkerLost("simulated crash")
        return item * 2


def test_pool_retries_lost_work_and_gives_up_after_the_limit():
    backend = InProcessBackend()
    pool = ActorPool(backend, [backend.actor(Flaky)], retries=1)
    assert pool.map("work", [1, 2]) == [2, 4]
    assert pool.retried == 2
    never = ActorPool(backend, [backend.actor(Flaky)], retries=0)
    with pytest.raises(WorkerLost, match="worker died"):
        never.map("work", [5])
