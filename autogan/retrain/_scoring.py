"""Scoring a retrained generator: IS and FID of a training run's evaluations and of a saved checkpoint."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from autogan.config import RetrainConfig
from autogan.device import resolve_device
from autogan.seeding import SeedPurpose, derived_seed
from autogan.retrain._checkpoint import generator_from_checkpoint, load_retrain_checkpoint
from autogan.retrain._sampling import truncated_latents


@dataclass(frozen=True)
class Evaluation:
    """One scored generator: at which G step, which weights, and its IS and FID."""

    g_step: int
    weights: str  # "ema" | "raw"
    is_mean: float
    is_std: float
    fid: float | None
    samples: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "g_step": self.g_step,
            "weights": self.weights,
            "is_mean": _json_float(self.is_mean),
            "is_std": _json_float(self.is_std),
            "fid": _json_float(self.fid),
            "samples": self.samples,
            "seconds": round(self.seconds, 3),
        }

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> "Evaluation":
        nan = float("nan")
        return cls(
            g_step=int(row["g_step"]),
            weights=row["weights"],
            is_mean=nan if row["is_mean"] is None else float(row["is_mean"]),
            is_std=nan if row["is_std"] is None else float(row["is_std"]),
            fid=nan if row.get("fid") is None else float(row["fid"]),
            samples=int(row["samples"]),
            seconds=float(row.get("seconds", 0.0)),
        )

    def describe(self) -> str:
        fid = "n/a" if self.fid is None else f"{self.fid:.2f}"
        return f"G step {self.g_step}, {self.weights} weights: IS {self.is_mean:.3f} ± {self.is_std:.3f}, FID {fid} ({self.samples} samples)"


def evaluation_seed(config: RetrainConfig) -> int:
    """The seed of a retraining's evaluation latents: fixed per run, so every evaluation sees the same z."""
    return derived_seed(config.run.seed, SeedPurpose.RETRAIN_EVAL) % 2**63


class GeneratorScorer:
    """IS and FID with the configured extractor, against cached reference statistics of the dataset.

    Each call draws the same latents (from ``seed``), so evaluations at different steps are paired.
    """

    def __init__(self, config: RetrainConfig, resolution: int, device: torch.device, seed: int):
        from autogan.metrics import get_extractor, reference_statistics

        self.config = config
        self.device = device
        self.seed = seed
        evaluation = config.eval
        self.extractor = get_extractor(
            evaluation.extractor, device=device, weights_path=evaluation.inception_weights or None
        )
        data = config.data
        self.reference = reference_statistics(
            data.dataset, resolution, self.extractor, root=data.root or None, download=data.download
        )

    def score(
        self,
        generator: nn.Module,
        *,
        samples: int | None = None,
        truncation: float | None = None,
        keep_images: list[torch.Tensor] | None = None,
    ) -> tuple[float, float, float | None]:
        """``(IS mean, IS std, FID)`` of ``generator``'s samples; it is put in eval mode and restored.

        ``keep_images``, when given, receives the generated batches (for further measurements).
        """
        from autogan.metrics import evaluate_generator

        samples = samples or self.config.eval.samples
        latents = torch.Generator().manual_seed(self.seed)
        latent_dim = self.config.model.latent_dim
        was_training = generator.training
        generator.eval()

        def generate(n: int) -> torch.Tensor:
            z = truncated_latents(n, latent_dim, truncation, latents).to(self.device)
            images = generator(z).float()  # (n, C, H, W) in [-1, 1]
            if keep_images is not None:
                keep_images.append(images.detach().cpu())
            return images

        try:
            result = evaluate_generator(
                generate,
                samples,
                self.extractor,
                batch_size=self.config.eval.batch_size,
                reference=self.reference,
                splits=self.config.eval.splits,
            )
        finally:
            generator.train(was_training)
        return result.is_mean, result.is_std, result.fid


def score_checkpoint(
    path: Path | str,
    *,
    weights: str = "ema",
    samples: int | None = None,
    truncation: float | None = None,
    device: str = "auto",
    extractor: str | None = None,
    seed: int | None = None,
) -> dict[str, Any]:
    """IS and FID of a retrain checkpoint's generator, with the extractor and dataset its config names.

    This is what ``autogan metrics --checkpoint`` can call for retrain checkpoints: the
    checkpoint carries the resolved config, so nothing else is needed.  ``seed`` None draws
    the latents the retraining's own evaluation drew, so the same checkpoint, weights and
    sample count give the numbers of its ``metrics.jsonl``.
    """
    checkpoint = load_retrain_checkpoint(path)
    config = RetrainConfig.from_dict(checkpoint["config"], source=f"checkpoint {path}")
    if seed is None:
        seed = evaluation_seed(config)
    if extractor is not None:
        config = config.replace(eval=replace(config.eval, extractor=extractor))
    torch_device = resolve_device(device)
    generator = generator_from_checkpoint(checkpoint, weights=weights, device=torch_device)
    scorer = GeneratorScorer(config, generator.output_size, torch_device, seed)
    with torch.no_grad():
        is_mean, is_std, fid = scorer.score(generator, samples=samples, truncation=truncation)
    return {
        "checkpoint": str(path),
        "g_step": int(checkpoint["step"]),
        "weights": weights,
        "truncation": truncation,
        "extractor": config.eval.extractor,
        "samples": samples or config.eval.samples,
        "seed": seed,
        "is_mean": is_mean,
        "is_std": is_std,
        "fid": fid,
    }


def truncation_sweep(
    path: Path | str, taus: list[float | None], *, samples: int = 2_000, seed: int = 0, device: str = "auto"
) -> list[dict[str, Any]]:
    """IS, FID and diversity of a checkpoint's generator for each truncation ``tau`` (None: no truncation).

    Diversity is the mean distance between pairs of samples in the extractor's feature
    space (pairs of consecutive samples, so it costs nothing extra), next to the mean
    top-1 classifier confidence.
    """
    checkpoint = load_retrain_checkpoint(path)
    config = RetrainConfig.from_dict(checkpoint["config"], source=f"checkpoint {path}")
    torch_device = resolve_device(device)
    generator = generator_from_checkpoint(checkpoint, device=torch_device)
    scorer = GeneratorScorer(config, generator.output_size, torch_device, seed)
    rows = []
    for tau in taus:
        images: list[torch.Tensor] = []
        with torch.no_grad():
            is_mean, is_std, fid = scorer.score(generator, samples=samples, truncation=tau, keep_images=images)
            feats, logits = [], []
            for batch in torch.cat(images).split(config.eval.batch_size):
                f, l = scorer.extractor(batch)
                feats.append(f.cpu())
                logits.append(l.cpu())
        feats_t = torch.cat(feats)  # (N, F)
        pairs = feats_t[0::2][: len(feats_t) // 2] - feats_t[1::2][: len(feats_t) // 2]
        confidence = torch.cat(logits).softmax(dim=1).max(dim=1).values.mean()
        rows.append(
            {
                "tau": tau,
                "is_mean": is_mean,
                "is_std": is_std,
                "fid": fid,
                "diversity": float(pairs.norm(dim=1).mean()),
                "confidence": float(confidence),
                "samples": samples,
            }
        )
    return rows


def _json_float(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None
