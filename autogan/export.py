"""A retrained generator taken out of autogan's checkpoint layout, and read back.

```
OUT_DIR/
  model.safetensors  the EMA generator's weights (spectral norm folded in): no pickle, any framework
  config.json        how to rebuild it, what trained it, its final IS/FID and in which features
  model.onnx         with --onnx: input "z" (batch, latent), output "images" (batch, C, H, W) in [-1, 1]
  model.pt2          with --torch-export: a torch.export ExportedProgram (dynamic batch)
```

Every export is written into a temporary directory beside ``OUT_DIR`` and renamed
into place only once each file is written and verified, so a failure leaves nothing.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from torch import nn

from autogan.errors import UserError, first_line

EXPORT_FORMAT = "autogan.export"
EXPORT_VERSION = 1
WEIGHTS_FILE = "model.safetensors"
CONFIG_FILE = "config.json"
ONNX_FILE = "model.onnx"
TORCH_EXPORT_FILE = "model.pt2"
# Largest max-abs difference from PyTorch's output (images in [-1, 1]) that an export accepts.
# float32 kernels that sum in another order differ by about 1e-6 at these widths; 1e-4 is far
# above that and far below anything visible (one 8-bit grey level is 7.8e-3).
VERIFY_TOLERANCE = 1e-4
# Latents the formats are compared on; a batch other than the tracing example's checks the dynamic batch.
VERIFY_BATCH = 7
VERIFY_SEED = 0
_TRACE_BATCH = 4


@dataclass(frozen=True)
class ExportResult:
    """What ``export_generator`` wrote; each ``*_max_abs_diff`` is against PyTorch on the same latents."""

    out_dir: Path
    files: tuple[str, ...]
    onnx_max_abs_diff: float | None = None
    torch_export_max_abs_diff: float | None = None


def export_generator(
    checkpoint_path: Path | str, out_dir: Path | str, *, onnx: bool = False, torch_export: bool = False
) -> ExportResult:
    """Export the EMA generator of a retrain checkpoint into ``out_dir`` (new, or an empty directory)."""
    from autogan.retrain import generator_from_checkpoint, load_retrain_checkpoint

    checkpoint_path, out_dir = Path(checkpoint_path), Path(out_dir)
    _check_destination(out_dir)
    if onnx:
        _require_onnx()
    checkpoint = load_retrain_checkpoint(checkpoint_path)
    generator = plain_generator(generator_from_checkpoint(checkpoint, weights="ema"))
    config = exported_config(checkpoint, checkpoint_path, generator)
    try:
        out_dir.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(dir=out_dir.parent, prefix=f".{out_dir.name}.", suffix=".tmp"))
    except FileExistsError:  # a file stands where a folder of the path should be
        raise UserError(f"OUT_DIR {out_dir}: a part of its path is a file, not a directory; choose another path") from None
    try:
        files = [WEIGHTS_FILE, CONFIG_FILE]
        _write_weights(generator, staging / WEIGHTS_FILE)
        z = verification_latents(generator.latent_dim)
        with torch.no_grad():
            expected = generator(z)  # (VERIFY_BATCH, C, H, W)
        onnx_diff = torch_export_diff = None
        if onnx:
            onnx_diff = _write_onnx(generator, staging / ONNX_FILE, z, expected)
            files.append(ONNX_FILE)
        if torch_export:
            torch_export_diff = _write_torch_export(generator, staging / TORCH_EXPORT_FILE, z, expected)
            files.append(TORCH_EXPORT_FILE)
        config["files"] = {
            "weights": WEIGHTS_FILE,
            "onnx": ONNX_FILE if onnx else None,
            "torch_export": TORCH_EXPORT_FILE if torch_export else None,
        }
        config["verification"] = {
            "latents": f"{VERIFY_BATCH} standard-normal latents from torch.Generator().manual_seed({VERIFY_SEED})",
            "onnx_max_abs_diff": onnx_diff,
            "torch_export_max_abs_diff": torch_export_diff,
            "tolerance": VERIFY_TOLERANCE,
        }
        (staging / CONFIG_FILE).write_text(json.dumps(config, indent=2) + "\n")
        # The weights reload to the very same function before anything is published.
        reloaded, _ = load_exported(staging)
        with torch.no_grad():
            if not torch.equal(reloaded(z), expected):
                raise UserError(f"export of {checkpoint_path}: the written weights do not reproduce the generator; nothing was written")
        # mkdtemp and safetensors create owner-only files; an export is meant to be shared.
        for path in staging.iterdir():
            os.chmod(path, 0o666 & ~_umask())
        os.chmod(staging, 0o777 & ~_umask())
        if out_dir.is_dir():
            out_dir.rmdir()  # empty, as checked; a rename cannot replace it on every system
        os.replace(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportResult(out_dir, tuple(files), onnx_diff, torch_export_diff)


def load_exported(out_dir: Path | str) -> tuple[nn.Module, dict[str, Any]]:
    """``(generator in eval mode, its config.json)`` from an exported directory; needs only autogan."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from autogan.retrain import build_generator

    out_dir = Path(out_dir)
    config = read_export_config(out_dir)
    weights = out_dir / config.get("files", {}).get("weights", WEIGHTS_FILE)
    try:
        state = load_file(weights)
    except FileNotFoundError:
        raise UserError(f"exported directory {out_dir}: {weights.name} is missing; export the checkpoint again") from None
    except (SafetensorError, OSError, ValueError) as exc:
        raise UserError(f"exported weights {weights}: cannot be read ({first_line(exc)}); the file is damaged, export again") from None
    try:
        generator = build_generator(config["generator"])
        generator.load_state_dict(state)
    except (KeyError, RuntimeError, TypeError, ValueError) as exc:
        raise UserError(
            f"exported directory {out_dir}: its weights do not fit its config.json ({first_line(exc)}); "
            "the files are damaged or from different exports; export again"
        ) from None
    return generator.eval(), config


