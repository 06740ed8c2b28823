"""Retraining one architecture from scratch: the standalone generator against the SN-ResNet discriminator.

```
for g_step in 1..G steps:
    n_critic D batches; the last one also trains G (one-stage: merged; two-stage: a G step after)
    lr = schedule(g_step); EMA(G) <- G; optional orthogonal regularization of G
    every `eval.every` G steps: IS + FID of the EMA generator, a sample grid, a checkpoint
```

The retrain directory:

```
OUT/
  config.toml        resolved RetrainConfig, written once
  arch.json          the architecture
  metrics.jsonl      one line per evaluation (G step, which weights, IS, FID)
  checkpoints/latest.pt   everything needed to resume; atomic
  checkpoints/best.pt     the generator of the lowest-FID evaluation
  samples/step{N}.png     a grid per evaluation
  summary.json       the final and the best scores, written at the end
  tb/                TensorBoard
```

The *final* checkpoint's score is the honest number.  The *best* one is chosen
by the very FID it reports (as the reference did, with its test FID), so it is
optimistic; both are reported and labelled.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import torch
from torch import nn

from search_spaces import Architecture

from autogan.config import (
    DEFAULT_RETRAIN_PRESET,
    RetrainConfig,
    RetrainEvalConfig,
    RetrainModelConfig,
    RetrainRunConfig,
    RetrainTrainConfig,
    load_retrain_config,
    read_toml,
    retrain_preset_names,
)
from autogan.errors import ConfigError, MissingFileError, UserError, first_line
from autogan.log import logger
from autogan.files import DirectoryLock, atomic_torch_save, atomic_write_bytes, remove_dead_temporaries
from autogan.checkpoints import load_checkpoint_file
from autogan.device import resolve_device, set_threads
from autogan.images import png_bytes
from autogan.seeding import derived_seed

CHECKPOINT_FORMAT = "autogan.retrain"
CHECKPOINT_VERSION = 1

# Purposes mixed into derived seeds (see autogan.seeding.derived_seed); distinct from the search's.
SEED_G_INIT = 11
SEED_D_INIT = 12
SEED_STREAM = 13
SEED_EVAL = 14
SEED_GRID = 15


# --------------------------------------------------------------------------- models


def apply_spectral_norm(module: nn.Module, seed: int) -> nn.Module:
    """Spectral norm (one power iteration per forward) on every conv and linear layer of ``module``.

    ``torch.nn.utils.parametrizations.spectral_norm`` draws its initial ``u`` from the
    global RNG; it runs inside a forked, seeded RNG so the result is reproducible and
    the caller's global RNG state is untouched.
    """
    from torch.nn.utils.parametrizations import spectral_norm

    layers = [m for m in module.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear))]
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for layer in layers:
            # ConvTranspose2d keeps output channels in dim 1.
            spectral_norm(layer, dim=1 if isinstance(layer, nn.ConvTranspose2d) else 0)
    return module


def build_generator(args: dict[str, Any]) -> nn.Module:
    """A generator from the ``model["generator"]`` dict of a retrain checkpoint (or ``generator_args``)."""
    from autogan.nn import Generator

    arch = Architecture.from_dict(args["arch"])
    generator = Generator(
        arch,
        int(args["ch"]),
        int(args["latent_dim"]),
        int(args["bottom_width"]),
        int(args["out_channels"]),
        skip_out_includes_skip_ins=bool(args.get("skip_out_includes_skip_ins", False)),
        seed=int(args.get("seed", 0)),
    )
    if args.get("spectral_norm"):
        apply_spectral_norm(generator, int(args.get("seed", 0)))
    return generator


def generator_args(config: RetrainConfig, arch: Architecture) -> dict[str, Any]:
    """Constructor arguments of the retrained generator: what a checkpoint needs to rebuild it."""
    return {
        "arch": arch.to_dict(),
        "ch": config.model.ch,
        "latent_dim": config.model.latent_dim,
        "bottom_width": config.model.bottom_width,
        "out_channels": config.data.channels,
        "skip_out_includes_skip_ins": config.model.skip_semantics == "reference",
        "spectral_norm": config.model.g_spectral_norm,
        "seed": derived_seed(config.run.seed, SEED_G_INIT) % 2**31,
    }


def discriminator_args(config: RetrainConfig, arch: Architecture) -> dict[str, Any]:
    return {
        "df": config.model.df,
        "in_channels": config.data.channels,
        "stages": len(arch.cells),
        "extra_blocks": config.model.d_extra_blocks,
        "seed": derived_seed(config.run.seed, SEED_D_INIT) % 2**31,
    }


def build_discriminator(args: dict[str, Any]) -> nn.Module:
    from autogan.nn import Discriminator

    return Discriminator(
        int(args["df"]),
        int(args["in_channels"]),
        int(args["stages"]),
        extra_blocks=int(args.get("extra_blocks", 0)),
        seed=int(args.get("seed", 0)),
    )


def learning_rate(base: float, g_step: int, total: int, decay: bool) -> float:
    """The schedule as a pure function: constant, or linear from ``base`` to 0 over ``total`` G steps."""
    if not decay:
        return base
    return base * max(0.0, 1.0 - g_step / total)


class OrthogonallyRegularized:
    """An optimizer whose ``step`` first adds BigGAN's orthogonal-regularization gradient.

    The training steps call only ``zero_grad`` and ``step``; wrapping the optimizer puts
    the regularizer between G's backward and its update for one-stage and two-stage
    steps alike.
    """

    def __init__(self, optimizer: torch.optim.Optimizer, model: nn.Module, beta: float):
        self.optimizer = optimizer
        self.model = model
        self.beta = beta

    @property
    def param_groups(self):
        return self.optimizer.param_groups

    def zero_grad(self, set_to_none: bool = True) -> None:
        self.optimizer.zero_grad(set_to_none=set_to_none)

    def step(self) -> None:
        from autogan.train import orthogonal_regularization

        orthogonal_regularization(self.model, self.beta)
        self.optimizer.step()

    def state_dict(self) -> dict[str, Any]:
        return self.optimizer.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        self.optimizer.load_state_dict(state)


# --------------------------------------------------------------------------- latents


def truncated_latents(n: int, dim: int, tau: float | None, generator: torch.Generator) -> torch.Tensor:
    """``(n, dim)`` standard-normal latents; with ``tau``, BigGAN's truncation by resampling.

    Every component with ``|z_i| > tau`` is redrawn until none is left, so the result
    is exactly the normal distribution truncated to ``[-tau, tau]``.
    """
    z = torch.randn(n, dim, generator=generator)
    if tau is None:
        return z
    if not tau > 0:
        raise UserError(f"--truncation {tau}: tau must be positive, e.g. 0.5 (smaller: less diverse, more typical)")
    outside = z.abs() > tau
    while bool(outside.any()):
        z[outside] = torch.randn(int(outside.sum()), generator=generator)
        outside = z.abs() > tau
    return z


# --------------------------------------------------------------------------- checkpoints


def load_retrain_checkpoint(path: Path | str) -> dict[str, Any]:
    """A retrain checkpoint (``latest.pt`` or ``best.pt``), checked for its format; errors name the fix."""
    data = load_checkpoint_file(Path(path), what="checkpoint")
    if data.get("format") != CHECKPOINT_FORMAT:
        hint = " (it looks like a search checkpoint; retrain an architecture first)" if "trainer" in data else ""
        raise UserError(
            f"checkpoint {path}: not an autogan retrain checkpoint{hint}; pass checkpoints/latest.pt or best.pt "
            "of an `autogan retrain` directory"
        )
    if data.get("version", 0) > CHECKPOINT_VERSION:
        raise UserError(f"checkpoint {path}: written by a newer autogan (version {data.get('version')}); upgrade autogan")
    return data


def generator_from_checkpoint(checkpoint: dict[str, Any], *, weights: str = "ema", device: str | torch.device = "cpu") -> nn.Module:
    """The generator a checkpoint holds, rebuilt from its stored arguments, in eval mode.

    ``weights``: ``"ema"`` (the averaged generator, what retraining delivers) or ``"raw"``.
    """
    key = {"ema": "generator_ema", "raw": "generator"}.get(weights)
    if key is None:
        raise UserError(f"weights {weights!r}: choose 'ema' or 'raw'")
    try:
        generator = build_generator(checkpoint["model"]["generator"])
        generator.load_state_dict(checkpoint[key])
    except (KeyError, RuntimeError, TypeError, ValueError) as exc:
        raise UserError(
            f"checkpoint: its generator cannot be rebuilt ({first_line(exc)}); "
            "it is damaged or from an incompatible autogan version"
        ) from None
    return generator.to(device).eval()


# --------------------------------------------------------------------------- scoring


@dataclass(frozen=True)
class Evaluation:
    """One scored generator: at which G step, which weights, and its IS and FID."""

    g_step: int
    weights: str  # "ema" | "raw"
    is_mean: float
    is_std: float
    fid: float | None
    samples: int
    seconds: float

    def to_dict(self) -> dict[str, Any]:
        return {
            "g_step": self.g_step,
            "weights": self.weights,
            "is_mean": _json_float(self.is_mean),
            "is_std": _json_float(self.is_std),
            "fid": _json_float(self.fid),
            "samples": self.samples,
            "seconds": round(self.seconds, 3),
        }

    @classmethod
    def from_dict(cls, row: dict[str, Any]) -> "Evaluation":
        nan = float("nan")
        return cls(
            g_step=int(row["g_step"]),
            weights=row["weights"],
            is_mean=nan if row["is_mean"] is None else float(row["is_mean"]),
            is_std=nan if row["is_std"] is None else float(row["is_std"]),
            fid=nan if row.get("fid") is None else float(row["fid"]),
            samples=int(row["samples"]),
            seconds=float(row.get("seconds", 0.0)),
        )

    def describe(self) -> str:
        fid = "n/a" if self.fid is None else f"{self.fid:.2f}"
        return f"G step {self.g_step}, {self.weights} weights: IS {self.is_mean:.3f} ± {self.is_std:.3f}, FID {fid} ({self.samples} samples)"


class Scorer:
    """IS and FID with the configured extractor, against cached reference statistics of the dataset.

    Each call draws the same latents (from ``seed``), so evaluations at different steps are paired.
    """

    def __init__(self, config: RetrainConfig, resolution: int, device: torch.device, seed: int):
        from autogan.metrics import get_extractor, reference_statistics

        self.config = config
        self.device = device
        self.seed = seed
        evaluation = config.eval
        self.extractor = get_extractor(
            evaluation.extractor, device=device, weights_path=evaluation.inception_weights or None
        )
        data = config.data
        self.reference = reference_statistics(
            data.dataset, resolution, self.extractor, root=data.root or None, download=data.download
        )

    def score(
        self,
        generator: nn.Module,
        *,
        samples: int | None = None,
        truncation: float | None = None,
        keep_images: list[torch.Tensor] | None = None,
    ) -> tuple[float, float, float | None]:
        """``(IS mean, IS std, FID)`` of ``generator``'s samples; it is put in eval mode and restored.

        ``keep_images``, when given, receives the generated batches (for further measurements).
        """
        from autogan.metrics import evaluate_generator

        samples = samples or self.config.eval.samples
        latents = torch.Generator().manual_seed(self.seed)
        latent_dim = self.config.model.latent_dim
        was_training = generator.training
        generator.eval()

        def generate(n: int) -> torch.Tensor:
            z = truncated_latents(n, latent_dim, truncation, latents).to(self.device)
            images = generator(z).float()  # (n, C, H, W) in [-1, 1]
            if keep_images is not None:
                keep_images.append(images.detach().cpu())
            return images

        try:
            result = evaluate_generator(
                generate,
                samples,
                self.extractor,
                batch_size=self.config.eval.batch_size,
                reference=self.reference,
                splits=self.config.eval.splits,
            )
        finally:
            generator.train(was_training)
        return result.is_mean, result.is_std, result.fid


def score_checkpoint(
    path: Path | str,
    *,
    weights: str = "ema",
    samples: int | None = None,
    truncation: float | None = None,
    device: str = "auto",
    extractor: str | None = None,
    seed: int = 0,
) -> dict[str, Any]:
    """IS and FID of a retrain checkpoint's generator, with the extractor and dataset its config names.

    This is what ``autogan metrics --checkpoint`` can call for retrain checkpoints: the
    checkpoint carries the resolved config, so nothing else is needed.
    """
    checkpoint = load_retrain_checkpoint(path)
    config = RetrainConfig.from_dict(checkpoint["config"], source=f"checkpoint {path}")
    if extractor is not None:
        config = replace(config, eval=replace(config.eval, extractor=extractor))
    torch_device = resolve_device(device)
    generator = generator_from_checkpoint(checkpoint, weights=weights, device=torch_device)
    scorer = Scorer(config, generator.output_size, torch_device, seed)
    with torch.no_grad():
        is_mean, is_std, fid = scorer.score(generator, samples=samples, truncation=truncation)
    return {
        "checkpoint": str(path),
        "g_step": int(checkpoint["step"]),
        "weights": weights,
        "truncation": truncation,
        "extractor": config.eval.extractor,
        "samples": samples or config.eval.samples,
        "is_mean": is_mean,
        "is_std": is_std,
        "fid": fid,
    }


def truncation_sweep(
    path: Path | str, taus: list[float | None], *, samples: int = 2_000, seed: int = 0, device: str = "auto"
) -> list[dict[str, Any]]:
    """IS, FID and diversity of a checkpoint's generator for each truncation ``tau`` (None: no truncation).

    Diversity is the mean distance between pairs of samples in the extractor's feature
    space (pairs of consecutive samples, so it costs nothing extra), next to the mean
    top-1 classifier confidence.
    """
    checkpoint = load_retrain_checkpoint(path)
    config = RetrainConfig.from_dict(checkpoint["config"], source=f"checkpoint {path}")
    torch_device = resolve_device(device)
    generator = generator_from_checkpoint(checkpoint, device=torch_device)
    scorer = Scorer(config, generator.output_size, torch_device, seed)
    rows = []
    for tau in taus:
        images: list[torch.Tensor] = []
        with torch.no_grad():
            is_mean, is_std, fid = scorer.score(generator, samples=samples, truncation=tau, keep_images=images)
            feats, logits = [], []
            for batch in torch.cat(images).split(config.eval.batch_size):
                f, l = scorer.extractor(batch)
                feats.append(f.cpu())
                logits.append(l.cpu())
        feats_t = torch.cat(feats)  # (N, F)
        pairs = feats_t[0::2][: len(feats_t) // 2] - feats_t[1::2][: len(feats_t) // 2]
        confidence = torch.cat(logits).softmax(dim=1).max(dim=1).values.mean()
        rows.append(
            {
                "tau": tau,
                "is_mean": is_mean,
                "is_std": is_std,
                "fid": fid,
                "diversity": float(pairs.norm(dim=1).mean()),
                "confidence": float(confidence),
                "samples": samples,
            }
        )
    return rows


# --------------------------------------------------------------------------- the training run


@dataclass
class RetrainResult:
    """What a finished retraining reports: the final checkpoint's score and the best one, apart."""

    out_dir: Path
    arch: Architecture
    final: Evaluation | None
    best: Evaluation | None
    evaluations: int
    final_checkpoint: Path
    best_checkpoint: Path | None
    initial: Evaluation | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "arch": str(self.arch),
            "final": None if self.final is None else {**self.final.to_dict(), "checkpoint": str(self.final_checkpoint)},
            "best": None
            if self.best is None
            else {
                **self.best.to_dict(),
                "checkpoint": str(self.best_checkpoint),
                "selected_by": f"lowest FID among {self.evaluations} evaluations of the EMA generator; "
                "chosen by the metric it reports, so it is optimistic (the reference selected by test FID)",
            },
            "initial": None if self.initial is None else self.initial.to_dict(),
        }


