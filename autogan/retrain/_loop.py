"""The retraining loop: G steps of n_critic D batches, with evaluations, checkpoints and a resume."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import torch

from search_spaces import Architecture

from autogan.config import RetrainConfig
from autogan.device import adam, configure_backends, resolve_device, set_threads
from autogan.errors import UserError
from autogan.log import logger
from autogan.files import atomic_torch_save
from autogan.retrain._outputs import RetrainListener, RetrainWriter
from autogan.retrain._progress import RetrainProgress
from autogan.retrain._checkpoint import CHECKPOINT_FORMAT, CHECKPOINT_VERSION, load_retrain_checkpoint
from autogan.retrain._directory import RetrainDirectory
from autogan.retrain._models import build_discriminator, build_generator, discriminator_args, generator_args
from autogan.retrain._scoring import Evaluation, GeneratorScorer, evaluation_seed
from autogan.seeding import SeedPurpose, derived_seed

# Seconds between progress lines where there is no progress bar (a log: nohup, CI, a Ray job).


# Reads the weights a retraining starts from (``train.init_from``): (run_dir, arch, g_args, d_args) -> (G, D states).
Inherit = Callable[[str, Architecture, dict[str, Any], dict[str, Any]], tuple[dict[str, Any], dict[str, Any]]]


def learning_rate(base: float, g_step: int, total: int, decay: bool) -> float:
    """The schedule as a pure function: constant, or linear from ``base`` to 0 over ``total`` G steps."""
    if not decay:
        return base
    return base * max(0.0, 1.0 - g_step / total)


@dataclass
class RetrainResult:
    """What a finished retraining reports: the final checkpoint's score and the best one, apart."""

    out_dir: Path
    arch: Architecture
    final: Evaluation | None
    best: Evaluation | None
    evaluations: int
    final_checkpoint: Path
    best_checkpoint: Path | None
    initial: Evaluation | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "arch": str(self.arch),
            "final": None if self.final is None else {**self.final.to_dict(), "checkpoint": str(self.final_checkpoint)},
            "best": None
            if self.best is None
            else {
                **self.best.to_dict(),
                "checkpoint": str(self.best_checkpoint),
                "selected_by": f"lowest FID among {self.evaluations} evaluations of the EMA generator; "
                "chosen by the metric it reports, so it is optimistic (the reference selected by test FID)",
            },
            "initial": None if self.initial is None else self.initial.to_dict(),
        }


def retrain(
    config: RetrainConfig | None,
    arch: Architecture | None,
    out_dir: Path | str,
    *,
    resume: bool = False,
    progress: bool | None = None,
    source_note: str = "",
    g_steps: int | None = None,
    inherit: Inherit | None = None,
) -> RetrainResult:
    """Train ``arch`` from scratch (or resume ``out_dir``) and return the final and best scores.

    ``g_steps`` with ``resume``: run on to this many G steps instead of the recorded number, a
    longer run continued from the checkpoint (the recorded config is updated to say so).
    """
    directory = RetrainDirectory(out_dir)
    if resume:
        config, arch = directory.read()
    else:
        assert config is not None and arch is not None
        directory.create(config, arch, source_note)
    lock = directory.lock()
    try:
        if resume:
            directory.remove_dead_temporaries()
            if g_steps is not None and g_steps != config.train.g_steps:
                config = _extended(directory, config, g_steps)
        trainer = Retrainer(directory, config, arch, progress=progress, inherit=inherit)
        if resume:
            trainer.restore()
        return trainer.run()
    finally:
        # Let another process (a later ``--resume``) write the directory.
        lock.release()


def _extended(directory: RetrainDirectory, config: RetrainConfig, g_steps: int) -> RetrainConfig:
    """``config`` with ``g_steps`` G steps, written as the directory's config: only a run whose
    every step so far is also a step of the longer run can be extended."""
    from dataclasses import replace

    done = load_retrain_checkpoint(directory.latest_path)["step"] if directory.latest_path.exists() else 0
    where = f"retrain directory {directory.out_dir}"
    if g_steps < done:
        raise UserError(f"{where}: train.g_steps={g_steps} is behind its checkpoint at G step {done}; pass {done} or more")
    if config.train.lr_decay:
        # The decay's slope depends on the total, so the steps already taken belong to another schedule.
        raise UserError(
            f"{where}: trains with train.lr_decay=true, whose learning rate at every step depends on "
            f"train.g_steps={config.train.g_steps}; it cannot be extended, retrain into a new --out instead"
        )
    extended = config.replace(train=replace(config.train, g_steps=g_steps))
    directory.write_config(extended)
    logger.info("resume: %s extended from %d to %d G steps", directory.out_dir, config.train.g_steps, g_steps)
    return extended


