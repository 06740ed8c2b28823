"""The search loop: multi-level AutoGAN search with one-stage supernet steps, on a backend.

```
for stage in 1..S:
    for it in iterations(stage):
        trainer.train(archs from the controller, one per D batch)
        rewards = evaluators.score(controller.sample(n, prefix=beam))   # IS, in parallel
        controller.update(rewards); record; checkpoint
        if collapsed: trainer.reset()
    beam = top K of M candidates                                        # carried to stage + 1
```

Every iteration ends in a checkpoint (atomic) and then ``state.json``.  A
resumed run restarts the iteration after the last checkpoint; evaluations
that were recorded after it are reused when the recomputation asks for the
same architecture, so no reward is lost or counted twice.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np

from search_spaces import Architecture, SearchSpace

from autogan.config import Config
from autogan.errors import ConfigError, UserError, first_line, shown
from autogan.log import logger
from autogan.files import atomic_write_bytes
from autogan.images import png_bytes
from autogan.record import RunRecord
from autogan.seeding import derived_seed
from workers import is_worker_death

from autogan.roles import (
    SEED_CONTROLLER,
    SEED_REWARD,
    SEED_SAMPLES,
    RewardEvaluator,
    SupernetTrainer,
)

CHECKPOINT_VERSION = 1
MAX_RECOVERIES = 5


@dataclass(frozen=True)
class RankedArchitecture:
    rank: int
    arch: Architecture
    mean_reward: float
    std_reward: float
    evaluations: int
    stage: int
    #: "final": re-scored on the final supernet with several seeds (the search's answer);
    #: "during-run": the mean of rewards taken at different iterations (provisional).
    basis: str = "during-run"

    def to_dict(self) -> dict[str, Any]:
        try:
            vector: list[int] | None = list(self.arch.to_autogan_vector())
        except ValueError:
            vector = None
        return {
            "rank": self.rank,
            "arch": str(self.arch),
            "autogan_vector": vector,
            "mean_reward": self.mean_reward,
            "std_reward": self.std_reward,
            "evaluations": self.evaluations,
            "stage": self.stage,
            "basis": self.basis,
        }


@dataclass
class SearchHooks:
    """Callbacks for tests and tools: called with the live objects, never required."""

    on_scoring: Callable[[Any, Any], None] | None = None  # (backend, evaluator actors) once rewards are submitted
    on_iteration: Callable[[dict[str, Any]], None] | None = None  # the iteration's record row


def rank_architectures(evaluations: list[dict[str, Any]], num_cells: int) -> list[RankedArchitecture]:
    """Full architectures by mean reward over their valid evaluations (failed ones excluded).

    Once the final re-scoring has rows, only they count: every one of them was scored
    on the same final supernet, whereas rewards taken during the run rose with the
    supernet and mostly say when an architecture was scored.
    """
    final = [row for row in evaluations if row.get("kind") == "rescore"]
    basis = "final" if final else "during-run"
    rewards: dict[str, list[float]] = {}
    stages: dict[str, int] = {}
    for row in final or evaluations:
        arch = Architecture.parse(row["arch"])
        reward = row.get("reward")
        if len(arch.cells) != num_cells or reward is None or not math.isfinite(reward):
            continue
        rewards.setdefault(row["arch"], []).append(float(reward))
        stages.setdefault(row["arch"], int(row["stage"]))
    ordered = sorted(rewards.items(), key=lambda kv: (-float(np.mean(kv[1])), kv[0]))
    return [
        RankedArchitecture(
            rank=rank,
            arch=Architecture.parse(text),
            mean_reward=float(np.mean(values)),
            std_reward=float(np.std(values)),
            evaluations=len(values),
            stage=stages[text],
            basis=basis,
        )
        for rank, (text, values) in enumerate(ordered, start=1)
    ]


def rescore_candidates(
    beam: list[Architecture], evaluations: list[dict[str, Any]], num_cells: int, count: int
) -> list[Architecture]:
    """The final beam, then the run's best by during-run reward, distinct, ``count`` at least."""
    # A resumed re-scoring has some of its own rows already: they must not change the choice.
    during_run = [row for row in evaluations if row.get("kind") != "rescore"]
    chosen: list[Architecture] = []
    for arch in beam + [r.arch for r in rank_architectures(during_run, num_cells)]:
        if len(chosen) >= max(count, len(beam)):
            break
        if arch not in chosen:
            chosen.append(arch)
    return chosen


