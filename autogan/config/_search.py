"""The search's configuration: ``Config`` and its sections."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from autogan.config._presets import read_toml, resolve_config_source
from autogan.config._sections import (
    Sections,
    apply_overrides,
    check_at_least_one,
    check_auto_or_bool,
    check_auto_or_value,
    check_choices,
)
from autogan.errors import ConfigError


# The rewards a search can learn from, each "higher is better" (see SearchConfig.reward).
REWARDS = ("is", "fid")
REWARD_NAMES = {"is": "Inception Score", "fid": "negative FID"}
REWARD_SYMBOLS = {"is": "IS", "fid": "-FID"}  # for an axis or a column


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
    # D steps between reads of the losses (and at the end of an iteration): a read makes the host
    # wait for the GPU, so the trainer reads a chunk of steps at once.  A collapse is then seen
    # at the end of its chunk, up to stats_every - 1 steps late: wasted work that the reset
    # discards; the record is the same as with 1.  25: one wait per 25 steps, and that delay
    # is at most 1/20 of the default reset window.
    stats_every: int = 25
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
    # What an architecture is rewarded with: "is", the Inception Score of its samples (the paper's);
    # "fid", minus their FID against the dataset in the extractor's features, what retraining is
    # judged by.  Every evaluation row keeps both where both were computed.
    reward: str = "is"
    reward_samples: int = 500  # images per reward; the paper: 5,000
    reward_splits: int = 10
    # bfloat16 autocast for the reward's generator and feature extractor: "auto" is on on CUDA for an
    # extractor whose IS deviation was measured small (autogan.metrics._precision), off elsewhere.
    reward_bf16: str | bool = "auto"
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
    # A hard size budget: controllers propose only generators within it (0: no budget).  Counted
    # for the derived generator at the retrain width, as `autogan retrain` builds it from the
    # retrain preset of the run's dataset (autogan/retrain/_size.py), not at the supernet's width.
    max_params: int = 0
    max_gmacs: float = 0.0  # GMACs per generated image
    # A soft size term instead (MnasNet): reward * (cost / target) ** size_weight for each target
    # given (0: none), cost counted as for the budget.  -0.07 is MnasNet's soft-constraint weight:
    # a generator twice the target loses 5% of its reward.
    size_target_params: int = 0
    size_target_gmacs: float = 0.0
    size_weight: float = -0.07


@dataclass(frozen=True)
class RunConfig:
    seed: int = 0
    device: str = "auto"  # auto | cpu | cuda
    backend: str = "ray"  # ray | inprocess
    address: str = ""  # empty: an embedded local Ray instance; "auto" or HOST:PORT joins a cluster
    # "auto" for any of these five: resolved from the machine's cores when the search starts
    # (autogan.search._cpu_plan); the keys given a value keep it.
    evaluators: int | str = 1
    evaluator_cpus: float | str = 1.0
    evaluator_gpus: float = 0.0
    trainer_cpus: float | str = 1.0
    trainer_gpus: float = 0.0
    overlap: bool | str = False  # score iteration i while training iteration i+1
    threads: int | str = 0  # torch threads per worker; 0 leaves torch's default
    tf32: bool = True  # CUDA only: TF32 tensor cores for float32 matmuls and convolutions
    start_timeout: float = 600.0  # seconds a cluster may take to make room for the workers before the search gives up


@dataclass(frozen=True)
class Config(Sections):
    """Everything a search depends on; the run directory stores it resolved."""

    data: DataConfig = field(default_factory=DataConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    run: RunConfig = field(default_factory=RunConfig)

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
            "train.stats_every": self.train.stats_every,
            "search.archs_per_iteration": self.search.archs_per_iteration,
            "search.reward_samples": self.search.reward_samples,
            "search.controller_epochs": self.search.controller_epochs,
            "search.calibration_samples": self.search.calibration_samples,
            "search.rescore_seeds": self.search.rescore_seeds,
            "search.beam_candidates": self.search.beam_candidates,
            "search.beam_width": self.search.beam_width,
            "model.ch": self.model.ch,
            "model.df": self.model.df,
        }
        check_at_least_one(positive)
        planned = {"run.threads": (self.run.threads, "a number of threads (0: torch's default)"),
                   "run.overlap": (self.run.overlap, "true or false"),
                   "run.evaluators": (self.run.evaluators, "a number of evaluators"),
                   "run.trainer_cpus": (self.run.trainer_cpus, "a number of CPUs"),
                   "run.evaluator_cpus": (self.run.evaluator_cpus, "a number of CPUs")}
        for key, (value, kind) in planned.items():
            check_auto_or_value(key, value, kind)
        if self.run.evaluators != "auto":
            check_at_least_one({"run.evaluators": self.run.evaluators})
        if self.run.threads != "auto" and self.run.threads < 0:
            raise ConfigError(f"run.threads={self.run.threads}: must be 0 (torch's default) or more")
        resources = {
            "run.trainer_cpus": self.run.trainer_cpus,
            "run.trainer_gpus": self.run.trainer_gpus,
            "run.evaluator_cpus": self.run.evaluator_cpus,
            "run.evaluator_gpus": self.run.evaluator_gpus,
        }
        for key, value in resources.items():
            if value != "auto" and value < 0:
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
        check_auto_or_bool("search.reward_bf16", self.search.reward_bf16)
        self._check_size_keys()
        choices = {
            "train.step": (self.train.step, ("one_stage", "two_stage")),
            "run.backend": (self.run.backend, ("ray", "inprocess")),
            "run.device": (self.run.device, ("auto", "cpu", "cuda")),
            "search.controller_update": (self.search.controller_update, ("per_sample", "batch")),
            "search.reward": (self.search.reward, REWARDS),
            "search.reward_norm": (self.search.reward_norm, ("recalibrate", "batch", "running")),
            "model.skip_semantics": (self.model.skip_semantics, ("clean", "reference")),
        }
        check_choices(choices)


    def _check_size_keys(self) -> None:
        search = self.search
        sizes = {"search.max_params": search.max_params, "search.max_gmacs": search.max_gmacs,
                 "search.size_target_params": search.size_target_params,
                 "search.size_target_gmacs": search.size_target_gmacs}
        for key, value in sizes.items():
            if not math.isfinite(value) or value < 0:
                raise ConfigError(f"{key}={value:g}: must be 0 (off) or a positive size")
        if not math.isfinite(search.size_weight) or search.size_weight > 0:
            raise ConfigError(
                f"search.size_weight={search.size_weight:g}: must be 0 or negative, so that a larger generator "
                "earns less; MnasNet uses -0.07"
            )
        soft = search.size_target_params > 0 or search.size_target_gmacs > 0
        if soft and search.reward != "is":
            raise ConfigError(
                f"search.size_target_params/size_target_gmacs with search.reward={search.reward!r}: the size factor "
                "scales a positive reward, and -FID is negative; use search.reward='is' or a hard budget "
                "(search.max_params, search.max_gmacs)"
            )


def load_config(source: str | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Defaults, then the preset or file, then ``key=value`` overrides."""
    path = resolve_config_source(source)
    data = apply_overrides(read_toml(path), overrides, Config)
    return Config.from_dict(data, source=str(path))