class Retrainer:
    """Trains ``arch`` from scratch into a locked ``directory``; ``restore`` continues from its latest checkpoint."""

    def __init__(
        self,
        directory: RetrainDirectory,
        config: RetrainConfig,
        arch: Architecture,
        *,
        progress: bool | None = None,
        inherit: Inherit | None = None,
        listeners: Sequence[RetrainListener] | None = None,
    ):
        """``inherit(run_dir, arch, g_args, d_args) -> (G state, D state)`` reads the weights that
        ``train.init_from`` names (``autogan.inherit.inherited_state``).  ``listeners`` receive each
        G step's losses and each evaluation (default: a ``RetrainWriter`` into ``directory``)."""
        from autogan.train import EMA, OrthogonallyRegularized, StepOptions, get_loss, to_channels_last

        self.directory = directory
        self.config = config
        self.arch = arch
        self.progress = progress
        set_threads(config.run.threads)
        self.device = resolve_device(config.run.device)
        configure_backends(self.device, tf32=config.run.tf32)
        train = config.train
        self.g_args = generator_args(config, arch)
        self.d_args = discriminator_args(config, arch)
        self.generator = build_generator(self.g_args)
        self.discriminator = build_discriminator(self.d_args)
        if train.init_from:
            if inherit is None:
                raise UserError(
                    f"train.init_from={train.init_from}: this caller cannot read a search's weights; "
                    "retrain with `autogan retrain` or `autogan.retrain`, which can"
                )
            g_state, d_state = inherit(train.init_from, arch, self.g_args, self.d_args)
            self.generator.load_state_dict(g_state)
            self.discriminator.load_state_dict(d_state)
        self.generator.to(self.device)
        self.discriminator.to(self.device)
        if train.channels_last and self.device.type == "cuda":
            to_channels_last(self.generator, self.discriminator)
        betas = (float(train.beta1), float(train.beta2))
        self.opt_g: Any = adam(self.generator.parameters(), self.device, lr=train.lr_g, betas=betas)
        if train.ortho_reg > 0:
            self.opt_g = OrthogonallyRegularized(self.opt_g, self.generator, train.ortho_reg)
        self.opt_d = adam(self.discriminator.parameters(), self.device, lr=train.lr_d, betas=betas)
        self.ema = EMA(self.generator, decay=train.ema_decay, start_step=train.ema_start)
        self.loss = get_loss(train.loss)
        self.options = StepOptions(bf16=train.bf16, channels_last=train.channels_last)
        self.stream = torch.Generator().manual_seed(derived_seed(config.run.seed, SeedPurpose.RETRAIN_STREAM))
        self.eval_seed = evaluation_seed(config)
        self.grid_seed = derived_seed(config.run.seed, SeedPurpose.RETRAIN_GRID) % 2**63
        self.step = 0
        self.d_steps = 0
        self.best: Evaluation | None = None
        self.history: list[Evaluation] = []
        self._scorer: GeneratorScorer | None = None
        self._source = None
        self.listeners = list(listeners) if listeners is not None else [RetrainWriter()]

    @property
    def resolution(self) -> int:
        return self.config.model.bottom_width * 2 ** len(self.arch.cells)

    def restore(self) -> None:
        """Continue from ``checkpoints/latest.pt``, or from G step 0 when there is none yet."""
        directory = self.directory
        if not directory.latest_path.exists():
            logger.info("resume: no checkpoint yet in %s; starting from G step 0", directory.out_dir)
            directory.keep_metrics_upto(-1)
            return
        state = load_retrain_checkpoint(directory.latest_path)
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.ema.load_state_dict(state["ema"])
        self.stream.set_state(state["stream"])
        self.step = int(state["step"])
        self.d_steps = int(state["d_steps"])
        self.best = Evaluation.from_dict(state["best"]) if state.get("best") else None
        self.history = [Evaluation.from_dict(r) for r in state.get("history", [])]
        # Evaluations logged after this checkpoint are redone, so their lines go.
        directory.keep_metrics_upto(self.step)
        logger.info("resume: continuing from the checkpoint at G step %d of %d", self.step, self.config.train.g_steps)

    # --- the loop -------------------------------------------------------------------------

    def run(self) -> RetrainResult:
        """Train to ``train.g_steps`` G steps, evaluating every ``eval.every``; the final and the best evaluation."""
        config = self.config
        total, evaluation = config.train.g_steps, config.eval
        initial = next((e for e in self.history if e.g_step == 0), None)
        if self.step == 0 and evaluation.at_start and initial is None:
            initial = self.evaluate()[0]
            self.checkpoint()
        listeners = [RetrainProgress(total, self.step, self.progress), *self.listeners]
        try:
            while self.step < total:
                losses = self.train_g_step()
                for listener in listeners:
                    listener.trained(self, losses)
                evaluate_now = self.step % evaluation.every == 0 or self.step == total
                if evaluate_now:
                    self.evaluate()
                if evaluate_now or self.step % evaluation.checkpoint_every == 0:
                    self.checkpoint()
            if not self.history or self.history[-1].g_step != self.step:
                # A resumed run that had already finished: its final evaluation is in the history.
                self.evaluate()
                self.checkpoint()
        finally:
            for listener in listeners:
                listener.close()
        result = RetrainResult(
            out_dir=self.directory.out_dir,
            arch=self.arch,
            final=self.history[-1],
            best=self.best,
            evaluations=len(self.history),
            final_checkpoint=self.directory.latest_path,
            best_checkpoint=self.directory.best_path if self.best is not None else None,
            initial=initial,
        )
        self.directory.write_summary(result.to_dict())
        return result

    def train_g_step(self) -> dict[str, float]:
        """``n_critic`` D batches, the last of which also trains G; then the EMA and the schedule."""
        from autogan.train import STEPS

        train = self.config.train
        source = self._data()
        lr_g = learning_rate(train.lr_g, self.step, train.g_steps, train.lr_decay)
        lr_d = learning_rate(train.lr_d, self.step, train.g_steps, train.lr_decay)
        for group in self.opt_g.param_groups:
            group["lr"] = lr_g
        for group in self.opt_d.param_groups:
            group["lr"] = lr_d
        self.generator.train()
        self.discriminator.train()
        losses_d = []
        stats = None
        for k in range(train.n_critic):
            real = source.sample_batch(train.d_batch_size, self.stream, size=self.resolution)  # (B, C, H, W)
            update_g = k == train.n_critic - 1
            if train.step == "one_stage":
                # G trains on the merged step's fakes, so that step draws the G batch: D then sees
                # d_batch_size reals against g_batch_size fakes (its loss is a mean over each).
                z = self._z(train.g_batch_size if update_g else train.d_batch_size)  # (B_G or B, latent)
                batches = {}
            else:
                z = self._z(train.d_batch_size)  # (B, latent)
                batches = {"g_z": self._z(train.g_batch_size) if update_g else None}  # (2B, latent): the paper's G batch
            stats = STEPS[train.step](
                self.generator, self.discriminator, self.opt_g, self.opt_d, real, z, None, self.loss,
                update_g=update_g, options=self.options, **batches,
            )
            self.d_steps += 1
            losses_d.append(stats.loss_d)
        self.step += 1
        self.ema.update(self.generator, self.step)
        return {"loss_d": sum(losses_d) / len(losses_d), "loss_g": float(stats.loss_g), "lr_g": lr_g}

    def evaluate(self) -> list[Evaluation]:
        """Score the EMA generator (and the raw one when configured), keep the best; the listeners write."""
        evaluations = self.measure()
        ema = evaluations[0]
        self.history.append(ema)
        new_best = ema.fid is not None and math.isfinite(ema.fid) and (self.best is None or ema.fid < self.best.fid)
        if new_best:
            self.best = ema
        for listener in self.listeners:
            listener.evaluated(self, evaluations, new_best)
        return evaluations

    def measure(self) -> list[Evaluation]:
        """IS and FID of the EMA generator (and the raw one when configured) now; writes nothing."""
        targets = [("ema", self.ema.model)]
        if self.config.eval.score_raw:
            targets.append(("raw", self.generator))
        evaluations = []
        scorer = self.scorer()  # outside no_grad: the first use may train the digits classifier
        for name, model in targets:
            started = time.perf_counter()
            with torch.no_grad():
                is_mean, is_std, fid = scorer.score(model)
            evaluations.append(Evaluation(self.step, name, is_mean, is_std, fid, self.config.eval.samples,
                                          time.perf_counter() - started))
        return evaluations

    def checkpoint(self) -> None:
        """Everything a resume needs, in ``checkpoints/latest.pt``."""
        state = {
            **self.checkpoint_header(),
            "d_steps": self.d_steps,
            "generator": self.generator.state_dict(),
            "generator_ema": self.ema.model.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "ema": self.ema.state_dict(),
            "stream": self.stream.get_state(),
            "best": None if self.best is None else self.best.to_dict(),
            "history": [e.to_dict() for e in self.history],
            "config": self.config.to_dict(),
        }
        atomic_torch_save(state, self.directory.latest_path)

    def checkpoint_header(self) -> dict[str, Any]:
        """What every retrain checkpoint starts with: its format and how to rebuild its networks."""
        return {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "model": {"generator": self.g_args, "discriminator": self.d_args},
            "arch": str(self.arch),
            "step": self.step,
        }

    # --- lazily built pieces --------------------------------------------------------------

    def _data(self):
        if self._source is None:
            from autogan.data import get_dataset

            data = self.config.data
            self._source = get_dataset(
                data.dataset, root=data.root or None, download=data.download, size=self.resolution, channels=data.channels
            ).to(self.device)
        return self._source

    def scorer(self) -> GeneratorScorer:
        if self._scorer is None:
            self._scorer = GeneratorScorer(self.config, self.resolution, self.device, self.eval_seed)
        return self._scorer

    def _z(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.config.model.latent_dim, generator=self.stream).to(self.device)