class Search:
    """One search run over a run directory; ``run()`` goes from wherever the record stands to the end."""

    def __init__(
        self,
        config: Config,
        run_dir: Path | str,
        *,
        resume: bool = False,
        backend: Any = None,
        hooks: SearchHooks | None = None,
        progress: bool | None = None,
    ):
        self.hooks = hooks or SearchHooks()
        self.progress = progress
        fresh = made_directory = False
        if resume:
            self.record = RunRecord.open(run_dir)
        else:
            # Before anything is written: a search that cannot start leaves no run directory.
            _check_inputs(config)
            fresh = not RunRecord(run_dir).config_path.exists()
            made_directory = not Path(run_dir).exists()
            self.record = RunRecord.create(run_dir, config)
        self._lock = self.record.lock()
        try:
            if resume:
                self.record.check_damage()
                config = self.record.config()
                _check_inputs(config)
            self.config = config
            self._start(backend, resume)
        except BaseException:
            if fresh:
                # Nothing was searched yet: leave nothing that would make a retry with a fixed config look
                # like "a different config".
                self.record.discard_unstarted(remove_directory=made_directory)
            self._lock.release()
            raise

    def _start(self, backend: Any, resume: bool) -> None:
        from controllers import BeamSearch, get_controller
        from workers import ActorPool, ClusterUnreachable, Resources, make_backend

        config = self.config
        self.space = SearchSpace(num_cells=config.search.num_cells)
        search = config.search
        try:
            self.controller = get_controller(
                search.controller,
                self.space,
                seed=derived_seed(config.run.seed, SEED_CONTROLLER) % 2**31,
                **controller_options(search),
            )
        except ValueError as exc:
            raise ConfigError(f"search.controller={search.controller!r}: {exc}") from None
        self.beam = BeamSearch(self.space, size=search.beam_width, num_candidates=search.beam_candidates)
        self._owns_backend = backend is None
        run = config.run
        try:
            self.backend = backend or make_backend(run.backend, **({"address": run.address or None} if run.backend == "ray" else {}))
        except ConnectionError as exc:  # ClusterUnreachable, or Ray's own failure to find a cluster
            reason = str(exc) if isinstance(exc, ClusterUnreachable) else first_line(exc)
            raise ConfigError(
                f"--address {shown(run.address)}: {reason}; start the cluster (`ray start --head`), check the host and "
                "port, or leave --address out to run on this machine"
            ) from None
        self.trainer, self.evaluators = None, []
        try:
            _wait_for_resources(self.backend, run)
            config_dict = config.to_dict()
            # No automatic re-run of trainer calls: a restarted trainer must first get its checkpoint back.
            self.trainer = self.backend.actor(
                SupernetTrainer,
                config_dict,
                resources=Resources(num_cpus=run.trainer_cpus, num_gpus=run.trainer_gpus),
                retry_calls=False,
            )
            self.evaluators = [
                self.backend.actor(
                    RewardEvaluator, config_dict, resources=Resources(num_cpus=run.evaluator_cpus, num_gpus=run.evaluator_gpus)
                )
                for _ in range(run.evaluators)
            ]
            _wait_for_workers(self.backend, [self.trainer, *self.evaluators], run)
        except BaseException:
            self._free_workers()  # a shared cluster gets back what a search that never started took
            raise
        self._trainer_instance = self.trainer.call("instance_id").result()
        self.pool = ActorPool(self.backend, self.evaluators)
        self._tb = None
        self.progress_state: dict[str, Any] = {"stage": 1, "iteration": 0, "phase": "policy", "global_iteration": 0}
        self.next_train_archs: list[str] | None = None
        self._pending: dict[tuple, dict[str, Any]] = {}
        self._inflight: Any = None
        self.recoveries = 0
        if resume:
            self._restore()
        else:
            self._checkpoint()  # so that a lost trainer always has a state to come back to

    # --- durable state --------------------------------------------------------------------

    def _restore(self) -> None:
        self.record.repair_after_crash()
        if not self.record.checkpoint_path.exists():
            # Crashed before the first checkpoint: everything recorded is uncommitted.
            committed_upto: tuple = (0, -1, 0)
        else:
            checkpoint = self.record.load_checkpoint()
            if checkpoint.get("version") != CHECKPOINT_VERSION:
                raise UserError(
                    f"search checkpoint {self.record.checkpoint_path}: version {shown(checkpoint.get('version'))} "
                    f"is not {CHECKPOINT_VERSION}; resume it with the autogan version that wrote it"
                )
            missing = {"trainer", "controller", "beam", "progress"} - checkpoint.keys()
            if missing:
                raise UserError(
                    f"search checkpoint {self.record.checkpoint_path}: has no {sorted(missing)}, so it is not a "
                    "search checkpoint; restore the file autogan wrote or start a new search"
                )
            self._trainer_call("load_state_dict", checkpoint["trainer"]).result()
            self.controller.load_state_dict(checkpoint["controller"])
            self.beam.load_state_dict(checkpoint["beam"])
            self.progress_state = dict(checkpoint["progress"])
            self.next_train_archs = checkpoint.get("next_train_archs")
            committed_upto = _position(self.progress_state)
        evaluations = self.record.evaluations()
        self._pending = {_row_key(r): r for r in evaluations if _row_position(r) >= committed_upto}
        if self._pending:
            logger.info("resume: %d evaluations recorded after the last checkpoint will be reused", len(self._pending))
        # Iteration rows after the checkpoint are re-recorded when the iteration is redone.
        iterations = self.record.iterations()
        kept = [r for r in iterations if _position(r) < committed_upto]
        if len(kept) != len(iterations):
            self.record.rewrite_iterations(kept)
        if self.record.checkpoint_path.exists() and self.record.read_state() is None:
            logger.warning("resume: %s was missing; written again from the checkpoint", self.record.state_path)
            done = self.progress_state["phase"] == "done"
            self._write_state([r.to_dict() for r in self.ranking()[: self.config.search.top_k]] if done else None)
        logger.info(
            "resume: stage %d, iteration %d (%s)",
            self.progress_state["stage"],
            self.progress_state["iteration"],
            self.progress_state["phase"],
        )

    def _trainer_call(self, method: str, *args: Any) -> Any:
        """Call the trainer, naming the instance whose state the driver expects."""
        if method == "load_state_dict":
            return self.trainer.call(method, *args)
        return self.trainer.call(method, *args, instance=self._trainer_instance)

    def _recover(self, exc: BaseException) -> None:
        """A worker was lost beyond its retries: go back to the last checkpoint and redo from there."""
        self.recoveries += 1
        if self.recoveries > MAX_RECOVERIES:
            raise exc
        logger.warning("a worker was lost (%s); continuing from the last checkpoint (%d/%d)", exc, self.recoveries, MAX_RECOVERIES)
        self._inflight = None
        self._trainer_instance = self._wait_for_trainer()
        self._restore()

    def _wait_for_trainer(self, timeout: float = 120.0) -> str:
        """The restarted trainer's instance id, once the backend has brought it back."""
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.trainer.call("instance_id").result()
            except Exception as exc:
                if not is_worker_death(exc) or time.monotonic() > deadline:
                    raise
                time.sleep(0.5)

    def _checkpoint(self, trainer_state: Any = None, *, top: list[dict[str, Any]] | None = None) -> None:
        trainer_state = trainer_state or self._trainer_call("state_dict")
        checkpoint = {
            "version": CHECKPOINT_VERSION,
            "trainer": trainer_state.result(),
            "controller": self.controller.state_dict(),
            "beam": self.beam.state_dict(),
            "progress": dict(self.progress_state),
            "next_train_archs": self.next_train_archs,
            "config": self.config.to_dict(),
        }
        self.record.save_checkpoint(checkpoint)
        self._write_state(top)

    def _write_state(self, top: list[dict[str, Any]] | None = None) -> None:
        self.record.write_state(
            {
                **self.progress_state,
                "beam": [{"arch": str(e.arch), "score": e.score} for e in self.beam.entries],
                "controller": self.config.search.controller,
                **({"top": top} if top is not None else {}),
            }
        )

    # --- pieces of an iteration -------------------------------------------------------

    def _sample_training_archs(self, stage: int) -> list[str]:
        archs = self.controller.sample_architectures(self.config.train.d_steps_per_iteration, prefix=self._prefix(stage))
        return [str(a) for a in archs]

    def _prefix(self, stage: int) -> Any:
        return self.beam if stage > 1 else None

    def _score(self, stage: int, iteration: int, kind: str, archs: list[Architecture], weights_box: dict) -> list[dict]:
        """Rewards for ``archs``, reusing any uncommitted record of the same key and architecture."""
        seed = self.config.run.seed
        kind_code = _KIND_ORDER[kind]
        items, slots, results = [], [], [None] * len(archs)
        for index, arch in enumerate(archs):
            key = (stage, iteration, kind, index)
            previous = self._pending.pop(key, None)
            if previous is not None and previous["arch"] == str(arch):
                results[index] = {"reused": True, **previous}
                continue
            if previous is not None:
                logger.warning("resume: %s was recorded with another architecture; rescoring", key)
                self._drop_recorded(key)
            items.append(
                {
                    "key": [stage, iteration, kind, index],
                    "arch": str(arch),
                    "seed": derived_seed(seed, SEED_REWARD, stage, iteration, kind_code, index),
                }
            )
            slots.append(index)
        if items:
            pending = self.pool.submit("score", items, weights_box)
            if self.hooks.on_scoring:
                self.hooks.on_scoring(self.backend, self.evaluators)
            for index, scored in zip(slots, pending.results()):
                row = {
                    "stage": stage,
                    "iteration": iteration,
                    "kind": kind,
                    "index": index,
                    "arch": scored["arch"],
                    "autogan_vector": _vector(archs[index]),
                    "reward": _json_float(scored["reward"]),
                    "is_std": _json_float(scored["is_std"]),
                    "error": scored["error"],
                    "seconds": round(scored["seconds"], 4),
                    "time": time.time(),
                }
                self.record.append_evaluation(row)
                results[index] = row
        return results  # type: ignore[return-value]

    def _drop_recorded(self, key: tuple) -> None:
        rows = [r for r in self.record.evaluations() if _row_key(r) != key]
        self.record.rewrite_evaluations(rows)

    def _weights_box(self, version: int) -> dict[str, Any]:
        future = self._trainer_call("weights")
        return {"version": version, "ref": _shareable(self.backend, future)}

    def _save_grid(self, stage: int, iteration: int, arch: Architecture, weights_box: dict) -> None:
        # An evaluator renders it: it holds this iteration's weights even while the trainer moves on.
        seed = derived_seed(self.config.run.seed, SEED_SAMPLES)
        images = self.evaluators[0].call("sample_images", str(arch), 64, seed, weights_box).result()
        atomic_write_bytes(self.record.samples_dir / f"stage{stage}_iter{iteration:03d}.png", png_bytes(images))

    def _tensorboard(self):
        if self._tb is None:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(self.record.tb_dir))
        return self._tb

    # --- the loop -------------------------------------------------------------------------

    def run(self) -> list[RankedArchitecture]:
        from tqdm.auto import tqdm

        search = self.config.search
        total = sum(search.stage_iterations)
        done_before = self.progress_state["global_iteration"]
        bar = tqdm(total=total, initial=done_before, desc="search", unit="iter", disable=None if self.progress is None else not self.progress)
        try:
            while self.progress_state["phase"] != "done":
                stage = self.progress_state["stage"]
                self.controller.set_stage(stage)
                bar.set_postfix_str(f"stage {stage}/{self.space.num_cells}")
                try:
                    phase = self.progress_state["phase"]
                    if phase == "policy":
                        self._iteration(stage, self.progress_state["iteration"])
                        bar.update(1)
                    elif phase == "beam":
                        self._end_stage(stage)
                    else:
                        self._rescore(stage)
                except Exception as exc:
                    if not is_worker_death(exc):
                        raise
                    self._recover(exc)
                    bar.n = self.progress_state["global_iteration"]
                    bar.refresh()
        finally:
            bar.close()
            if self._tb is not None:
                self._tb.close()
        return self.ranking()

    def _iteration(self, stage: int, iteration: int) -> None:
        config = self.config
        started = time.perf_counter()
        if self._inflight is not None:
            train_stats = self._inflight.result()
        else:
            archs = self.next_train_archs or self._sample_training_archs(stage)
            train_stats = self._trainer_call("train", stage, [Architecture.parse(a) for a in archs]).result()
        self._inflight = None
        self.next_train_archs = None
        box = self._weights_box(self.progress_state["global_iteration"])
        # AutoGAN scores the collapsed supernet once more, then starts G and D afresh; the
        # actor runs calls in order, so the weights taken above predate the reset.
        reset = bool(train_stats["collapsed"])
        if reset:
            resets = self._trainer_call("reset").result()
            logger.warning("stage %d iteration %d: supernet collapsed; reset #%d", stage, iteration, resets)
        proposals = self.controller.sample(config.search.archs_per_iteration, prefix=self._prefix(stage))
        trainer_state = None
        next_stage, next_iteration, _ = self._advance(stage, iteration)
        if config.run.overlap and next_iteration is not None:
            # Train iteration i+1 on the policy before this update while the rewards of i are scored.
            # The checkpoint takes the trainer's state from before that call, plus the architectures
            # it trains on, so a resume redoes exactly the same work.
            trainer_state = self._trainer_call("state_dict")
            self.next_train_archs = self._sample_training_archs(stage)
            self._inflight = self._trainer_call(
                "train", stage, [Architecture.parse(a) for a in self.next_train_archs]
            )
        results = self._score(stage, iteration, "policy", [p.arch for p in proposals], box)
        rewards = [r["reward"] for r in results]
        stats = self.controller.update(proposals, rewards)
        if results:
            best = max(
                (r for r in results if r["reward"] is not None),
                key=lambda r: r["reward"],
                default=results[0],
            )
            self._save_grid(stage, iteration, Architecture.parse(best["arch"]), box)
        valid = [r for r in rewards if r is not None and math.isfinite(r)]
        row = {
            "stage": stage,
            "iteration": iteration,
            "phase": "policy",
            "global_iteration": self.progress_state["global_iteration"],
            "d_steps": train_stats["d_steps"],
            "loss_d": _json_float(train_stats["loss_d"]),
            "loss_g": _json_float(train_stats["loss_g"]),
            "collapsed": train_stats["collapsed"],
            "reset": reset,
            "reward_mean": _json_float(float(np.mean(valid)) if valid else math.nan),
            "reward_max": _json_float(max(valid) if valid else math.nan),
            "failed_rewards": len(rewards) - len(valid),
            "entropy": _json_float(stats.entropy),
            "baseline": _json_float(stats.baseline) if stats.baseline is not None else None,
            "policy_loss": _json_float(stats.loss),
            "train_seconds": round(train_stats["seconds"], 3),
            "seconds": round(time.perf_counter() - started, 3),
            "time": time.time(),
        }
        self.record.append_iteration(row)
        self._log_scalars(row)
        if self.hooks.on_iteration:
            self.hooks.on_iteration(row)
        logger.info(
            "stage %d iter %d: loss_d %.3f loss_g %.3f reward %.3f (max %.3f) entropy %.2f %.1fs%s",
            stage,
            iteration,
            row["loss_d"] or math.nan,
            row["loss_g"] or math.nan,
            row["reward_mean"] or math.nan,
            row["reward_max"] or math.nan,
            row["entropy"] or math.nan,
            row["seconds"],
            " RESET" if reset else "",
        )
        _, _, phase = self._advance(stage, iteration)
        self.progress_state.update(
            stage=next_stage,
            iteration=next_iteration if next_iteration is not None else iteration + 1,
            phase=phase,
            global_iteration=self.progress_state["global_iteration"] + 1,
        )
        self._checkpoint(trainer_state)

    def _advance(self, stage: int, iteration: int) -> tuple[int, int | None, str]:
        if iteration + 1 < self.config.search.stage_iterations[stage - 1]:
            return stage, iteration + 1, "policy"
        return stage, None, "beam"

    def _end_stage(self, stage: int) -> None:
        """Score M candidates with the final weights of the stage and keep the top K as the beam."""
        search = self.config.search
        iteration = self.progress_state["iteration"]
        box = self._weights_box(self.progress_state["global_iteration"] + 10**6)
        proposals = self.controller.sample(search.beam_candidates, prefix=self._prefix(stage))
        results = self._score(stage, iteration, "beam", [p.arch for p in proposals], box)
        scores = [r["reward"] if r["reward"] is not None else None for r in results]
        self.beam.update(proposals, scores)
        logger.info(
            "stage %d done: beam %s",
            stage,
            ", ".join(f"{e.score:.3f}" for e in self.beam.entries),
        )
        if stage < self.space.num_cells:
            self.progress_state.update(stage=stage + 1, iteration=0, phase="policy")
        else:
            self.progress_state.update(phase="rescore")
        self.record.append_iteration(
            {"stage": stage, "iteration": iteration, "phase": "beam", "global_iteration": self.progress_state["global_iteration"],
             "beam": [{"arch": str(e.arch), "score": e.score} for e in self.beam.entries], "time": time.time()}
        )
        self._checkpoint()

    def _rescore(self, stage: int) -> None:
        """Score the final beam and the run's best again, on the final supernet, with several seeds.

        During the run each architecture was scored once, on whatever the supernet was
        then; this ranking puts them on equal terms.  The rows are kind "rescore", kept
        apart from the during-run rewards.
        """
        search = self.config.search
        iteration = self.progress_state["iteration"]
        candidates = rescore_candidates(
            list(self.beam.prefixes), self.record.evaluations(), self.space.num_cells, 2 * search.top_k
        )
        archs = [arch for arch in candidates for _ in range(search.rescore_seeds)]
        box = self._weights_box(self.progress_state["global_iteration"] + 2 * 10**6)
        self._score(stage, iteration, "rescore", archs, box)
        self.progress_state.update(phase="done")
        ranking = self.ranking()
        self._checkpoint(top=[r.to_dict() for r in ranking[: search.top_k]])
        if ranking:
            logger.info(
                "final ranking: %d candidates x %d seeds on the final supernet; best %.3f +- %.3f",
                len(candidates),
                search.rescore_seeds,
                ranking[0].mean_reward,
                ranking[0].std_reward,
            )

    def _log_scalars(self, row: dict[str, Any]) -> None:
        writer = self._tensorboard()
        step = row["global_iteration"]
        for key in ("loss_d", "loss_g", "reward_mean", "reward_max", "entropy", "baseline"):
            if row.get(key) is not None:
                writer.add_scalar(f"search/{key}", row[key], step)
        writer.add_scalar("search/reset", float(row["reset"]), step)
        writer.flush()

    def ranking(self) -> list[RankedArchitecture]:
        return rank_architectures(self.record.evaluations(), self.space.num_cells)

    def close(self) -> None:
        """Free the workers: a shared Ray cluster gets its CPUs and GPUs back."""
        self._free_workers()
        self._lock.release()

    def _free_workers(self) -> None:
        for actor in [self.trainer, *self.evaluators]:
            if actor is not None:
                self.backend.release(actor)
        if self._owns_backend:
            self.backend.shutdown()


