"""A search on a real multi-node Ray cluster: a head and two worker nodes on loopback.

Ray's own multi-node test utility (``ray.cluster_utils.Cluster``) starts each node's raylet, object
store and workers as separate processes, as ``ray start`` does on separate machines. The searches
join it the way a user does, with ``--address`` and through the head's job API, and a worker node
is killed in the middle of the job-submitted one: it must still end with every reward, the same
ones as the undisturbed search by address.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LOOPBACK = "127.0.0.1"
TINY = [
    "model.ch=8", "model.df=8", "model.latent_dim=16", "train.batch_size=8", "train.n_critic=2",
    "train.d_steps_per_iteration=60", "search.reward_samples=40", "search.reward_splits=2",
    "search.archs_per_iteration=3", "search.beam_candidates=3", "search.beam_width=2", "run.threads=1",
    "search.num_cells=2", "search.stage_iterations=[3, 3]", "search.rescore_seeds=1",
    # Two evaluators and the trainer fit on one worker node, so losing the other one loses no capacity.
    "run.evaluators=2", "run.trainer_cpus=1", "run.evaluator_cpus=0.5",
]

pytest.importorskip("ray.dashboard.modules.job", reason="the job API needs ray[default]")


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "RAY_ADDRESS"}
    env.update(OMP_NUM_THREADS="1", PYTHONPATH=str(ROOT), **extra)
    return env


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def cluster():
    from ray._private import ray_constants
    from ray.cluster_utils import Cluster

    # Nodes that stay on loopback: otherwise Ray's processes (the dashboard agent among them) rewrite
    # 127.0.0.1 to this machine's external address, where nothing listens.
    saved = os.environ.get("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"), ray_constants.ENABLE_RAY_CLUSTER
    os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    ray_constants.ENABLE_RAY_CLUSTER = False
    # The head runs drivers only (no CPUs), as in docker/kuberay-rayjob.yaml.
    # The job agent gets a free port of its own: the default one may be held by another Ray instance
    # on this machine (the test session's embedded one), and a head without its agent takes no jobs.
    cluster = Cluster(initialize_head=True, head_node_args={
        "num_cpus": 0, "node_ip_address": LOOPBACK, "include_dashboard": True,
        "dashboard_host": LOOPBACK, "dashboard_port": 0, "dashboard_agent_listen_port": _free_port(),
    })
    try:
        for _ in range(2):
            cluster.add_node(num_cpus=2, node_ip_address=LOOPBACK)
        cluster.wait_for_nodes()
        yield cluster
    finally:
        cluster.shutdown()
        ray_constants.ENABLE_RAY_CLUSTER = saved[1]
        if saved[0] is None:
            os.environ.pop("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", None)
        else:
            os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = saved[0]


def _rows(run_dir: Path) -> list[dict]:
    path = run_dir / "evaluations.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _rewards(run_dir: Path) -> dict[tuple, float]:
    rows = _rows(run_dir)
    keyed = {(r["stage"], r["iteration"], r["kind"], r["index"]): r["reward"] for r in rows}
    assert len(keyed) == len(rows), "a reward was recorded twice"
    return keyed


@pytest.fixture(scope="module")
def undisturbed(cluster, tmp_path_factory) -> dict[tuple, float]:
    """A search that joins the cluster by ``--address HOST:PORT`` and runs to its end undisturbed."""
    run_dir = tmp_path_factory.mktemp("by-address") / "run"
    done = subprocess.run([sys.executable, "-m", "autogan.cli", "search", "--address", cluster.address, "--out",
                           str(run_dir), *TINY], capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert f"joined cluster at {cluster.address}" in done.stderr
    return _rewards(run_dir)


def _busiest_worker(cluster):
    """The worker node that hosts the most live actors (the head runs only drivers and Ray's own)."""
    from ray.util.state import list_actors

    workers = {node.node_id: node for node in cluster.worker_nodes}
    counts = {node_id: 0 for node_id in workers}
    for actor in list_actors(address=f"http://{cluster.webui_url}", filters=[("state", "=", "ALIVE")]):
        if actor.node_id in counts:
            counts[actor.node_id] += 1
    return workers[max(counts, key=counts.get)]


def _submit(cluster, entrypoint: list[str], attempts: int = 5) -> subprocess.Popen:
    """``ray job submit``, again while the head says that no job agent is ready yet, as it asks."""
    ray_cli = Path(sys.executable).parent / "ray"
    command = [str(ray_cli), "job", "submit", "--address", f"http://{cluster.webui_url}", "--", *entrypoint]
    for _ in range(attempts):
        submit = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=ROOT, env=_env())
        try:
            out, _ = submit.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            return submit  # submitted, and tailing the job's logs
        if "No available agent" not in out:
            raise AssertionError(f"ray job submit ended at once: {out[-3000:]}")
        time.sleep(5)
    raise AssertionError("the head had no job agent ready after several attempts")


def test_search_by_address_records_every_reward(undisturbed):
    kinds = {key[2] for key in undisturbed}
    assert kinds == {"policy", "beam", "rescore"} and all(reward is not None for reward in undisturbed.values())


def test_job_submitted_search_survives_losing_a_worker_node(cluster, undisturbed, tmp_path):
    run_dir = tmp_path / "run"
    entrypoint = [sys.executable, "-m", "autogan.cli", "search", "--address", "auto", "--out", str(run_dir), *TINY]
    submit = _submit(cluster, entrypoint)
    try:
        deadline = time.monotonic() + 300
        while len(_rows(run_dir)) < 3 and submit.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        if submit.poll() is not None:
            raise AssertionError(f"the job ended before a node could be removed: {submit.communicate()[0][-3000:]}")
        removed_after = len(_rows(run_dir))
        # Killed without warning, as a preempted or crashed machine goes.
        cluster.remove_node(_busiest_worker(cluster), allow_graceful=False)
        out, _ = submit.communicate(timeout=600)
    finally:
        if submit.poll() is None:
            submit.kill()
    assert submit.returncode == 0 and "succeeded" in out, out[-3000:]
    rewards = _rewards(run_dir)
    print(f"worker node removed after {removed_after} of {len(rewards)} rewards")
    assert removed_after < len(rewards)
    assert rewards.keys() == undisturbed.keys()
    assert rewards == pytest.approx(undisturbed, abs=1e-6)
    cluster.add_node(num_cpus=2, node_ip_address=LOOPBACK)  # the next test gets the whole cluster again
    cluster.wait_for_nodes()


def test_the_embedded_default_does_not_join_a_cluster_left_running_here(cluster):
    # `ray start` (and this cluster) record their address for ray.init() to find; the embedded
    # default must still start its own instance, with the resources it asks for.
    code = ("import ray; from workers import make_backend; backend = make_backend('ray', num_cpus=1); "
            "print(ray.get_runtime_context().gcs_address); backend.shutdown()")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, env=_env(), timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.strip().splitlines()[-1] != cluster.address
