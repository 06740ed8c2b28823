"""Configuration of a search (``Config``) and of a retraining (``RetrainConfig``): one system for both.

Frozen dataclasses of sections are the single source of defaults.  A TOML file (or a
preset in ``configs/``) overrides them, and ``section.key=value`` arguments override
the file.  The resolved config is written once into the run directory and is what a
checkpoint is rebuilt from.
"""

from autogan.config._presets import (
    DEFAULT_PRESET,
    DEFAULT_RETRAIN_PRESET,
    PRESET_DIR,
    RETRAIN_PRESET_PREFIX,
    preset_names,
    read_toml,
    resolve_config_source,
    resolve_retrain_source,
    retrain_preset_names,
)
from autogan.config._retrain import (
    SKIP_SEMANTICS,
    RetrainConfig,
    RetrainEvalConfig,
    RetrainModelConfig,
    RetrainRunConfig,
    RetrainTrainConfig,
    load_retrain_config,
)
from autogan.config._search import (
    REWARD_NAMES,
    REWARD_SYMBOLS,
    REWARDS,
    Config,
    DataConfig,
    ModelConfig,
    RunConfig,
    SearchConfig,
    TrainConfig,
    load_config,
)
from autogan.config._sections import (
    Sections,
    apply_overrides,
    parse_override,
    sections_from_dict,
    sections_to_dict,
)

__all__ = [
    "DEFAULT_PRESET",
    "DEFAULT_RETRAIN_PRESET",
    "PRESET_DIR",
    "REWARDS",
    "REWARD_NAMES",
    "REWARD_SYMBOLS",
    "RETRAIN_PRESET_PREFIX",
    "SKIP_SEMANTICS",
    "Config",
    "DataConfig",
    "ModelConfig",
    "RetrainConfig",
    "RetrainEvalConfig",
    "RetrainModelConfig",
    "RetrainRunConfig",
    "RetrainTrainConfig",
    "RunConfig",
    "SearchConfig",
    "Sections",
    "TrainConfig",
    "apply_overrides",
    "load_config",
    "load_retrain_config",
    "parse_override",
    "preset_names",
    "read_toml",
    "resolve_config_source",
    "resolve_retrain_source",
    "retrain_preset_names",
    "sections_from_dict",
    "sections_to_dict",
]