def read_export_config(out_dir: Path) -> dict[str, Any]:
    path = out_dir / CONFIG_FILE
    if not path.is_file():
        raise UserError(f"exported directory {out_dir}: has no {CONFIG_FILE}; pass a directory written by `autogan export`")
    try:
        config = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: is not valid JSON ({first_line(exc)}); the file is damaged, export again") from None
    if not isinstance(config, dict) or config.get("format") != EXPORT_FORMAT:
        raise UserError(f"{path}: not an autogan export config; pass a directory written by `autogan export`")
    if int(config.get("version", 0)) > EXPORT_VERSION:
        raise UserError(f"{path}: written by a newer autogan (version {config.get('version')}); upgrade autogan")
    return config


def is_export_directory(path: Path) -> bool:
    return path.is_dir() and (path / CONFIG_FILE).is_file()


def plain_generator(generator: nn.Module) -> nn.Module:
    """``generator`` with each spectral norm folded into its weight: the same function in eval mode, plain layers.

    In eval mode a spectral-normed layer divides its weight by the sigma of its stored
    power-iteration vectors; folding computes that division once, so no consumer of the
    export needs the parametrization.
    """
    from torch.nn.utils import parametrize

    generator.eval()
    for module in list(generator.modules()):
        if parametrize.is_parametrized(module):
            for name in list(module.parametrizations):
                parametrize.remove_parametrizations(module, name, leave_parametrized=True)
    return generator


def exported_config(checkpoint: dict[str, Any], checkpoint_path: Path, generator: nn.Module) -> dict[str, Any]:
    """``config.json``: the network, what trained it, and its score in the features it was measured in."""
    from search_spaces import Architecture

    from autogan.nn import generator_cost

    args = dict(checkpoint["model"]["generator"])
    arch = Architecture.from_dict(args["arch"])
    folded = bool(args.get("spectral_norm"))
    args["spectral_norm"] = False  # folded into the weights above
    trained_with = checkpoint.get("config", {})
    evaluation = trained_with.get("eval", {})
    cost = generator_cost(arch, int(args["ch"]), int(args["latent_dim"]), int(args["bottom_width"]), int(args["out_channels"]))
    return {
        "format": EXPORT_FORMAT,
        "version": EXPORT_VERSION,
        "architecture": {"canonical": str(arch), "autogan_vector": _autogan_vector(arch)},
        "generator": args,
        "widths": {"channels": int(args["ch"]), "bottom_width": int(args["bottom_width"])},
        "latent": {"dim": int(args["latent_dim"]), "distribution": "standard normal (truncate for typicality)"},
        "output": {
            "channels": int(args["out_channels"]),
            "resolution": int(generator.output_size),
            "range": [-1.0, 1.0],
            "layout": "NCHW",
        },
        "skip_semantics": "reference" if args.get("skip_out_includes_skip_ins") else "clean",
        "normalization": {
            "cells": [cell.norm for cell in arch.cells],
            "spectral_norm": "folded into the weights" if folded else "none",
        },
        "size": {"parameters": cost.params, "macs_per_image": cost.macs, "gmacs_per_image": cost.macs / 1e9},
        "trained": {
            "source_checkpoint": str(checkpoint_path),
            "g_step": int(checkpoint.get("step", 0)),
            "weights": "ema",
            "data": trained_with.get("data"),
            "recipe": trained_with.get("train"),
            "seed": trained_with.get("run", {}).get("seed"),
        },
        "score": _score(checkpoint, evaluation),
    }


