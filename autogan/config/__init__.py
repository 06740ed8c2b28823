"""Configuration of a search (``Config``) and of a retraining (``RetrainConfig``): one system for both.

Frozen dataclasses of sections are the single source of defaults.  A TOML file (or a
preset in ``configs/``) overrides them, and ``section.key=value`` arguments override
the file.  The resolved config is written once into the run directory and is what a
checkpoint is rebuilt from.
"""

from autogan.config._presets import (
    DEFAULT_PRESET,
    DEFAULT_RETRAIN_PRESET,
    preset_names,
    read_toml,
    retrain_preset_names,
)
from autogan.config._retrain import RetrainConfig, load_retrain_config
from autogan.config._search import REWARD_NAMES, REWARD_SYMBOLS, Config, ModelConfig, load_config

__all__ = [
    "Config",
    "DEFAULT_PRESET",
    "DEFAULT_RETRAIN_PRESET",
    "ModelConfig",
    "REWARD_NAMES",
    "REWARD_SYMBOLS",
    "RetrainConfig",
    "load_config",
    "load_retrain_config",
    "preset_names",
    "read_toml",
    "retrain_preset_names",
]
