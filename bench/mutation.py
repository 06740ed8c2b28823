"""Mutation testing (mutmut): which small defects planted in a module its fast tests catch.

    python bench/mutation.py                       # every module below, one after another
    python bench/mutation.py search_spaces/_architecture.py --jobs 1
    python bench/mutation.py --table               # only rewrite the table from the results so far
    python bench/mutation.py controllers/_rnn.py --mutants "survived,no tests"   # after new tests
    make mutation [MODULES=...] [JOBS=...]

Each module is mutated alone, against the tests listed for it (a fast subset: the ones
that exercise it in this process; the kill -9 and Ray tests take minutes per mutant), in
its own work directory ``.mutation/<module>/`` whose ``mutants/`` holds mutmut's copy and
results.  A run that is stopped resumes where it stopped: mutmut keeps every verdict and
tests only mutants that have none.  Not part of ``make test`` or CI: one module costs
minutes to hours of CPU.

A surviving mutant is either a gap in the tests or an equivalent mutant (no input can tell
it from the original).  ``EQUIVALENT`` names the ones judged equivalent, with the reason;
the table counts them apart.  The table goes to stdout and bench/results/mutation.md, and
every mutant's verdict to bench/results/mutation.json; a module with no run in this checkout
keeps the verdicts recorded there, so modules can be run on different machines or days.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tomllib
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / ".mutation"
RESULTS = ROOT / "bench" / "results"

# Module -> the tests that cover it, fast and in this process (mutmut maps each function to
# the tests that call it, and runs only those against that function's mutants).
MODULES: dict[str, list[str]] = {
    "autogan/train/_steps.py": ["tests/train/test_train_steps.py", "tests/train/test_train_steps_details.py",
                                "tests/train/test_train_helpers.py"],
    "autogan/nn/_norm_statistics.py": ["tests/nn/test_nn_norm_statistics.py", "tests/nn/test_nn_recalibration_syncs.py"],
    "controllers/_rnn.py": ["tests/controllers"],
    "autogan/search/_resume.py": [
        "tests/search/test_resume.py",
        "tests/search/test_disk_errors.py",
        "tests/search/test_search_loop.py::test_trainer_death_continues_from_the_last_checkpoint_exactly",
        "tests/search/test_search_loop.py::test_trainer_death_after_an_iterations_row_leaves_the_record_an_uninterrupted_run_does",
    ],
    "autogan/search/_ranking.py": [
        "tests/search/test_ranking.py",
        "tests/report/test_search_ranking_size.py",
        "tests/search/test_search_loop.py::test_trainer_death_continues_from_the_last_checkpoint_exactly",
    ],
    # record.py until it was split into the run directory and the schema of its rows.
    "autogan/search/_run_directory.py": ["tests/search/test_run_directory.py", "tests/search/test_config_and_record.py",
                                         "tests/report/test_damaged_record.py", "tests/search/test_disk_errors.py"],
    # The schema's own tests and the readers that show damage; test_disk_errors (full of the run
    # directory's failures, 12 s a run) exercises no row rule that these do not, and tripled the time.
    "autogan/search/_rows.py": ["tests/search/test_record_rows.py", "tests/search/test_config_and_record.py",
                                "tests/report/test_damaged_record.py"],
    "search_spaces/_architecture.py": ["tests/search_spaces"],
}

# Mutant name -> why no test can kill it (see `mutmut show NAME` in the module's work directory).
_DONE_SORTS_LAST = "a finished run's position only has to sort after every real one, as this one still does"
_PHASES_ARE_KNOWN = "the default of PHASE_ORDER.get is never used: every phase but 'done' (returned before) is in it"
_MISSING_PHASE = ("a row without a phase is read as a policy row through PHASE_ORDER.get's default 0, whatever string "
                  "(other than 'done') or None stands in for 'policy'")
_NO_SOURCE_ZERO = ("cell 0's bit (1 << width) lies above every value the range check just above lets through, "
                   "so a range starting at 0 adds no source")
_ECHO_LIMIT_IS_80 = "shown()'s default limit is ECHO_LIMIT, 80, the limit passed explicitly"
_FIRST_LAYOUT = ("a state without 'version' is read the same whether it counts as version 0 or 1: both are at most "
                 "STATE_VERSION, and nothing else reads the number")
_NORMS_HAVE_NO_CHILDREN = "a BatchNorm has no submodules, so its buffers are the same with or without recursing"
_NO_DERIVATIVE_AT_THE_EDGE = ("at a ratio exactly on the clip range's edge PPO's surrogate has no derivative (r A on one "
                              "side, 0 on the other): either side's weight is a subgradient")
_ZERO_ADVANTAGE = "with a zero advantage the weight multiplies zero: the loss and its gradient are zero either way"
_LAST_INPUT_UNREAD = ("the input after the last decision is never read, and the last token has an embedding, so "
                      "computing it changes nothing")
_INTS_ARE_INT64 = ("torch.tensor infers int64 from Python ints, the dtype named; the only tensors built empty (no "
                   "prefix, nothing left to decide) are never indexed, and their .tolist() is the same")
_LAST_DIM_OF_TWO = "the tensor is (batch, choices): dim=+1 and dim=-1 are the same axis"
_MASKED_FILL_VALUE = ("the filled entries are multiplied by the mask's zeros, and masked_fill passes no gradient to "
                      "them, so the fill value is never seen")
_FLOAT32_DEFAULT = "torch.tensor of Python floats is float32 under torch's default dtype, which nothing here changes"
_DISCARDED_DENOMINATOR = ("the fill only stands in for a denominator whose quotient the outer torch.where "
                          "replaces, so any non-zero fill gives the same result")
_ONLY_SCALAR_GAMMA = "the only scalar gamma is -1.0 (symmetric losses), and dividing by -1 is multiplying by it, exactly"
_ALREADY_THAT_DTYPE = ("the tensor already has the dtype named: D's outputs and their cotangents are float32 "
                       "(_discriminate), and an input gradient has its input's dtype, the fake's")
_STACK_PROMOTES = "torch.stack promotes the integer count to the float32 of the other statistics, as .to(loss_d.dtype) does"
_NAN_SPELLING = "float() reads 'NAN' as it reads 'nan'"
_FALSY_NONE = "detach_fake is only tested for truth, and None is false as False is"
_UNREAD_REAL_GRADIENT = "without scaling the real samples' output gradient is computed but never read"
_REUSE_ONLY_SAVES_WORK = ("track_g only decides whether G's graph is kept for the fakes' reuse; the D step sees them "
                          "detached, so building it when it is not reused costs time and changes no number")
EQUIVALENT: dict[str, str] = {
    "autogan.train._steps.x__fake_ratio__mutmut_21": _DISCARDED_DENOMINATOR,
    "autogan.train._steps.x__safe_ratio__mutmut_17": _DISCARDED_DENOMINATOR,
    "autogan.train._steps.x__scaling_hook__mutmut_14": _ONLY_SCALAR_GAMMA,
    "autogan.train._steps.x__scaling_hook__mutmut_19": _ALREADY_THAT_DTYPE,
    **{f"autogan.train._steps.x_inactive_input_gradient__mutmut_{n}": _ALREADY_THAT_DTYPE for n in (26, 40)},
    "autogan.train._steps.x__stats__mutmut_16": _STACK_PROMOTES,
    "autogan.train._steps.x__stats__mutmut_10": _NAN_SPELLING,
    "autogan.train._steps.x_one_stage_gradients__mutmut_30": _FALSY_NONE,
    "autogan.train._steps.x_one_stage_gradients__mutmut_74": _UNREAD_REAL_GRADIENT,
    "autogan.train._steps.x_two_stage_step__mutmut_14": _REUSE_ONLY_SAVES_WORK,
    **{f"controllers._rnn.xǁRNNControllerǁ_clipped_ratio__mutmut_{n}": _NO_DERIVATIVE_AT_THE_EDGE for n in (7, 12)},
    "controllers._rnn.xǁRNNControllerǁ_clipped_ratio__mutmut_10": _ZERO_ADVANTAGE,
    **{f"controllers._rnn.xǁRNNControllerǁ_roll__mutmut_{n}": _LAST_INPUT_UNREAD for n in (121, 123)},
    **{f"controllers._rnn.xǁRNNControllerǁ_roll__mutmut_{n}": _INTS_ARE_INT64 for n in (27, 29)},
    **{f"controllers._rnn.xǁRNNControllerǁlog_probs__mutmut_{n}": _INTS_ARE_INT64 for n in (21, 23, 27, 29)},
    **{f"controllers._rnn.xǁRNNControllerǁsample__mutmut_{n}": _INTS_ARE_INT64 for n in (19, 21)},
    **{f"controllers._rnn.xǁRNNControllerǁ_roll__mutmut_{n}": _LAST_DIM_OF_TWO for n in (49, 55, 72, 86)},
    "controllers._rnn.xǁRNNControllerǁ_roll__mutmut_80": _MASKED_FILL_VALUE,
    **{f"controllers._rnn.xǁRNNControllerǁupdate__mutmut_{n}": _FLOAT32_DEFAULT for n in (36, 38)},
    # (10 * 9, 0, 0): 90 still sorts after every stage of a space of fewer than 90 cells.
    **{f"autogan.search._resume.x_position__mutmut_{n}": _DONE_SORTS_LAST for n in (13, 14, 15, 16, 17)},
    **{f"autogan.search._resume.x_position__mutmut_{n}": _PHASES_ARE_KNOWN for n in (25, 27, 28)},
    **{f"autogan.search._resume.x_position__mutmut_{n}": _MISSING_PHASE for n in (3, 5, 8, 9)},
    "search_spaces._architecture.x_skips_from_int__mutmut_18": _NO_SOURCE_ZERO,
    "autogan.search._rows.x__arch_problem__mutmut_11": _ECHO_LIMIT_IS_80,
    "autogan.search._run_directory.xǁRunDirectoryǁread_state__mutmut_11": _ECHO_LIMIT_IS_80,
    "autogan.search._run_directory.xǁRunDirectoryǁread_state__mutmut_26": _FIRST_LAYOUT,
    **{f"autogan.nn._norm_statistics.x_running_statistics__mutmut_{n}": _NORMS_HAVE_NO_CHILDREN for n in (1, 2)},
}

STATUS = {1: "killed", 3: "killed", 0: "survived", 5: "no tests", 33: "no tests", 34: "skipped", 36: "timeout",
          -24: "timeout", 24: "timeout", 152: "timeout", 255: "timeout", None: "not checked"}


def slug(module: str) -> str:
    return module.removesuffix(".py").replace("/", ".")


def work_dir(module: str) -> Path:
    """A project root for one module: links to the sources and tests, and its own mutmut config."""
    folder = WORK / slug(module)
    folder.mkdir(parents=True, exist_ok=True)
    for name in ("autogan", "search_spaces", "controllers", "workers", "configs", "tests"):
        link = folder / name
        if not link.exists():
            link.symlink_to(ROOT / name, target_is_directory=True)
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())
    shared = project["tool"]["mutmut"]
    pytest_options = project["tool"]["pytest"]["ini_options"]
    lines = ["[tool.mutmut]"]
    settings = {**shared, "only_mutate": [module], "pytest_add_cli_args_test_selection": MODULES[module]}
    lines += [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    lines += ["", "[tool.pytest.ini_options]"]
    lines += [f"{key} = {json.dumps(value)}" for key, value in pytest_options.items() if key != "addopts"]
    config = "\n".join(lines) + "\n"
    path = folder / "pyproject.toml"
    if not path.exists() or path.read_text() != config:
        path.write_text(config)
    return folder


def run_module(module: str, jobs: int, mutants: str | None = None) -> int:
    folder = work_dir(module)
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    env.pop("PYTHONPATH", None)  # mutmut puts its mutated copy first; nothing else may shadow it
    names: list[str] = []
    if mutants is not None:
        # Only the mutants with these verdicts (after new tests): the rest keep theirs, which hold
        # only for the source they were found on.
        record = recorded()
        if record.get("sources", {}).get(module) != source_digest(module):
            print(f"mutmut: {module} changed since its recorded run, so its mutants' names and verdicts no longer "
                  f"apply; run it whole: python bench/mutation.py {module}", file=sys.stderr)
            return 2
        wanted = set(mutants.split(","))
        names = [name for name, status in record.get("verdicts", {}).get(module, {}).items() if status in wanted]
        if not names:
            print(f"mutmut: {module} has no {mutants} mutant on record", file=sys.stderr)
            return 0
        stats = folder / "mutants" / "mutmut-stats.json"
        stats.unlink(missing_ok=True)  # the new tests must be mapped to the functions they call
    (folder / "source.sha256").write_text(source_digest(module) + "\n")
    print(f"mutmut: {module} against {' '.join(MODULES[module])} (in {folder})", file=sys.stderr, flush=True)
    command = [sys.executable, "-m", "mutmut", "run", "--max-children", str(jobs), *names]
    return subprocess.run(command, cwd=folder, env=env).returncode


def verdicts(module: str) -> dict[str, str]:
    meta = WORK / slug(module) / "mutants" / (module + ".meta")
    if not meta.exists():
        return {}
    codes = json.loads(meta.read_text())["exit_code_by_key"]
    return {name: STATUS.get(code, "suspicious") for name, code in sorted(codes.items())}


def source_digest(module: str) -> str:
    return hashlib.sha256((ROOT / module).read_bytes()).hexdigest()


def recorded() -> dict[str, Any]:
    path = RESULTS / "mutation.json"
    return json.loads(path.read_text()) if path.exists() else {}


def local_digest(module: str) -> str | None:
    """The digest of the source this checkout's mutmut run was made on (written when it started)."""
    path = WORK / slug(module) / "source.sha256"
    return path.read_text().strip() if path.exists() else None


