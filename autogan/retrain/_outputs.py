"""What a retraining leaves for its user: metrics lines, log lines, TensorBoard, the best checkpoint, grids.

The ``Retrainer`` computes (G steps, evaluations) and hands each result to its listeners; this
module is the listener that writes.  A tool that wants the numbers and no files passes its own.
"""

from __future__ import annotations

import math
import time
from typing import Any, Protocol, Sequence

import torch

from autogan.files import atomic_torch_save
from autogan.images import png_bytes
from autogan.log import logger
from autogan.retrain._scoring import Evaluation

class RetrainView(Protocol):
    """What a listener may read of the ``Retrainer`` that calls it (a view, so this module needs no loop)."""

    step: int
    directory: Any
    config: Any
    generator: torch.nn.Module
    ema: Any
    device: torch.device
    grid_seed: int

    def checkpoint_header(self) -> dict[str, Any]: ...


class RetrainListener(Protocol):
    """Receives a retraining's results as they come; none of it changes what is trained."""

    def trained(self, retrainer: RetrainView, losses: dict[str, float]) -> None: ...

    def evaluated(self, retrainer: RetrainView, evaluations: Sequence[Evaluation], new_best: bool) -> None: ...

    def close(self) -> None: ...


class RetrainWriter:
    """Writes into the retraining's directory: ``metrics.jsonl``, TensorBoard, ``best.pt``, sample grids."""

    def __init__(self) -> None:
        self._tb: Any = None

    def trained(self, retrainer: RetrainView, losses: dict[str, float]) -> None:
        writer = self._tensorboard(retrainer)
        for key, value in losses.items():
            writer.add_scalar(f"train/{key}", value, retrainer.step)

    def evaluated(self, retrainer: RetrainView, evaluations: Sequence[Evaluation], new_best: bool) -> None:
        for evaluation in evaluations:
            retrainer.directory.append_metrics({**evaluation.to_dict(), "time": time.time()})
            logger.info("evaluation: %s", evaluation.describe())
            writer = self._tensorboard(retrainer)
            writer.add_scalar(f"eval/is_{evaluation.weights}", evaluation.is_mean, retrainer.step)
            if evaluation.fid is not None and math.isfinite(evaluation.fid):
                writer.add_scalar(f"eval/fid_{evaluation.weights}", evaluation.fid, retrainer.step)
        if new_best:
            self._save_best(retrainer, evaluations[0])
        self._save_grid(retrainer)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None

    def _save_best(self, retrainer: RetrainView, evaluation: Evaluation) -> None:
        state = {
            **retrainer.checkpoint_header(),
            "generator": retrainer.generator.state_dict(),
            "generator_ema": retrainer.ema.model.state_dict(),
            "score": evaluation.to_dict(),
            "config": retrainer.config.to_dict(),
        }
        atomic_torch_save(state, retrainer.directory.best_path)

    def _save_grid(self, retrainer: RetrainView) -> None:
        config = retrainer.config
        z = torch.randn(config.eval.grid, config.model.latent_dim,
                        generator=torch.Generator().manual_seed(retrainer.grid_seed))  # (grid, latent)
        with torch.no_grad():
            images = retrainer.ema.model(z.to(retrainer.device)).float().cpu()  # (grid, C, H, W)
        retrainer.directory.write_grid(retrainer.step, png_bytes(images))

    def _tensorboard(self, retrainer: RetrainView):
        if self._tb is None:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(retrainer.directory.tensorboard_dir))
        return self._tb
