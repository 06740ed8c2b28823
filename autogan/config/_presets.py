"""Config files: the presets in ``configs/`` (search: ``NAME.toml``; retrain: ``retrain_NAME.toml``) and reading TOML."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

from autogan.errors import ConfigError

PRESET_DIR = Path(__file__).resolve().parents[2] / "configs"
DEFAULT_PRESET = "digits"
RETRAIN_PRESET_PREFIX = "retrain_"
DEFAULT_RETRAIN_PRESET = "digits"


def preset_names() -> list[str]:
    """Search presets; ``retrain_*.toml`` belong to ``autogan retrain``."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml") if not p.stem.startswith(RETRAIN_PRESET_PREFIX))


def retrain_preset_names() -> list[str]:
    return sorted(p.stem.removeprefix(RETRAIN_PRESET_PREFIX) for p in PRESET_DIR.glob(f"{RETRAIN_PRESET_PREFIX}*.toml"))


def resolve_config_source(name_or_path: str | None) -> Path:
    """A preset name (``digits``) or a path to a TOML file."""
    return _resolve(name_or_path or DEFAULT_PRESET, prefix="", what="config", names=preset_names)


def resolve_retrain_source(name_or_path: str | None) -> Path:
    """A retrain preset name (``digits`` means ``configs/retrain_digits.toml``) or a TOML file."""
    return _resolve(name_or_path or DEFAULT_RETRAIN_PRESET, prefix=RETRAIN_PRESET_PREFIX, what="retrain config", names=retrain_preset_names)


def _resolve(name_or_path: str, *, prefix: str, what: str, names) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        return candidate
    preset = PRESET_DIR / f"{prefix}{name_or_path.removeprefix(prefix)}.toml"
    if not preset.exists():
        raise ConfigError(f"{what} {name_or_path!r}: no such preset or file; presets are {', '.join(names())}")
    return preset


def read_toml(path: Path) -> dict[str, Any]:
    try:
        with open(path, "rb") as handle:
            return tomllib.load(handle)
    except FileNotFoundError:
        raise ConfigError(f"config {path}: not found; pass a preset ({', '.join(preset_names())}) or a TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config {path}: invalid TOML ({exc})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"config {path}: not UTF-8 text, so not a TOML file; pass a TOML config") from None
    except RecursionError:
        raise ConfigError(f"config {path}: nested too deeply to read; a config is a few flat tables") from None
    except ValueError:  # tomllib's refusal of an integer of thousands of digits
        raise ConfigError(f"config {path}: an integer has thousands of digits; give values of ordinary size") from None
    except OSError as exc:
        raise ConfigError(f"config {path}: cannot be read ({exc.strerror}); pass a readable TOML file") from None
