"""Search configuration: frozen dataclasses are the single source of defaults.

A TOML file (or a preset in ``configs/``) overrides them, and ``key=value``
arguments override the file.  The resolved config is written once into the run
directory and is what a checkpoint is rebuilt from.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import tomli_w

from autogan.errors import ConfigError, shown

PRESET_DIR = Path(__file__).resolve().parents[1] / "configs"
DEFAULT_PRESET = "digits"


@dataclass(frozen=True)
class DataConfig:
    dataset: str = "digits"  # digits | cifar10 | stl10 | folder
    root: str = ""  # dataset directory; empty means ./data/<dataset>
    download: bool = False
    channels: int = 1


@dataclass(frozen=True)
class ModelConfig:
    ch: int = 32
    df: int = 32
    latent_dim: int = 128
    bottom_width: int = 4
    # "clean": a cell's skip output is its first conv's output; "reference": it also carries
    # the skips the cell received, as AutoGAN's in-place add does.
    skip_semantics: str = "clean"


@dataclass(frozen=True)
class TrainConfig:
    loss: str = "hinge"
    step: str = "one_stage"  # one_stage | two_stage
    n_critic: int = 5
    batch_size: int = 64  # the D batch; one-stage G steps reuse its fakes
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.0
    beta2: float = 0.9
    d_steps_per_iteration: int = 200  # the paper: 15 epochs of CIFAR-10, 11,730 D steps
    reset_window: int = 500
    reset_threshold: float = 1e-3
    bf16: bool = False  # CUDA only
    channels_last: bool = False  # CUDA only


@dataclass(frozen=True)
class SearchConfig:
    num_cells: int = 3
    stage_iterations: tuple[int, ...] = (2, 2, 2)  # the paper: 15, 20, 30
    archs_per_iteration: int = 8  # controller steps per iteration; the paper: 30
    controller: str = "rnn"  # rnn | random | tpe
    controller_lr: float = 3.5e-4
    controller_update: str = "per_sample"  # per_sample: one step per reward, as the paper's loop | batch
    controller_epochs: int = 1  # passes over each batch of rewards (PPO-clipped after the first step)
    entropy_weight: float = 1e-3
    baseline_decay: float = 0.9
    reward_samples: int = 500  # images per Inception Score; the paper: 5,000
    reward_splits: int = 10
    # How a shared BatchNorm is set before an architecture is scored: "recalibrate" recomputes its
    # statistics on calibration_samples of that architecture's own images, "batch" scores with batch
    # statistics, "running" uses the statistics the supernet ran up over all architectures.
    reward_norm: str = "recalibrate"
    calibration_samples: int = 128
    # The final ranking: the beam and the run's best, at least 2 * top_k, re-scored on the final
    # supernet with this many reward seeds each.
    rescore_seeds: int = 3
    extractor: str = "digits-classifier"  # inception-v3 on real datasets
    inception_weights: str = ""  # explicit path; else AUTOGAN_INCEPTION_WEIGHTS or torch-fidelity's cache
    beam_candidates: int = 10  # M
    beam_width: int = 5  # K
    top_k: int = 5  # architectures in the final ranked list


@dataclass(frozen=True)
class RunConfig:
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    backend: str = "ray"  # ray | inprocess
    address: str = ""  # empty: an embedded local Ray instance; "auto" or HOST:PORT joins a cluster
    evaluators: int = 1
    evaluator_cpus: float = 1.0
    evaluator_gpus: float = 0.0
    trainer_cpus: float = 1.0
    trainer_gpus: float = 0.0
    overlap: bool = False  # score iteration i while training iteration i+1
    threads: int = 0  # torch threads per worker; 0 leaves torch's default
    start_timeout: float = 600.0  # seconds a cluster may take to make room for the workers before the search gives up


@dataclass(frozen=True)
class Config:
    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    run: RunConfig = field(default_factory=RunConfig)

    def to_dict(self) -> dict[str, Any]:
        return sections_to_dict(self)

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str = "config") -> "Config":
        config = sections_from_dict(cls, data, source=source)
        config.check()
        return config

    def replace(self, **sections: Any) -> "Config":
        return dataclasses.replace(self, **sections)

    def check(self) -> None:
        """Cross-field checks that a dataclass type alone cannot express."""
        stages = self.search.stage_iterations
        if len(stages) != self.search.num_cells:
            raise ConfigError(
                f"search.stage_iterations has {len(stages)} entries but search.num_cells is "
                f"{self.search.num_cells}; give one iteration count per cell"
            )
        if any(n < 1 for n in stages):
            raise ConfigError(f"search.stage_iterations {list(stages)}: every stage needs at least 1 iteration")
        positive = {
            "train.batch_size": self.train.batch_size,
            "train.n_critic": self.train.n_critic,
            "train.d_steps_per_iteration": self.train.d_steps_per_iteration,
            "search.archs_per_iteration": self.search.archs_per_iteration,
            "search.reward_samples": self.search.reward_samples,
            "search.controller_epochs": self.search.controller_epochs,
            "search.calibration_samples": self.search.calibration_samples,
            "search.rescore_seeds": self.search.rescore_seeds,
            "search.beam_candidates": self.search.beam_candidates,
            "search.beam_width": self.search.beam_width,
            "run.evaluators": self.run.evaluators,
            "model.ch": self.model.ch,
            "model.df": self.model.df,
        }
        for key, value in positive.items():
            if value < 1:
                raise ConfigError(f"{key}={value}: must be at least 1")
        resources = {
            "run.trainer_cpus": self.run.trainer_cpus,
            "run.trainer_gpus": self.run.trainer_gpus,
            "run.evaluator_cpus": self.run.evaluator_cpus,
            "run.evaluator_gpus": self.run.evaluator_gpus,
        }
        for key, value in resources.items():
            if value < 0:
                raise ConfigError(f"{key}={value:g}: must be 0 or more")
        if self.run.start_timeout <= 0:
            raise ConfigError(f"run.start_timeout={self.run.start_timeout:g}: must be a positive number of seconds")
        if self.search.beam_width > self.search.beam_candidates:
            raise ConfigError(
                f"search.beam_width={self.search.beam_width} is larger than search.beam_candidates="
                f"{self.search.beam_candidates}; the beam keeps the top K of M candidates"
            )
        if self.search.reward_samples < self.search.reward_splits:
            raise ConfigError(
                f"search.reward_samples={self.search.reward_samples} is fewer than reward_splits="
                f"{self.search.reward_splits}; each IS split needs images"
            )
        choices = {
            "train.step": (self.train.step, ("one_stage", "two_stage")),
            "run.backend": (self.run.backend, ("ray", "inprocess")),
            "run.device": (self.run.device, ("auto", "cpu", "cuda")),
            "search.controller_update": (self.search.controller_update, ("per_sample", "batch")),
            "search.reward_norm": (self.search.reward_norm, ("recalibrate", "batch", "running")),
            "model.skip_semantics": (self.model.skip_semantics, ("clean", "reference")),
        }
        for key, (value, allowed) in choices.items():
            if value not in allowed:
                raise ConfigError(f"{key}={shown(value)}: not one of {list(allowed)}")


def _build_section(section_cls: type, values: dict[str, Any], where: str) -> Any:
    hints = typing.get_type_hints(section_cls)
    known = {f.name for f in dataclasses.fields(section_cls)}
    unknown = set(values) - known
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {shown(sorted(unknown))}; known keys are {sorted(known)}")
    converted = {key: _coerce(value, hints[key], f"{where} {key}") for key, value in values.items()}
    return section_cls(**converted)


# Torch, Ray and numpy take 64-bit integers; a larger one fails deep inside them.
_INT_LIMIT = 2**63


def _coerce(value: Any, hint: Any, where: str) -> Any:
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: {shown(value)} is not true or false")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            if not -_INT_LIMIT <= value < _INT_LIMIT:
                raise ConfigError(f"{where}: {shown(value)} is out of range; give a 64-bit integer")
            return value
        raise ConfigError(f"{where}: {shown(value)} is not an integer")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not -_INT_LIMIT <= value < _INT_LIMIT or not math.isfinite(value):
                raise ConfigError(f"{where}: {shown(value)} is not a finite number of ordinary size")
            return float(value)
        raise ConfigError(f"{where}: {shown(value)} is not a number")
    if hint is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: {shown(value)} is not a string")
    if typing.get_origin(hint) is tuple:
        item_hint = typing.get_args(hint)[0]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: {shown(value)} is not a list")
        return tuple(_coerce(v, item_hint, where) for v in value)
    raise ConfigError(f"{where}: unsupported type {hint}")


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


# --------------------------------------------------------------------------- loading


def preset_names() -> list[str]:
    """Search presets; ``retrain_*.toml`` belong to ``autogan retrain``."""
    return sorted(p.stem for p in PRESET_DIR.glob("*.toml") if not p.stem.startswith("retrain_"))


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


def resolve_config_source(name_or_path: str | None) -> Path:
    """A preset name (``digits``) or a path to a TOML file."""
    name_or_path = name_or_path or DEFAULT_PRESET
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" or candidate.exists():
        return candidate
    preset = PRESET_DIR / f"{name_or_path}.toml"
    if not preset.exists():
        raise ConfigError(
            f"config {name_or_path!r}: no such preset or file; presets are {', '.join(preset_names())}"
        )
    return preset


def parse_override(text: str) -> tuple[str, str, Any]:
    """``section.key=value``; the value is read as TOML (so ``[15,20,30]``, ``true``, ``1e-3``)."""
    if "=" not in text:
        raise ConfigError(f"override {shown(text)}: expected section.key=value, e.g. train.n_critic=1")
    key, raw = text.split("=", 1)
    if key.count(".") != 1:
        raise ConfigError(f"override {shown(text)}: key {shown(key)} should be section.key, e.g. search.archs_per_iteration")
    section, name = key.strip().split(".")
    if "\n" in raw or "\r" in raw:
        # Read as TOML, a second line would be a second key that is silently dropped.
        raise ConfigError(f"override {shown(text)}: the value spans lines; give a one-line value")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word, such as train.loss=bce
    except ValueError:  # an integer of thousands of digits
        raise ConfigError(f"override {shown(text)}: the number is far too long; give a value of ordinary size") from None
    except RecursionError:
        raise ConfigError(f"override {shown(text)}: the value is nested too deeply; give a number, word or flat list") from None
    return section, name, value


def load_config(source: str | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Defaults, then the preset or file, then ``key=value`` overrides."""
    path = resolve_config_source(source)
    data = apply_overrides(read_toml(path), overrides)
    return Config.from_dict(data, source=str(path))


