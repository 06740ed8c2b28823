"""The search's reward evaluators: workers that score architectures on the trainer's shared weights."""

from __future__ import annotations

import contextlib
import math
import time
from typing import Any

import torch

from search_spaces import Architecture, SearchSpace

from autogan.config import REWARD_NAMES, Config
from autogan.device import configure_backends, set_threads
from autogan.search._worker_setup import build_models, final_resolution, place, resolve_shared, stage_resolution
from autogan.seeding import SeedPurpose, derived_seed


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
            self.generator.load_state_dict(resolve_shared(weights_box["ref"]))
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
