"""The two kinds of worker a search runs: one supernet trainer and N reward evaluators.

Both are plain classes; ``workers`` turns them into Ray actors (or keeps them
in-process).  They are built from the resolved config dict, so a restarted
actor rebuilds itself without the driver's help.
"""

from __future__ import annotations

import contextlib
import math
import time
import uuid
from typing import Any

import numpy as np
import torch

from search_spaces import Architecture, SearchSpace

from autogan.config import REWARD_NAMES, Config
from autogan.device import Placement, adam, configure_backends, place_worker, set_threads, to_host
from autogan.errors import ConfigError
from autogan.log import logger
from autogan.seeding import SeedPurpose, derived_seed


def stage_resolution(config: Config, stage: int) -> int:
    """The side of a stage-``stage`` generator's images: what that stage trains and is scored at."""
    return config.model.bottom_width * 2**stage


def final_resolution(config: Config) -> int:
    """The side of the full generator's images: what the dataset is loaded at."""
    return stage_resolution(config, config.search.num_cells)


def place(role: str, config: Config) -> Placement:
    """This worker's device, from ``run.device`` and what Ray assigned it, said once in its log."""
    from workers import assigned_gpus

    placement = place_worker(config.run.device, assigned_gpus())
    logger.info("%s on %s", role, placement.describe())
    return placement


def build_models(config: Config, space: SearchSpace, seed: int, device: torch.device):
    """Supernet G and D with a seeded initialization (the models own their RNG)."""
    from autogan.nn import Discriminator, SupernetGenerator

    generator = SupernetGenerator(
        space,
        ch=config.model.ch,
        latent_dim=config.model.latent_dim,
        bottom_width=config.model.bottom_width,
        out_channels=config.data.channels,
        skip_out_includes_skip_ins=config.model.skip_semantics == "reference",
        seed=seed % 2**62,
    )
    discriminator = Discriminator(
        df=config.model.df, in_channels=config.data.channels, stages=space.num_cells, seed=(seed + 1) % 2**62
    )
    return generator.to(device), discriminator.to(device)


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


def _resolve_shared(value: Any) -> Any:
    """A value shared through the backend: a Ray object ref is fetched, anything else passes."""
    try:
        import ray
    except ImportError:
        return value
    if isinstance(value, ray.ObjectRef):
        return ray.get(value)
    return value


