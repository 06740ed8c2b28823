"""Host cost of a supernet training step: microseconds and aten ops per step, per stage.

What a GPU step costs the host is its Python and dispatch: at the paper's sizes the
device finishes the math of a stage-3 step in about a millisecond, so the host's own time
per step bounds the search.  This measures that on the CPU at tiny sizes (channels 2,
batch 2, one thread), where the arithmetic is negligible except for the convolutions: on
this CPU each one costs oneDNN 0.1-0.7 ms of fixed setup whatever its size, which is math
on a GPU (async, and identical before and after).  So per step it reports

- ``wall_us``: the step's wall time (``one_stage_step``, hinge, Adam from ``autogan.device.adam``);
- ``cpu_us``: the thread's CPU time per step, which other processes on a shared machine do not
  inflate as they do the wall time;
- ``conv_share``: the share of a step's time inside convolution ops (forward, transposed and
  backward; from a separate ``torch.profiler`` pass: CPU total of each top-level conv op over
  the pass's wall time);
- ``host_us``: ``cpu_us * (1 - conv_share)``, the host cost outside convolutions: what this work cut;
- ``aten``: aten ops launched from Python or the autograd engine (not nested in another
  aten op), as ``bench/host_syncs.py`` counts them: on a GPU roughly the kernel launches.

``--before TREE`` measures the same steps against another source tree (e.g. the code as it
was: ``git archive <commit> | tar -x -C /tmp/base``), in fresh processes interleaved with
this tree's, round by round, because the machine is shared: each tree's figure is the
median over rounds, and the JSON keeps both trees and the ratio ``before / after``.  It
also runs a few steps of every kind in both trees and says whether their losses, weights
and optimizer states are bit for bit the same (``identical_results``).

    python bench/host_cost.py --before /tmp/base            # about 5 minutes
    python bench/host_cost.py --rounds 1 --steps 5          # this tree only, a smoke run
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
KINDS = ("D-only", "merged")
FIELDS = ("wall_us", "cpu_us", "conv_share", "host_us", "aten")
# Top-level aten ops whose CPU time is convolution arithmetic (device work on a GPU).
CONV_OPS = {"aten::conv2d", "aten::conv_transpose2d", "aten::convolution", "aten::convolution_backward"}


def measure(args) -> dict:
    """Per stage and kind: the median wall time over ``--repeats`` blocks of ``--steps`` steps, conv time and ops."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    from search_spaces import SearchSpace

    from autogan.device import adam
    from autogan.nn import Discriminator, SupernetGenerator
    from autogan.train import one_stage_step

    torch.set_num_threads(1)
    device = torch.device("cpu")
    space = SearchSpace(num_cells=3)
    results = {}
    for stage in args.stages:
        rng = random.Random(args.seed)
        archs = [space.prefix(space.sample(rng), stage) for _ in range(args.steps)]
        size = 4 * 2**stage
        generator = torch.Generator().manual_seed(args.seed)
        real = torch.rand(args.batch, 3, size, size, generator=generator) * 2 - 1
        zs = [torch.randn(args.batch, args.latent, generator=generator) for _ in archs]
        G = SupernetGenerator(space, ch=args.ch, latent_dim=args.latent, seed=args.seed)
        D = Discriminator(df=args.df, stages=3, seed=args.seed + 1)
        opt_g = adam(G.parameters(), device, lr=2e-4, betas=(0.0, 0.9))
        opt_d = adam(D.parameters(), device, lr=2e-4, betas=(0.0, 0.9))

        def steps(merged: bool, count: int) -> None:
            for index in range(count):
                one_stage_step(G, D, opt_g, opt_d, real, zs[index], archs[index], "hinge",
                               stage=stage, update_g=merged)

        # Warm-up: Adam's state, oneDNN's primitive cache, every op of the space seen once.
        steps(False, args.steps)
        steps(True, args.steps)
        for merged in (False, True):
            walls, cpus = [], []
            for _ in range(args.repeats):
                started, started_cpu = time.perf_counter(), time.thread_time()
                steps(merged, args.steps)
                walls.append((time.perf_counter() - started) / args.steps * 1e6)
                cpus.append((time.thread_time() - started_cpu) / args.steps * 1e6)
            started = time.perf_counter()
            with profile(activities=[ProfilerActivity.CPU]) as prof:
                steps(merged, args.steps)
            profiled = (time.perf_counter() - started) * 1e6
            aten = conv = 0
            for event in prof.events():
                if not event.name.startswith("aten::"):
                    continue
                parent = event.cpu_parent
                while parent is not None and not parent.name.startswith("aten::"):
                    parent = parent.cpu_parent
                if parent is None:
                    aten += 1
                    if event.name in CONV_OPS:
                        conv += event.cpu_time_total  # us
            # The profiler's times are wall times: their ratio holds under the machine's load,
            # and the thread's CPU time does not count the time other processes took the core.
            cpu = statistics.median(cpus)
            conv_share = conv / profiled
            results[f"{stage}/{KINDS[merged]}"] = {
                "wall_us": statistics.median(walls), "cpu_us": cpu, "conv_share": conv_share,
                "host_us": cpu * (1 - conv_share), "aten": aten / args.steps,
            }
    return results


