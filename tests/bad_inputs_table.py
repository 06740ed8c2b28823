"""Run bad inputs through the CLI and print a markdown table: input, exit code, outcome, traceback.

    PYTHONPATH=. python tests/bad_inputs_table.py [--fuzz-examples N] [--json OUT.json]

Not collected by pytest (no ``test_`` prefix): it is the evidence for the CLI's error
contract; ``tests/cli/test_bad_inputs.py`` runs the same cases as tests.  Every case goes through ``autogan.cli.main`` exactly as the
console script does; an exception escaping ``main`` is what a user would see as a
traceback.  The fuzz targets of ``tests/cli/fuzz_inputs.py`` then run with fresh
random examples, and the last line gives the count of tracebacks (the goal is 0).
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import pickle
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests" / "cli")]
os.environ.setdefault("AUTOGAN_CACHE", tempfile.mkdtemp(prefix="autogan-bad-inputs-cache-"))
os.environ.setdefault("OMP_NUM_THREADS", "1")

import torch  # noqa: E402

from autogan.cli import main  # noqa: E402
from cli_contract import PROGRESS_LOG_LINE  # noqa: E402

# Progress logs are the run's, not its error; a warning before an error is a second line.
LOG_LINE = PROGRESS_LOG_LINE
TOP1 = "1 0 1 1 1 0 0 1 1 1 0 1 0 3"
TINY = ["model.ch=8", "model.df=8", "model.latent_dim=16", "train.batch_size=8", "train.n_critic=2",
        "train.d_steps_per_iteration=6", "search.reward_samples=40", "search.reward_splits=2",
        "search.archs_per_iteration=3", "search.beam_candidates=3", "search.beam_width=2", "run.threads=1",
        "search.num_cells=2", "search.stage_iterations=[1, 1]"]


def run_cli(argv: list[str]) -> dict:
    """One CLI run in this process: exit code, the lines a user reads, and whether a traceback escaped."""
    out, err = io.StringIO(), io.StringIO()
    escaped = None
    started = time.monotonic()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([str(a) for a in argv])
        except SystemExit as exc:  # argparse's usage errors
            code = exc.code if isinstance(exc.code, int) else 1
        except BaseException as exc:  # what the console script would print as a traceback, exit 1
            code = 1
            escaped = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[-1]
    text = err.getvalue()
    lines = [line for line in text.splitlines() if line.strip() and not LOG_LINE.match(line)]
    return {
        "code": code,
        "lines": lines,
        "warnings": [line for line in text.splitlines() if " WARNING " in line[:20]],
        "stdout": out.getvalue(),
        "traceback": escaped is not None or "Traceback (most recent call last)" in text,
        "escaped": escaped,
        "seconds": time.monotonic() - started,
    }


# --------------------------------------------------------------------------- the inputs


def build_fixtures(scratch: Path) -> dict[str, Path]:
    import importlib.util

    # tests/report/conftest.py writes a run in the exact format `autogan search` does.
    spec = importlib.util.spec_from_file_location("report_conftest", ROOT / "tests" / "report" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    write_synthetic_run = module.write_synthetic_run

    paths: dict[str, Path] = {}
    paths["file"] = scratch / "a-file"
    paths["file"].write_text("not a directory")
    paths["dir"] = scratch / "a-dir"
    paths["dir"].mkdir()
    paths["deep_json"] = scratch / "deep.json"
    paths["deep_json"].write_text('{"cells": ' + "[" * 200_000 + "]" * 200_000 + "}")
    paths["huge"] = scratch / "huge.txt"
    paths["huge"].write_text("x" * 20_000_000)
    paths["long_line"] = scratch / "long.txt"
    paths["long_line"].write_text("y" * 200_000)
    paths["binary"] = scratch / "binary.bin"
    paths["binary"].write_bytes(b"\xff\xfe\x00\x01garbage")
    for name, content in {
        "json_list": "[1, 2]",
        "json_format": '{"format": "other", "version": 1, "cells": []}',
        "json_version": '{"format": "autogan.architecture", "version": 99, "cells": []}',
        "json_missing": '{"format": "autogan.architecture", "version": 1, "cells": [{"conv": "pre"}]}',
        "json_skips": '{"format": "autogan.architecture", "version": 1, "cells": [{"conv": "pre", "norm": "none", '
        '"up": "nearest", "shortcut": true, "skips": "abc"}]}',
        "json_deep_small": '{"cells": ' + "[" * 3000 + "]" * 3000 + "}",
    }.items():
        paths[name] = scratch / f"{name}.json"
        paths[name].write_text(content)
    for name, content in {
        "toml_deep": "[run]\nseed = " + "[" * 100_000 + "]" * 100_000 + "\n",
        "toml_invalid": "[run\nseed = 1\n",
        "toml_section_value": "run = 3\n",
        "toml_unknown": "[nonsense]\nx = 1\n",
        "toml_type": "[train]\nn_critic = 'five'\n",
        "toml_bigint": "[run]\nseed = " + "9" * 5000 + "\n",
    }.items():
        paths[name] = scratch / f"{name}.toml"
        paths[name].write_text(content)
    paths["toml_binary"] = scratch / "binary.toml"
    paths["toml_binary"].write_bytes(b"\xff\xfe\x00garbage")
    paths["toml_dir"] = scratch / "dir.toml"
    paths["toml_dir"].mkdir()

    paths["empty_pt"] = scratch / "empty.pt"
    paths["empty_pt"].write_bytes(b"")
    paths["random_pt"] = scratch / "random.pt"
    paths["random_pt"].write_bytes(os.urandom(1000))
    paths["pickle_pt"] = scratch / "pickle.pt"
    with open(paths["pickle_pt"], "wb") as handle:
        pickle.dump({"model": Path("/")}, handle, protocol=4)
    paths["objects_pt"] = scratch / "objects.pt"
    torch.save({"model": Path("/")}, paths["objects_pt"])
    paths["list_pt"] = scratch / "list.pt"
    torch.save([1, 2], paths["list_pt"])
    paths["search_pt"] = scratch / "search.pt"
    torch.save({"version": 1, "trainer": {}}, paths["search_pt"])
    paths["inception_objects"] = scratch / "inception.pth"
    torch.save({"Conv2d_1a_3x3.conv.weight": torch.zeros(1), "payload": Path("/")}, paths["inception_objects"])

    base = scratch / "run"
    write_synthetic_run(base)
    paths["run"] = base

    def variant(name: str, change) -> None:
        target = scratch / f"run-{name}"
        shutil.copytree(base, target)
        change(target)
        paths[f"run_{name}"] = target

    def edit_line(file: str, number: int, text: str | None, insert: bool = False):
        def change(run: Path) -> None:
            lines = (run / file).read_text().splitlines(keepends=True)
            if insert:
                lines.insert(number - 1, text + "\n")
            else:
                lines[number - 1] = text + "\n"
            (run / file).write_text("".join(lines))

        return change

    def row_change(file: str, number: int, **changes):
        def change(run: Path) -> None:
            lines = (run / file).read_text().splitlines()
            row = json.loads(lines[number - 1])
            for key, value in changes.items():
                if value is None:
                    row.pop(key, None)
                else:
                    row[key] = value
            edit_line(file, number, json.dumps(row))(run)

        return change

    variant("garbage4", edit_line("evaluations.jsonl", 4, "{garbage", insert=True))
    variant("nostage", row_change("evaluations.jsonl", 5, stage=None))
    variant("rewardstr", row_change("evaluations.jsonl", 6, reward="4.2"))
    variant("iternokey", row_change("iterations.jsonl", 2, global_iteration=None))
    variant("statelist", lambda run: (run / "state.json").write_text("[1, 2]"))
    variant("statemissing", lambda run: (run / "state.json").unlink())
    variant("evaldir", lambda run: ((run / "evaluations.jsonl").unlink(), (run / "evaluations.jsonl").mkdir()))
    variant("torn", lambda run: open(run / "evaluations.jsonl", "a").write('{"stage": 3, "itera'))
    variant("noconfig", lambda run: (run / "config.toml").unlink())
    variant("configbad", lambda run: (run / "config.toml").write_text("[run\n"))

    def checkpoint(content: bytes | dict):
        def change(run: Path) -> None:
            (run / "checkpoints").mkdir(exist_ok=True)
            if isinstance(content, dict):
                torch.save(content, run / "checkpoints" / "latest.pt")
            else:
                (run / "checkpoints" / "latest.pt").write_bytes(content)

        return change

    variant("ckpt_empty", checkpoint(b""))
    variant("ckpt_garbage", checkpoint(b"PK\x03\x04 not a checkpoint"))
    variant("ckpt_keys", checkpoint({"version": 1}))
    variant("ckpt_version", checkpoint({"version": 7}))
    return paths


def cases(p: dict[str, Path], scratch: Path) -> list[tuple[str, list[str]]]:
    twelve = " | ".join(["pre,none,nearest,sc"] + ["pre,none,nearest,sc,skip=none"] * 11)
    run = str(p["run"])
    return [
        # architectures
        ("arch show: a 12-cell string", ["arch", "show", twelve]),
        ("arch show: JSON nested 200,000 deep", ["arch", "show", p["deep_json"]]),
        ("arch show: JSON nested 3,000 deep (under 1 MB)", ["arch", "show", p["json_deep_small"]]),
        ("arch show --ch 1000000000", ["arch", "show", "--autogan-vector", TOP1, "--ch", "1000000000"]),
        ("arch show --ch 0", ["arch", "show", "--autogan-vector", TOP1, "--ch", "0"]),
        ("arch show --ch -5", ["arch", "show", "--autogan-vector", TOP1, "--ch", "-5"]),
        ("arch show --ch abc", ["arch", "show", "--autogan-vector", TOP1, "--ch", "abc"]),
        ("arch show: a 20 MB architecture file", ["arch", "show", p["huge"]]),
        ("arch show: a 200 KB one-line file", ["arch", "show", p["long_line"]]),
        ("arch show: a binary file", ["arch", "show", p["binary"]]),
        ("arch show: a directory", ["arch", "show", p["dir"]]),
        ("arch validate: empty string", ["arch", "validate", ""]),
        ("arch validate: blanks", ["arch", "validate", "   "]),
        ("arch validate: 3 fields", ["arch", "validate", "pre,none,nearest"]),
        ("arch validate: bad shortcut word", ["arch", "validate", "pre,none,nearest,maybe"]),
        ("arch validate: unknown op", ["arch", "validate", "foo,none,nearest,sc | pre,none,nearest,sc,skip=1 | pre,none,nearest,sc,skip=1"]),
        ("arch validate: skip from a later cell", ["arch", "validate", "pre,none,nearest,sc | pre,none,nearest,nosc,skip=2"]),
        ("arch validate: skip=abc", ["arch", "validate", "pre,none,nearest,sc | pre,none,nearest,nosc,skip=abc"]),
        ("arch validate: 2 cells in a 3-cell space", ["arch", "validate", "pre,none,nearest,sc | pre,none,nearest,nosc,skip=1"]),
        ("arch validate: NUL byte", ["arch", "validate", "pre,none,nea\x00rest,sc"]),
        ("arch validate: 300-char .json path", ["arch", "validate", "a" * 300 + ".json"]),
        ("arch validate: missing file", ["arch", "validate", "missing/file.json"]),
        ("arch validate: JSON list", ["arch", "validate", p["json_list"]]),
        ("arch validate: JSON other format", ["arch", "validate", p["json_format"]]),
        ("arch validate: JSON version 99", ["arch", "validate", p["json_version"]]),
        ("arch validate: JSON cell missing keys", ["arch", "validate", p["json_missing"]]),
        ("arch validate: JSON skips a string", ["arch", "validate", p["json_skips"]]),
        ("--autogan-vector: 3 ints", ["arch", "validate", "--autogan-vector", "1 0 1"]),
        ("--autogan-vector: out of range", ["arch", "validate", "--autogan-vector", "9 9 9 9 9 9 9 9 9 9 9 9 9 9"]),
        ("--autogan-vector: a letter", ["arch", "validate", "--autogan-vector", "1 0 x"]),
        ("--autogan-vector: 20-digit ints", ["arch", "validate", "--autogan-vector", " ".join(["99999999999999999999"] * 14)]),
        ("--autogan-vector: negative", ["arch", "validate", "--autogan-vector", "-1 0 1 1 1 0 0 1 1 1 0 1 0 3"]),
        ("--autogan-vector: empty", ["arch", "validate", "--autogan-vector", ""]),
        ("ARCH and --autogan-vector", ["arch", "validate", "x", "--autogan-vector", TOP1]),
        ("arch validate: nothing given", ["arch", "validate"]),
        ("arch show --cells 1", ["arch", "show", "--cells", "1", "--autogan-vector", "1 0 1 1"]),
        ("arch show --cells 100", ["arch", "show", "--cells", "100", "--autogan-vector", TOP1]),
        ("arch diff: one bad side", ["arch", "diff", TOP1, "pre,none"]),
        ("space --cells 0", ["space", "--cells", "0"]),
        ("unknown command", ["frobnicate"]),
        # search: config and overrides
        ("search --out: an existing file", ["search", "--out", p["file"], *TINY]),
        ("search --out: a path under a file", ["search", "--out", p["file"] / "sub", *TINY]),
        ("search --resume: missing directory", ["search", "--resume", scratch / "nope"]),
        ("search --resume: a file", ["search", "--resume", p["file"]]),
        ("search --resume with an override", ["search", "--resume", run, "run.seed=1"]),
        ("search --config: no such preset", ["search", "--config", "nosuchpreset"]),
        ("search --config: TOML nested 100,000 deep", ["search", "--config", p["toml_deep"]]),
        ("search --config: binary file", ["search", "--config", p["toml_binary"]]),
        ("search --config: a directory", ["search", "--config", p["toml_dir"]]),
        ("search --config: invalid TOML", ["search", "--config", p["toml_invalid"]]),
        ("search --config: section is a number", ["search", "--config", p["toml_section_value"]]),
        ("search --config: unknown section", ["search", "--config", p["toml_unknown"]]),
        ("search --config: wrong type", ["search", "--config", p["toml_type"]]),
        ("search --config: 5000-digit integer", ["search", "--config", p["toml_bigint"]]),
        ("override without '='", ["search", "train.n_critic"]),
        ("override without a section", ["search", "seed=1"]),
        ("override with two dots", ["search", "a.b.c=1"]),
        ("override: unknown section", ["search", "nosection.key=1"]),
        ("override: unknown key", ["search", "train.nokey=1"]),
        ("override: wrong type", ["search", "train.n_critic='x'"]),
        ("override: 5000-digit number", ["search", "model.ch=" + "9" * 5000]),
        ("override: beyond 64 bits", ["search", "model.ch=" + "9" * 30]),
        ("override: NaN", ["search", "run.evaluator_cpus=nan"]),
        ("override: two lines", ["search", "train.loss='hinge'\nrun.seed=3"]),
        ("override: nested 100,000 deep", ["search", "search.num_cells=" + "[" * 100_000]),
        ("override: 20 KB value", ["search", "train.loss=" + "z" * 20_000]),
        ("run.evaluators=0", ["search", "run.evaluators=0"]),
        ("run.evaluator_cpus=-1", ["search", "run.evaluator_cpus=-1"]),
        ("run.start_timeout=0", ["search", "run.start_timeout=0"]),
        ("run.backend=foo", ["search", "run.backend='foo'"]),
        ("search.num_cells=1", ["search", "search.num_cells=1", "search.stage_iterations=[1]"]),
        ("search.num_cells=100 (stage list mismatch)", ["search", "search.num_cells=100"]),
        ("beam_width > beam_candidates", ["search", "search.beam_width=20"]),
        ("search.controller=nope", ["search", "--out", scratch / "c1", *TINY, "search.controller='nope'", "run.backend='inprocess'"]),
        ("data.dataset=nope", ["search", "data.dataset='nope'"]),
        ("search.extractor=nope", ["search", "search.extractor='nope'"]),
        ("search.max_params below the smallest generator", ["search", "search.max_params=50000"]),
        ("search.size_weight positive", ["search", "search.size_weight=0.5"]),
        # search: Ray
        ("run.evaluators=3 on 2 cores (embedded Ray)", ["search", "--out", scratch / "r1", *TINY, "run.evaluators=3"]),
        ("run.evaluator_gpus=1 without a GPU", ["search", "--out", scratch / "r2", *TINY, "run.evaluator_gpus=1"]),
        ("run.trainer_cpus=64", ["search", "--out", scratch / "r3", *TINY, "run.trainer_cpus=64"]),
        ("--address where nothing answers", ["search", "--out", scratch / "r4", "--address", "127.0.0.1:1", *TINY]),
        ("--address auto without a cluster", ["search", "--out", scratch / "r5", "--address", "auto", *TINY]),
        ("--address garbage", ["search", "--out", scratch / "r6", "--address", "garbage", *TINY]),
        # run directories
        ("inspect: missing directory", ["inspect", scratch / "nope"]),
        ("inspect: a file", ["inspect", p["file"]]),
        ("inspect: no config.toml", ["inspect", p["run_noconfig"]]),
        ("inspect: config.toml invalid", ["inspect", p["run_configbad"]]),
        ("inspect: '{garbage' as line 4", ["inspect", p["run_garbage4"]]),
        ("inspect: a row without 'stage'", ["inspect", p["run_nostage"]]),
        ("inspect: 'reward' a string", ["inspect", p["run_rewardstr"]]),
        ("inspect: iterations row missing a key", ["inspect", p["run_iternokey"], "--report", scratch / "r.html"]),
        ("inspect: state.json a JSON list", ["inspect", p["run_statelist"]]),
        ("inspect: state.json missing", ["inspect", p["run_statemissing"]]),
        ("inspect: evaluations.jsonl a directory", ["inspect", p["run_evaldir"]]),
        ("inspect: torn last line", ["inspect", p["run_torn"]]),
        ("inspect --stage 9", ["inspect", run, "--stage", "9"]),
        ("inspect --top 0", ["inspect", run, "--top", "0"]),
        ("inspect --report: a directory", ["inspect", run, "--report", p["dir"]]),
        ("inspect --report: under a file", ["inspect", run, "--report", p["file"] / "r.html"]),
        ("search --resume: '{garbage' as line 4", ["search", "--resume", p["run_garbage4"]]),
        ("search --resume: 'reward' a string", ["search", "--resume", p["run_rewardstr"]]),
        ("search --resume: state.json a JSON list", ["search", "--resume", p["run_statelist"]]),
        ("search --resume: evaluations.jsonl a directory", ["search", "--resume", p["run_evaldir"]]),
        ("search --resume: empty latest.pt", ["search", "--resume", p["run_ckpt_empty"]]),
        ("search --resume: garbage latest.pt", ["search", "--resume", p["run_ckpt_garbage"]]),
        ("search --resume: latest.pt without its keys", ["search", "--resume", p["run_ckpt_keys"]]),
        ("search --resume: latest.pt of version 7", ["search", "--resume", p["run_ckpt_version"]]),
        # checkpoints, retrain, metrics
        ("sample: empty .pt", ["sample", p["empty_pt"]]),
        ("sample: random bytes", ["sample", p["random_pt"]]),
        ("sample: a plain pickle (protocol 4)", ["sample", p["pickle_pt"]]),
        ("sample: torch file holding objects", ["sample", p["objects_pt"]]),
        ("sample: a list", ["sample", p["list_pt"]]),
        ("sample: a search checkpoint", ["sample", p["search_pt"]]),
        ("sample: missing file", ["sample", scratch / "nope.pt"]),
        ("sample: a directory", ["sample", p["dir"]]),
        ("sample --n 0", ["sample", p["empty_pt"], "--n", "0"]),
        ("retrain: missing run", ["retrain", scratch / "nope", "--rank", "1"]),
        ("retrain --rank 0", ["retrain", run, "--rank", "0"]),
        ("retrain --autogan-vector bad", ["retrain", "--autogan-vector", "1 0 1"]),
        ("metrics: Inception weights holding objects", ["metrics", "--dataset", "digits", "--real", "--extractor",
                                                        "inception-v3", "--inception-weights", p["inception_objects"]]),
        ("metrics: missing Inception weights file", ["metrics", "--dataset", "digits", "--real", "--extractor",
                                                     "inception-v3", "--inception-weights", scratch / "nope.pth"]),
    ]


def describe(result: dict) -> str:
    if result["traceback"]:
        return f"TRACEBACK: {result['escaped'] or 'printed on stderr'}"
    if result["code"] == 0:
        warned = f"; warns: {result['warnings'][0].split(' ', 2)[2]}" if result["warnings"] else ""
        return f"ok{warned}"
    lines = result["lines"]
    if len(lines) != 1:
        return f"{len(lines)} lines on stderr: " + " / ".join(lines)[:300]
    return lines[0]


def cell(text: str, limit: int = 220) -> str:
    text = text.replace("|", "\\|").replace("\n", " ")
    return text if len(text) <= limit else text[: limit - 1] + "…"


def run_fuzz(examples: int) -> list[dict]:
    from hypothesis import HealthCheck, given, settings

    from fuzz_inputs import TARGETS

    cheap = {"architecture string", "ARCH argument text (JSON, vector or string)", "14-int vector (ints)",
             "--autogan-vector text", "architecture JSON"}
    rows = []
    for target in TARGETS:
        count = examples if target.name in cheap else max(examples // 4, 25)
        outcomes: Counter = Counter()

        def record(value, check=target.check, outcomes=outcomes) -> None:
            outcomes[check(value)] += 1

        fuzz = settings(max_examples=count, deadline=None, database=None, suppress_health_check=list(HealthCheck))(
            given(target.strategy)(lambda value: record(value))
        )

        started = time.monotonic()
        failure = None
        try:
            fuzz()
        except BaseException as exc:  # an error type of a library escaped: Hypothesis shrank it for us
            failure = "".join(traceback.format_exception_only(type(exc), exc)).strip().splitlines()[-1][:200]
        rows.append({
            "target": target.name,
            "examples": sum(outcomes.values()),
            "outcomes": dict(outcomes.most_common()),
            "failure": failure,
            "seconds": round(time.monotonic() - started, 1),
        })
    return rows


def main_script() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--fuzz-examples", type=int, default=400, help="examples per cheap fuzz target (files get a quarter)")
    parser.add_argument("--json", metavar="OUT.json", help="also write every result as JSON")
    args = parser.parse_args()

    results = []
    home = os.getcwd()
    with tempfile.TemporaryDirectory(prefix="autogan-bad-inputs-") as scratch_name:
        scratch = Path(scratch_name)
        os.chdir(scratch)  # a search that gets further than it should writes its runs/ here, not in the checkout
        paths = build_fixtures(scratch)
        for number, (name, argv) in enumerate(cases(paths, scratch), start=1):
            result = run_cli(argv)
            result.update(number=number, name=name)
            results.append(result)
            print(f"[{number}] {name}: exit {result['code']} ({result['seconds']:.1f}s)", file=sys.stderr)
        os.chdir(home)
    fuzz = run_fuzz(args.fuzz_examples)

    print("| # | input | exit | outcome (the line on stderr) | traceback |")
    print("|---|---|---|---|---|")
    for r in results:
        print(f"| {r['number']} | {cell(r['name'], 60)} | {r['code']} | {cell(describe(r))} | {'yes' if r['traceback'] else 'no'} |")
    print()
    print("| fuzz target | examples | outcomes | traceback |")
    print("|---|---|---|---|")
    for f in fuzz:
        outcomes = ", ".join(f"{k}: {v}" for k, v in f["outcomes"].items())
        print(f"| {f['target']} | {f['examples']} | {cell(outcomes, 300)} | {'yes: ' + cell(f['failure'], 200) if f['failure'] else 'no'} |")
    tracebacks = sum(r["traceback"] for r in results) + sum(bool(f["failure"]) for f in fuzz)
    not_one_line = [r["number"] for r in results if r["code"] != 0 and len(r["lines"]) != 1]
    fuzzed = sum(f["examples"] for f in fuzz)
    print()
    print(f"{len(results)} CLI inputs and {fuzzed} fuzz examples over {len(fuzz)} parsers; "
          f"tracebacks: {tracebacks}; failures that were not exactly one line: {len(not_one_line)} {not_one_line or ''}")
    if args.json:
        Path(args.json).write_text(json.dumps({"cases": results, "fuzz": fuzz}, indent=2, default=str))
    return 1 if tracebacks or not_one_line else 0


if __name__ == "__main__":
    sys.exit(main_script())