def _score(checkpoint: dict[str, Any], evaluation: dict[str, Any]) -> dict[str, Any] | None:
    """The EMA evaluation of exactly these weights, labelled as final (latest.pt) or best (best.pt)."""
    step = int(checkpoint.get("step", 0))
    if "score" in checkpoint:  # best.pt: chosen by the FID it reports
        row, which = checkpoint["score"], "best: the lowest FID of the retraining's evaluations, so optimistic"
    else:
        rows = [r for r in checkpoint.get("history", []) if r.get("weights") == "ema" and r.get("g_step") == step]
        if not rows:
            return None  # a checkpoint taken between evaluations has no score of its own
        row, which = rows[-1], "final" if step >= int(checkpoint.get("config", {}).get("train", {}).get("g_steps", step)) else "latest"
    return {
        "which": which,
        "g_step": int(row["g_step"]),
        "is_mean": row.get("is_mean"),
        "is_std": row.get("is_std"),
        "fid": row.get("fid"),
        "samples": row.get("samples"),
        "extractor": evaluation.get("extractor"),
        "features": "Inception-v3 pool3 (2048-d, torch-fidelity's port)"
        if evaluation.get("extractor") == "inception-v3"
        else f"the {evaluation.get('extractor')} extractor's features (not comparable with Inception numbers)",
    }


def _autogan_vector(arch) -> list[int] | None:
    try:
        return list(arch.to_autogan_vector())
    except ValueError:  # a cell outside the published space has no such form
        return None


def verification_latents(latent_dim: int) -> torch.Tensor:
    return torch.randn(VERIFY_BATCH, latent_dim, generator=torch.Generator().manual_seed(VERIFY_SEED))  # (B, latent)


def _check_destination(out_dir: Path) -> None:
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"OUT_DIR {out_dir}: exists and is a file; choose a new directory")
    if out_dir.is_dir() and any(out_dir.iterdir()):
        raise UserError(f"OUT_DIR {out_dir}: exists and is not empty; choose a new directory or empty this one")


def _require_onnx() -> None:
    try:
        import onnx  # noqa: F401
        import onnxruntime  # noqa: F401
        import onnxscript  # noqa: F401
    except ImportError as exc:
        raise UserError(f"--onnx needs {exc.name}, which is not installed; pip install 'autogan[export]'") from None


def _write_weights(generator: nn.Module, path: Path) -> None:
    from safetensors.torch import save_file

    state = {name: tensor.detach().cpu().contiguous() for name, tensor in generator.state_dict().items()}
    save_file(state, str(path), metadata={"format": EXPORT_FORMAT, "weights": "ema"})


def _batch_dim():
    return ({0: torch.export.Dim("batch")},)


def _write_onnx(generator: nn.Module, path: Path, z: torch.Tensor, expected: torch.Tensor) -> float:
    import contextlib
    import io

    import onnxruntime

    example = torch.zeros(_TRACE_BATCH, z.shape[1])
    # The exporter narrates its passes on stdout, which is the command's result stream.
    with contextlib.redirect_stdout(io.StringIO()):
        torch.onnx.export(
            generator, (example,), str(path), dynamo=True, input_names=["z"], output_names=["images"],
            dynamic_shapes=_batch_dim(), verbose=False, external_data=False,  # one self-contained file
        )
    session = onnxruntime.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    got = torch.from_numpy(session.run(["images"], {"z": z.numpy()})[0])
    return _checked_difference("ONNX (onnxruntime)", got, expected)


def _write_torch_export(generator: nn.Module, path: Path, z: torch.Tensor, expected: torch.Tensor) -> float:
    example = torch.zeros(_TRACE_BATCH, z.shape[1])
    program = torch.export.export(generator, (example,), dynamic_shapes=_batch_dim())
    torch.export.save(program, str(path))
    reloaded = torch.export.load(str(path)).module()
    with torch.no_grad():
        got = reloaded(z)
    return _checked_difference("torch.export program", got, expected)


def _checked_difference(what: str, got: torch.Tensor, expected: torch.Tensor) -> float:
    if got.shape != expected.shape:
        raise UserError(f"export: the {what} returns shape {tuple(got.shape)}, PyTorch {tuple(expected.shape)}; nothing was written")
    difference = float((got.float() - expected).abs().max())
    if not difference <= VERIFY_TOLERANCE:
        raise UserError(
            f"export: the {what} differs from PyTorch by up to {difference:.3g} (> {VERIFY_TOLERANCE:g}) on the same "
            "latents; nothing was written; export without that format and report this"
        )
    return difference


def _umask() -> int:
    umask = os.umask(0)
    os.umask(umask)
    return umask
