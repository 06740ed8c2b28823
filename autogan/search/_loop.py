"""The search loop: DESIGN.md's driver, from wherever the record stands to the final ranking.

Every step ends in a checkpoint (atomic) and then ``state.json``; a worker lost beyond
its retries sends the loop back to the last checkpoint (see ``_resume``).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

from search_spaces import Architecture, SearchSpace

from autogan.config import Config
from autogan.log import logger
from autogan.search._run_directory import RunDirectory
from workers import is_worker_death

from autogan.search._checkpoint import load_checkpoint, save_checkpoint, write_state
from autogan.search._progress import Progress
from autogan.search._ranking import RankedArchitecture, rank_architectures, rescore_candidates
from autogan.search._reporting import Reporter, best_scored, iteration_row
from autogan.search._cpu_plan import resolve as resolve_cpu_plan
from autogan.search._resources import check_inputs, wait_for_resources, wait_for_workers
from autogan.search._resume import NOTHING_COMMITTED, drop_uncommitted_iterations, position, reusable_evaluations
from autogan.search._schedule import Phase, Position, Schedule, start_of_run
from autogan.search._stage_cost import stage_step_macs
from autogan.search._scoring import ArchitectureScorer, shareable
from autogan.search._size import SizeFactor, size_budget
from autogan.search._setup import connect_backend, make_controller, start_evaluators, start_trainer
from autogan.search._trainer import MAX_RECOVERIES, PinnedTrainer


@dataclass(frozen=True)
class FinishedIteration:
    """A policy iteration as its listeners receive it: the record's row, and what was scored on which weights."""

    position: Position
    row: dict[str, Any]
    results: list[dict[str, Any]]
    weights: dict[str, Any]


