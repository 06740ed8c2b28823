"""The search's supernet trainer: one worker that holds the weight-shared G and D and trains them."""

from __future__ import annotations

import math
import time
import uuid
from typing import Any

import numpy as np
import torch

from search_spaces import Architecture, SearchSpace

from autogan.config import Config
from autogan.device import adam, configure_backends, set_threads, to_host
from autogan.errors import ConfigError
from autogan.log import logger
from autogan.search._worker_setup import build_models, final_resolution, place, stage_resolution
from autogan.seeding import SeedPurpose, derived_seed


class SupernetTrainer:
    """Holds the weight-shared generator, the discriminator and their optimizers.

    ``train`` runs one search iteration of D steps, one architecture per D
    batch, with one-stage (OSGAN) merged steps every ``n_critic`` batches.  It
    stops early when ``ResetMonitor`` sees the losses collapse.  Batches and
    latents are drawn on the device from ``stream``, a generator of the device.
    """

    def __init__(self, config_dict: dict[str, Any]):
        from autogan.data import get_dataset
        from autogan.train import ResetMonitor

        self.config = Config.from_dict(config_dict)
        set_threads(self.config.run.threads)
        self.placement = place("supernet trainer", self.config)
        self.device = torch.device(self.placement.device)
        self.space = SearchSpace(num_cells=self.config.search.num_cells)
        data = self.config.data
        self.source = get_dataset(
            data.dataset,
            root=data.root or None,
            download=data.download,
            size=final_resolution(self.config),
            channels=data.channels,
        ).to(self.device)
        # On the device, so that drawing a batch's indices and z launches kernels and never copies.
        stream_seed = derived_seed(self.config.run.seed, SeedPurpose.TRAIN_STREAM)
        self.stream = torch.Generator(device=self.device).manual_seed(stream_seed)
        self.monitor = ResetMonitor(window=self.config.train.reset_window, threshold=self.config.train.reset_threshold)
        self.resets = 0
        self.d_steps = 0
        # A restarted actor is a new instance with fresh weights: callers pass the instance
        # they expect, so a restart is reported instead of silently training from scratch.
        self.instance = uuid.uuid4().hex
        self._build()

    def instance_id(self) -> str:
        return self.instance

    def device_info(self) -> dict[str, Any]:
        """Where this trainer runs (see :class:`autogan.device.Placement`), for the run's record."""
        return {"role": "trainer", **self.placement.to_dict(), "threads": torch.get_num_threads()}

    def _check_instance(self, expected: str | None) -> None:
        if expected is not None and expected != self.instance:
            from workers import WorkerLost

            raise WorkerLost("the supernet trainer restarted and lost its state; restore it from the checkpoint")

    def _build(self) -> None:
        train = self.config.train
        # The switches belong to this worker's process, so the trainer sets its own; again at a
        # reset, which costs nothing.
        configure_backends(self.device, tf32=self.config.run.tf32)
        seed = derived_seed(self.config.run.seed, SeedPurpose.MODEL_INIT, self.resets)
        self.generator, self.discriminator = build_models(self.config, self.space, seed, self.device)
        if train.channels_last and self.device.type == "cuda":
            from autogan.train import to_channels_last

            to_channels_last(self.generator, self.discriminator)
        betas = (train.beta1, train.beta2)
        self.opt_g = adam(self.generator.parameters(), self.device, lr=train.lr_g, betas=betas)
        self.opt_d = adam(self.discriminator.parameters(), self.device, lr=train.lr_d, betas=betas)
        self.monitor.reset()

    def reset(self, *, instance: str | None = None) -> int:
        """Re-create G, D and both optimizers with a fresh initialization (dynamic reset)."""
        self._check_instance(instance)
        self.resets += 1
        self._build()
        logger.info("supernet reset #%d: losses collapsed", self.resets)
        return self.resets

    def train(self, stage: int, archs: list[Architecture], *, instance: str | None = None) -> dict[str, Any]:
        """One search iteration: a D step per architecture of ``archs`` at ``stage``.

        The steps' losses stay on the device and are read every ``train.stats_every``
        steps and after the last one, one transfer per chunk, then fed to the reset
        monitor in step order.  A collapse is thus seen at the end of its chunk, when up to
        ``stats_every - 1`` more steps have run: the iteration stops there, and the reset
        that follows discards them.  The result counts only the steps up to the one that
        collapsed (``d_steps``, the mean losses), as if the losses had been read every
        step; the trainer's own ``d_steps`` and its batch stream include the extra ones.
        """
        from autogan.train import STEPS, StepOptions, StepStats, get_loss

        self._check_instance(instance)
        train = self.config.train
        options = StepOptions(bf16=train.bf16, channels_last=train.channels_last)
        step = STEPS[train.step]
        loss = get_loss(train.loss)
        size = stage_resolution(self.config, stage)
        self.generator.train()
        self.discriminator.train()
        started = time.perf_counter()
        losses_d: list[float] = []
        losses_g: list[float] = []
        unread: list[StepStats] = []
        collapsed = False
        warned_non_finite = False
        for index, arch in enumerate(archs):
            real = self.source.sample_batch(train.batch_size, self.stream, size=size)  # (B, C, size, size)
            z = torch.randn(train.batch_size, self.config.model.latent_dim, generator=self.stream, device=self.device)
            merged = (self.d_steps + 1) % train.n_critic == 0
            unread.append(
                step(
                    self.generator,
                    self.discriminator,
                    self.opt_g,
                    self.opt_d,
                    real,
                    z,
                    arch,
                    loss,
                    stage=stage,
                    update_g=merged,
                    options=options,
                )
            )
            self.d_steps += 1
            if len(unread) < train.stats_every and index < len(archs) - 1:
                continue
            StepStats.read_all(unread)
            first_step = self.d_steps - len(unread) + 1
            for offset, stats in enumerate(unread):
                losses_d.append(stats.loss_d)
                if stats.loss_g is not None:
                    losses_g.append(stats.loss_g)
                if not warned_non_finite:
                    warned_non_finite = self._warn_if_non_finite(stage, first_step + offset, stats.loss_d, stats.loss_g)
                if self.monitor.update(loss_g=stats.loss_g, loss_d=stats.loss_d):
                    collapsed = True
                    break
            unread.clear()
            if collapsed:
                break
        return {
            "d_steps": len(losses_d),
            "loss_d": float(np.mean(losses_d)) if losses_d else float("nan"),
            "loss_g": float(np.mean(losses_g)) if losses_g else float("nan"),
            "collapsed": collapsed,
            "seconds": time.perf_counter() - started,
        }

    def _warn_if_non_finite(self, stage: int, d_step: int, loss_d: float, loss_g: float | None) -> bool:
        """Say once per iteration where a loss stopped being a number; the record only shows its mean."""
        bad = [name for name, value in (("loss_d", loss_d), ("loss_g", loss_g)) if value is not None and not math.isfinite(value)]
        if bad:
            logger.warning(
                "stage %d, D step %d: %s is not finite; the supernet's rewards are unusable until a reset",
                stage,
                d_step,
                " and ".join(bad),
            )
        return bool(bad)

    def weights(self, *, instance: str | None = None) -> dict[str, torch.Tensor]:
        """The generator's weights on the CPU: what evaluators load."""
        self._check_instance(instance)
        return to_host(self.generator.state_dict())

    def state_dict(self, *, instance: str | None = None) -> dict[str, Any]:
        """Everything a resume needs, as host copies: the driver keeps it, and may have no CUDA."""
        self._check_instance(instance)
        return to_host({
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "monitor": self.monitor.state_dict(),
            "stream": self.stream.get_state(),
            "stream_device": self.stream.device.type,
            "resets": self.resets,
            "d_steps": self.d_steps,
        })

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.resets = int(state["resets"])
        self._build()
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.monitor.load_state_dict(state["monitor"])
        self._load_stream(state)
        self.d_steps = int(state["d_steps"])

    def _load_stream(self, state: dict[str, Any]) -> None:
        # Before the stream moved to the device, checkpoints held a CPU generator's state.
        saved = state.get("stream_device", "cpu")
        if saved != self.stream.device.type:
            raise ConfigError(
                f"the checkpoint's batch stream was drawn on {saved} but this trainer runs on "
                f"{self.stream.device.type}; resume with run.device={saved} (a generator's state fits only its own device kind)"
            )
        self.stream.set_state(state["stream"])

    def ping(self) -> bool:
        return True
