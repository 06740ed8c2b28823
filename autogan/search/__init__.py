"""The search: multi-level AutoGAN search with one-stage supernet steps, on a backend.

```
for stage in 1..S:
    for it in iterations(stage):
        trainer.train(archs from the controller, one per D batch)
        rewards = evaluators.score(controller.sample(n, prefix=beam))   # IS, in parallel
        controller.update(rewards); record; checkpoint
        if collapsed: trainer.reset()
    beam = top K of M candidates                                        # carried to stage + 1
```

Modules, one concern each: ``_loop`` (the loop above: ``Search``, ``run_search``),
``_schedule`` (stages, iterations, phases), ``_scoring`` (rewards into the record),
``_checkpoint`` (checkpoint and ``state.json``), ``_resume`` (what a resume reuses or
redoes), ``_trainer`` (calls to the trainer, and getting it back once lost),
``_reporting`` (log lines, TensorBoard, sample grids), ``_setup`` (controller, backend,
workers from the config), ``_resources`` (checks before a cluster is taken),
``_size`` (the size budget and the soft size factor), ``_ranking`` (the search's answer), ``_run_directory`` (what a search leaves
on disk, with ``_rows``, the schema of its rows), and
the two kinds of worker: ``_supernet_trainer`` and ``_reward_evaluator`` (with what they set up
alike, ``_worker_setup``).
"""

from autogan.search._loop import FinishedIteration, Search, SearchHooks, run_search
from autogan.search._ranking import RankedArchitecture, rank_architectures
from autogan.search._reward_evaluator import RewardEvaluator
from autogan.search._run_directory import RunDirectory
from autogan.search._setup import controller_options
from autogan.search._size import budget_summary, budget_text, size_budget
from autogan.search._supernet_trainer import SupernetTrainer
from autogan.search._worker_setup import build_models

__all__ = [
    "FinishedIteration",
    "RankedArchitecture",
    "RewardEvaluator",
    "RunDirectory",
    "Search",
    "SearchHooks",
    "SupernetTrainer",
    "budget_summary",
    "budget_text",
    "build_models",
    "controller_options",
    "rank_architectures",
    "run_search",
    "size_budget",
]