def run_search(config: Config, run_dir: Path | str, *, resume: bool = False, **options: Any) -> list[RankedArchitecture]:
    search = Search(config, run_dir, resume=resume, **options)
    try:
        return search.run()
    finally:
        search.close()


# --------------------------------------------------------------------------- helpers


def _check_inputs(config: Config) -> None:
    """Fail here, with one clear line, rather than inside a worker on another machine.

    Opening the dataset and the extractor also builds the digits classifier's cache
    once, so evaluators never race to train it.
    """
    from autogan.data import get_dataset
    from autogan.metrics import get_extractor
    from autogan.train import get_loss

    get_loss(config.train.loss)
    data = config.data
    get_dataset(data.dataset, root=data.root or None, download=data.download, channels=data.channels)
    get_extractor(config.search.extractor, device="cpu", weights_path=config.search.inception_weights or None)


# How often a wait for the cluster says that it is still waiting.
_WAIT_NOTICE_SECONDS = 30.0


def _resource_shortfall(run: Any, nodes: list[Any], where: str) -> str | None:
    """Why the trainer and evaluators cannot all be placed on ``nodes``, naming the config keys; None if they can."""
    # Ray counts resources to 1e-4; a hair over the total is rounding, not a shortfall.
    slack = 1e-4
    asks = (
        ("CPU", "cpus", sum(n.num_cpus for n in nodes), max((n.num_cpus for n in nodes), default=0.0), run.trainer_cpus, run.evaluator_cpus),
        ("GPU", "gpus", sum(n.num_gpus for n in nodes), max((n.num_gpus for n in nodes), default=0.0), run.trainer_gpus, run.evaluator_gpus),
    )
    for unit, key, total, largest, trainer, evaluator in asks:
        asked = trainer + run.evaluators * evaluator
        fix_off = "; set it to 0 to run on CPU" if unit == "GPU" else ""
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


