"""``autogan search``: run (or resume) a multi-level architecture search."""

from __future__ import annotations

import errno
import json
import time
from pathlib import Path

from autogan.commands import add_command
from autogan.config import DEFAULT_PRESET, REWARD_NAMES, load_config, preset_names
from autogan.errors import UserError, describe_os_error

HELP = "search generator architectures (default: the digits preset on this machine)"


def register(subparsers) -> None:
    parser = add_command(
        subparsers,
        "search",
        run,
        help=HELP,
        description="Run AutoGAN's multi-level search. With no arguments: the digits preset, on an embedded "
        "Ray instance, into runs/<timestamp>. Overrides: section.key=value, e.g. train.n_critic=1; a list or a "
        "string in TOML syntax, e.g. 'search.stage_iterations=[4,5,6]' \"search.controller='random'\". "
        "--show-config prints every key with the value it would run with.",
    )
    parser.add_argument("--show-config", action="store_true",
                        help="print the resolved config (preset, file and overrides applied) as TOML, and exit")
    parser.add_argument(
        "--config", metavar="PRESET|FILE", help=f"a preset ({', '.join(preset_names())}) or a TOML file; default {DEFAULT_PRESET}"
    )
    parser.add_argument("--out", metavar="RUN_DIR", help="run directory (default runs/<timestamp>)")
    parser.add_argument("--resume", metavar="RUN_DIR", help="continue a run after a crash or stop")
    parser.add_argument("--address", metavar="ADDR", help="join a Ray cluster: 'auto' or HOST:PORT")
    parser.add_argument("--json", action="store_true", help="print the final ranking as JSON")
    parser.add_argument("--progress-every", type=float, default=60.0, metavar="SECONDS",
                        help="where stderr is not a terminal (a log), a progress line this often (default 60; 0: none)")
    parser.add_argument("overrides", nargs="*", metavar="KEY=VALUE", help="config overrides, e.g. search.controller=random")


# A run directory that stopped taking writes is fixed in place, then resumed.
_RUN_DIRECTORY_FIXES = {
    errno.ENOSPC: "free space",
    errno.EDQUOT: "free space within your disk quota",
    errno.EROFS: "make its file system writable again",
    errno.EACCES: "make the run directory writable again",
    errno.EPERM: "make the run directory writable again",
}


def _os_error_line(exc: OSError, run_dir: Path) -> str:
    """A full disk or a read-only directory mid-run: the record is safe, so say how to go on from it."""
    from autogan.search import RunDirectory

    fix = _RUN_DIRECTORY_FIXES.get(exc.errno or -1)
    if not RunDirectory(run_dir).config_path.is_file():
        # Nothing was recorded: fix the disk and start again, or pick another directory.
        return describe_os_error(exc) + (", then run the same command again" if fix else "")
    return (
        f"{describe_os_error(exc, fix)}, then `autogan search --resume {run_dir}`; "
        "every result recorded so far is kept"
    )


def run(args) -> int:
    from autogan.search import run_search

    if args.resume:
        if args.config or args.overrides or args.out:
            raise UserError("--resume continues a run with its recorded config; drop --config, --out and overrides")
        run_dir = Path(args.resume)
        config = None
    else:
        overrides = list(args.overrides)
        if args.address:
            overrides.append(f"run.address={json.dumps(args.address)}")
        config = load_config(args.config, overrides)
        if args.show_config:
            print(config.to_toml(), end="")
            return 0
        run_dir = Path(args.out) if args.out else Path("runs") / time.strftime("%Y%m%d-%H%M%S")
    if args.progress_every < 0:
        raise UserError(f"--progress-every {args.progress_every:g}: must be 0 (no progress lines) or more seconds")
    try:
        ranking = run_search(config, run_dir, resume=bool(args.resume), progress_every=args.progress_every)
    except OSError as exc:
        raise UserError(_os_error_line(exc, run_dir)) from None
    from autogan.learning import stage_learning
    from autogan.search import RunDirectory
    from autogan.report import ranking_rows, size_text
    from autogan.retrain import retrain_width

    record = RunDirectory.open(run_dir)
    top_k = record.config().search.top_k
    width = retrain_width(record.config())
    top = ranking_rows(ranking[:top_k], width=width)
    learning = stage_learning(record.iterations(), record.evaluations())
    if args.json:
        print(json.dumps({"run_dir": str(run_dir), "top": top, "learning": [s.to_dict() for s in learning]}, indent=2))
        return 0
    print("the policy, from the first to the last iteration of each stage:")
    for stage in learning:
        print(f"  {stage.describe()}")
    final = bool(top) and top[0]["basis"] == "final"
    print(
        f"top {len(top)} architectures ("
        + (f"{REWARD_NAMES[record.config().search.reward]} reward re-scored on the final supernet, mean +- std over seeds"
           if final else "mean reward over their evaluations during the run")
        + f"; size per image {width.describe()}):"
    )
    for row in top:
        vector = " ".join(map(str, row["autogan_vector"])) if row["autogan_vector"] else "-"
        spread = f"+- {row['std_reward']:.3f} (n={row['evaluations']})" if row["evaluations"] > 1 else "(n = 1)"
        print(f"  {row['rank']:>2}. reward {row['mean_reward']:.3f} {spread}  {size_text(row['size'])}  [{vector}]  {row['arch']}")
    print(f"run directory: {run_dir}")
    print(f"inspect: autogan inspect {run_dir}    retrain: autogan retrain {run_dir} --rank 1")
    return 0
