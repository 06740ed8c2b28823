"""``autogan retrain``: train one architecture from scratch, from a search's ranking or given directly."""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from autogan.errors import UserError
from autogan.naming import architecture_slug

HELP = "train a found architecture from scratch (paper recipe: --config cifar10)"

_OVERRIDE = re.compile(r"^[A-Za-z_]+\.[A-Za-z_]+=")


def register(subparsers) -> None:
    from autogan.config import DEFAULT_RETRAIN_PRESET, retrain_preset_names

    parser = subparsers.add_parser(
        "retrain",
        help=HELP,
        description="Retrain one architecture from scratch: RUN_DIR --rank N takes it from a search, --arch or "
        "--autogan-vector give it directly. Overrides (section.key=value, e.g. train.g_steps=2000) go with "
        "RUN_DIR before the options, or anywhere with --set. Reports the final checkpoint's IS/FID and, "
        "separately, the best evaluation's.",
    )
    parser.add_argument(
        "inputs",
        nargs="*",
        metavar="RUN_DIR | KEY=VALUE",
        help="the search's run directory (with --rank) and/or config overrides",
    )
    source = parser.add_argument_group("which architecture (exactly one)")
    source.add_argument("--rank", type=int, metavar="N", help="the N-th best full architecture of RUN_DIR (as `autogan inspect` ranks)")
    source.add_argument("--arch", metavar="FILE|STRING", help="an architecture file (JSON or canonical string) or a canonical string")
    source.add_argument("--autogan-vector", metavar="INTS", help="the published integer form, e.g. '1 0 1 1 1 0 0 1 1 1 0 1 0 3'")
    parser.add_argument(
        "--config",
        metavar="PRESET|FILE",
        help=f"a retrain preset ({', '.join(retrain_preset_names())}) or a TOML file; default: the preset of the "
        f"run's dataset, else {DEFAULT_RETRAIN_PRESET}",
    )
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE", help="a config override (repeatable)")
    parser.add_argument("--out", metavar="DIR", help="retrain directory (default RUN_DIR/retrain/arch-<its AutoGAN vector>, or retrain/arch-... without RUN_DIR)")
    parser.add_argument("--inherit", action="store_true",
                        help="with RUN_DIR: start G and D from the search's final supernet weights for the architecture "
                        "(fine-tuning, train.init_from=RUN_DIR) instead of a fresh initialization")
    parser.add_argument("--resume", metavar="DIR", help="continue a retrain directory after a crash or stop")
    parser.add_argument("--json", action="store_true", help="print the result as JSON")
    parser.set_defaults(func=run)


def run(args) -> int:
    from autogan.inherit import inherited_state
    from autogan.retrain import retrain

    run_dirs = [item for item in args.inputs if not _OVERRIDE.match(item)]
    overrides = [item for item in args.inputs if _OVERRIDE.match(item)] + list(args.set)
    if len(run_dirs) > 1:
        raise UserError(f"got several RUN_DIRs {run_dirs}; pass one run directory (overrides look like section.key=value)")
    run_dir = Path(run_dirs[0]) if run_dirs else None
    if args.resume:
        if run_dir or args.rank is not None or args.arch or args.autogan_vector or args.config or args.out:
            raise UserError("--resume continues a retrain with its recorded config; drop the other arguments")
        result = retrain(None, None, Path(args.resume), resume=True, g_steps=_extension(overrides), inherit=inherited_state)
    else:
        if args.inherit:
            if run_dir is None:
                raise UserError("--inherit takes the weights of RUN_DIR's supernet: pass the search's RUN_DIR, "
                                "e.g. autogan retrain runs/NAME --rank 1 --inherit")
            overrides.append(f"train.init_from={json.dumps(str(run_dir))}")
        config, arch, out, note = plan_retrain(args, run_dir, overrides)
        result = retrain(config, arch, out, source_note=note, inherit=inherited_state)
    _print_result(result, as_json=args.json)
    return 0


def _extension(overrides: list[str]) -> int | None:
    """The new ``train.g_steps`` of a resumed retrain, the one key a resume may change."""
    if not overrides:
        return None
    keys = [item.split("=", 1)[0] for item in overrides]
    if keys != ["train.g_steps"]:
        raise UserError(
            f"--resume with {', '.join(overrides)}: a resume keeps its recorded config except train.g_steps, "
            "which extends the run (e.g. --set train.g_steps=1200); drop the other overrides"
        )
    value = overrides[0].split("=", 1)[1]
    if not value.isdigit() or int(value) < 1:
        raise UserError(f"--resume with train.g_steps={value}: give a whole number of G steps, e.g. train.g_steps=1200")
    return int(value)