class Retrainer:
    """Trains ``arch`` from scratch into ``out_dir``; ``resume=True`` continues from ``checkpoints/latest.pt``."""

    def __init__(
        self,
        config: RetrainConfig | None,
        arch: Architecture | None,
        out_dir: Path | str,
        *,
        resume: bool = False,
        progress: bool | None = None,
        source_note: str = "",
    ):
        self.out_dir = Path(out_dir)
        self.progress = progress
        if resume:
            config, arch = self._open_existing()
        else:
            assert config is not None and arch is not None
            self._create(config, arch, source_note)
        self._lock = DirectoryLock(self.out_dir, what="retrain directory").acquire()
        try:
            self._build(config, arch, resume)
        except BaseException:
            self._lock.release()
            raise

    def _build(self, config: RetrainConfig, arch: Architecture, resume: bool) -> None:
        from autogan.train import EMA, StepOptions, get_loss, to_channels_last

        if resume:
            remove_dead_temporaries(self.out_dir)
        self.config: RetrainConfig = config
        self.arch: Architecture = arch
        set_threads(config.run.threads)
        self.device = resolve_device(config.run.device)
        train = config.train
        self.g_args = generator_args(config, arch)
        self.d_args = discriminator_args(config, arch)
        self.generator = build_generator(self.g_args).to(self.device)
        self.discriminator = build_discriminator(self.d_args).to(self.device)
        if train.channels_last and self.device.type == "cuda":
            to_channels_last(self.generator, self.discriminator)
        betas = (float(train.beta1), float(train.beta2))
        self.opt_g: Any = torch.optim.Adam(self.generator.parameters(), lr=train.lr_g, betas=betas)
        if train.ortho_reg > 0:
            self.opt_g = OrthogonallyRegularized(self.opt_g, self.generator, train.ortho_reg)
        self.opt_d = torch.optim.Adam(self.discriminator.parameters(), lr=train.lr_d, betas=betas)
        self.ema = EMA(self.generator, decay=train.ema_decay, start_step=train.ema_start)
        self.loss = get_loss(train.loss)
        self.options = StepOptions(bf16=train.bf16, channels_last=train.channels_last)
        self.stream = torch.Generator().manual_seed(derived_seed(config.run.seed, SEED_STREAM))
        self.eval_seed = derived_seed(config.run.seed, SEED_EVAL) % 2**63
        self.grid_seed = derived_seed(config.run.seed, SEED_GRID) % 2**63
        self.step = 0
        self.d_steps = 0
        self.best: Evaluation | None = None
        self.history: list[Evaluation] = []
        if resume:
            self._restore()
        self._scorer: Scorer | None = None
        self._source = None
        self._tb = None

    # --- the directory -------------------------------------------------------------------

    @property
    def config_path(self) -> Path:
        return self.out_dir / "config.toml"

    @property
    def latest_path(self) -> Path:
        return self.out_dir / "checkpoints" / "latest.pt"

    @property
    def best_path(self) -> Path:
        return self.out_dir / "checkpoints" / "best.pt"

    @property
    def metrics_path(self) -> Path:
        return self.out_dir / "metrics.jsonl"

    def _create(self, config: RetrainConfig, arch: Architecture, source_note: str) -> None:
        if self.out_dir.exists() and any(self.out_dir.iterdir()):
            raise UserError(
                f"retrain directory {self.out_dir}: exists and is not empty; pass --resume {self.out_dir} to "
                "continue it, or choose another --out"
            )
        self.out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.out_dir / "arch.json", (json.dumps({**arch.to_dict(), "source": source_note}, indent=2) + "\n").encode())
        atomic_write_bytes(self.config_path, config.to_toml().encode())

    def _open_existing(self) -> tuple[RetrainConfig, Architecture]:
        if not self.config_path.is_file():
            raise MissingFileError(
                f"retrain directory {self.out_dir}: has no config.toml, so it is not an `autogan retrain` directory; "
                "pass the --out directory of an earlier retrain"
            )
        config = RetrainConfig.from_dict(read_toml(self.config_path), source=str(self.config_path))
        try:
            arch = Architecture.from_dict(json.loads((self.out_dir / "arch.json").read_text()))
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(f"retrain directory {self.out_dir}: arch.json cannot be read ({exc})") from None
        return config, arch

    def _restore(self) -> None:
        if not self.latest_path.exists():
            logger.info("resume: no checkpoint yet in %s; starting from G step 0", self.out_dir)
            self._keep_metrics_upto(-1)
            return
        state = load_retrain_checkpoint(self.latest_path)
        self.generator.load_state_dict(state["generator"])
        self.discriminator.load_state_dict(state["discriminator"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.opt_d.load_state_dict(state["opt_d"])
        self.ema.load_state_dict(state["ema"])
        self.stream.set_state(state["stream"])
        self.step = int(state["step"])
        self.d_steps = int(state["d_steps"])
        self.best = Evaluation.from_dict(state["best"]) if state.get("best") else None
        self.history = [Evaluation.from_dict(r) for r in state.get("history", [])]
        # Evaluations logged after this checkpoint are redone, so their lines go.
        self._keep_metrics_upto(self.step)
        logger.info("resume: continuing from the checkpoint at G step %d of %d", self.step, self.config.train.g_steps)

    def _keep_metrics_upto(self, step: int) -> None:
        if not self.metrics_path.exists():
            return
        rows = []
        for raw in self.metrics_path.read_bytes().splitlines(keepends=True):
            if not raw.endswith(b"\n"):
                break
            row = json.loads(raw)
            if row["g_step"] <= step:
                rows.append(raw)
        atomic_write_bytes(self.metrics_path, b"".join(rows))

    def _checkpoint(self) -> None:
        state = {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "model": {"generator": self.g_args, "discriminator": self.d_args},
            "arch": str(self.arch),
            "step": self.step,
            "d_steps": self.d_steps,
            "generator": self.generator.state_dict(),
            "generator_ema": self.ema.model.state_dict(),
            "discriminator": self.discriminator.state_dict(),
            "opt_g": self.opt_g.state_dict(),
            "opt_d": self.opt_d.state_dict(),
            "ema": self.ema.state_dict(),
            "stream": self.stream.get_state(),
            "best": None if self.best is None else self.best.to_dict(),
            "history": [e.to_dict() for e in self.history],
            "config": self.config.to_dict(),
        }
        atomic_torch_save(state, self.latest_path)

    def _save_best(self, evaluation: Evaluation) -> None:
        state = {
            "format": CHECKPOINT_FORMAT,
            "version": CHECKPOINT_VERSION,
            "model": {"generator": self.g_args, "discriminator": self.d_args},
            "arch": str(self.arch),
            "step": self.step,
            "generator": self.generator.state_dict(),
            "generator_ema": self.ema.model.state_dict(),
            "score": evaluation.to_dict(),
            "config": self.config.to_dict(),
        }
        atomic_torch_save(state, self.best_path)

    # --- pieces ---------------------------------------------------------------------------

    @property
    def resolution(self) -> int:
        return self.config.model.bottom_width * 2 ** len(self.arch.cells)

    def _data(self):
        if self._source is None:
            from autogan.data import get_dataset

            data = self.config.data
            self._source = get_dataset(
                data.dataset, root=data.root or None, download=data.download, size=self.resolution, channels=data.channels
            ).to(self.device)
        return self._source

    def scorer(self) -> Scorer:
        if self._scorer is None:
            self._scorer = Scorer(self.config, self.resolution, self.device, self.eval_seed)
        return self._scorer

    def _tensorboard(self):
        if self._tb is None:
            from torch.utils.tensorboard import SummaryWriter

            self._tb = SummaryWriter(str(self.out_dir / "tb"))
        return self._tb

    def _z(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.config.model.latent_dim, generator=self.stream).to(self.device)

    def train_g_step(self) -> dict[str, float]:
        """``n_critic`` D batches, the last of which also trains G; then the EMA and the schedule."""
        from autogan.train import one_stage_step, two_stage_step

        train = self.config.train
        source = self._data()
        lr_g = learning_rate(train.lr_g, self.step, train.g_steps, train.lr_decay)
        lr_d = learning_rate(train.lr_d, self.step, train.g_steps, train.lr_decay)
        for group in self.opt_g.param_groups:
            group["lr"] = lr_g
        for group in self.opt_d.param_groups:
            group["lr"] = lr_d
        self.generator.train()
        self.discriminator.train()
        losses_d = []
        stats = None
        for k in range(train.n_critic):
            real = source.sample_batch(train.d_batch_size, self.stream, size=self.resolution)  # (B, C, H, W)
            z = self._z(train.d_batch_size)  # (B, latent)
            update_g = k == train.n_critic - 1
            if train.step == "one_stage":
                stats = one_stage_step(
                    self.generator, self.discriminator, self.opt_g, self.opt_d, real, z, None, self.loss,
                    update_g=update_g, options=self.options,
                )
            else:
                g_z = self._z(train.g_batch_size) if update_g else None  # (2B, latent): the paper's G batch
                stats = two_stage_step(
                    self.generator, self.discriminator, self.opt_g, self.opt_d, real, z, None, self.loss,
                    update_g=update_g, g_z=g_z, options=self.options,
                )
            self.d_steps += 1
            losses_d.append(stats.loss_d)
        self.step += 1
        self.ema.update(self.generator, self.step)
        return {"loss_d": sum(losses_d) / len(losses_d), "loss_g": float(stats.loss_g), "lr_g": lr_g}

    def evaluate(self) -> list[Evaluation]:
        """Score the EMA generator (and the raw one when configured), log, grid, maybe a new best."""
        targets = [("ema", self.ema.model)]
        if self.config.eval.score_raw:
            targets.append(("raw", self.generator))
        results = []
        scorer = self.scorer()  # outside no_grad: the first use may train the digits classifier
        for name, model in targets:
            started = time.perf_counter()
            with torch.no_grad():
                is_mean, is_std, fid = scorer.score(model)
            evaluation = Evaluation(self.step, name, is_mean, is_std, fid, self.config.eval.samples, time.perf_counter() - started)
            results.append(evaluation)
            with open(self.metrics_path, "ab") as handle:
                handle.write((json.dumps({**evaluation.to_dict(), "time": time.time()}, sort_keys=True) + "\n").encode())
            logger.info("evaluation: %s", evaluation.describe())
            writer = self._tensorboard()
            writer.add_scalar(f"eval/is_{name}", is_mean, self.step)
            if fid is not None and math.isfinite(fid):
                writer.add_scalar(f"eval/fid_{name}", fid, self.step)
        ema_eval = results[0]
        self.history.append(ema_eval)
        if ema_eval.fid is not None and math.isfinite(ema_eval.fid) and (self.best is None or ema_eval.fid < self.best.fid):
            self.best = ema_eval
            self._save_best(ema_eval)
        self._save_grid()
        return results

    def _save_grid(self) -> None:
        z = torch.randn(self.config.eval.grid, self.config.model.latent_dim, generator=torch.Generator().manual_seed(self.grid_seed))
        with torch.no_grad():
            images = self.ema.model(z.to(self.device)).float().cpu()  # (grid, C, H, W)
        atomic_write_bytes(self.out_dir / "samples" / f"step{self.step:06d}.png", png_bytes(images))

    # --- the loop -------------------------------------------------------------------------

    def run(self) -> RetrainResult:
        try:
            return self._run()
        finally:
            self.close()

    def _run(self) -> RetrainResult:
        from tqdm.auto import tqdm

        config = self.config
        total = config.train.g_steps
        evaluation = config.eval
        initial = next((e for e in self.history if e.g_step == 0), None)
        if self.step == 0 and evaluation.at_start and initial is None:
            initial = self.evaluate()[0]
            self._checkpoint()
        bar = tqdm(
            total=total,
            initial=self.step,
            desc="retrain",
            unit="G step",
            disable=None if self.progress is None else not self.progress,
        )
        try:
            while self.step < total:
                losses = self.train_g_step()
                bar.update(1)
                bar.set_postfix(loss_d=f"{losses['loss_d']:.3f}", loss_g=f"{losses['loss_g']:.3f}")
                writer = self._tensorboard()
                for key, value in losses.items():
                    writer.add_scalar(f"train/{key}", value, self.step)
                evaluate_now = self.step % evaluation.every == 0 or self.step == total
                if evaluate_now:
                    self.evaluate()
                if evaluate_now or self.step % evaluation.checkpoint_every == 0:
                    self._checkpoint()
        finally:
            bar.close()
            if self._tb is not None:
                self._tb.close()
        if not self.history or self.history[-1].g_step != self.step:
            # A resumed run that had already finished: its final evaluation is in the history.
            self.evaluate()
            self._checkpoint()
        result = RetrainResult(
            out_dir=self.out_dir,
            arch=self.arch,
            final=self.history[-1],
            best=self.best,
            evaluations=len(self.history),
            final_checkpoint=self.latest_path,
            best_checkpoint=self.best_path if self.best is not None else None,
            initial=initial,
        )
        atomic_write_bytes(self.out_dir / "summary.json", (json.dumps(result.to_dict(), indent=2) + "\n").encode())
        return result

    def close(self) -> None:
        """Let another process (a later ``--resume``) write the directory."""
        self._lock.release()


def retrain(
    config: RetrainConfig | None,
    arch: Architecture | None,
    out_dir: Path | str,
    *,
    resume: bool = False,
    progress: bool | None = None,
    source_note: str = "",
) -> RetrainResult:
    """Train ``arch`` from scratch (or resume ``out_dir``) and return the final and best scores."""
    return Retrainer(config, arch, out_dir, resume=resume, progress=progress, source_note=source_note).run()


def _json_float(value: float | None) -> float | None:
    if value is None:
        return None
    value = float(value)
    return value if math.isfinite(value) else None


__all__ = [
    "Evaluation",
    "RetrainConfig",
    "RetrainEvalConfig",
    "RetrainModelConfig",
    "RetrainResult",
    "RetrainRunConfig",
    "RetrainTrainConfig",
    "Retrainer",
    "Scorer",
    "apply_spectral_norm",
    "build_generator",
    "generator_from_checkpoint",
    "learning_rate",
    "load_retrain_checkpoint",
    "load_retrain_config",
    "retrain",
    "score_checkpoint",
    "truncated_latents",
    "truncation_sweep",
]
