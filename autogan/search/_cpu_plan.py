"""How a search on CPUs shares its machine: threads, overlap and evaluators from the cores there are.

A key set to ``"auto"`` (``run.threads``, ``run.overlap``, ``run.evaluators``, ``run.trainer_cpus``,
``run.evaluator_cpus``) is resolved here when the search starts, from the CPUs of the largest node
Ray reports (or this machine's, in-process); a key with a value is kept as given.  The run
directory's ``config.json`` keeps ``"auto"``, so a resumed search fits the machine it resumes on,
and ``state.json`` records the plan that ran.

The rule comes from measurements of the digits search on a 2-core machine (see
``configs/digits.toml``): a stage-3 iteration is about 115 s of D steps against 30 s of rewards on one
thread each, and two threads train 1.8x faster than one.  So on 2 cores the trainer and the evaluator
take turns, each with both cores, rather than overlapping on a core each.  With more cores, overlap
pays: the rewards then take about a quarter of the cores, one thread per evaluator, and the trainer
the rest, up to ``MAX_TRAINER_THREADS`` (a small supernet's convolutions gain little beyond).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any

AUTO = "auto"
PLANNED_KEYS = ("threads", "overlap", "evaluators", "trainer_cpus", "evaluator_cpus")
MAX_TRAINER_THREADS = 8
REWARD_SHARE = 0.25  # of the cores, for the evaluators when they overlap the trainer


@dataclass(frozen=True)
class CpuPlan:
    cores: int
    overlap: bool
    evaluators: int
    trainer_threads: int
    evaluator_threads: int
    trainer_cpus: float
    evaluator_cpus: float

    def describe(self) -> str:
        how = "overlapped" if self.overlap else "taking turns"
        return (f"{self.cores} cores: trainer {self.trainer_threads} threads, {self.evaluators} evaluator(s) "
                f"x {self.evaluator_threads} threads, {how}")


def plan_for_cores(cores: int, archs_per_iteration: int) -> CpuPlan:
    """The plan for a machine with ``cores`` CPUs, before any key the user set is applied."""
    cores = max(1, int(cores))
    if cores <= 2:
        return _taking_turns(cores)
    evaluators = max(1, round(cores * REWARD_SHARE))
    trainer = min(MAX_TRAINER_THREADS, cores - evaluators)
    # Cores the trainer cannot use go to more evaluators, but an iteration scores only so many.
    evaluators = max(1, min(cores - trainer, archs_per_iteration))
    return CpuPlan(cores, True, evaluators, trainer, 1, float(trainer), 1.0)


def machine_cores(nodes: list[Any] | None) -> int:
    """The CPUs of the largest node: one trainer cannot use another node's cores."""
    if nodes:
        return int(max(node.num_cpus for node in nodes))
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)


def needs_plan(run: Any) -> bool:
    return any(getattr(run, key) == AUTO for key in PLANNED_KEYS)


def resolve(config: Any, nodes: list[Any] | None) -> tuple[Any, Any, CpuPlan | None]:
    """``(driver config, trainer config, plan)``, the ``"auto"`` keys resolved; the evaluators get the driver's.

    The trainer's config differs only in ``run.threads``: one key, two roles, when they overlap.
    """
    run = config.run
    if not needs_plan(run):
        return config, config, None
    cores = machine_cores(nodes)
    # In-process (no nodes), the workers share this process and its one torch thread pool:
    # they can only take turns.
    plan = plan_for_cores(cores, config.search.archs_per_iteration) if nodes is not None else _taking_turns(cores)
    given = {key: getattr(run, key) for key in PLANNED_KEYS if getattr(run, key) != AUTO}
    overlap = given.get("overlap", plan.overlap)
    if overlap != plan.overlap:
        # A user who chose the other schedule gets that schedule's plan for the rest.
        plan = _with_overlap(plan, overlap)
    resolved = {
        "overlap": overlap,
        "evaluators": given.get("evaluators", plan.evaluators),
        "trainer_cpus": given.get("trainer_cpus", plan.trainer_cpus),
        "evaluator_cpus": given.get("evaluator_cpus", plan.evaluator_cpus),
    }
    trainer_threads = given.get("threads", plan.trainer_threads)
    evaluator_threads = given.get("threads", plan.evaluator_threads)
    plan = dataclasses.replace(plan, overlap=resolved["overlap"], evaluators=resolved["evaluators"],
                               trainer_threads=trainer_threads, evaluator_threads=evaluator_threads,
                               trainer_cpus=resolved["trainer_cpus"], evaluator_cpus=resolved["evaluator_cpus"])
    driver = config.replace(run=dataclasses.replace(run, threads=evaluator_threads, **resolved))
    trainer = config.replace(run=dataclasses.replace(run, threads=trainer_threads, **resolved))
    driver.check()
    return driver, trainer, plan


def _taking_turns(cores: int) -> CpuPlan:
    # Ray's CPU counts only place the actors; each runs alone on every core.
    return CpuPlan(cores, False, 1, cores, cores, cores / 2, cores / 2)


def _with_overlap(plan: CpuPlan, overlap: bool) -> CpuPlan:
    cores = plan.cores
    if not overlap:
        return _taking_turns(cores)
    # Overlap asked for on 1-2 cores: a core each (what the preset did before it took turns).
    half = max(1, cores // 2)
    return CpuPlan(cores, True, 1, half, max(1, cores - half), cores / 2, cores / 2)