def _wait_for_resources(backend: Any, run: Any) -> None:
    """Fail at once, naming the config keys, when the workers can never all start: Ray would wait forever.

    A cluster that can autoscale may still grow: wait for it, saying so, up to ``run.start_timeout``.
    """
    where = "the Ray cluster" if backend.may_grow else "this machine's Ray instance"
    deadline = time.monotonic() + run.start_timeout
    while True:
        nodes = backend.capacity()
        shortfall = None if nodes is None else _resource_shortfall(run, nodes, where)
        if shortfall is None:
            return
        if not backend.may_grow:
            raise ConfigError(shortfall)
        left = deadline - time.monotonic()
        if left <= 0:
            raise ConfigError(f"{shortfall} (waited {run.start_timeout:g}s for it to grow: run.start_timeout)")
        logger.warning("waiting for the cluster to grow, up to %.0fs more (run.start_timeout): %s", left, shortfall)
        time.sleep(min(_WAIT_NOTICE_SECONDS, left))


def _wait_for_workers(backend: Any, actors: list[Any], run: Any) -> None:
    """Wait until every worker is up; a start that never comes ends, after ``run.start_timeout``, in one line."""
    pings = [actor.call("ping") for actor in actors]
    started = time.monotonic()
    while True:
        waited = time.monotonic() - started
        step = min(_WAIT_NOTICE_SECONDS, run.start_timeout - waited)
        try:
            backend.wait_all(pings, timeout=max(step, 0.0))
            return
        except TimeoutError as exc:
            if waited + step >= run.start_timeout:
                raise ConfigError(
                    f"the trainer and run.evaluators={run.evaluators} workers did not all start within "
                    f"run.start_timeout={run.start_timeout:g}s ({exc}); the cluster has no room for them now: "
                    "lower run.evaluators, run.evaluator_cpus or run.evaluator_gpus, free the cluster, or raise run.start_timeout"
                ) from None
            logger.warning("still waiting for Ray to start the workers (%s; run.start_timeout=%gs)", exc, run.start_timeout)


