"""The public Python API: search, retrain, load a generator.

Few entry points with keyword arguments and plain results, as Optuna's
``create_study``/``optimize`` and torch-fidelity's ``calculate_metrics``.  Each entry
point chooses exactly as the matching ``autogan`` command does, through the same code.
"""

from __future__ import annotations

import argparse
import inspect
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import torch
from torch import nn

from search_spaces import Architecture

from autogan.errors import UserError

if TYPE_CHECKING:
    from autogan.learning import StageLearning
    from autogan.retrain import RetrainResult
    from autogan.search import RankedArchitecture

_BACKENDS = ("ray", "inprocess")


@dataclass(frozen=True)
class SearchResult:
    """A finished search: its final ranking (best first), its run directory and what the policy learned per stage."""

    run_dir: Path
    ranking: tuple[RankedArchitecture, ...]
    learning: tuple[StageLearning, ...]

    @property
    def best(self) -> Architecture:
        """The final rank 1: what ``autogan.retrain(result)`` retrains."""
        if not self.ranking:
            raise UserError(f"run {self.run_dir}: ranked no architecture; the search scored none")
        return self.ranking[0].arch


def search(
    config: str | Path = "digits",
    *,
    out: str | Path | None = None,
    overrides: Sequence[str] = (),
    backend: str | None = None,
    address: str | None = None,
    resume: bool = False,
    progress_every: float = 60.0,
) -> SearchResult:
    """Run a multi-level architecture search, as ``autogan search`` does.

    ``config``: a preset name (``digits``, ``cifar10``, ``stl10``) or a TOML file;
    ``overrides``: ``section.key=value`` strings, e.g. ``"search.controller=random"``;
    ``backend``: ``"ray"`` (an embedded Ray instance, or the cluster at ``address``) or
    ``"inprocess"`` (no Ray: one process, for scripts and tests); by default the config's.
    ``out``: the run directory (default ``runs/<timestamp>``); with ``resume=True`` the
    run to continue after a crash, with its recorded config.
    """
    from autogan.config import load_config
    from autogan.learning import stage_learning
    from autogan.search import RunDirectory, run_search

    if resume:
        if out is None:
            raise UserError("search(resume=True) continues the run at out=RUN_DIR; pass out")
        run_config = None
    else:
        extra = list(overrides)
        if isinstance(overrides, str):
            raise UserError(f"overrides={overrides!r}: pass a list of 'section.key=value' strings, e.g. [{overrides!r}]")
        if backend is not None:
            if backend not in _BACKENDS:
                raise UserError(f"backend={backend!r}: choose one of {', '.join(map(repr, _BACKENDS))}")
            extra.append(f"run.backend={json.dumps(backend)}")
        if address is not None:
            extra.append(f"run.address={json.dumps(address)}")
        run_config = load_config(str(config), extra)
    run_dir = Path(out) if out is not None else Path("runs") / time.strftime("%Y%m%d-%H%M%S")
    if progress_every < 0:
        raise UserError(f"progress_every={progress_every:g}: must be 0 (no progress lines) or more seconds")
    ranking = run_search(run_config, run_dir, resume=resume, progress_every=progress_every)
    record = RunDirectory.open(run_dir)
    learning = stage_learning(record.iterations(), record.evaluations())
    return SearchResult(run_dir, tuple(ranking), tuple(learning))


def retrain(
    arch_or_run: Architecture | SearchResult | str | Path,
    *,
    rank: int = 1,
    config: str | Path | None = None,
    overrides: Sequence[str] = (),
    out: str | Path | None = None,
    progress: bool | None = False,
) -> RetrainResult:
    """Train one architecture from scratch, as ``autogan retrain`` does; returns its final and best scores.

    ``arch_or_run``: an ``Architecture``, its canonical string or JSON file, or a search
    (a ``SearchResult`` or its run directory), whose final ``rank`` is retrained with the
    run's data and output geometry into ``RUN_DIR/retrain/arch-<its vector>``.
    ``config``: a retrain preset (``digits``, ``cifar10``) or TOML file; by default the
    preset of the run's dataset.  ``overrides``: ``section.key=value`` strings.
    """
    from autogan.commands.retrain import plan_retrain
    from autogan.retrain import retrain as run_retrain

    if isinstance(overrides, str):
        raise UserError(f"overrides={overrides!r}: pass a list of 'section.key=value' strings, e.g. [{overrides!r}]")
    run_dir = _run_dir_of(arch_or_run)
    if run_dir is None:
        arch = str(arch_or_run) if isinstance(arch_or_run, (Architecture, Path)) else arch_or_run
        if not isinstance(arch, str):
            raise UserError(
                f"arch_or_run: got a {type(arch_or_run).__name__}; pass an Architecture, its canonical string, "
                "a SearchResult or a run directory"
            )
    else:
        arch = None
    choice = argparse.Namespace(
        rank=rank if run_dir is not None else None,
        arch=arch,
        autogan_vector=None,
        config=None if config is None else str(config),
        out=None if out is None else str(out),
    )
    plan, chosen, out_dir, note = plan_retrain(choice, run_dir, list(overrides))
    from autogan.inherit import inherited_state

    return run_retrain(plan, chosen, out_dir, source_note=note, progress=progress, inherit=inherited_state)