def trajectories(path: Path) -> None:
    """Losses, weights and Adam states after a few steps of every step kind, saved to ``path``.

    Two trees that compute the same thing save equal files (``same_results``): the host-cost
    work must not move a bit on the CPU.  The cases cover D-only and merged steps, one- and
    two-stage, each loss, both inactive-fake methods, a ``max_ratio`` that makes fakes
    inactive, and a D shifted so that hinge fakes fall below -1.
    """
    import torch

    from search_spaces import SearchSpace

    from autogan.device import adam
    from autogan.nn import Discriminator, SupernetGenerator
    from autogan.train import StepOptions, one_stage_step, two_stage_step

    torch.set_num_threads(1)
    space = SearchSpace(num_cells=3)
    cases = [(name, loss, inactive, max_ratio, shift, stage)
             for name in ("one-stage", "two-stage") for loss in ("hinge", "bce", "wasserstein")
             for inactive in (("scale", "extra-pass") if name == "one-stage" else ("auto",))
             for max_ratio, shift in (((1e12, 0.0), (1.0, 0.0), (1e12, -1.0)) if name == "one-stage" else ((1e12, 0.0),))
             for stage in (1, 3)]
    out = {}
    for name, loss, inactive, max_ratio, shift, stage in cases:
        step = one_stage_step if name == "one-stage" else two_stage_step
        rng = random.Random(stage)
        generator = torch.Generator().manual_seed(stage)
        G = SupernetGenerator(space, ch=4, latent_dim=8, seed=3)
        D = Discriminator(df=4, stages=3, seed=4)
        if shift:
            D.register_forward_hook(lambda module, inputs, output, shift=shift: output + shift)
        opt_g = adam(G.parameters(), torch.device("cpu"), lr=1e-2, betas=(0.0, 0.9))
        opt_d = adam(D.parameters(), torch.device("cpu"), lr=1e-2, betas=(0.0, 0.9))
        options = StepOptions(inactive=inactive, max_ratio=max_ratio)
        size = 4 * 2**stage
        values = []
        for index in range(6):
            arch = space.prefix(space.sample(rng), stage)
            real = torch.rand(4, 3, size, size, generator=generator) * 2 - 1
            z = torch.randn(4, 8, generator=generator)
            stats = step(G, D, opt_g, opt_d, real, z, arch, loss, stage=stage, update_g=index % 2 == 1, options=options)
            values.append(stats.values.nan_to_num(nan=123.0))
        out[f"{name}/{loss}/{inactive}/{max_ratio}/{shift}/{stage}"] = {
            "stats": torch.stack(values), "G": G.state_dict(), "D": D.state_dict(),
            "opt_g": opt_g.state_dict()["state"], "opt_d": opt_d.state_dict()["state"],
        }
    torch.save(out, path)


def same_results(first: Path, second: Path) -> list[str]:
    """Where two ``trajectories`` files differ (empty: bit for bit equal)."""
    import torch

    differences = []

    def compare(a, b, where):
        if isinstance(a, dict):
            if a.keys() != b.keys():
                differences.append(f"{where}: keys differ")
            for key in a.keys() & b.keys():
                compare(a[key], b[key], f"{where}/{key}")
        elif isinstance(a, torch.Tensor):
            if not torch.equal(a, b):
                differences.append(where)
        elif a != b:
            differences.append(where)

    compare(torch.load(first, weights_only=True), torch.load(second, weights_only=True), "")
    return sorted(differences)