def for_the_row(listener: Callable[[dict[str, Any]], None]) -> Callable[[FinishedIteration], None]:
    """A listener of the row alone (the record, TensorBoard, the log line, a user's hook)."""
    return lambda finished: listener(finished.row)


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
        listeners: Sequence[Callable[[FinishedIteration], None]] = (),
    ):
        self.hooks = hooks or SearchHooks()
        self.extra_listeners = list(listeners)  # after the run's own, each finished policy iteration
        self.progress_bar = progress  # a progress bar; None: where stderr is a terminal
        self.progress_every = progress_every  # seconds between progress lines where there is no bar
        fresh = made_directory = False
        if resume:
            self.record = RunDirectory.open(run_dir)
        else:
            # Before anything is written: a search that cannot start leaves no run directory.
            check_inputs(config)
            fresh = not RunDirectory(run_dir).config_path.exists()
            made_directory = not Path(run_dir).exists()
            self.record = RunDirectory.create(run_dir, config)
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
                if getattr(self, "reporter", None) is not None:
                    self.reporter.close()
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
        self.pinned_trainer = PinnedTrainer(self.trainer)  # ``trainer`` is the actor; this, its calls
        size_factor = SizeFactor(config, self.space) if SizeFactor.wanted(config) else None
        self.scorer = ArchitectureScorer(self.record, ActorPool(self.backend, self.evaluators), run.seed,
                                         self._scoring_submitted, size_factor=size_factor)
        self.reporter = Reporter(self.record, self.evaluators, run.seed)
        self._position: dict[str, Any] = start_of_run()  # the saved form of ``position``; the schedule moves it
        self.next_train_archs: list[str] | None = None
        self._inflight: Any = None
        self.recoveries = 0
        if resume:
            self._restore()
        else:
            # The config goes to TensorBoard first: a resume does not log it again, so a crash in
            # the first checkpoint's write would otherwise leave the run's curves without it.
            self.reporter.log_config(config)
            self._checkpoint()  # so that a lost trainer always has a state to come back to

    # --- the loop -------------------------------------------------------------------------

    @property
    def position(self) -> Position:
        return Position.of(self._position)

    def run(self) -> list[RankedArchitecture]:
        self.progress = Progress(self.schedule.stage_iterations, self.position.global_iteration,
                                 interactive=self.progress_bar, every=self.progress_every,
                                 stage_costs=stage_step_macs(self.space, self.config.model, self.config.data.channels))
        # What each finished policy iteration goes to, in this order (a hook that crashes the
        # process sees the row recorded and logged to TensorBoard, not checkpointed).
        self.iteration_listeners: list[Callable[[FinishedIteration], None]] = [
            self._save_grid_of_the_best, for_the_row(self.record.append_iteration),
            for_the_row(self.reporter.log_scalars), for_the_row(self._iteration_hook),
            for_the_row(self.reporter.log_iteration), self._count_progress, *self.extra_listeners,
        ]
        steps = {Phase.POLICY: self._iteration, Phase.BEAM: self._end_stage, Phase.RESCORE: self._rescore}
        try:
            while (at := self.position).phase is not Phase.DONE:
                self.controller.set_stage(at.stage)
                try:
                    self.progress.begin(at.stage, at.iteration, at.phase.value)
                    steps[at.phase](at)
                except Exception as exc:
                    if not is_worker_death(exc):
                        raise
                    self._recover(exc)
                    self.progress.moved_to(self.position.global_iteration)
        finally:
            self.progress.close()
            self.reporter.close()
        return self.ranking()

    def _iteration(self, at: Position) -> None:
        """Train the supernet, score the policy's proposals, update the policy; reset a collapsed supernet."""
        started = time.perf_counter()
        train_stats = self._train(at.stage)
        weights = self._weights(at)
        reset = bool(train_stats["collapsed"])
        deferred = reset and self._reset_after_collapse(at)
        proposals = self.controller.sample(self.config.search.archs_per_iteration, prefix=self._prefix(at.stage))
        trainer_state = self._start_next_training(at)
        results = self.scorer.score(at.stage, at.iteration, "policy", [p.arch for p in proposals], weights)
        rewards = [r["reward"] for r in results]
        stats = self.controller.update(proposals, rewards)
        if reset:
            # These rewards came from the supernet before the reset; later ones come from a fresh one.
            self.controller.on_supernet_reset()
        row = {**iteration_row(self._position, train_stats, reset, rewards, stats, started), "reset_deferred": deferred}
        finished = FinishedIteration(at, row, results, weights)
        for listener in self.iteration_listeners:
            listener(finished)
        self.schedule.finish_iteration(self._position)
        self._checkpoint(trainer_state)

    def _reset_after_collapse(self, at: Position) -> bool:
        """Reset the collapsed supernet now, or after the stage's beam; True when deferred.

        AutoGAN scores the collapsed supernet once more, then starts G and D afresh; the actor
        runs calls in order, so the weights taken before this predate the reset.
        """
        if self.schedule.has_next_iteration(at.stage, at.iteration):
            self._reset_supernet(f"stage {at.stage} iteration {at.iteration}")
            return False
        # The stage's beam (after the last stage, the final ranking too) is scored next, and
        # must be scored on this trained supernet: the reset waits for the next training.
        self._position["reset_pending"] = True
        logger.warning("stage %d iteration %d: supernet collapsed; it is reset after the stage's beam is scored",
                       at.stage, at.iteration)
        return True

    def _end_stage(self, at: Position) -> None:
        """Score M candidates with the final weights of the stage and keep the top K as the beam."""
        search = self.config.search
        stage, iteration = at.stage, at.iteration
        weights = self._weights(at)
        proposals = self.controller.sample(search.beam_candidates, prefix=self._prefix(stage))
        results = self.scorer.score(stage, iteration, "beam", [p.arch for p in proposals], weights)
        scores = [r["reward"] if r["reward"] is not None else None for r in results]
        self.progress.rewards_done(len(results))
        self.beam.update(proposals, scores)
        logger.info(
            "stage %d done: beam %s",
            stage,
            ", ".join(f"{e.score:.3f}" for e in self.beam.entries),
        )
        self.schedule.finish_stage(self._position)
        self.record.append_iteration(
            {"stage": stage, "iteration": iteration, "phase": "beam", "global_iteration": at.global_iteration,
             "beam": [{"arch": str(e.arch), "score": e.score} for e in self.beam.entries], "time": time.time()}
        )
        self._checkpoint()

    def _rescore(self, at: Position) -> None:
        """Score the final beam and the run's best again, on the final supernet, with several seeds.

        During the run each architecture was scored once, on whatever the supernet was
        then; this ranking puts them on equal terms.  The rows are kind "rescore", kept
        apart from the during-run rewards.
        """
        search = self.config.search
        stage, iteration = at.stage, at.iteration
        candidates = rescore_candidates(
            list(self.beam.prefixes), self.record.evaluations(), self.space.num_cells, 2 * search.top_k
        )
        archs = [arch for arch in candidates for _ in range(search.rescore_seeds)]
        replicates = [seed for _ in candidates for seed in range(search.rescore_seeds)]
        weights = self._weights(at)
        self.scorer.score(stage, iteration, "rescore", archs, weights, replicates=replicates)
        ranking = self.ranking()
        for entry in ranking[: search.top_k]:
            self.reporter.save_final_grid(entry.arch, weights)
        self.schedule.finish_run(self._position)
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
        resets = self.pinned_trainer.call("reset").result()
        logger.warning("%s: supernet collapsed; reset #%d", where, resets)

    def _train(self, stage: int) -> dict[str, Any]:
        """This iteration's supernet training: started during the previous iteration, or now."""
        if self._position.pop("reset_pending", False):
            self._reset_supernet(f"stage {stage}, before its first training")
            self.controller.on_supernet_reset()
        if self._inflight is not None:
            train_stats = self._inflight.result()
        else:
            archs = self.next_train_archs or self._sample_training_archs(stage)
            train_stats = self.pinned_trainer.call("train", stage, [Architecture.parse(a) for a in archs]).result()
        self._inflight = None
        self.next_train_archs = None
        return train_stats

    def _start_next_training(self, at: Position) -> Any:
        """With ``run.overlap``, start the next iteration's training now; the trainer state to checkpoint, or None."""
        if not (self.config.run.overlap and self.schedule.has_next_iteration(at.stage, at.iteration)):
            return None
        # Train iteration i+1 on the policy before this update while the rewards of i are scored.
        # The checkpoint takes the trainer's state from before that call, plus the architectures
        # it trains on, so a resume redoes exactly the same work.
        trainer_state = self.pinned_trainer.call("state_dict")
        self.next_train_archs = self._sample_training_archs(at.stage)
        self._inflight = self.pinned_trainer.call("train", at.stage, [Architecture.parse(a) for a in self.next_train_archs])
        return trainer_state

    def _sample_training_archs(self, stage: int) -> list[str]:
        archs = self.controller.sample_architectures(self.config.train.d_steps_per_iteration, prefix=self._prefix(stage))
        return [str(a) for a in archs]

    def _prefix(self, stage: int) -> Any:
        return self.schedule.prefix(stage, self.beam)

    def _weights(self, at: Position) -> dict[str, Any]:
        """The supernet's weights now, as the evaluators receive them: a shareable reference and its version."""
        future = self.pinned_trainer.call("weights")
        return {"version": at.weights_version, "ref": shareable(self.backend, future)}

    def _scoring_submitted(self) -> None:
        if self.hooks.on_scoring:
            self.hooks.on_scoring(self.backend, self.evaluators)

    def _save_grid_of_the_best(self, finished: FinishedIteration) -> None:
        if finished.results:
            at = finished.position
            self.reporter.save_grid(at.stage, at.iteration, best_scored(finished.results), finished.weights,
                                    at.global_iteration)

    def _count_progress(self, finished: FinishedIteration) -> None:
        self.progress.rewards_done(len(finished.results))
        self.progress.iteration_done(finished.row)

    def _iteration_hook(self, row: dict[str, Any]) -> None:
        if self.hooks.on_iteration:
            self.hooks.on_iteration(row)

    # --- durable state and recovery -------------------------------------------------------

    def _checkpoint(self, trainer_state: Any = None, *, top: list[dict[str, Any]] | None = None) -> None:
        save_checkpoint(
            self.record,
            self.config,
            trainer_state=trainer_state or self.pinned_trainer.call("state_dict"),
            controller=self.controller,
            beam=self.beam,
            progress=self._position,
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
            self.pinned_trainer.call("load_state_dict", checkpoint["trainer"]).result()
            self.controller.load_state_dict(checkpoint["controller"])
            self.beam.load_state_dict(checkpoint["beam"])
            self._position = dict(checkpoint["progress"])
            self.next_train_archs = checkpoint.get("next_train_archs")
            committed_upto = position(self._position)
        self.scorer.reusable = reusable_evaluations(self.record, committed_upto)
        drop_uncommitted_iterations(self.record, committed_upto)
        if self.record.checkpoint_path.exists() and self.record.read_state() is None:
            logger.warning("resume: %s was missing; written again from the checkpoint", self.record.state_path)
            done = self.position.phase is Phase.DONE
            top = [r.to_dict() for r in self.ranking()[: self.config.search.top_k]] if done else None
            write_state(self.record, self.config, progress=self._position, beam=self.beam, top=top, workers=self.workers)
        at = self.position
        logger.info("resume: stage %d, iteration %d (%s)", at.stage, at.iteration, at.phase.value)

    def _recover(self, exc: BaseException) -> None:
        """A worker was lost beyond its retries: go back to the last checkpoint and redo from there."""
        self.recoveries += 1
        if self.recoveries > MAX_RECOVERIES:
            raise exc
        logger.warning("a worker was lost (%s); continuing from the last checkpoint (%d/%d)", exc, self.recoveries, MAX_RECOVERIES)
        self._inflight = None
        self.pinned_trainer.repin()
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