def load_generator(
    path: str | Path | SearchResult, *, rank: int | None = None, weights: str = "ema", device: str | torch.device = "cpu"
) -> TrainedGenerator:
    """A retrained generator, ready to sample, from any of the places one is kept.

    ``path``: a retrain checkpoint (``checkpoints/latest.pt`` or ``best.pt``), a retrain
    directory (its latest checkpoint), a directory written by ``autogan export``, or a
    search (a run directory or ``SearchResult``) with ``rank``: the retraining of its final
    rank ``rank``, which ``autogan.retrain(run)`` or ``autogan retrain RUN --rank N`` made.
    ``weights``: ``"ema"`` (what retraining delivers) or ``"raw"`` (checkpoints only).
    """
    from autogan.export import exported_config, is_export_directory, load_exported, plain_generator
    from autogan.retrain import RetrainDirectory, generator_from_checkpoint, load_retrain_checkpoint

    run_dir = _run_dir_of(path)
    if run_dir is not None:
        checkpoint_path = _retrained_rank(run_dir, rank)
    else:
        path = Path(path)
        if rank is not None:
            raise UserError(f"rank={rank}: is for a search's run directory, and {path} is not one; drop rank")
        if is_export_directory(path):
            if weights != "ema":
                raise UserError(f"weights={weights!r}: an export holds only the EMA generator; drop weights")
            generator, info = load_exported(path)
            return TrainedGenerator(generator, info).to(device)
        directory = RetrainDirectory(path)
        checkpoint_path = directory.latest_path if directory.arch_path.is_file() else path
    checkpoint = load_retrain_checkpoint(checkpoint_path)
    generator = generator_from_checkpoint(checkpoint, weights=weights)
    info = exported_config(checkpoint, checkpoint_path, plain_generator(generator))
    return TrainedGenerator(generator, info).to(device)


class TrainedGenerator(nn.Module):
    """A retrained generator: ``forward(z)`` maps ``(B, latent_dim)`` latents to ``(B, C, H, W)`` images in [-1, 1].

    ``.generator`` is the plain network; ``.info`` describes it as an export's
    ``config.json`` does (architecture, widths, what trained it, its final IS/FID).
    """

    def __init__(self, generator: nn.Module, info: dict[str, Any]):
        super().__init__()
        self.generator = generator
        self.info = info
        self.eval()

    @property
    def arch(self) -> Architecture:
        return self.generator.arch

    @property
    def latent_dim(self) -> int:
        return int(self.generator.latent_dim)

    @property
    def output_size(self) -> int:
        return int(self.generator.output_size)

    def forward(self, z: torch.Tensor) -> torch.Tensor:  # (B, latent) -> (B, C, H, W)
        return self.generator(z)

    def sample(self, n: int, truncation: float | None = None, seed: int | None = None, *, batch_size: int = 256) -> torch.Tensor:
        """``n`` images ``(n, C, H, W)`` in [-1, 1] on the module's device, drawn in eval mode.

        ``truncation``: BigGAN's truncation trick, latent entries redrawn until ``|z| <= truncation``
        (smaller: more typical, less diverse).  ``seed``: the same seed gives the same images;
        None draws fresh ones.  The global RNG is never touched.
        """
        from autogan.retrain import truncated_latents

        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise UserError(f"sample: n={n!r}: pass a positive number of images")
        if truncation is not None and not truncation > 0:
            raise UserError(f"sample: truncation={truncation!r}: must be positive, e.g. 0.5 (smaller: less diverse)")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or seed < 0):
            raise UserError(f"sample: seed={seed!r}: pass a non-negative integer, or None for fresh images")
        rng = torch.Generator()
        if seed is None:
            rng.seed()
        else:
            rng.manual_seed(seed)
        z = truncated_latents(n, self.latent_dim, truncation, rng)  # (n, latent), on the CPU
        device = next(self.generator.parameters()).device
        was_training = self.generator.training
        self.generator.eval()
        try:
            with torch.no_grad():
                return torch.cat([self.generator(chunk.to(device)) for chunk in z.split(batch_size)])
        finally:
            self.generator.train(was_training)


def signature_of(name: str) -> inspect.Signature:
    """The signature of API function ``name``, which the callable subpackage of that name shows."""
    return inspect.signature(globals()[name])


def _run_dir_of(value: Any) -> Path | None:
    """The search run directory that ``value`` names, or None if it names something else."""
    from autogan.search import RunDirectory

    if isinstance(value, SearchResult):
        return value.run_dir
    if isinstance(value, (str, Path)):
        path = Path(value)
        # A retrain directory has a config.toml too; only a search's has its evaluations.
        if path.is_dir() and RunDirectory(path).config_path.is_file() and not (path / "arch.json").exists():
            return path
    return None


def _retrained_rank(run_dir: Path, rank: int | None) -> Path:
    """The latest checkpoint of the retraining of ``run_dir``'s final rank ``rank``."""
    from autogan.commands.retrain import _choose_architecture
    from autogan.retrain import RetrainDirectory

    if rank is None:
        raise UserError(f"{run_dir}: is a search's run directory; pass rank=N for the retraining of its final rank N")
    choice = argparse.Namespace(rank=rank, arch=None, autogan_vector=None)
    arch, _, _, retrain_dir = _choose_architecture(choice, run_dir)
    directory = RetrainDirectory(retrain_dir)
    if not directory.latest_path.is_file():
        raise UserError(
            f"rank {rank} of {run_dir} ('{arch}') is not retrained yet ({retrain_dir} has no checkpoint); "
            f"retrain it first: autogan.retrain({str(run_dir)!r}, rank={rank}) or autogan retrain {run_dir} --rank {rank}"
        )
    if not (retrain_dir / "summary.json").is_file():
        # A retraining cut short would pass for the finished one; say so instead.
        raise UserError(
            f"rank {rank} of {run_dir}: its retraining {retrain_dir} has not finished; continue it with "
            f"autogan retrain --resume {retrain_dir}, or load {directory.latest_path} itself"
        )
    return directory.latest_path