class RewardEvaluator:
    """Scores architectures with the Inception Score of the shared generator's samples, or their FID.

    ``search.reward`` picks which one is the reward ("fid" rewards minus the FID against
    the dataset's statistics in the extractor's features, computed once and cached on disk).

    Weights arrive once per iteration as ``{"version": v, "ref": handle}``: the
    handle is resolved only when the version changes, so each evaluator
    fetches the weights once per iteration, however many architectures it
    scores, and a restarted evaluator fetches them again by itself.
    """

    def __init__(self, config_dict: dict[str, Any]):
        from autogan.metrics import get_extractor, reward_bf16

        self.config = Config.from_dict(config_dict)
        set_threads(self.config.run.threads)
        self.placement = place("reward evaluator", self.config)
        self.device = torch.device(self.placement.device)
        configure_backends(self.device, tf32=self.config.run.tf32)
        self.space = SearchSpace(num_cells=self.config.search.num_cells)
        self.generator, _ = build_models(self.config, self.space, 0, self.device)
        self.generator.eval()
        search = self.config.search
        self.bf16 = reward_bf16(search.reward_bf16, self.device, search.extractor)
        self.extractor = get_extractor(
            search.extractor, device=self.device, weights_path=search.inception_weights or None, bf16=self.bf16
        )
        self.references = self._reference_statistics() if search.reward == "fid" else {}
        self.version: Any = None

    def device_info(self) -> dict[str, Any]:
        """Where this evaluator runs (see :class:`autogan.device.Placement`), for the run's record."""
        return {"role": "evaluator", **self.placement.to_dict(), "threads": torch.get_num_threads()}

    def _reference_statistics(self) -> dict[int, Any]:
        """The dataset's feature statistics at each stage's resolution, as that stage's trainer sees it.

        A stage-``s`` generator makes ``bottom_width * 2**s`` px images and is trained against
        the dataset loaded at the final resolution and resized to that size, so its FID is
        taken against exactly those images: against the final resolution's statistics a
        perfect early-stage generator would score worse than a sharpened one.
        """
        from autogan.metrics import reference_statistics

        data = self.config.data
        loaded_at = final_resolution(self.config)
        return {
            resolution: reference_statistics(
                data.dataset, resolution, self.extractor, root=data.root or None, download=data.download, loaded_at=loaded_at
            )
            for resolution in (stage_resolution(self.config, s) for s in range(1, self.config.search.num_cells + 1))
        }

    def _load(self, weights_box: dict[str, Any]) -> None:
        from autogan.nn import running_statistics

        if weights_box["version"] != self.version:
            self.generator.load_state_dict(_resolve_shared(weights_box["ref"]))
            self.generator.eval()
            self._trained_statistics = running_statistics(self.generator)
            self.version = weights_box["version"]

    @contextlib.contextmanager
    def _normalised_for(self, arch: Architecture, seed: int):
        """The generator with the normalization statistics ``search.reward_norm`` asks for ``arch``."""
        from autogan.nn import batch_statistics, recalibrate_batch_norms, restore_running_statistics

        search = self.config.search
        restore_running_statistics(self.generator, self._trained_statistics)
        if search.reward_norm == "batch":
            with batch_statistics(self.generator):
                yield
            return
        if search.reward_norm == "recalibrate":
            z_source = self._latent_source(derived_seed(seed, SeedPurpose.CALIBRATION))
            latent = self.config.model.latent_dim
            recalibrate_batch_norms(
                self.generator,
                lambda n: self._generate(self._latents(n, latent, z_source), arch),
                search.calibration_samples,
            )
        yield

    def _latent_source(self, seed: int) -> torch.Generator:
        # On the evaluator's device: latents drawn there need no blocking host-to-device copy per
        # batch.  A seed gives the same latents on every run on the same kind of device (CPU and
        # CUDA generators draw different streams).
        return torch.Generator(device=self.device).manual_seed(seed)

    def _latents(self, n: int, latent_dim: int, source: torch.Generator) -> torch.Tensor:
        return torch.randn(n, latent_dim, generator=source, device=self.device)  # (n, latent)

    def _generate(self, z: torch.Tensor, arch: Architecture) -> torch.Tensor:
        """The generator's images for ``z``, in the reward's precision: bf16 under ``search.reward_bf16``."""
        from autogan.metrics import bf16_autocast

        with bf16_autocast(self.device, self.bf16):
            return self.generator(z, arch)  # (n, C, H, W)

    def score(self, item: dict[str, Any], weights_box: dict[str, Any]) -> dict[str, Any]:
        """``item``: ``{"key", "arch", "seed"}``.  A failed evaluation has ``reward`` NaN and an ``error``."""
        from autogan.metrics import evaluate_generator

        started = time.perf_counter()
        self._load(weights_box)
        arch = Architecture.parse(item["arch"])
        search = self.config.search
        z_source = self._latent_source(int(item["seed"]))
        latent = self.config.model.latent_dim

        def generate(n: int) -> torch.Tensor:
            return self._generate(self._latents(n, latent, z_source), arch)

        result: dict[str, Any] = {"key": item["key"], "arch": item["arch"]}
        try:
            with self._normalised_for(arch, int(item["seed"])):
                reference = self.references.get(stage_resolution(self.config, len(arch.cells)))
                metrics = evaluate_generator(
                    generate, search.reward_samples, self.extractor, reference=reference, splits=search.reward_splits
                )
            reward = float(metrics.is_mean) if search.reward == "is" else -float(metrics.fid)
            unusable = f"non-finite {REWARD_NAMES[search.reward]}: the generator's samples are not usable"
            result.update(
                reward=reward,
                is_mean=float(metrics.is_mean),
                is_std=float(metrics.is_std),
                fid=None if metrics.fid is None else float(metrics.fid),
                error=None if math.isfinite(reward) else unusable,
            )
        except (ArithmeticError, ValueError, RuntimeError) as exc:
            # A diverged generator (NaN images) is a failed evaluation, recorded, not a crash.
            nan = float("nan")
            result.update(reward=nan, is_mean=nan, is_std=nan, fid=nan if self.references else None,
                          error=f"{type(exc).__name__}: {exc}")
        result["seconds"] = time.perf_counter() - started
        return result

    def sample_images(self, arch: str, n: int, seed: int, weights_box: dict[str, Any]) -> torch.Tensor:
        """``n`` images of ``arch`` as the reward sees them (its normalization and precision), float32 on the CPU."""
        self._load(weights_box)
        z = self._latents(n, self.config.model.latent_dim, self._latent_source(seed))
        parsed = Architecture.parse(arch)
        with torch.no_grad(), self._normalised_for(parsed, seed):
            return self._generate(z, parsed).float().cpu()  # (n, C, H, W)

    def ping(self) -> bool:
        return True
