"""The search loop: DESIGN.md's driver, from wherever the record stands to the final ranking.

Every step ends in a checkpoint (atomic) and then ``state.json``; a worker lost beyond
its retries sends the loop back to the last checkpoint (see ``_resume``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from search_spaces import Architecture, SearchSpace

from autogan.config import Config
from autogan.log import logger
from autogan.record import RunRecord
from workers import is_worker_death

from autogan.search._checkpoint import load_checkpoint, save_checkpoint, write_state
from autogan.search._progress import Progress
from autogan.search._ranking import RankedArchitecture, rank_architectures, rescore_candidates
from autogan.search._reporting import Reporter, best_scored, iteration_row
from autogan.search._cpu_plan import resolve as resolve_cpu_plan
from autogan.search._resources import check_inputs, wait_for_resources, wait_for_workers
from autogan.search._resume import NOTHING_COMMITTED, drop_uncommitted_iterations, position, reusable_evaluations
from autogan.search._schedule import Schedule, start_of_run
from autogan.search._stage_cost import stage_step_macs
from autogan.search._scoring import ArchitectureScorer, shareable
from autogan.search._size import SizeFactor, size_budget
from autogan.search._setup import connect_backend, make_controller, start_evaluators, start_trainer
from autogan.search._trainer import MAX_RECOVERIES, PinnedTrainer


@dataclass
class SearchHooks:
    """Callbacks for tests and tools: called with the live objects, never required."""

    on_scoring: Callable[[Any, Any], None] | None = None  # (backend, evaluator actors) once rewards are submitted
    on_iteration: Callable[[dict[str, Any]], None] | None = None  # the iteration's record row


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
        progress_every: float = 60.0,
    ):
        self.hooks = hooks or SearchHooks()
        self.progress = progress  # a progress bar; None: where stderr is a terminal
        self.progress_every = progress_every  # seconds between progress lines where there is no bar
        fresh = made_directory = False
        if resume:
            self.record = RunRecord.open(run_dir)
        else:
            # Before anything is written: a search that cannot start leaves no run directory.
            check_inputs(config)
            fresh = not RunRecord(run_dir).config_path.exists()
            made_directory = not Path(run_dir).exists()
            self.record = RunRecord.create(run_dir, config)
        self._lock = self.record.lock()
        try:
            if resume:
                self.record.check_damage()
                config = self.record.config()
                check_inputs(config)
            self.config = config
            # Named before the workers start (minutes on a busy cluster), so that the run can be followed.
            logger.info("run directory: %s (follow it: autogan inspect %s; tensorboard --logdir %s)",
                        self.record.path, self.record.path, self.record.tb_dir)
            self._start(backend, resume)
        except BaseException:
            if fresh:
                # Nothing was searched yet: leave nothing that would make a retry with a fixed config look
                # like "a different config".
                self.record.discard_unstarted(remove_directory=made_directory)
            self._lock.release()
            raise

    def _start(self, backend: Any, resume: bool) -> None:
        from controllers import BeamSearch
        from workers import ActorPool

        config = self.config
        search, run = config.search, config.run
        self.space = SearchSpace(num_cells=search.num_cells)
        self.schedule = Schedule(search.stage_iterations, self.space.num_cells)
        self.budget = size_budget(config, self.space)
        self.controller = make_controller(config, self.space, self.budget)
        self.beam = BeamSearch(self.space, size=search.beam_width, num_candidates=search.beam_candidates,
                               budget=self.budget)
        self._owns_backend = backend is None
        self.backend = backend or connect_backend(run)
        self.trainer, self.evaluators = None, []
        try:
            # The "auto" keys of [run] fit this machine; config.json keeps "auto" for the next one.
            config, trainer_config, cpu_plan = resolve_cpu_plan(config, self.backend.capacity())
            if cpu_plan is not None:
                logger.info("plan: %s (run.threads/overlap/evaluators set to \"auto\"; give values to override)",
                            cpu_plan.describe())
            self.config, run = config, config.run
            wait_for_resources(self.backend, run)
            self.trainer = start_trainer(self.backend, trainer_config.to_dict(), run)
            self.evaluators = start_evaluators(self.backend, config.to_dict(), run)
            self.workers = wait_for_workers(self.backend, [self.trainer, *self.evaluators], run)
        except BaseException:
            self._free_workers()  # a shared cluster gets back what a search that never started took
            raise
        self._trainer = PinnedTrainer(self.trainer)
        size_factor = SizeFactor(config, self.space) if SizeFactor.wanted(config) else None
        self.scorer = ArchitectureScorer(self.record, ActorPool(self.backend, self.evaluators), run.seed,
                                         self._scoring_submitted, size_factor=size_factor)
        self.reporter = Reporter(self.record, self.evaluators, run.seed)
        self.progress_state: dict[str, Any] = start_of_run()
        self.next_train_archs: list[str] | None = None
        self._inflight: Any = None
        self.recoveries = 0
        if resume:
            self._restore()
        else:
            self._checkpoint()  # so that a lost trainer always has a state to come back to
            self.reporter.log_config(config)

    # --- the loop -------------------------------------------------------------------------

    def run(self) -> list[RankedArchitecture]:
        self.tracker = Progress(self.schedule.stage_iterations, self.progress_state["global_iteration"],
                                interactive=self.progress, every=self.progress_every,
                                stage_costs=stage_step_macs(self.space, self.config.model, self.config.data.channels))
        try:
            while self.progress_state["phase"] != "done":
                stage = self.progress_state["stage"]
                self.controller.set_stage(stage)
                try:
                    phase = self.progress_state["phase"]
                    self.tracker.begin(stage, self.progress_state["iteration"], phase)
                    if phase == "policy":
                        self._iteration(stage, self.progress_state["iteration"])
                    elif phase == "beam":
                        self._end_stage(stage)
                    else:
                        self._rescore(stage)
                except Exception as exc:
                    if not is_worker_death(exc):
                        raise
                    self._recover(exc)
                    self.tracker.moved_to(self.progress_state["global_iteration"])
        finally:
            self.tracker.close()
            self.reporter.close()
        return self.ranking()

    def _iteration(self, stage: int, iteration: int) -> None:
        """Train the supernet, score the policy's proposals, update the policy; reset a collapsed supernet."""
        started = time.perf_counter()
        train_stats = self._train(stage)
        box = self._weights_box(self.progress_state["global_iteration"])
        # AutoGAN scores the collapsed supernet once more, then starts G and D afresh; the
        # actor runs calls in order, so the weights taken above predate the reset.
        reset = bool(train_stats["collapsed"])
        deferred = reset and not self.schedule.has_next_iteration(stage, iteration)
        if deferred:
            # The stage's beam (after the last stage, the final ranking too) is scored next, and
            # must be scored on this trained supernet: the reset waits for the next training.
            self.progress_state["reset_pending"] = True
            logger.warning("stage %d iteration %d: supernet collapsed; it is reset after the stage's beam is scored",
                           stage, iteration)
        elif reset:
            self._reset_supernet(f"stage {stage} iteration {iteration}")
        proposals = self.controller.sample(self.config.search.archs_per_iteration, prefix=self._prefix(stage))
        trainer_state = self._start_next_training(stage, iteration)
        results = self.scorer.score(stage, iteration, "policy", [p.arch for p in proposals], box)
        rewards = [r["reward"] for r in results]
        stats = self.controller.update(proposals, rewards)
        if reset:
            # These rewards came from the supernet before the reset; later ones come from a fresh one.
            self.controller.on_supernet_reset()
        if results:
            self.reporter.save_grid(stage, iteration, best_scored(results), box, self.progress_state["global_iteration"])
        row = iteration_row(self.progress_state, train_stats, reset, rewards, stats, started)
        row["reset_deferred"] = deferred
        self.record.append_iteration(row)
        self.reporter.log_scalars(row)
        if self.hooks.on_iteration:
            self.hooks.on_iteration(row)
        self.reporter.log_iteration(row)
        self.tracker.iteration_done(row, len(results))
        self.schedule.finish_iteration(self.progress_state)
        self._checkpoint(trainer_state)

    def _end_stage(self, stage: int) -> None:
        """Score M candidates with the final weights of the stage and keep the top K as the beam."""
        search = self.config.search
        iteration = self.progress_state["iteration"]
        box = self._weights_box(self.progress_state["global_iteration"] + 10**6)
        proposals = self.controller.sample(search.beam_candidates, prefix=self._prefix(stage))
        results = self.scorer.score(stage, iteration, "beam", [p.arch for p in proposals], box)
        scores = [r["reward"] if r["reward"] is not None else None for r in results]
        self.tracker.rewards_done(len(results))
        self.beam.update(proposals, scores)
        logger.info(
            "stage %d done: beam %s",
            stage,
            ", ".join(f"{e.score:.3f}" for e in self.beam.entries),
        )
        self.schedule.finish_stage(self.progress_state)
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
        replicates = [seed for _ in candidates for seed in range(search.rescore_seeds)]
        box = self._weights_box(self.progress_state["global_iteration"] + 2 * 10**6)
        self.scorer.score(stage, iteration, "rescore", archs, box, replicates=replicates)
        ranking = self.ranking()
        for entry in ranking[: search.top_k]:
            self.reporter.save_final_grid(entry.arch, box)
        self.schedule.finish_run(self.progress_state)
        self._checkpoint(top=[r.to_dict() for r in ranking[: search.top_k]])
        if ranking:
            logger.info(
                "final ranking: %d candidates x %d seeds on the final supernet; best %.3f +- %.3f",
                len(candidates),
                search.rescore_seeds,
                ranking[0].mean_reward,
                ranking[0].std_reward,
            )

    def ranking(self) -> list[RankedArchitecture]:
        return rank_architectures(self.record.evaluations(), self.space.num_cells)

    # --- pieces of an iteration -------------------------------------------------------

    def _reset_supernet(self, where: str) -> None:
        resets = self._trainer.call("reset").result()
        logger.warning("%s: supernet collapsed; reset #%d", where, resets)

    def _train(self, stage: int) -> dict[str, Any]:
        """This iteration's supernet training: started during the previous iteration, or now."""
        if self.progress_state.pop("reset_pending", False):
            self._reset_supernet(f"stage {stage}, before its first training")
            self.controller.on_supernet_reset()
        if self._inflight is not None:
            train_stats = self._inflight.result()
        else:
            archs = self.next_train_archs or self._sample_training_archs(stage)
            train_stats = self._trainer.call("train", stage, [Architecture.parse(a) for a in archs]).result()
        self._inflight = None
        self.next_train_archs = None
        return train_stats

    def _start_next_training(self, stage: int, iteration: int) -> Any:
        """With ``run.overlap``, start the next iteration's training now; the trainer state to checkpoint, or None."""
        if not (self.config.run.overlap and self.schedule.has_next_iteration(stage, iteration)):
            return None
        # Train iteration i+1 on the policy before this update while the rewards of i are scored.
        # The checkpoint takes the trainer's state from before that call, plus the architectures
        # it trains on, so a resume redoes exactly the same work.
        trainer_state = self._trainer.call("state_dict")
        self.next_train_archs = self._sample_training_archs(stage)
        self._inflight = self._trainer.call("train", stage, [Architecture.parse(a) for a in self.next_train_archs])
        return trainer_state

    def _sample_training_archs(self, stage: int) -> list[str]:
        archs = self.controller.sample_architectures(self.config.train.d_steps_per_iteration, prefix=self._prefix(stage))
        return [str(a) for a in archs]

    def _prefix(self, stage: int) -> Any:
        return self.schedule.prefix(stage, self.beam)

    def _weights_box(self, version: int) -> dict[str, Any]:
        future = self._trainer.call("weights")
        return {"version": version, "ref": shareable(self.backend, future)}

    def _scoring_submitted(self) -> None:
        if self.hooks.on_scoring:
            self.hooks.on_scoring(self.backend, self.evaluators)

    # --- durable state and recovery -------------------------------------------------------

    def _checkpoint(self, trainer_state: Any = None, *, top: list[dict[str, Any]] | None = None) -> None:
        save_checkpoint(
            self.record,
            self.config,
            trainer_state=trainer_state or self._trainer.call("state_dict"),
            controller=self.controller,
            beam=self.beam,
            progress=self.progress_state,
            next_train_archs=self.next_train_archs,
            top=top,
            workers=self.workers,
        )

    def _restore(self) -> None:
        """Back to the last checkpoint; what the record holds after it is reused or redone."""
        self.record.repair_after_crash()
        checkpoint = load_checkpoint(self.record)
        if checkpoint is None:
            # Crashed before the first checkpoint: everything recorded is uncommitted.
            committed_upto = NOTHING_COMMITTED
        else:
            self._trainer.call("load_state_dict", checkpoint["trainer"]).result()
            self.controller.load_state_dict(checkpoint["controller"])
            self.beam.load_state_dict(checkpoint["beam"])
            self.progress_state = dict(checkpoint["progress"])
            self.next_train_archs = checkpoint.get("next_train_archs")
            committed_upto = position(self.progress_state)
        self.scorer.reusable = reusable_evaluations(self.record, committed_upto)
        drop_uncommitted_iterations(self.record, committed_upto)
        if self.record.checkpoint_path.exists() and self.record.read_state() is None:
            logger.warning("resume: %s was missing; written again from the checkpoint", self.record.state_path)
            done = self.progress_state["phase"] == "done"
            top = [r.to_dict() for r in self.ranking()[: self.config.search.top_k]] if done else None
            write_state(self.record, self.config, progress=self.progress_state, beam=self.beam, top=top, workers=self.workers)
        logger.info(
            "resume: stage %d, iteration %d (%s)",
            self.progress_state["stage"],
            self.progress_state["iteration"],
            self.progress_state["phase"],
        )

    def _recover(self, exc: BaseException) -> None:
        """A worker was lost beyond its retries: go back to the last checkpoint and redo from there."""
        self.recoveries += 1
        if self.recoveries > MAX_RECOVERIES:
            raise exc
        logger.warning("a worker was lost (%s); continuing from the last checkpoint (%d/%d)", exc, self.recoveries, MAX_RECOVERIES)
        self._inflight = None
        self._trainer.repin()
        self._restore()

    # --- teardown -------------------------------------------------------------------------

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