def run_tree(tree: Path, args, *extra: str) -> dict:
    """``measure`` in a fresh process that imports ``tree``'s code."""
    command = [sys.executable, str(Path(__file__).resolve()), "--worker", str(tree), *worker_args(args), *extra]
    env = {**os.environ, "PYTHONPATH": str(tree), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"host_cost: the measurement of {tree} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.splitlines()[-1])


def worker_args(args) -> list[str]:
    return ["--stages", *map(str, args.stages), "--ch", str(args.ch), "--df", str(args.df),
            "--batch", str(args.batch), "--latent", str(args.latent), "--steps", str(args.steps),
            "--repeats", str(args.repeats), "--seed", str(args.seed)]


def medians(rounds: list[dict]) -> dict:
    return {key: {field: statistics.median(r[key][field] for r in rounds) for field in FIELDS} for key in rounds[0]}


def _cell(value: float) -> str:
    return f"{value:.2f}" if value < 1 else f"{value:.0f}"


def print_table(trees: dict[str, dict]) -> None:
    after = trees["after"]
    before = trees.get("before")
    print(f"{'stage':<6} {'kind':<7} " + " ".join(
        f"{field:>{26 if before else 9}}" for field in FIELDS) + (f" {'host ratio':>10} {'wall ratio':>10}" if before else ""))
    for key, row in after.items():
        stage, kind = key.split("/")
        if before:
            was = before[key]
            cells = [f"{_cell(was[f]):>11} -> {_cell(row[f]):<11}" for f in FIELDS]
            ratios = f" {was['host_us'] / row['host_us']:>9.2f}x {was['wall_us'] / row['wall_us']:>9.2f}x"
        else:
            cells, ratios = [f"{_cell(row[f]):>9}" for f in FIELDS], ""
        print(f"{stage:<6} {kind:<7} " + " ".join(cells) + ratios)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stages", type=int, nargs="+", default=[1, 2, 3], choices=[1, 2, 3])
    parser.add_argument("--ch", type=int, default=2, help="generator channels")
    parser.add_argument("--df", type=int, default=2, help="discriminator channels")
    parser.add_argument("--batch", type=int, default=2)
    parser.add_argument("--latent", type=int, default=16)
    parser.add_argument("--steps", type=int, default=20, help="steps per timed block (each a different architecture)")
    parser.add_argument("--repeats", type=int, default=3, help="timed blocks per process; the median is kept")
    parser.add_argument("--rounds", type=int, default=5, help="fresh processes per tree, interleaved")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--before", type=Path, help="a source tree to measure as 'before' (the code as it was)")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "host_cost.json")
    parser.add_argument("--worker", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--dump", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.worker is not None:
        sys.path.insert(0, str(args.worker))
        if args.dump is not None:
            trajectories(args.dump)
            print(json.dumps({"dumped": str(args.dump)}))
        else:
            print(json.dumps(measure(args)))
        return 0
    if args.before is not None and not (args.before / "autogan" / "train" / "_steps.py").is_file():
        parser.error(f"--before {args.before}: not an autogan source tree (no autogan/train/_steps.py); "
                     "extract one with: git archive <commit> | tar -x -C DIR")
    trees = {"after": ROOT} if args.before is None else {"before": args.before.resolve(), "after": ROOT}
    rounds: dict[str, list[dict]] = {name: [] for name in trees}
    for index in range(args.rounds):
        # Alternate which tree goes first, so that neither always follows the other's load.
        order = list(trees) if index % 2 == 0 else list(reversed(trees))
        for name in order:
            rounds[name].append(run_tree(trees[name], args))
        print(f"round {index + 1}/{args.rounds} done", file=sys.stderr, flush=True)
    summary = {name: medians(r) for name, r in rounds.items()}
    differences = None
    if args.before is not None:
        import tempfile

        with tempfile.TemporaryDirectory() as scratch:
            dumps = {name: Path(scratch) / f"{name}.pt" for name in trees}
            for name in trees:
                run_tree(trees[name], args, "--dump", str(dumps[name]))
            differences = same_results(dumps["before"], dumps["after"])
        print("results before and after: " + ("bit for bit identical" if not differences
              else f"{len(differences)} tensors differ, e.g. {differences[:3]}"))
    print(f"host cost per one-stage hinge step, cpu, 1 thread, ch {args.ch} df {args.df} batch {args.batch}, "
          f"medians of {args.rounds} rounds x {args.repeats} blocks x {args.steps} steps (us; aten: ops per step)")
    print_table(summary)
    report = {
        "benchmark": "host_cost",
        "device": f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, shared with other jobs)",
        "python": platform.python_version(),
        "threads": 1,
        "sizes": {"ch": args.ch, "df": args.df, "batch": args.batch, "latent": args.latent},
        "steps": args.steps, "repeats": args.repeats, "rounds": args.rounds,
        "trees": {name: str(path) for name, path in trees.items()},
        **summary,
        "rounds_raw": rounds,
    }
    if differences is not None:
        report["identical_results"] = not differences
        report["differing_tensors"] = differences
    if "before" in summary:
        report["ratio_before_over_after"] = {
            key: {field: summary["before"][key][field] / summary["after"][key][field] for field in FIELDS}
            for key in summary["after"]
        }
    sys.path.insert(0, str(ROOT))
    from autogan.files import atomic_write_bytes

    atomic_write_bytes(args.out, (json.dumps(report, indent=2) + "\n").encode())
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
