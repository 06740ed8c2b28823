"""Retraining one architecture from scratch: the standalone generator against the SN-ResNet discriminator.

```
for g_step in 1..G steps:
    n_critic D batches; the last one also trains G (one-stage: merged; two-stage: a G step after)
    lr = schedule(g_step); EMA(G) <- G; optional orthogonal regularization of G
    every `eval.every` G steps: IS + FID of the EMA generator, a sample grid, a checkpoint
```

The files of a retrain directory: see ``_directory``.

The *final* checkpoint's score is the honest number.  The *best* one is chosen
by the very FID it reports (as the reference did, with its test FID), so it is
optimistic; both are reported and labelled.
"""

from autogan.config import DEFAULT_RETRAIN_PRESET, RetrainConfig, load_retrain_config, retrain_preset_names
from autogan.retrain._checkpoint import (
    CHECKPOINT_FORMAT,
    CHECKPOINT_VERSION,
    generator_from_checkpoint,
    load_retrain_checkpoint,
)
from autogan.retrain._directory import RetrainDirectory
from autogan.retrain._loop import RetrainResult, Retrainer, learning_rate, retrain
from autogan.retrain._results import RetrainScore, latest_retrain_score
from autogan.retrain._plan import default_retrain_config, retrain_preset_for, run_retrain_base
from autogan.retrain._models import build_discriminator, build_generator, discriminator_args, generator_args
from autogan.retrain._sampling import truncated_latents
from autogan.retrain._size import RetrainWidth, architecture_size, retrain_width
from autogan.retrain._scoring import Evaluation, GeneratorScorer, score_checkpoint, truncation_sweep

__all__ = [
    "CHECKPOINT_FORMAT",
    "CHECKPOINT_VERSION",
    "DEFAULT_RETRAIN_PRESET",
    "Evaluation",
    "RetrainConfig",
    "RetrainDirectory",
    "RetrainResult",
    "RetrainScore",
    "RetrainWidth",
    "Retrainer",
    "GeneratorScorer",
    "architecture_size",
    "build_discriminator",
    "build_generator",
    "default_retrain_config",
    "discriminator_args",
    "generator_args",
    "generator_from_checkpoint",
    "latest_retrain_score",
    "learning_rate",
    "load_retrain_checkpoint",
    "load_retrain_config",
    "retrain",
    "retrain_preset_for",
    "retrain_preset_names",
    "retrain_width",
    "run_retrain_base",
    "score_checkpoint",
    "truncated_latents",
    "truncation_sweep",
]