def merged_verdicts(module: str, record: dict[str, Any]) -> tuple[dict[str, str], str | None]:
    """``(verdicts, digest)``: the verdicts for the module as it stands, and the source they were found on.

    This checkout's run counts where it was made on today's source; for the mutants it has not
    checked (a ``--mutants`` run), the recorded verdicts of the same source fill in.  Nothing
    recorded is dropped: when neither run matches today's source, the recorded verdicts stay, with
    their own digest, and the table marks them stale.
    """
    now = source_digest(module)
    kept, kept_digest = record.get("verdicts", {}).get(module, {}), record.get("sources", {}).get(module)
    local = verdicts(module) if local_digest(module) == now else {}
    if local and kept_digest == now:
        return {name: kept.get(name, status) if status == "not checked" else status for name, status in local.items()}, now
    if local and "not checked" not in local.values():
        return local, now
    return kept, kept_digest


def table(results: dict[str, dict[str, str]]) -> str:
    lines = [
        "| module | tests | mutants | killed | survived | equivalent | other (timeout, no tests, not checked) | score |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for module in MODULES:
        found = results.get(module, {})
        if not found:
            lines.append(f"| {module} | {', '.join(MODULES[module])} | not run | | | | | |")
            continue
        counts = Counter(found.values())
        equivalent = sum(1 for name, status in found.items() if status == "survived" and name in EQUIVALENT)
        survived = counts["survived"] - equivalent
        other = len(found) - counts["killed"] - counts["survived"]
        judged = counts["killed"] + survived
        score = f"{counts['killed'] / judged:.0%}" if judged else "-"
        lines.append(f"| {module} | {', '.join(MODULES[module])} | {len(found)} | {counts['killed']} | {survived} | "
                     f"{equivalent} | {other} | {score} |")
    lines += ["", "score: killed / (killed + survived), equivalent mutants left out.", ""]
    equivalent_found = [(name, reason) for name, reason in EQUIVALENT.items()
                        if any(results.get(m, {}).get(name) == "survived" for m in MODULES)]
    if equivalent_found:
        lines += ["Equivalent mutants:", ""] + [f"- `{name}`: {reason}" for name, reason in equivalent_found] + [""]
    gaps = [name for found in results.values() for name, status in found.items() if status == "survived" and name not in EQUIVALENT]
    if gaps:
        lines += ["Surviving mutants not judged equivalent (gaps in the tests, or not yet judged):", ""]
        lines += [f"- `{name}`" for name in gaps] + [""]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", metavar="MODULE", help=f"modules to mutate (default: all): {', '.join(MODULES)}")
    parser.add_argument("--jobs", type=int, default=1, help="mutants tested at once (default 1)")
    parser.add_argument("--table", action="store_true", help="only write the table from the results so far")
    parser.add_argument("--mutants", metavar="STATUSES", help="re-test only the recorded mutants with these verdicts, "
                        "e.g. survived,no tests,timeout (after adding tests; the module's source must be unchanged)")
    args = parser.parse_args(argv)
    unknown = [m for m in args.modules if m not in MODULES]
    if unknown:
        parser.error(f"not a module with its tests listed here: {', '.join(unknown)}; choose from {', '.join(MODULES)}")
    # A module not run in this checkout keeps the verdicts the table last recorded for it.
    record = recorded()
    failed = 0
    if not args.table:
        for module in args.modules or list(MODULES):
            failed |= run_module(module, args.jobs, args.mutants) != 0
    merged = {module: merged_verdicts(module, record) for module in MODULES}
    results = {module: found for module, (found, _) in merged.items()}
    sources = {module: digest for module, (found, digest) in merged.items() if found and digest}
    stale = [module for module in sources if sources[module] != source_digest(module)]
    text = "# Mutation testing (bench/mutation.py)\n\n" + table(results)
    if stale:
        text += ("\nStale (the source changed since these verdicts were found; run the module whole): "
                 + ", ".join(stale) + "\n")
    print(text)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "mutation.md").write_text(text)
    (RESULTS / "mutation.json").write_text(json.dumps({"tests": MODULES, "sources": sources, "verdicts": results,
                                                       "equivalent": EQUIVALENT}, indent=1) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
