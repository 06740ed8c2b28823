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

from autogan.retrain._checkpoint import generator_from_checkpoint, load_retrain_checkpoint
from autogan.retrain._directory import RetrainDirectory
from autogan.retrain._loop import RetrainResult, Retrainer, retrain
from autogan.retrain._results import RetrainScore, latest_retrain_score
from autogan.retrain._plan import retrain_preset_for, run_retrain_base
from autogan.retrain._outputs import RetrainListener
from autogan.retrain._models import build_generator
from autogan.retrain._sampling import truncated_latents
from autogan.retrain._size import RetrainWidth, architecture_size, retrain_width
from autogan.retrain._scoring import score_checkpoint

__all__ = [
    "RetrainDirectory",
    "RetrainListener",
    "RetrainResult",
    "RetrainScore",
    "RetrainWidth",
    "Retrainer",
    "architecture_size",
    "build_generator",
    "generator_from_checkpoint",
    "latest_retrain_score",
    "load_retrain_checkpoint",
    "retrain",
    "retrain_preset_for",
    "retrain_width",
    "run_retrain_base",
    "score_checkpoint",
    "truncated_latents",
]
