"""``autogan inspect RUN_DIR``: the ranked architectures of a search, as a table, JSON or an HTML report."""

from __future__ import annotations

import json

from autogan.commands import add_command
from autogan.errors import UserError
from autogan.log import logger

HELP = "rank the architectures a search found; --report writes a self-contained HTML page"


def register(subparsers) -> None:
    parser = add_command(
        subparsers,
        "inspect",
        run,
        help=HELP,
        description="Rank the architectures of a run directory by mean reward. Works while the search is "
        "still running.",
    )
    parser.add_argument("run_dir", metavar="RUN_DIR", help="the run directory of `autogan search`")
    parser.add_argument("--top", type=int, metavar="N", help="show the N best (default: all in the table, 5 in the report)")
    parser.add_argument("--stage", type=int, metavar="S", help="rank the S-cell architectures scored in stage S")
    parser.add_argument("--json", action="store_true", help="print the ranking as JSON")
    parser.add_argument("--report", metavar="FILE.html", help="also write an HTML report with diagrams and curves")
    parser.add_argument("--watch", action="store_true",
                        help="with --report: rewrite it every --every seconds while the search runs; the page "
                        "reloads itself until the run ends")
    parser.add_argument("--every", type=float, default=10.0, metavar="SECONDS", help="--watch's interval (default 10)")


def run(args) -> int:
    from autogan.learning import stage_learning
    from autogan.report import format_table, load_run, rank, ranking_rows, write_report
    from autogan.retrain import retrain_width
    from autogan.search import budget_text

    if args.top is not None and args.top < 1:
        raise UserError(f"--top {args.top}: must be at least 1")
    if args.watch:
        return _watch(args)
    summary = load_run(args.run_dir)
    for note in summary.notes:
        logger.warning("%s", note)
    ranking, what = rank(summary, stage=args.stage)
    shown = ranking[: args.top] if args.top is not None else ranking
    if args.report:
        in_report = shown if args.top is not None else ranking[: summary.config.search.top_k]
        path = write_report(summary, in_report, what, args.report)
        logger.info("report written to %s", path)
    width = retrain_width(summary.config)
    rows = ranking_rows(shown, width=width, run_dir=summary.path)
    learning = stage_learning(summary.iterations, summary.evaluations)
    if args.json:
        budget = summary.budget
        if budget is not None and (budget["max_params"] or budget["max_gmacs"]):
            for row in rows:
                row["within_budget"] = ((not budget["max_params"] or row["size"]["params"] <= budget["max_params"])
                                        and (not budget["max_gmacs"] or row["size"]["gmacs"] <= budget["max_gmacs"]))
        payload = {
            "run_dir": str(summary.path),
            "status": summary.status,
            "ranked": what,
            "resets": summary.resets,
            "workers": (summary.state or {}).get("workers"),
            "warnings": summary.notes,
            # Each architecture's "size" is its derived generator at this width, per image.
            "size_width": {"preset": width.preset, "ch": width.ch, "latent_dim": width.latent_dim,
                           "bottom_width": width.bottom_width, "out_channels": width.out_channels},
            # The run's size budget or soft size term, counted at the same width; null without either.
            "size_budget": budget,
            "learning": [stage.to_dict() for stage in learning],
            "architectures": rows,
        }
        if args.report:
            payload["report"] = str(args.report)
        print(json.dumps(payload, indent=2))
        return 0
    basis = ""
    if shown:
        basis = ("; final: re-scored on the final supernet, mean ± std over seeds" if shown[0].basis == "final"
                 else "; provisional: mean of the rewards taken during the run, until the final re-scoring")
    print(f"{summary.path}: {summary.status}; ranked: {what}{basis}")
    if summary.workers:
        print(f"workers: {summary.workers}")
    if summary.budget is not None:
        print(budget_text(summary.budget))
    if shown:
        print(f"size: parameters and GMACs per image of each derived generator {width.describe()}")
        print(format_table(rows))
        for row in rows:
            if row["retrained"]:
                print(f"retrained rank {row['rank']}: {_retrained_line(summary.path, row['arch'])}")
    else:
        print("no architecture has a valid reward yet")
    if learning:
        print("did the policy learn? (learned: entropy fell >= 10% and the mean reward rose beyond its noise)")
        for stage in learning:
            print(f"  {stage.describe()}")
    if args.report:
        print(f"report: {args.report}")
    return 0


def _retrained_line(run_dir, arch: str) -> str:
    from autogan.retrain import latest_retrain_score

    score = latest_retrain_score(run_dir, arch)
    return f"{score.describe()} in {score.out_dir}"


def _watch(args) -> int:
    """Keep the report current while the search writes the run; the last version has no reload."""
    import time

    from autogan.report import load_run, rank, write_report

    if not args.report:
        raise UserError("--watch keeps an HTML report current; pass --report FILE.html with it")
    if args.every < 1:
        raise UserError(f"--every {args.every:g}: must be at least 1 second")
    while True:
        summary = load_run(args.run_dir)
        ranking, what = rank(summary, stage=args.stage)
        in_report = ranking[: args.top] if args.top is not None else ranking[: summary.config.search.top_k]
        live = summary.live and summary.status != "done"
        write_report(summary, in_report, what, args.report, refresh_seconds=args.every if live else None)
        if not live:
            logger.info("report %s: final (%s)", args.report, summary.status)
            return 0
        logger.info("report %s: %s; next update in %gs", args.report, summary.status, args.every)
        time.sleep(args.every)
