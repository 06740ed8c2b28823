"""IS and FID behind a feature-extractor registry.

The pipeline is ``images -> features -> statistics -> metric``; each step is a
function of its own.  Extractors: ``inception-v3`` (torch-fidelity's exact TF
port, paper-comparable, local weights only) and ``digits-classifier`` (built in,
trained on first use).
"""

from autogan.metrics._evaluate import evaluate_generator, extract_features
from autogan.metrics._extractors import (
    EXTRACTORS,
    FeatureExtractor,
    default_extractor,
    extractor_names,
    get_extractor,
    register_extractor,
)
from autogan.metrics._inception import INCEPTION_SHA256_PREFIX, resolve_inception_weights
from autogan.metrics._precision import bf16_autocast, reward_bf16
from autogan.metrics._reference import reference_statistics
from autogan.metrics._scores import compute_statistics, fid_from_statistics, frechet_distance, inception_score

__all__ = [
    "EXTRACTORS",
    "FeatureExtractor",
    "INCEPTION_SHA256_PREFIX",
    "bf16_autocast",
    "compute_statistics",
    "default_extractor",
    "evaluate_generator",
    "extract_features",
    "extractor_names",
    "fid_from_statistics",
    "frechet_distance",
    "get_extractor",
    "inception_score",
    "reference_statistics",
    "register_extractor",
    "resolve_inception_weights",
    "reward_bf16",
]
