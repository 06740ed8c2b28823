"""Rewards for architectures, scored by the evaluators in parallel and appended to the record."""

from __future__ import annotations

import math
import time
from typing import Any, Callable

from search_spaces import Architecture

from autogan.log import logger
from autogan.search._run_directory import RunDirectory
from autogan.seeding import SeedPurpose, derived_seed

from autogan.search._ranking import autogan_vector
from autogan.search._resume import drop_evaluation
from autogan.search._schedule import PHASE_ORDER
from autogan.search._size import shaped_reward


class ArchitectureScorer:
    """Scores architectures on a pool of evaluators, one record row each.

    ``reusable`` holds evaluations recorded after the last checkpoint (see ``_resume``):
    a score asked again under the same key, for the same architecture, is taken from there.

    With a ``size_factor`` (MnasNet's soft size term, ``autogan.search._size``) a row's
    ``reward`` is the shaped one the controller, the beam and the ranking see; the row keeps
    the evaluator's ``raw_reward`` and the ``size_factor`` beside it.
    """

    def __init__(self, record: RunDirectory, pool: Any, seed: int, on_submitted: Callable[[], None],
                 size_factor: Any = None):
        self.size_factor = size_factor
        self.record = record
        self.pool = pool
        self.seed = seed
        self.on_submitted = on_submitted
        self.reusable: dict[tuple, dict[str, Any]] = {}

    def score(
        self,
        stage: int,
        iteration: int,
        kind: str,
        archs: list[Architecture],
        weights_box: dict,
        *,
        replicates: list[int] | None = None,
    ) -> list[dict]:
        """Rewards for ``archs``, reusing any uncommitted record of the same key and architecture.

        The architectures of one call are one comparison, so they are scored with common random
        numbers: the same latents and calibration latents, which takes the sampling noise out of
        their differences.  ``replicates[i]`` (0 by default) gives architecture ``i`` another
        draw, for a repeated measurement such as the final re-scoring's seeds.
        """
        kind_code = PHASE_ORDER[kind]
        replicates = replicates or [0] * len(archs)
        items, slots, results = [], [], [None] * len(archs)
        for index, arch in enumerate(archs):
            key = (stage, iteration, kind, index)
            previous = self.reusable.pop(key, None)
            if previous is not None and previous["arch"] == str(arch):
                results[index] = {"reused": True, **previous}
                continue
            if previous is not None:
                logger.warning("resume: %s was recorded with another architecture; rescoring", key)
                drop_evaluation(self.record, key)
            items.append(
                {
                    "key": [stage, iteration, kind, index],
                    "arch": str(arch),
                    "seed": derived_seed(self.seed, SeedPurpose.REWARD, stage, iteration, kind_code, replicates[index]),
                }
            )
            slots.append(index)
        if items:
            pending = self.pool.submit("score", items, weights_box)
            self.on_submitted()
            for index, scored in zip(slots, pending.results()):
                row = {
                    "stage": stage,
                    "iteration": iteration,
                    "kind": kind,
                    "index": index,
                    "arch": scored["arch"],
                    "autogan_vector": autogan_vector(archs[index]),
                    "reward": json_float(scored["reward"]),
                    **self._shaped(archs[index], scored["reward"]),
                    "is_mean": json_float(scored.get("is_mean")),
                    "is_std": json_float(scored["is_std"]),
                    "fid": json_float(scored.get("fid")),
                    "error": scored["error"],
                    "seconds": round(scored["seconds"], 4),
                    "time": time.time(),
                }
                self.record.append_evaluation(row)
                results[index] = row
        return results  # type: ignore[return-value]

    def _shaped(self, arch: Architecture, raw: float | None) -> dict[str, Any]:
        """``reward`` (shaped), ``raw_reward`` and ``size_factor`` where there is a soft size term, else nothing."""
        if self.size_factor is None:
            return {}
        factor = self.size_factor.factor(arch)
        return {"reward": json_float(shaped_reward(json_float(raw), factor)), "raw_reward": json_float(raw),
                "size_factor": factor}


def json_float(value: float | None) -> float | None:
    """JSON has no NaN: a failed value is written as null."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def shareable(backend: Any, future: Any) -> Any:
    """A call's result as a handle other actors can read, without fetching it here."""
    ref = getattr(future, "ref", None)
    return ref if ref is not None else future.result()
