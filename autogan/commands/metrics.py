"""``autogan metrics``: IS and FID of a dataset's real images (a sanity figure), with any registered extractor.

The FID of real data is measured between two random halves of it.  What to score
is one choice of a required group (``--real`` today), so scoring generator
checkpoints joins it as a sibling option.
"""

from __future__ import annotations

import json

from autogan.log import logger  # light: only torch and its dependants wait for the command to run

HELP = "Inception Score and FID of real data or of a retrain checkpoint"


def register(subparsers) -> None:
    # Imported here and in the functions below, not at the top: `autogan --help` must not wait for torch.
    import torch

    from autogan.data import DATASET_NAMES
    from autogan.metrics import extractor_names

    parser = subparsers.add_parser(
        "metrics",
        help=HELP,
        description="Inception Score and FID, in the features of the chosen extractor: of a dataset's real images "
        "(--real: the IS of all of them, the FID between two halves, the figures a generator is held against), or "
        "of a retrain checkpoint's generator against its dataset (--checkpoint). Digits-classifier figures are not "
        "comparable with Inception ones.",
    )
    target = parser.add_mutually_exclusive_group(required=True)
    target.add_argument("--real", action="store_true", help="score the dataset's real images; FID between two halves")
    target.add_argument(
        "--checkpoint",
        metavar="PATH",
        help="score a retrain checkpoint's generator against its dataset (extractor and data from its config)",
    )
    parser.add_argument("--weights", choices=("ema", "raw"), default="ema", help="with --checkpoint: which G weights")
    parser.add_argument("--dataset", choices=DATASET_NAMES, default="digits", help="dataset (default: digits, built in)")
    parser.add_argument("--root", help="dataset directory (default: $AUTOGAN_DATA or ./data; the image folder for 'folder')")
    parser.add_argument("--download", action="store_true", help="let torchvision download CIFAR-10 / STL-10 into --root")
    parser.add_argument("--size", type=int, help="image resolution in px (default: the dataset's training resolution)")
    parser.add_argument(
        "--extractor",
        choices=extractor_names(),
        help="feature extractor (default: digits-classifier for digits, inception-v3 otherwise)",
    )
    parser.add_argument("--inception-weights", metavar="PATH", help="local weights-inception-2015-12-05-6726825d.pth")
    parser.add_argument("--num-samples", type=int, help="score at most this many images (default: all)")
    parser.add_argument("--splits", type=int, default=10, help="IS splits (default: 10)")
    parser.add_argument("--truncation", type=float, help="with --checkpoint: BigGAN truncation tau")
    parser.add_argument("--batch-size", type=int, default=500, help="images per extractor batch (default: 500)")
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", help="torch device")
    parser.add_argument("--seed", type=int, help="seed of the random split into halves (default: 0); with --checkpoint, "
                        "of the latents (default: the retraining's own evaluation seed, so its metrics.jsonl is matched)")
    parser.add_argument("--cache-dir", help="cache of trained extractors (default: $AUTOGAN_CACHE or ~/.cache/autogan)")
    parser.add_argument("--json", action="store_true", help="machine-readable output")
    parser.set_defaults(func=run)


def run(args) -> int:
    if args.checkpoint:
        return run_checkpoint(args)
    from autogan.data import get_dataset
    from autogan.metrics import default_extractor, get_extractor

    extractor_name = args.extractor or default_extractor(args.dataset)
    extractor = get_extractor(
        extractor_name, device=args.device, weights_path=args.inception_weights, cache_dir=args.cache_dir
    )
    source = get_dataset(args.dataset, root=args.root, download=args.download, size=args.size)
    logger.info("scoring %d real %s images at %d px with %s", source.num_images, args.dataset, source.resolution, extractor.name)
    result = score_real(source, extractor, num_samples=args.num_samples, splits=args.splits, batch_size=args.batch_size,
                        seed=args.seed or 0)
    report = {
        "dataset": args.dataset,
        "resolution": source.resolution,
        "extractor": extractor.name,
        "extractor_identity": extractor.identity,
        **{k: v for k, v in extractor.info.items() if k in ("held_out_accuracy", "held_out_images")},
        **result,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    accuracy = report.get("held_out_accuracy")
    extractor_note = f" (held-out accuracy {100 * accuracy:.1f}%)" if accuracy is not None else ""
    print(f"dataset     {args.dataset}: {report['num_samples']} real images at {source.resolution} px")
    print(f"extractor   {extractor.name}{extractor_note}")
    print(f"IS          {report['is_mean']:.3f} ± {report['is_std']:.3f} ({args.splits} splits)")
    print(f"FID halves  {report['fid_halves']:.3f} ({report['num_samples'] // 2} vs {report['num_samples'] - report['num_samples'] // 2} images)")
    return 0


def run_checkpoint(args) -> int:
    from autogan.retrain import score_checkpoint

    report = score_checkpoint(
        args.checkpoint,
        weights=args.weights,
        samples=args.num_samples,
        truncation=args.truncation,
        device=args.device,
        extractor=args.extractor,
        seed=args.seed,
    )
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(f"checkpoint  {report['checkpoint']} (G step {report['g_step']}, {report['weights']} weights)")
    print(f"extractor   {report['extractor']}, {report['samples']} samples, latent seed {report['seed']}"
          + (" (the retraining's own; same numbers as its evaluation at this G step with the same samples)"
             if args.seed is None else ""))
    print(f"IS          {report['is_mean']:.3f} ± {report['is_std']:.3f}")
    if report.get("fid") is not None:
        print(f"FID         {report['fid']:.3f}")
    return 0


def score_real(source, extractor, *, num_samples=None, splits=10, batch_size=500, seed=0) -> dict:
    """IS of up to ``num_samples`` real images in a seeded random order, and FID between the two halves."""
    import torch

    from autogan.metrics import compute_statistics, extract_features, fid_from_statistics, inception_score

    features, logits = extract_features(source.iter_batches(batch_size), extractor)
    order = torch.randperm(len(features), generator=torch.Generator().manual_seed(seed))[:num_samples]
    features, logits = features[order], logits[order]
    is_mean, is_std = inception_score(logits, splits)
    half = len(features) // 2
    fid = fid_from_statistics(compute_statistics(features[:half]), compute_statistics(features[half:]))
    return {"num_samples": len(features), "is_mean": is_mean, "is_std": is_std, "fid_halves": fid}