# --------------------------------------------------------------------------- other sectioned configs


def sections_from_dict(cls: type, data: dict[str, Any], *, source: str = "config") -> Any:
    """Build any frozen dataclass of section dataclasses (such as ``RetrainConfig``) from a dict.

    The same rules as ``Config.from_dict``: unknown sections and keys are errors,
    values are type-checked, missing ones keep their defaults.  Cross-field checks
    are the caller's.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a table of sections, got {type(data).__name__}")
    sections = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(sections)
    if unknown:
        raise ConfigError(f"{source}: unknown section(s) {shown(sorted(unknown))}; sections are {sorted(sections)}")
    built = {}
    for name, section_field in sections.items():
        values = data.get(name, {})
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: [{name}] must be a table")
        built[name] = _build_section(section_field.default_factory, values, f"{source} [{name}]")  # type: ignore[arg-type]
    return cls(**built)


def sections_to_dict(config: Any) -> dict[str, Any]:
    """The plain-dict form of a sectioned config (tuples as lists), ready for TOML or a checkpoint."""
    return {section.name: _plain(dataclasses.asdict(getattr(config, section.name))) for section in dataclasses.fields(config)}


def apply_overrides(data: dict[str, Any], overrides: list[str] | tuple[str, ...]) -> dict[str, Any]:
    """``section.key=value`` overrides applied to a config dict read from TOML (changed in place and returned)."""
    for override in overrides:
        section, name, value = parse_override(override)
        data.setdefault(section, {})
        if not isinstance(data[section], dict):
            raise ConfigError(f"override {override!r}: [{section}] is not a table")
        data[section][name] = value
    return data