def controller_options(search: Any) -> dict[str, Any]:
    if search.controller == "rnn":
        return {
            "lr": search.controller_lr,
            "entropy_weight": search.entropy_weight,
            "baseline_decay": search.baseline_decay,
            "update_rule": search.controller_update,
            "epochs": search.controller_epochs,
        }
    return {}


_KIND_ORDER = {"policy": 0, "beam": 1, "rescore": 2}


def _position(progress: dict[str, Any]) -> tuple:
    """Where a row or a checkpoint stands in the run, in run order."""
    phase = progress.get("phase", "policy")
    if phase == "done":
        return (10**9, 0, 0)
    return (int(progress["stage"]), int(progress["iteration"]), _KIND_ORDER.get(phase, 0))


def _row_position(row: dict[str, Any]) -> tuple:
    return (int(row["stage"]), int(row["iteration"]), _KIND_ORDER[row["kind"]])


def _row_key(row: dict[str, Any]) -> tuple:
    return (int(row["stage"]), int(row["iteration"]), row["kind"], int(row["index"]))


def _vector(arch: Architecture) -> list[int] | None:
    try:
        return list(arch.to_autogan_vector())
    except ValueError:
        return None


def _json_float(value: float | None) -> float | None:
    """JSON has no NaN: a failed value is written as null."""
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _shareable(backend: Any, future: Any) -> Any:
    """A call's result as a handle other actors can read, without fetching it here."""
    ref = getattr(future, "ref", None)
    return ref if ref is not None else future.result()
