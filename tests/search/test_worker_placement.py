"""The run knows where its workers run: they report it, the driver checks and records it, inspect shows it."""

from __future__ import annotations

import os

import pytest

from autogan.config._search import RunConfig
from autogan.errors import ConfigError
from autogan.search._resources import check_placements, wait_for_workers


def worker(role, device, assigned):
    return {"role": role, "device": device, "gpu": None, "assigned_gpus": assigned, "host": "h", "torch": "2", "torch_cuda": None}


def test_a_worker_given_gpus_that_runs_on_the_cpu_stops_the_search_in_one_line():
    run = RunConfig(device="cpu", trainer_gpus=0.5, evaluator_gpus=0.25)
    check_placements([worker("trainer", "cpu", []), worker("evaluator", "cpu", None)], run)  # nothing idle
    with pytest.raises(ConfigError) as caught:
        check_placements([worker("trainer", "cuda:0", ["0"]), worker("evaluator", "cpu", ["0"])], run)
    message = str(caught.value)
    assert message.startswith("run.evaluator_gpus=0.25: Ray assigned the evaluator GPU 0, but it runs on cpu")
    assert "run.device=auto" in message and "\n" not in message


class _ProbeBackend:
    def __init__(self, error):
        self.error = error

    def wait_all(self, futures, timeout=None):
        raise self.error


class _Actor:
    def call(self, method):
        return method


def test_a_worker_whose_constructor_refused_its_device_is_one_line():
    pytest.importorskip("ray")
    from ray.exceptions import ActorDiedError, RayTaskError

    refusal = ConfigError("run.device='auto': Ray assigned this worker GPU 0, but torch cannot start CUDA (...)")
    died = ActorDiedError(RayTaskError("SupernetTrainer.__init__", "Traceback ...\nautogan.errors.ConfigError: " + str(refusal), refusal))
    with pytest.raises(ConfigError, match=r"^a worker could not start: run.device='auto': Ray assigned this worker GPU 0"):
        wait_for_workers(_ProbeBackend(died), [_Actor()], RunConfig(start_timeout=5))
    crash = ActorDiedError()
    with pytest.raises(ActorDiedError):  # not the user's to fix: as it was
        wait_for_workers(_ProbeBackend(crash), [_Actor()], RunConfig(start_timeout=5))


def test_in_ray_an_actor_given_no_gpu_hides_cuda_and_a_refusal_reaches_the_driver(ray_session):
    from workers import RayBackend, Resources

    # Defined here, so that Ray pickles it by value: workers cannot import test modules.
    class Probe:
        """A Ray actor that places itself as the trainer and evaluators do."""

        def __init__(self, fail: bool = False):
            from autogan.device import place_worker
            from workers import assigned_gpus

            self.placement = place_worker("cuda" if fail else "auto", assigned_gpus())

        def device_info(self):
            return {"role": "evaluator", **self.placement.to_dict(), "visible": os.environ.get("CUDA_VISIBLE_DEVICES")}

    backend = RayBackend()  # joins the session's instance
    run = RunConfig(start_timeout=60)
    actor = backend.actor(Probe, resources=Resources(num_cpus=0.1, num_gpus=0))
    try:
        [info] = wait_for_workers(backend, [actor], run)
    finally:
        backend.release(actor)
    assert (info["device"], info["assigned_gpus"], info["visible"]) == ("cpu", [], "")
    refusing = backend.actor(Probe, True, resources=Resources(num_cpus=0.1, num_gpus=0))
    try:
        with pytest.raises(ConfigError, match=r"^a worker could not start: run.device='cuda': Ray assigned this worker no GPU"):
            wait_for_workers(backend, [refusing], run)
    finally:
        backend.release(refusing)


def test_a_search_records_its_workers_devices_and_inspect_shows_them(tiny_config, tmp_path, capsys):
    from autogan.cli import main
    from autogan.search import RunDirectory, run_search

    config = tiny_config("run.backend='inprocess'", "run.evaluators=2", cells=2, iterations=1)
    run_search(config, tmp_path / "run", progress=False)
    workers = RunDirectory.open(tmp_path / "run").read_state()["workers"]
    assert [w["role"] for w in workers] == ["trainer", "evaluator", "evaluator"]
    assert {(w["device"], w["assigned_gpus"]) for w in workers} == {("cpu", None)}
    capsys.readouterr()
    assert main(["inspect", str(tmp_path / "run")]) == 0
    host = workers[0]["host"]
    assert f"workers: trainer cpu on {host}, 1 thread; 2 evaluators cpu on {host}, 1 thread\n" in capsys.readouterr().out
