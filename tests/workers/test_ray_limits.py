"""Ray as a user meets it: over-asked resources end at once in one line; the embedded instance stays on loopback."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cli_contract import assert_one_line_error
from autogan.config._search import RunConfig
from autogan.search._resources import resource_shortfall as _resource_shortfall
from workers import Resources

ROOT = Path(__file__).resolve().parents[2]
TINY = [
    "model.ch=8", "model.df=8", "model.latent_dim=16", "train.batch_size=8", "train.n_critic=2",
    "train.d_steps_per_iteration=6", "search.reward_samples=40", "search.reward_splits=2",
    "search.archs_per_iteration=3", "search.beam_candidates=3", "search.beam_width=2", "run.threads=1",
    "search.num_cells=2", "search.stage_iterations=[1, 1]",
]


def _cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "autogan.cli", "search", *args]


def _env() -> dict[str, str]:
    # A fresh embedded instance of its own, whatever instance this test process may have.
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env["OMP_NUM_THREADS"] = "1"
    return env


def test_over_asked_cpus_end_at_once_with_one_line(tmp_path):
    run = tmp_path / "run"
    started = time.monotonic()
    proc = subprocess.run(
        # A start_timeout far past this call's own timeout: a search that waited at all would be killed.
        _cli("--out", str(run), *TINY, "run.evaluators=3", "run.trainer_cpus=1", "run.evaluator_cpus=1", "run.start_timeout=100000"),
        capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=170,
    )
    elapsed = time.monotonic() - started
    line = assert_one_line_error(proc.returncode, proc.stderr, "search", out=proc.stdout)
    assert "run.evaluators=3" in line and "run.evaluator_cpus" in line and "asks for 4 CPUs" in line
    assert "waited" not in line and "waiting for" not in proc.stderr
    assert not run.exists()  # nothing was searched, so a retry starts clean
    print(f"over-asked CPUs ended in {elapsed:.1f}s")  # well under a minute here; reported, not asserted


@pytest.mark.parametrize(
    "changes, nodes, expected",
    [
        ({"evaluators": 3}, [Resources(2, 0)], "asks for 4 CPUs, but here has 2; lower run.evaluators or run.evaluator_cpus (e.g. run.evaluator_cpus=0.33)"),
        ({"evaluator_gpus": 1.0}, [Resources(8, 0)], "run.evaluator_gpus=1, but no node of here has more than 0 GPUs; lower run.evaluator_gpus (fractions such as 0.5 share one GPU; 0 keeps that worker on the CPU)"),
        ({"trainer_cpus": 4.0}, [Resources(2, 0), Resources(2, 0)], "run.trainer_cpus=4, but no node of here has more than 2 CPUs"),
        ({"evaluators": 2, "evaluator_gpus": 0.5, "trainer_gpus": 0.5}, [Resources(4, 1)], "asks for 1.5 GPUs, but here has 1"),
    ],
    ids=["cpus", "no-gpu", "trainer-wider-than-a-node", "gpu-fractions"],
)
def test_shortfalls_name_the_keys(changes, nodes, expected):
    run = RunConfig(**{"evaluators": 1, **changes})
    assert expected in _resource_shortfall(run, nodes, "here")


@pytest.mark.parametrize(
    "changes, nodes",
    [
        ({}, [Resources(2, 0)]),
        ({"evaluators": 3, "evaluator_cpus": 0.33}, [Resources(2, 0)]),
        ({"evaluators": 4, "evaluator_gpus": 0.25, "trainer_gpus": 1.0}, [Resources(1, 1), Resources(4, 1)]),
    ],
)
def test_what_fits_is_accepted(changes, nodes):
    assert _resource_shortfall(RunConfig(**{"evaluators": 1, **changes}), nodes, "here") is None


# ----------------------------------------------------------------------------- loopback


def _descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = Path(f"/proc/{entry}/stat").read_text()
            except OSError:
                continue
            parents[int(entry)] = int(stat.rsplit(")", 1)[1].split()[1])
    found, frontier = {root}, [root]
    while frontier:
        parent = frontier.pop()
        children = [pid for pid, ppid in parents.items() if ppid == parent and pid not in found]
        found.update(children)
        frontier.extend(children)
    return found


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if target.startswith("socket:["):
                inodes.add(target[len("socket:["):-1])
    except OSError:
        pass
    return inodes


def _listening(pids: set[int]) -> list[tuple[int, str]]:
    """(pid, local address) of every TCP socket in LISTEN state that one of ``pids`` holds."""
    owner = {inode: pid for pid in pids for inode in _socket_inodes(pid)}
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            local, state, inode = fields[1], fields[3], fields[9]
            if state == "0A" and inode in owner:  # 0A: LISTEN
                found.append((owner[inode], local.split(":")[0]))
    return found


LOOPBACK_HEX = {
    "0100007F",  # 127.0.0.1
    "00000000000000000000000001000000",  # ::1
    "0000000000000000FFFF00000100007F",  # ::ffff:127.0.0.1
}


def test_embedded_search_listens_on_loopback_only(tmp_path):
    run = tmp_path / "run"
    proc = subprocess.Popen(_cli("--out", str(run), *TINY), cwd=ROOT, env=_env(),
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 240
        # state.json is written once the trainer and every evaluator have started.
        while not (run / "state.json").exists():
            assert proc.poll() is None, proc.stderr.read()[-3000:]
            assert time.monotonic() < deadline, "the search did not start its workers"
            time.sleep(0.5)
        listeners = _listening(_descendants(proc.pid))
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            proc.wait(timeout=120)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
    print(f"{len(listeners)} listening sockets in {len({pid for pid, _ in listeners})} processes: {sorted(set(a for _, a in listeners))}")
    assert len({pid for pid, _ in listeners}) >= 3, listeners  # the driver, GCS, raylet and workers listen
    assert [(pid, address) for pid, address in listeners if address not in LOOPBACK_HEX] == []


def test_an_address_where_nothing_answers_ends_at_once():
    from workers import ClusterUnreachable
    from workers._backend import _check_reachable  # what RayBackend(address) runs before ray.init

    for address, reason in [("127.0.0.1:1", "nothing answers at 127.0.0.1:1"), ("garbage", "is not HOST:PORT")]:
        with pytest.raises(ClusterUnreachable, match=reason):
            _check_reachable(address)


class _Cluster:
    """A backend whose capacity is scripted: what a cluster offers at each look, and workers that never start."""

    may_grow = True

    def __init__(self, offers):
        self.offers = list(offers)
        self.looks = 0

    def capacity(self):
        self.looks += 1
        return self.offers[min(self.looks, len(self.offers)) - 1]

    def wait_all(self, futures, timeout=None):
        time.sleep(timeout or 0)
        raise TimeoutError(f"{len(futures)} of {len(futures)} calls did not finish within {timeout:g}s")


class _Actor:
    def call(self, method):
        return method


@pytest.fixture()
def quick_notices(monkeypatch, caplog):
    import logging

    import autogan.search._resources

    monkeypatch.setattr(autogan.search._resources, "_WAIT_NOTICE_SECONDS", 0.01)
    # The CLI's logging setup stops propagation to the root logger, where caplog listens.
    package = logging.getLogger("autogan")
    package.addHandler(caplog.handler)
    yield
    package.removeHandler(caplog.handler)


def test_a_cluster_that_grows_is_waited_for(quick_notices, caplog):
    from autogan.search._resources import wait_for_resources as _wait_for_resources

    cluster = _Cluster([[Resources(1, 0)], [Resources(1, 0)], [Resources(1, 0), Resources(4, 0)]])
    _wait_for_resources(cluster, RunConfig(evaluators=3, start_timeout=60))
    assert cluster.looks == 3
    assert "waiting for the cluster to grow" in caplog.text and "run.evaluators=3" in caplog.text


def test_an_instance_that_cannot_grow_is_refused_on_the_first_look(monkeypatch):
    # "At once", without a clock: one look at the capacity, no sleep, the error.
    import autogan.search._resources
    from autogan.errors import ConfigError
    from autogan.search._resources import wait_for_resources as _wait_for_resources

    def no_sleep(seconds):
        raise AssertionError(f"waited {seconds}s for an instance that cannot grow")

    monkeypatch.setattr(autogan.search._resources.time, "sleep", no_sleep)
    instance = _Cluster([[Resources(2, 0)]])
    instance.may_grow = False
    with pytest.raises(ConfigError, match=r"asks for 4 CPUs, but this machine's Ray instance has 2") as refused:
        _wait_for_resources(instance, RunConfig(evaluators=3, start_timeout=100000))
    assert instance.looks == 1 and "waited" not in str(refused.value)


def test_a_cluster_that_never_grows_ends_in_one_line(quick_notices):
    from autogan.errors import ConfigError
    from autogan.search._resources import wait_for_resources as _wait_for_resources

    with pytest.raises(ConfigError, match=r"asks for 4 CPUs, but the Ray cluster has 1.*run.start_timeout"):
        _wait_for_resources(_Cluster([[Resources(1, 0)]]), RunConfig(evaluators=3, start_timeout=0.05))


def test_workers_that_never_start_end_in_one_line(quick_notices, caplog):
    from autogan.errors import ConfigError
    from autogan.search._resources import wait_for_workers as _wait_for_workers

    with pytest.raises(ConfigError, match=r"did not all start within run.start_timeout=0.05s.*raise run.start_timeout"):
        _wait_for_workers(_Cluster([]), [_Actor(), _Actor()], RunConfig(evaluators=1, start_timeout=0.05))
    assert "still waiting for Ray to start the workers" in caplog.text
