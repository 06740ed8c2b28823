"""``autogan sample CHECKPOINT``: images from a retrained generator, optionally truncated."""

from __future__ import annotations

import json
from pathlib import Path

from autogan.commands import add_command
from autogan.errors import UserError

HELP = "images from a retrain checkpoint: a PNG grid or a folder of PNGs"


def register(subparsers) -> None:
    parser = add_command(
        subparsers,
        "sample",
        run,
        help=HELP,
        description="Draw images from the generator of an `autogan retrain` checkpoint (the EMA weights unless --raw).",
    )
    parser.add_argument("checkpoint", metavar="CHECKPOINT", help="checkpoints/latest.pt or best.pt of a retrain directory")
    where = parser.add_mutually_exclusive_group()
    where.add_argument("--out", metavar="GRID.png", help="write one PNG grid (default samples.png)")
    where.add_argument("--out-dir", metavar="DIR", help="write one PNG per image into DIR")
    parser.add_argument("--n", type=int, default=64, help="number of images (default 64)")
    parser.add_argument("--truncation", type=float, metavar="TAU", help="BigGAN truncation: resample latent entries with |z| > TAU")
    parser.add_argument("--seed", type=int, default=0, help="latent seed; the same seed gives the same images (default 0)")
    parser.add_argument("--raw", action="store_true", help="use the raw generator instead of its EMA")
    parser.add_argument("--device", default="cpu", choices=("cpu", "cuda", "auto"))
    parser.add_argument("--json", action="store_true", help="print what was written as JSON")


def run(args) -> int:
    import torch

    from autogan.files import atomic_write_bytes
    from autogan.device import resolve_device
    from autogan.images import png_bytes
    from autogan.retrain import generator_from_checkpoint, load_retrain_checkpoint, truncated_latents

    if args.n < 1:
        raise UserError(f"--n {args.n}: must be at least 1")
    if args.seed < 0:
        raise UserError(f"--seed {args.seed}: must be a non-negative integer")
    checkpoint = load_retrain_checkpoint(Path(args.checkpoint))
    device = resolve_device(args.device)
    generator = generator_from_checkpoint(checkpoint, weights="raw" if args.raw else "ema", device=device)
    z = truncated_latents(args.n, generator.latent_dim, args.truncation, torch.Generator().manual_seed(args.seed))
    images = []
    with torch.no_grad():
        for chunk in z.split(256):
            images.append(generator(chunk.to(device)).float().cpu())  # (b, C, H, W) in [-1, 1]
    images_t = torch.cat(images)
    written: list[str] = []
    if args.out_dir:
        folder = Path(args.out_dir)
        if folder.exists() and not folder.is_dir():
            raise UserError(f"--out-dir {folder}: exists and is not a directory; choose another path")
        for index, image in enumerate(images_t):
            path = folder / f"{index:05d}.png"
            atomic_write_bytes(path, png_bytes(image.unsqueeze(0), nrow=1))
        written.append(str(folder))
    else:
        path = Path(args.out or "samples.png")
        if path.is_dir():
            raise UserError(f"--out {path}: is a directory; pass a file name such as grid.png, or use --out-dir")
        atomic_write_bytes(path, png_bytes(images_t))
        written.append(str(path))
    payload = {
        "checkpoint": str(args.checkpoint),
        "g_step": int(checkpoint["step"]),
        "weights": "raw" if args.raw else "ema",
        "images": args.n,
        "truncation": args.truncation,
        "seed": args.seed,
        "written": written[0],
    }
    if args.json:
        print(json.dumps(payload, indent=2))
    else:
        kind = "folder" if args.out_dir else "grid"
        truncation = f", truncation {args.truncation}" if args.truncation is not None else ""
        print(f"wrote {args.n} images ({kind}) to {written[0]} from G step {payload['g_step']} ({payload['weights']}{truncation}, seed {args.seed})")
    return 0
