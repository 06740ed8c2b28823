"""``autogan export CHECKPOINT OUT_DIR``: a retrained generator as safetensors + JSON, optionally ONNX and torch.export."""

from __future__ import annotations

import json
from pathlib import Path

from autogan.commands import add_command

HELP = "a retrained generator as model.safetensors + config.json (optionally ONNX, torch.export)"


def register(subparsers) -> None:
    parser = add_command(
        subparsers,
        "export",
        run,
        help=HELP,
        description="Export the EMA generator of an `autogan retrain` checkpoint into a new directory: its weights "
        "(safetensors) and config.json (architecture, widths, latent size, what trained it, its final IS/FID). "
        "autogan.load_generator(OUT_DIR) reads it back. --onnx and --torch-export add programs that are checked "
        "against PyTorch on the same latents.",
    )
    parser.add_argument("checkpoint", metavar="CHECKPOINT", help="checkpoints/latest.pt or best.pt of a retrain directory")
    parser.add_argument("out_dir", metavar="OUT_DIR", help="a new (or empty) directory to write")
    parser.add_argument("--onnx", action="store_true", help="also model.onnx, verified with onnxruntime (pip install 'autogan[export]')")
    parser.add_argument("--torch-export", action="store_true", help="also model.pt2, a torch.export ExportedProgram, reloaded and compared")
    parser.add_argument("--json", action="store_true", help="print what was written as JSON")


def run(args) -> int:
    from autogan.export import VERIFY_BATCH, export_generator

    result = export_generator(Path(args.checkpoint), Path(args.out_dir), onnx=args.onnx, torch_export=args.torch_export)
    if args.json:
        print(json.dumps({
            "out_dir": str(result.out_dir),
            "files": list(result.files),
            "onnx_max_abs_diff": result.onnx_max_abs_diff,
            "torch_export_max_abs_diff": result.torch_export_max_abs_diff,
        }, indent=2))
        return 0
    print(f"exported {args.checkpoint} to {result.out_dir}: {', '.join(result.files)}")
    for name, difference in (("ONNX (onnxruntime)", result.onnx_max_abs_diff), ("torch.export", result.torch_export_max_abs_diff)):
        if difference is not None:
            print(f"  {name}: max |difference| from PyTorch {difference:.3g} on {VERIFY_BATCH} latents")
    print(f"load: autogan.load_generator({str(result.out_dir)!r})")
    return 0
