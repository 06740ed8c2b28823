"""Host-device syncs and aten ops per training step, counted with ``torch.profiler``.

Two drivers, both through the project's own code:

- ``function``: ``autogan.train.one_stage_step`` / ``two_stage_step`` called directly on a
  small supernet, D-only steps (``update_g=False``) and merged D+G steps, per loss;
- ``trainer``: ``SupernetTrainer.train`` one architecture at a time, so that what the
  trainer loop does around the step (reading the losses, the reset monitor, the batch
  draw) is counted too.  Each such call ends an iteration, which reads its losses; the
  ``N-chunk`` rows run ``--chunk`` steps in one call (one read, as between the reads of
  ``train.stats_every``) and report the mean per step.

Per step it reports:

- ``syncs``: reads that make the host wait for the device on CUDA: ``aten::_local_scalar_dense``
  (under ``.item()``, ``float(t)``, ``bool(t)`` -> ``aten::is_nonzero``), Python-level
  ``Tensor.tolist()/.item()/.numpy()/.cpu()`` calls, and ops whose output size depends on
  the data (``aten::nonzero``, ``aten::masked_select``, ``aten::unique*``, ``aten::equal``).
  Each read counts once, not once per nested op.  Reads inside ``Optimizer.step`` are
  reported apart (``opt``): there Adam reads its own step counter, a CPU tensor unless
  ``capturable=True``, which never waits for the device.
- ``item``/``is_nonzero``/``tolist``/``nonzero``: the op counts behind ``syncs`` (outside
  ``Optimizer.step``; ``aten::is_nonzero`` calls ``aten::item`` in turn).
- ``aten``: aten ops launched from Python or the autograd engine (not nested in another
  aten op), and ``aten_all``: every aten op, nested ones included.

The script only looks at op names and Python frames, so it runs unchanged against
changed code.  ``--before`` keeps an earlier report (e.g. the committed one, from before
a change) in the JSON under ``before``, this run under ``after``, and prints both; a
later run without it keeps the output's ``before``.  Op counts on CPU and CUDA differ
(Adam uses foreach kernels on CUDA), so compare within one device.

    python bench/host_syncs.py                 # CPU, about a minute
    python bench/host_syncs.py --device cuda   # the same on a GPU (adds CUDA sync API calls)
    git show HEAD:bench/results/host_syncs.json > /tmp/before.json
    python bench/host_syncs.py --before /tmp/before.json
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import platform
import random
import re
import statistics
import sys
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from search_spaces import SearchSpace  # noqa: E402

from autogan.config import load_config  # noqa: E402
from autogan.nn import Discriminator, SupernetGenerator  # noqa: E402
from autogan.search import SupernetTrainer  # noqa: E402
from autogan.train import STEPS, StepOptions  # noqa: E402

SCALAR_READ = "aten::_local_scalar_dense"
# On CUDA these must learn their output size (or result) from the device before returning.
DATA_DEPENDENT = {
    "aten::nonzero", "aten::masked_select", "aten::_unique", "aten::_unique2", "aten::unique_dim",
    "aten::unique_consecutive", "aten::equal", "aten::nonzero_numpy",
}
PYTHON_READ = re.compile(r"^<built-in method (tolist|item|numpy|cpu) of Tensor object")
CUDA_SYNC_CALL = re.compile(r"^cuda(Stream|Device|Event)Synchronize$|^cudaMemcpy$")
PROJECT_FRAME = re.compile(r"(autogan/[\w/]+\.py\(\d+\): \w+)")
OPTIMIZER_STEP = re.compile(r"^Optimizer\.step#")

# "hinge-inactive" shifts D's output (a forward hook: one extra aten::add per D forward) so
# that about half the fakes have d < -1: at initialization every fake is active, so the
# one-stage merged step's inactive samples would not be exercised.  They matter only
# there, so the other steps and kinds run plain hinge alone.
LOSSES = ("hinge", "hinge-inactive", "bce")


def _is_sync(event) -> bool:
    return event.name == SCALAR_READ or event.name in DATA_DEPENDENT or bool(PYTHON_READ.match(event.name))


def _ancestors(event):
    parent = event.cpu_parent
    while parent is not None:
        yield parent
        parent = parent.cpu_parent


def count_events(events) -> dict:
    """Sync reads, their sources and aten op counts in one profiled step."""
    counts = collections.Counter()
    sites = collections.Counter()
    for event in events:
        name = event.name
        ancestors = list(_ancestors(event))
        if name.startswith("aten::"):
            counts["aten_all"] += 1
            if not any(a.name.startswith("aten::") for a in ancestors):
                counts["aten"] += 1
        if CUDA_SYNC_CALL.match(name):
            counts["cuda_sync_calls"] += 1
        if any(OPTIMIZER_STEP.match(a.name) for a in ancestors):
            if _is_sync(event) and not any(_is_sync(a) for a in ancestors):
                counts["opt"] += 1
            continue
        if name == "aten::item":
            counts["item"] += 1
        elif name == "aten::is_nonzero":
            counts["is_nonzero"] += 1
        elif name in DATA_DEPENDENT:
            counts["nonzero"] += 1
        elif PYTHON_READ.match(name) and PYTHON_READ.match(name).group(1) == "tolist":
            counts["tolist"] += 1
        if not _is_sync(event) or any(_is_sync(a) for a in ancestors):
            continue  # .item() -> aten::item -> _local_scalar_dense is one read
        counts["syncs"] += 1
        frame = next((m.group(1) for a in ancestors if (m := PROJECT_FRAME.search(a.name))), "outside autogan")
        kind = PYTHON_READ.match(name).group(1) if PYTHON_READ.match(name) else name
        sites[f"{frame} [{kind}]"] += 1
    return {"counts": counts, "sites": sites}


def profiled(call, device: torch.device) -> dict:
    activities = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if device.type == "cuda" else [])
    # with_stack: Python-level reads (tolist) dispatch no aten op on CPU, and frames name the site.
    with profile(activities=activities, with_stack=True) as prof:
        call()
        if device.type == "cuda":
            torch.cuda.synchronize(device)
    return count_events(prof.events())


FIELDS = ("syncs", "opt", "item", "is_nonzero", "tolist", "nonzero", "aten", "aten_all", "cuda_sync_calls")


def summarise(samples: list[dict]) -> dict:
    """Mean per step of each count, with its range when steps differ; sync sites summed."""
    row = {}
    for field in FIELDS:
        values = [s["counts"].get(field, 0) for s in samples]
        row[field] = statistics.mean(values)
        if min(values) != max(values):
            row[f"{field}_range"] = [min(values), max(values)]
    sites = collections.Counter()
    for s in samples:
        sites.update(s["sites"])
    row["sites_per_step"] = {site: n / len(samples) for site, n in sorted(sites.items())}
    row["steps"] = len(samples)
    return row


def function_rows(args, device: torch.device) -> list[dict]:
    space = SearchSpace(num_cells=3)
    size = 4 * 2**args.stage
    rng = random.Random(args.seed)
    archs = [space.prefix(space.sample(rng), args.stage) for _ in range(args.warmup + args.steps)]
    generator = torch.Generator().manual_seed(args.seed)
    real = (torch.rand(args.batch, 3, size, size, generator=generator) * 2 - 1).to(device)
    zs = [torch.randn(args.batch, args.latent, generator=generator).to(device) for _ in archs]
    options = StepOptions(channels_last=device.type == "cuda")
    rows = []
    for key, step in STEPS.items():
        step_name = key.replace("_", "-")  # the labels of the results on record
        for loss_label in LOSSES:
            for merged in (False, True):
                if loss_label == "hinge-inactive" and not (merged and step_name == "one-stage"):
                    continue
                loss = loss_label.split("-")[0]
                G = SupernetGenerator(space, ch=args.ch, latent_dim=args.latent, seed=args.seed).to(device)
                D = Discriminator(df=args.df, stages=3, seed=args.seed + 1).to(device)
                shift = [0.0]
                if loss_label == "hinge-inactive":
                    D.register_forward_hook(lambda module, inputs, out: out + shift[0])

                def calibrate(index):
                    # Re-centred before every step, outside the profiler: D's outputs move as it trains.
                    if loss_label == "hinge-inactive":
                        with torch.no_grad():
                            d_fake = D(G(zs[index], archs[index]), args.stage).reshape(-1) - shift[0]
                        shift[0] = -1.0 - float(d_fake.median())
                opt_g = torch.optim.Adam(G.parameters(), lr=2e-4, betas=(0.0, 0.9))
                opt_d = torch.optim.Adam(D.parameters(), lr=2e-4, betas=(0.0, 0.9))
                results = []

                def call(index):
                    stats = step(G, D, opt_g, opt_d, real, zs[index], archs[index], loss,
                                 stage=args.stage, update_g=merged, options=options)
                    results.append(stats)  # read after the profile: reading is the caller's sync

                # Warm-up: Adam creates its state and spectral norm its vectors on the first step.
                for index in range(args.warmup):
                    call(index)
                samples = []
                for index in range(args.warmup, args.warmup + args.steps):
                    calibrate(index)
                    samples.append(profiled(lambda i=index: call(i), device))
                row = {"driver": "function", "step": step_name, "loss": loss_label,
                       "kind": "merged" if merged else "D-only", **summarise(samples)}
                if merged and step_name == "one-stage":
                    row["inactive_fakes_per_step"] = statistics.mean(s.inactive for s in results[args.warmup:])
                rows.append(row)
                print(format_row(row), file=sys.stderr, flush=True)
    return rows


def trainer_rows(args, device: torch.device) -> list[dict]:
    rows = []
    for step_name in ("one_stage", "two_stage"):
        for loss in ("hinge", "bce"):
            config = load_config("digits", [
                f"run.device='{device.type}'", f"run.threads={args.threads}", f"model.ch={args.ch}", f"model.df={args.df}",
                f"model.latent_dim={args.latent}", f"train.batch_size={args.batch}", "train.n_critic=2",
                f"train.step='{step_name}'", f"train.loss='{loss}'",
                f"train.channels_last={'true' if device.type == 'cuda' else 'false'}",
            ])
            trainer = SupernetTrainer(config.to_dict())
            space = SearchSpace(num_cells=config.search.num_cells)
            archs = [space.prefix(space.sample(seed), args.stage) for seed in range(2 * (args.warmup + args.steps))]
            samples = {False: [], True: []}
            # One architecture per call: with n_critic 2 the calls alternate D-only and merged
            # steps, and the per-call bookkeeping of train() holds no tensor work.
            for index, arch in enumerate(archs):
                merged = (trainer.d_steps + 1) % config.train.n_critic == 0
                call = lambda arch=arch: trainer.train(args.stage, [arch])  # noqa: E731
                if index < 2 * args.warmup:
                    call()
                else:
                    samples[merged].append(profiled(call, device))
            chunk = [space.prefix(space.sample(seed), args.stage) for seed in range(args.chunk)]
            whole = profiled(lambda: trainer.train(args.stage, chunk), device)
            per_step = {key: {name: n / args.chunk for name, n in whole[key].items()} for key in ("counts", "sites")}
            for kind, kind_samples in (("D-only", samples[False]), ("merged", samples[True]), (f"{args.chunk}-chunk", [per_step])):
                row = {"driver": "trainer", "step": step_name.replace("_", "-"), "loss": loss,
                       "kind": kind, **summarise(kind_samples)}
                rows.append(row)
                print(format_row(row), file=sys.stderr, flush=True)
    return rows


HEADER = (
    f"{'driver':<9} {'step':<10} {'loss':<15} {'kind':<7} {'syncs':>6} {'opt':>5} {'item':>5} "
    f"{'is_nz':>6} {'tolist':>7} {'nonzero':>8} {'aten':>6} {'aten_all':>9}"
)


def _n(value: float) -> str:
    if float(value).is_integer():
        return f"{value:.0f}"
    return f"{value:.2f}" if abs(value) < 10 else f"{value:.1f}"


def format_row(row: dict) -> str:
    return (
        f"{row['driver']:<9} {row['step']:<10} {row['loss']:<15} {row['kind']:<7} {_n(row['syncs']):>6} "
        f"{_n(row['opt']):>5} {_n(row['item']):>5} {_n(row['is_nonzero']):>6} {_n(row['tolist']):>7} "
        f"{_n(row['nonzero']):>8} {_n(row['aten']):>6} {_n(row['aten_all']):>9}"
    )


def _device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def print_report(report: dict) -> None:
    print(f"host syncs per training step on {report['device']}, torch {report['torch']}, "
          f"ch {report['sizes']['ch']} df {report['sizes']['df']} batch {report['sizes']['batch']} "
          f"stage {report['sizes']['stage']}, mean over {report['steps']} profiled steps")
    print("syncs: host waits on CUDA (outside Optimizer.step); opt: scalar reads inside Optimizer.step "
          "(Adam's CPU step counter); aten: ops launched, aten_all: with nested ops")
    print(HEADER)
    for row in report["rows"]:
        print(format_row(row))
    inactive = [r for r in report["rows"] if "inactive_fakes_per_step" in r]
    if inactive:
        print("inactive fakes per merged one-stage step: " + ", ".join(
            f"{r['loss']} {_n(r['inactive_fakes_per_step'])}/{report['sizes']['batch']}" for r in inactive))
    print()
    print("where the syncs are: first autogan frame above each read, as file(line of its def): function; per step, summed over the rows")
    sites = collections.defaultdict(float)
    for row in report["rows"]:
        for site, n in row["sites_per_step"].items():
            sites[(row["driver"], site)] += n
    for (driver, site), n in sorted(sites.items()):
        print(f"  {driver:<9} {site}: {_n(n)}")
    if any(row.get("cuda_sync_calls") for row in report["rows"]):
        print()
        print("CUDA synchronize/memcpy API calls per step:")
        for row in report["rows"]:
            print(f"  {row['driver']:<9} {row['step']:<10} {row['loss']:<15} {row['kind']:<7} {_n(row['cuda_sync_calls'])}")


def row_key(row: dict) -> tuple:
    return row["driver"], row["step"], row["loss"], row["kind"]


def print_comparison(before: dict, after: dict) -> None:
    """Syncs and aten ops per step, before -> after, for the rows both reports have."""
    old = {row_key(row): row for row in before["rows"]}
    print(f"before ({before['torch']}) -> after ({after['torch']}), per step:")
    print(f"{'driver':<9} {'step':<10} {'loss':<15} {'kind':<8} {'syncs':>11} {'aten':>13} {'aten_all':>13}")
    for row in after["rows"]:
        if row_key(row) not in old:
            continue
        was = old[row_key(row)]
        cells = [f"{_n(was[f])} -> {_n(row[f])}" for f in ("syncs", "aten", "aten_all")]
        print(f"{row['driver']:<9} {row['step']:<10} {row['loss']:<15} {row['kind']:<8} {cells[0]:>11} {cells[1]:>13} {cells[2]:>13}")


def read_before(path: Path | None, out: Path) -> dict | None:
    """The report to keep as ``before``: ``path``'s (its own ``before`` if it has one), else the output's ``before``."""
    source = path if path is not None else out
    if not source.exists():
        return None
    data = json.loads(source.read_text())
    if "before" in data:
        return data["before"]
    return data if path is not None else None


def write_json(report: dict, path: Path) -> None:
    from autogan.files import atomic_write_bytes

    atomic_write_bytes(path, (json.dumps(report, indent=2) + "\n").encode())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--drivers", nargs="+", choices=["function", "trainer"], default=["function", "trainer"])
    parser.add_argument("--ch", type=int, default=16)
    parser.add_argument("--df", type=int, default=16)
    parser.add_argument("--batch", type=int, default=8)
    parser.add_argument("--latent", type=int, default=32)
    parser.add_argument("--stage", type=int, default=3, choices=[1, 2, 3], help="cells trained (resolution 4 * 2**stage)")
    parser.add_argument("--steps", type=int, default=2, help="profiled steps per row")
    parser.add_argument("--warmup", type=int, default=1, help="unprofiled steps per row")
    parser.add_argument("--seed", type=int, default=0)
    # Counts do not depend on threads; on a shared 2-core machine 2 threads ran 30x slower.
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads (0: torch's choice)")
    parser.add_argument("--chunk", type=int, default=4, help="steps in the trainer's one-read rows")
    parser.add_argument("--out", type=Path, help="JSON path (default bench/results/host_syncs.json, host_syncs_cuda.json on CUDA)")
    parser.add_argument("--before", type=Path, help="an earlier report to keep under 'before' (default: the output's own 'before')")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is visible; use --device cpu")
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    rows = []
    if "function" in args.drivers:
        rows += function_rows(args, device)
    if "trainer" in args.drivers:
        rows += trainer_rows(args, device)
    report = {
        "benchmark": "host_syncs",
        "device": _device_name(device),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "sizes": {"ch": args.ch, "df": args.df, "batch": args.batch, "latent": args.latent, "stage": args.stage},
        "steps": args.steps,
        "warmup": args.warmup,
        "rows": rows,
    }
    print_report(report)
    out = args.out or ROOT / "bench" / "results" / ("host_syncs.json" if device.type == "cpu" else "host_syncs_cuda.json")
    before = read_before(args.before, out)
    if before is not None:
        print()
        print_comparison(before, report)
    write_json(report if before is None else {"benchmark": "host_syncs", "before": before, "after": report}, out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
