"""IS and FID behind a feature-extractor registry.

The pipeline is ``images -> features -> statistics -> metric``; each step is a
function of its own.  Extractors: ``inception-v3`` (torch-fidelity's exact TF
port, paper-comparable, local weights only) and ``digits-classifier`` (built in,
trained on first use).
"""

from autogan.metrics._cache import default_cache_dir
from autogan.metrics._evaluate import MetricResult, evaluate_generator, extract_features, generated_batches
from autogan.metrics._extractors import (
    EXTRACTORS,
    ExtractorSpec,
    FeatureExtractor,
    default_extractor,
    extractor_names,
    get_extractor,
    register_extractor,
)
from autogan.metrics._inception import (
    INCEPTION_SHA256_PREFIX,
    INCEPTION_WEIGHTS_ENV,
    INCEPTION_WEIGHTS_FILE,
    random_inception_state_dict,
    resolve_inception_weights,
    torch_fidelity_cache_path,
)
from autogan.metrics._precision import AUTO_BF16_ON_CUDA, bf16_autocast, reward_bf16
from autogan.metrics._reference import reference_key, reference_statistics
from autogan.metrics._scores import (
    FeatureStats,
    MetricError,
    compute_statistics,
    fid_from_statistics,
    frechet_distance,
    inception_score,
)

__all__ = [
    "AUTO_BF16_ON_CUDA",
    "EXTRACTORS",
    "ExtractorSpec",
    "FeatureExtractor",
    "FeatureStats",
    "INCEPTION_SHA256_PREFIX",
    "INCEPTION_WEIGHTS_ENV",
    "INCEPTION_WEIGHTS_FILE",
    "MetricError",
    "MetricResult",
    "bf16_autocast",
    "compute_statistics",
    "default_cache_dir",
    "default_extractor",
    "evaluate_generator",
    "extract_features",
    "extractor_names",
    "fid_from_statistics",
    "frechet_distance",
    "generated_batches",
    "get_extractor",
    "inception_score",
    "random_inception_state_dict",
    "reference_key",
    "reference_statistics",
    "register_extractor",
    "resolve_inception_weights",
    "reward_bf16",
    "torch_fidelity_cache_path",
]
