"""Retraining's configuration: ``RetrainConfig`` and its sections."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from autogan.config._presets import read_toml, resolve_retrain_source
from autogan.config._search import DataConfig
from autogan.config._sections import Sections, apply_overrides, check_at_least_one, check_choices
from autogan.errors import ConfigError

SKIP_SEMANTICS = ("clean", "reference")


@dataclass(frozen=True)
class RetrainModelConfig:
    ch: int = 256  # the paper's retrain width (the search uses 128)
    df: int = 128
    latent_dim: int = 128
    bottom_width: int = 4
    g_spectral_norm: bool = False  # spectral norm on every G conv/linear (BigGAN); AutoGAN has none
    d_extra_blocks: int = 0  # deeper D for larger images
    # "clean": a cell's skip output is its first conv's output; "reference": it also carries the
    # skips the cell received (AutoGAN's in-place add), the network a published vector was trained as.
    skip_semantics: str = "clean"


@dataclass(frozen=True)
class RetrainTrainConfig:
    loss: str = "hinge"
    step: str = "two_stage"  # two_stage (the paper) | one_stage (OSGAN: G trains on the merged D batch's fakes)
    n_critic: int = 5
    d_batch_size: int = 64
    # G's batch: two-stage G steps draw their own, as the paper does; a one-stage merged step draws
    # this many fakes, which D also sees against its d_batch_size reals.
    g_batch_size: int = 128
    lr_g: float = 2e-4
    lr_d: float = 2e-4
    beta1: float = 0.0
    beta2: float = 0.9
    g_steps: int = 50_000  # about 320 CIFAR-10 epochs
    lr_decay: bool = False  # linear to 0 at the last G step; the reference has it, switched off
    ema_decay: float = 0.999
    ema_start: int = 0  # G steps before which the EMA is an exact copy (BigGAN: about 1,000)
    ortho_reg: float = 0.0  # BigGAN's beta (about 1e-4); 0 switches it off
    # A search's run directory: start G and D from its final supernet's weights for this
    # architecture (fine-tuning inherited weights) instead of a fresh initialization; "" for none.
    init_from: str = ""
    bf16: bool = False  # CUDA only
    channels_last: bool = False  # CUDA only


@dataclass(frozen=True)
class RetrainEvalConfig:
    every: int = 3_125  # G steps: 20 CIFAR-10 epochs of 781 D batches at n_critic 5
    samples: int = 50_000
    splits: int = 10
    extractor: str = "inception-v3"
    inception_weights: str = ""  # explicit path; else AUTOGAN_INCEPTION_WEIGHTS or torch-fidelity's cache
    at_start: bool = False  # also score the untrained generator, the baseline of the FID improvement
    score_raw: bool = False  # also score the raw (non-EMA) generator at every evaluation
    grid: int = 64  # images per sample grid
    checkpoint_every: int = 500  # G steps between checkpoints (every evaluation also checkpoints)
    batch_size: int = 500  # images per generator call while scoring


@dataclass(frozen=True)
class RetrainRunConfig:
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    threads: int = 0  # torch threads; 0 leaves torch's default
    tf32: bool = True  # CUDA only: TF32 tensor cores for float32 matmuls and convolutions


@dataclass(frozen=True)
class RetrainConfig(Sections):
    """Everything a retraining run depends on; the checkpoint stores it resolved."""

    data: DataConfig = field(default_factory=DataConfig)
    model: RetrainModelConfig = field(default_factory=RetrainModelConfig)
    train: RetrainTrainConfig = field(default_factory=RetrainTrainConfig)
    eval: RetrainEvalConfig = field(default_factory=RetrainEvalConfig)
    run: RetrainRunConfig = field(default_factory=RetrainRunConfig)

    what = "retrain config"

    def check(self) -> None:
        """Cross-field checks that a dataclass type alone cannot express."""
        from autogan.metrics import extractor_names
        from autogan.train import LOSSES

        positive = {
            "model.ch": self.model.ch,
            "model.df": self.model.df,
            "model.latent_dim": self.model.latent_dim,
            "model.bottom_width": self.model.bottom_width,
            "train.n_critic": self.train.n_critic,
            "train.d_batch_size": self.train.d_batch_size,
            "train.g_batch_size": self.train.g_batch_size,
            "train.g_steps": self.train.g_steps,
            "eval.every": self.eval.every,
            "eval.samples": self.eval.samples,
            "eval.grid": self.eval.grid,
            "eval.checkpoint_every": self.eval.checkpoint_every,
            "eval.batch_size": self.eval.batch_size,
        }
        check_at_least_one(positive)
        if self.eval.samples < self.eval.splits:
            raise ConfigError(f"eval.samples={self.eval.samples} is fewer than eval.splits={self.eval.splits}; each IS split needs images")
        if not 0.0 <= self.train.ema_decay < 1.0:
            raise ConfigError(f"train.ema_decay={self.train.ema_decay}: must be in [0, 1), e.g. 0.999")
        if self.train.ortho_reg < 0:
            raise ConfigError(f"train.ortho_reg={self.train.ortho_reg}: must be 0 (off) or positive, e.g. 1e-4")
        choices = {
            "train.step": (self.train.step, ("one_stage", "two_stage")),
            "train.loss": (self.train.loss, tuple(LOSSES)),
            "run.device": (self.run.device, ("auto", "cpu", "cuda")),
            "eval.extractor": (self.eval.extractor, tuple(extractor_names())),
            "model.skip_semantics": (self.model.skip_semantics, SKIP_SEMANTICS),
        }
        check_choices(choices, show=repr)


def load_retrain_config(
    source: str | None = None, overrides: list[str] | tuple[str, ...] = (), *, base: dict[str, Any] | None = None
) -> RetrainConfig:
    """Defaults, then the preset or file, then ``base`` (values carried from a search run), then overrides."""
    path = resolve_retrain_source(source)
    data = read_toml(path)
    for section, values in (base or {}).items():
        data.setdefault(section, {}).update(values)
    apply_overrides(data, overrides, RetrainConfig)
    return RetrainConfig.from_dict(data, source=str(path))
