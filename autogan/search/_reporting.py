"""What a search shows as it goes: the iteration's row and log line, TensorBoard scalars, sample grids."""

from __future__ import annotations

import math
import time
from typing import Any

import numpy as np

from search_spaces import Architecture

from autogan.files import atomic_write_bytes
from autogan.log import logger
from autogan.naming import architecture_slug
from autogan.search._run_directory import RunDirectory
from autogan.images import png_bytes
from autogan.seeding import SeedPurpose, derived_seed

from autogan.search._scoring import json_float


def iteration_row(
    progress: dict[str, Any], train_stats: dict[str, Any], reset: bool, rewards: list, stats: Any, started: float
) -> dict[str, Any]:
    """The record row of the policy iteration at ``progress``; ``started`` is its ``perf_counter`` start."""
    valid = [r for r in rewards if r is not None and math.isfinite(r)]
    return {
        "stage": progress["stage"],
        "iteration": progress["iteration"],
        "phase": "policy",
        "global_iteration": progress["global_iteration"],
        "d_steps": train_stats["d_steps"],
        "loss_d": json_float(train_stats["loss_d"]),
        "loss_g": json_float(train_stats["loss_g"]),
        "collapsed": train_stats["collapsed"],
        "reset": reset,
        "reward_mean": json_float(float(np.mean(valid)) if valid else math.nan),
        "reward_max": json_float(max(valid) if valid else math.nan),
        "failed_rewards": len(rewards) - len(valid),
        "entropy": json_float(stats.entropy),
        "baseline": json_float(stats.baseline) if stats.baseline is not None else None,
        "policy_loss": json_float(stats.loss),
        "train_seconds": round(train_stats["seconds"], 3),
        "seconds": round(time.perf_counter() - started, 3),
        "time": time.time(),
    }


def best_scored(results: list[dict[str, Any]]) -> Architecture:
    """The best-rewarded of the scored rows, or the first where none has a reward."""
    best = max((r for r in results if r["reward"] is not None), key=lambda r: r["reward"], default=results[0])
    return Architecture.parse(best["arch"])


class Reporter:
    """TensorBoard scalars and sample grids of one run directory, and the iteration's log line."""

    def __init__(self, record: RunDirectory, evaluators: list[Any], seed: int):
        self.record = record
        self.evaluators = evaluators
        self.seed = seed
        self._tb: Any = None

    def save_grid(self, stage: int, iteration: int, arch: Architecture, weights_box: dict, step: int) -> None:
        from torchvision.utils import make_grid

        images = self._sample(arch, weights_box)
        atomic_write_bytes(self.record.samples_dir / f"stage{stage}_iter{iteration:03d}.png", png_bytes(images))
        grid = make_grid(images, nrow=8, normalize=True, value_range=(-1, 1))
        self._tensorboard().add_image("search/samples_of_the_best", grid, step)

    def save_final_grid(self, arch: Architecture, weights_box: dict) -> None:
        """Samples of a ranked architecture from the final supernet, named by the architecture for the report."""
        images = self._sample(arch, weights_box)
        atomic_write_bytes(self.record.samples_dir / f"final_{architecture_slug(arch)}.png", png_bytes(images))

    def _sample(self, arch: Architecture, weights_box: dict):
        # An evaluator renders it: it holds these weights even while the trainer moves on.
        seed = derived_seed(self.seed, SeedPurpose.SAMPLES)
        return self.evaluators[0].call("sample_images", str(arch), 64, seed, weights_box).result()

    def log_config(self, config: Any) -> None:
        """The run's settings, as TensorBoard text and hparams, so that runs can be told apart there."""
        writer = self._tensorboard()
        writer.add_text("config", "```toml\n" + config.to_toml() + "\n```", 0)
        flat = {f"{section}.{key}": value for section, values in config.to_dict().items() for key, value in values.items()
                if isinstance(value, (bool, int, float, str))}
        # The summaries themselves, not add_hparams: that one makes a new run directory and logs the
        # metrics as values of its own; here the metric columns read the run's reward_max curve.
        from torch.utils.tensorboard.summary import hparams

        for summary in hparams(flat, {"search/reward_max": 0.0}):
            writer.file_writer.add_summary(summary)
        writer.flush()

    def log_scalars(self, row: dict[str, Any]) -> None:
        writer = self._tensorboard()
        step = row["global_iteration"]
        for key in ("loss_d", "loss_g", "reward_mean", "reward_max", "entropy", "baseline"):
            if row.get(key) is not None:
                writer.add_scalar(f"search/{key}", row[key], step)
        writer.add_scalar("search/reset", float(row["reset"]), step)
        writer.flush()

    @staticmethod
    def log_iteration(row: dict[str, Any]) -> None:
        logger.info(
            "stage %d iter %d: loss_d %.3f loss_g %.3f reward %.3f (max %.3f) entropy %.2f %.1fs%s",
            row["stage"],
            row["iteration"],
            row["loss_d"] or math.nan,
            row["loss_g"] or math.nan,
            row["reward_mean"] or math.nan,
            row["reward_max"] or math.nan,
            row["entropy"] or math.nan,
            row["seconds"],
            " RESET" if row["reset"] else "",
        )

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()

    def _tensorboard(self):
        if self._tb is None:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(self.record.tb_dir))
        return self._tb