def plan_retrain(args, run_dir: Path | None, overrides: list[str]):
    """``(config, arch, out dir, note)`` of a new retrain; ``args`` has rank, arch, autogan_vector, config, out.

    ``autogan.retrain`` (the Python API) plans through here too, so both choose alike.
    """
    from autogan.retrain import retrain_preset_for
    from autogan.config import load_retrain_config

    arch, note, base, default_out = _choose_architecture(args, run_dir)
    config_source = args.config
    if config_source is None and base:
        config_source = retrain_preset_for(base["data"]["dataset"])
    config = load_retrain_config(config_source, overrides, base=base if args.config is None else None)
    config, note = _skip_semantics_for(args, config, base, overrides, note)
    out = Path(args.out) if args.out else default_out
    return config, arch, out, note


def _choose_architecture(args, run_dir: Path | None):
    """``(arch, note, values carried from the run, default out dir)`` from exactly one source."""
    from search_spaces import SearchSpace

    from autogan.commands.arch import load_arch_argument

    chosen = [name for name, value in (("--rank", args.rank), ("--arch", args.arch), ("--autogan-vector", args.autogan_vector)) if value is not None]
    if len(chosen) != 1:
        raise UserError(
            "say which architecture to retrain with exactly one of RUN_DIR --rank N, --arch FILE or --autogan-vector INTS"
            + (f" (got {' and '.join(chosen)})" if chosen else "")
        )
    if args.rank is not None:
        if run_dir is None:
            raise UserError("--rank N needs the search's RUN_DIR, e.g. autogan retrain runs/NAME --rank 1")
        from autogan.report import load_run, rank
        from autogan.retrain import run_retrain_base

        summary = load_run(run_dir)
        ranking, what = rank(summary)
        full = [entry for entry in ranking if len(entry.arch.cells) == summary.num_cells]
        if not full:
            raise UserError(f"run {run_dir}: no full {summary.num_cells}-cell architecture has a reward yet ({what}); wait for the last stage")
        if not 1 <= args.rank <= len(full):
            raise UserError(f"--rank {args.rank}: run {run_dir} ranks {len(full)} architectures; pass 1..{len(full)}")
        entry = full[args.rank - 1]
        if (summary.state or {}).get("phase") != "done":
            # A provisional rank moves as the search goes on: name the architecture, which does not.
            raise UserError(
                f"--rank {args.rank}: run {run_dir} has no final ranking yet ({summary.status}); its rank "
                f"{args.rank} now is '{entry.arch}' (provisional); wait for the search to end, or retrain that "
                f"architecture with --arch '{entry.arch}'"
            )
        base = run_retrain_base(summary.config)
        note = f"rank {args.rank} of {run_dir} (mean reward {entry.mean_reward:.4f} over {entry.evaluations} evaluations)"
        return entry.arch, note, base, run_dir / "retrain" / architecture_slug(entry.arch)
    if run_dir is not None:
        raise UserError(f"RUN_DIR {run_dir} is used only with --rank; drop it, or use --rank instead of {chosen[0]}")
    namespace = argparse.Namespace(arch=args.arch, autogan_vector=args.autogan_vector)
    arch = load_arch_argument(namespace, SearchSpace())
    return arch, f"given by {chosen[0]}", None, Path("retrain") / architecture_slug(arch)


def _skip_semantics_for(args, config, base, overrides: list[str], note: str):
    """Retrain the network the architecture was found or published as, unless told otherwise.

    A published AutoGAN vector retrained on CIFAR-10 is the paper's network, whose skip
    outputs carry the skips a cell received; a searched architecture keeps its search's
    semantics.  ``model.skip_semantics=...`` overrides both.
    """
    from dataclasses import replace

    if any(item.startswith("model.skip_semantics=") for item in overrides):
        return config, note
    wanted = None
    if args.autogan_vector is not None and config.data.dataset == "cifar10":
        wanted = "reference"
    elif base is not None:
        wanted = base["model"].get("skip_semantics")
    if wanted is None or wanted == config.model.skip_semantics:
        return config, note
    return replace(config, model=replace(config.model, skip_semantics=wanted)), f"{note}; skip semantics {wanted!r}"


def _print_result(result, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result.to_dict(), indent=2))
        return
    print(f"retrained {result.arch}")
    if result.initial is not None:
        print(f"  at initialization:          {result.initial.describe()}")
    if result.final is not None:
        print(f"  FINAL checkpoint (report this): {result.final.describe()}")
        print(f"      {result.final_checkpoint}")
    if result.best is not None:
        print(
            f"  BEST of {result.evaluations} evaluations (selected by this same FID, optimistic): {result.best.describe()}"
        )
        print(f"      {result.best_checkpoint}")
    print(f"retrain directory: {result.out_dir}")
    print(f"samples: autogan sample {result.final_checkpoint} --out samples.png")
