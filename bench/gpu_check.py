"""The first contact with a GPU machine: every path that only a GPU takes, in one command, in minutes.

    python bench/gpu_check.py              # a machine with one GPU: about 6 minutes
    python bench/gpu_check.py --dry-run    # no GPU: the same plan on the CPU, tiny sizes

Each part runs in its own process, and a part that fails is recorded and the next one runs:

1. ``search``: a tiny search on an embedded Ray instance whose driver has no CUDA (it hides
   CUDA from itself right after starting Ray, so Ray's workers still see the GPU), with the
   trainer and two evaluators sharing the GPU (``run.trainer_gpus=0.5``,
   ``run.evaluator_gpus=0.25``); stopped after its first iteration.  Every result the driver
   keeps crosses from a GPU actor to a process without CUDA.
2. ``resume``: the same search resumed from its checkpoint to the end, on new GPU actors.
3. ``load``: the checkpoint read in a process that never had CUDA; every tensor is on the CPU.
4. ``schedule``: one slice of ``bench/gpu_schedule.py`` (few steps per stage).
5. ``steps``: ``bench/step_speed.py`` at paper size, briefly.
6. ``reward-bf16``: ``bench/reward_precision.py`` on few samples.

It prints one table and writes ``bench/results/gpu_check_<device>.json`` (``cpu_dry_run``
with ``--dry-run``); the benchmarks' own JSON files go to a scratch directory and their
headline numbers into this one.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

TINY = [
    "model.ch=16", "model.df=16", "model.latent_dim=16", "train.batch_size=16", "train.n_critic=2",
    "train.d_steps_per_iteration=8", "search.reward_samples=64", "search.reward_splits=2",
    "search.archs_per_iteration=2", "search.beam_candidates=2", "search.beam_width=1",
    "search.calibration_samples=16", "search.top_k=1", "search.rescore_seeds=1",
    "search.num_cells=2", "search.stage_iterations=[2, 1]", "run.backend='ray'", "run.evaluators=2",
    "run.trainer_cpus=1", "run.evaluator_cpus=1", "run.threads=1", "run.start_timeout=120",
]
GPU_SHARES = ["run.device='auto'", "run.trainer_gpus=0.5", "run.evaluator_gpus=0.25"]
CPU_SHARES = ["run.device='auto'", "run.trainer_gpus=0", "run.evaluator_gpus=0"]


class StopAfterFirstIteration(Exception):
    """Ends the first run of the search where a crash would: after a checkpoint."""


def search_config(dry_run: bool):
    from autogan.config import load_config

    return load_config("digits", TINY + (CPU_SHARES if dry_run else GPU_SHARES))


def part_search(run_dir: Path, dry_run: bool, resume: bool) -> dict:
    """A search (or its resumption) whose driver hides CUDA from itself once Ray has started."""
    from autogan.search import RunDirectory, Search, SearchHooks
    from workers import RayBackend

    backend = RayBackend(num_cpus=4, num_gpus=0 if dry_run else 1)
    # The raylet, and so every worker, was started with the GPU visible; from here on this
    # process is a head without CUDA (torch has not started CUDA yet, so it never will).
    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    import torch

    def stop(row):
        raise StopAfterFirstIteration

    hooks = None if resume else SearchHooks(on_iteration=stop)
    search = Search(search_config(dry_run), run_dir, resume=resume, backend=backend, hooks=hooks, progress=False)
    try:
        try:
            search.run()
        except StopAfterFirstIteration:
            pass
    finally:
        search.close()
        backend.shutdown()
    state = RunDirectory.open(run_dir).read_state()
    workers = state.get("workers") or []
    devices = sorted({w["device"] for w in workers})
    expected = "cpu" if dry_run else "cuda"
    if not workers or any(not d.startswith(expected) for d in devices):
        raise SystemExit(f"workers ran on {devices}, expected {expected}")
    if torch.cuda.is_available():
        raise SystemExit("the driver saw CUDA: the check did not test a head without it")
    return {"phase": state["phase"], "stage": state["stage"], "iteration": state["iteration"],
            "workers": workers, "driver_cuda": False}


def part_load(run_dir: Path) -> dict:
    """The checkpoint in a process started with CUDA hidden: what a CPU-only head or laptop does."""
    import torch

    from autogan.search import RunDirectory

    assert not torch.cuda.is_available(), "this part must run without CUDA"
    checkpoint = RunDirectory.open(run_dir).load_checkpoint()
    tensors = []

    def walk(value):
        if isinstance(value, torch.Tensor):
            tensors.append(value)
        elif isinstance(value, dict):
            for item in value.values():
                walk(item)
        elif isinstance(value, (list, tuple)):
            for item in value:
                walk(item)

    walk(checkpoint["trainer"])
    # Also without map_location: a checkpoint of host copies carries no CUDA tag at all.
    torch.load(RunDirectory.open(run_dir).checkpoint_path, weights_only=True)
    off_cpu = [t.device.type for t in tensors if t.device.type != "cpu"]
    if off_cpu:
        raise SystemExit(f"{len(off_cpu)} checkpoint tensors are not on the CPU")
    return {"tensors": len(tensors), "stream_device": checkpoint["trainer"]["stream_device"],
            "d_steps": checkpoint["trainer"]["d_steps"]}


def bench_commands(dry_run: bool, scratch: Path) -> dict[str, list[str]]:
    """The existing benchmarks, called with small arguments: one slice each."""
    py = sys.executable
    if dry_run:
        return {
            "schedule": [py, "bench/gpu_schedule.py", "--smoke", "--steps", "2", "--rewards", "1",
                         "--out", str(scratch / "gpu_schedule.json")],
            "steps": [py, "bench/step_speed.py", "--quick", "--losses", "hinge", "--n-critic", "1", "--threads", "1",
                      "--out", str(scratch / "step_speed.json")],
            "reward-bf16": [py, "bench/reward_precision.py", "--samples", "20", "--archs", "1", "--train-steps", "2",
                            "--reward-samples", "10", "--inception-images", "10", "--check-images", "0",
                            "--out", str(scratch / "reward_precision.json")],
        }
    return {
        "schedule": [py, "bench/gpu_schedule.py", "--device", "cuda", "--steps", "30", "--warmup", "5", "--rewards", "1",
                     "--out", str(scratch / "gpu_schedule.json")],
        "steps": [py, "bench/step_speed.py", "--device", "cuda", "--sizes", "paper", "--losses", "hinge",
                  "--n-critic", "5", "--rounds", "2", "--iters", "2", "--out", str(scratch / "step_speed.json")],
        "reward-bf16": [py, "bench/reward_precision.py", "--device", "cuda", "--samples", "1000", "--archs", "1",
                        "--train-steps", "20", "--inception-images", "500", "--out", str(scratch / "reward_precision.json")],
    }


def run_part(name: str, command: list[str], env: dict[str, str], timeout: float) -> dict:
    started = time.perf_counter()
    try:
        done = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout)
        ok, stdout, stderr = done.returncode == 0, done.stdout.strip(), done.stderr.strip()
    except subprocess.TimeoutExpired:
        ok, stdout, stderr = False, "", f"timed out after {timeout:g}s"
    seconds = time.perf_counter() - started
    print(f"{name}: {'ok' if ok else 'FAILED'} in {seconds:.0f}s", file=sys.stderr, flush=True)
    part = {"part": name, "ok": ok, "seconds": round(seconds, 1), "stdout_last": (stdout.splitlines() or [""])[-1]}
    if not ok:
        part["tail"] = (stdout + "\n" + stderr).strip().splitlines()[-3:]
    return part


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dry-run", action="store_true", help="no GPU: the same plan on the CPU with tiny sizes")
    parser.add_argument("--out", type=Path, help="JSON path (default bench/results/gpu_check_<device>.json)")
    parser.add_argument("--part", choices=["search", "resume", "load"], help=argparse.SUPPRESS)
    parser.add_argument("--run-dir", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.part:
        result = part_load(args.run_dir) if args.part == "load" else part_search(args.run_dir, args.dry_run, args.part == "resume")
        print(json.dumps(result))
        return 0

    import torch

    if not args.dry_run and not torch.cuda.is_available():
        parser.error("no CUDA device is visible; use --dry-run to check the plan on the CPU")
    device = "cpu_dry_run" if args.dry_run else torch.cuda.get_device_name(0).replace(" ", "_")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep)}
    no_cuda = {**env, "CUDA_VISIBLE_DEVICES": ""}
    started = time.perf_counter()
    parts = []
    with tempfile.TemporaryDirectory(prefix="gpu-check-") as scratch_name:
        scratch = Path(scratch_name)
        run_dir = scratch / "run"
        me = [sys.executable, str(Path(__file__).resolve()), *(["--dry-run"] if args.dry_run else []), "--run-dir", str(run_dir)]
        for name, part_env, timeout in (("search", env, 180), ("resume", env, 180), ("load", no_cuda, 60)):
            parts.append(run_part(name, [*me, "--part", name], part_env, timeout))
            if parts[-1]["ok"]:
                parts[-1]["result"] = json.loads(parts[-1].pop("stdout_last"))
        for name, command in bench_commands(args.dry_run, scratch).items():
            # The CPU's tiny sizes still take minutes on a busy machine; the GPU's slices, seconds to a minute or two.
            parts.append(run_part(name, command, env, 480 if args.dry_run else 150))
            produced = Path(command[command.index("--out") + 1])
            parts[-1].pop("stdout_last")
            if parts[-1]["ok"] and produced.is_file():
                parts[-1]["result"] = json.loads(produced.read_text())
    report = {
        "benchmark": "gpu_check",
        "device": device,
        "dry_run": args.dry_run,
        "torch": torch.__version__,
        "torch_cuda": torch.version.cuda,
        "python": platform.python_version(),
        "seconds": round(time.perf_counter() - started, 1),
        "parts": parts,
    }
    out = args.out or ROOT / "bench" / "results" / f"gpu_check_{device}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(report, indent=2) + "\n")
    print(f"{'part':<12} {'ok':<6} {'seconds':>8}  note")
    for part in parts:
        print(f"{part['part']:<12} {'ok' if part['ok'] else 'FAILED':<6} {part['seconds']:>8.1f}  {_note(part)}")
    print(f"total {report['seconds']:.0f}s on {device}; JSON: {out}")
    return 0 if all(p["ok"] for p in parts) else 1


def _note(part: dict) -> str:
    if not part["ok"]:
        return " | ".join(part.get("tail") or [])[:160]
    result = part.get("result") or {}
    if part["part"] in ("search", "resume"):
        from autogan.device import describe_workers

        return f"phase {result.get('phase')}; workers: {describe_workers(result.get('workers', []))}"[:160]
    if part["part"] == "load":
        return f"{result.get('tensors')} tensors on the CPU; stream of {result.get('stream_device')}"
    return "JSON kept in this file's parts[].result"


if __name__ == "__main__":
    sys.exit(main())
