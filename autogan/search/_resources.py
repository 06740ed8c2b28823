"""Checks before a search takes a cluster: its inputs open, and its workers fit and start."""

from __future__ import annotations

import math
import time
from typing import Any

from search_spaces import SearchSpace

from autogan.config import Config
from autogan.device import describe_workers
from autogan.errors import ConfigError
from autogan.log import logger
from autogan.search._size import size_budget
from workers import creation_error_line

# How often a wait for the cluster says that it is still waiting.
_WAIT_NOTICE_SECONDS = 30.0


def check_inputs(config: Config) -> None:
    """Fail here, with one clear line, rather than inside a worker on another machine.

    Opening the dataset and the extractor also builds the digits classifier's cache
    once, so evaluators never race to train it.  A size budget that no generator of the
    space meets fails here too.
    """
    from autogan.data import get_dataset
    from autogan.metrics import get_extractor
    from autogan.train import get_loss

    get_loss(config.train.loss)
    size_budget(config, SearchSpace(num_cells=config.search.num_cells))  # seconds, where the extractor may take minutes
    data = config.data
    get_dataset(data.dataset, root=data.root or None, download=data.download, channels=data.channels)
    get_extractor(config.search.extractor, device="cpu", weights_path=config.search.inception_weights or None)


def resource_shortfall(run: Any, nodes: list[Any], where: str) -> str | None:
    """Why the trainer and evaluators cannot all be placed on ``nodes``, naming the config keys; None if they can."""
    # Ray counts resources to 1e-4; a hair over the total is rounding, not a shortfall.
    slack = 1e-4
    asks = (
        ("CPU", "cpus", sum(n.num_cpus for n in nodes), max((n.num_cpus for n in nodes), default=0.0), run.trainer_cpus, run.evaluator_cpus),
        ("GPU", "gpus", sum(n.num_gpus for n in nodes), max((n.num_gpus for n in nodes), default=0.0), run.trainer_gpus, run.evaluator_gpus),
    )
    for unit, key, total, largest, trainer, evaluator in asks:
        asked = trainer + run.evaluators * evaluator
        # 0 is the CPU only because a worker Ray gives no GPU hides CUDA from torch (autogan.device.place_worker).
        fix_off = " (fractions such as 0.5 share one GPU; 0 keeps that worker on the CPU)" if unit == "GPU" else ""
        if trainer > largest + slack:
            return (
                f"run.trainer_{key}={trainer:g}, but no node of {where} has more than {largest:g} {unit}s; "
                f"lower run.trainer_{key}{fix_off}, or join a larger cluster with --address"
            )
        if evaluator > largest + slack:
            return (
                f"run.evaluator_{key}={evaluator:g}, but no node of {where} has more than {largest:g} {unit}s; "
                f"lower run.evaluator_{key}{fix_off}, or join a larger cluster with --address"
            )
        if asked > total + slack:
            spare = math.floor((total - trainer) / run.evaluators * 100) / 100
            hint = f" (e.g. run.evaluator_{key}={spare:g})" if spare > 0 else ""
            return (
                f"run.trainer_{key}={trainer:g} + run.evaluators={run.evaluators} x run.evaluator_{key}={evaluator:g} "
                f"asks for {asked:g} {unit}s, but {where} has {total:g}; lower run.evaluators or "
                f"run.evaluator_{key}{hint}, or join a larger cluster with --address"
            )
    return None


def wait_for_resources(backend: Any, run: Any) -> None:
    """Fail at once, naming the config keys, when the workers can never all start: Ray would wait forever.

    A cluster that can autoscale may still grow: wait for it, saying so, up to ``run.start_timeout``.
    """
    where = "the Ray cluster" if backend.may_grow else "this machine's Ray instance"
    deadline = time.monotonic() + run.start_timeout
    while True:
        nodes = backend.capacity()
        shortfall = None if nodes is None else resource_shortfall(run, nodes, where)
        if shortfall is None:
            return
        if not backend.may_grow:
            raise ConfigError(shortfall)
        left = deadline - time.monotonic()
        if left <= 0:
            raise ConfigError(f"{shortfall} (waited {run.start_timeout:g}s for it to grow: run.start_timeout)")
        logger.warning("waiting for the cluster to grow, up to %.0fs more (run.start_timeout): %s", left, shortfall)
        time.sleep(min(_WAIT_NOTICE_SECONDS, left))


def wait_for_workers(backend: Any, actors: list[Any], run: Any) -> list[dict[str, Any]]:
    """Wait until every worker is up, and return where each runs (its ``device_info()``).

    A start that never comes ends, after ``run.start_timeout``, in one line; so does a worker
    whose constructor refused its device (say, a GPU that CUDA cannot start), and a worker that
    Ray gave GPUs but that runs on the CPU.
    """
    pings = [actor.call("device_info") for actor in actors]
    started = time.monotonic()
    while True:
        waited = time.monotonic() - started
        step = min(_WAIT_NOTICE_SECONDS, run.start_timeout - waited)
        try:
            workers = backend.wait_all(pings, timeout=max(step, 0.0))
        except TimeoutError as exc:
            if waited + step >= run.start_timeout:
                raise ConfigError(
                    f"the trainer and run.evaluators={run.evaluators} workers did not all start within "
                    f"run.start_timeout={run.start_timeout:g}s ({exc}); the cluster has no room for them now: "
                    "lower run.evaluators, run.evaluator_cpus or run.evaluator_gpus, free the cluster, or raise run.start_timeout"
                ) from None
            logger.warning("still waiting for Ray to start the workers (%s; run.start_timeout=%gs)", exc, run.start_timeout)
            continue
        except Exception as exc:
            reason = creation_error_line(exc, ("ConfigError", "UserError", "MissingFileError"))
            if reason is None:
                raise
            raise ConfigError(f"a worker could not start: {reason}") from None
        check_placements(workers, run)
        logger.info("workers: %s", describe_workers(workers))
        return workers


def check_placements(workers: list[dict[str, Any]], run: Any) -> None:
    """A worker that Ray gave GPUs but that runs on the CPU would take hours per iteration: stop, in one line."""
    for worker in workers:
        assigned = worker.get("assigned_gpus")
        if assigned and not str(worker.get("device")).startswith("cuda"):
            role = worker.get("role")
            raise ConfigError(
                f"run.{role}_gpus={getattr(run, f'{role}_gpus'):g}: Ray assigned the {role} GPU "
                f"{', '.join(map(str, assigned))}, but it runs on {worker.get('device')} (run.device={run.device!r}); "
                f"set run.device=auto to use the GPU, or run.{role}_gpus=0 to leave it to others"
            )
