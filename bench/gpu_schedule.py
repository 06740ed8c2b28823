"""A slice of the cifar10 preset's search schedule: D steps per second per stage, rewards per
minute with 1, 2 and 4 evaluators sharing the device, peak memory, and the extrapolated
wall-clock of the full schedule.

    python bench/gpu_schedule.py --device cuda     # the preset's sizes (ch 128, df 64, batch 64, 5,000-image rewards)
    python bench/gpu_schedule.py --smoke           # CPU, tiny sizes, about a minute

The training data is the built-in digits replicated to RGB and the reward's Inception
network has seeded random weights (``--extractor inception-v3``; the smoke run uses the
digits classifier): neither changes the arithmetic.  Training goes through
``SupernetTrainer.train`` and rewards through ``RewardEvaluator.score``.

Peak memory is ``torch.cuda.max_memory_allocated`` per phase on a GPU (per evaluator
process: each has its own allocator), and the process's peak resident set size on the
CPU (``ru_maxrss``: monotone over the run, so a phase's value includes earlier phases).

The extrapolation sums, over the three stages, iterations x D steps / that stage's rate,
plus all rewards / the reward rate at the preset's evaluator count: it assumes no
overlap of training and rewards (the preset overlaps them, so the real run is shorter),
and it leaves out the controller, checkpoints and the final retraining.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import platform
import resource
import sys
import tempfile
import threading
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from search_spaces import SearchSpace  # noqa: E402

from autogan.config import load_config  # noqa: E402
from autogan.search import RewardEvaluator, SupernetTrainer  # noqa: E402

EVALUATOR_COUNTS = (1, 2, 4)


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def _reset_peak(device: str) -> None:
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()


def _peak_mib(device: str) -> float:
    if device == "cuda":
        return torch.cuda.max_memory_allocated() / 2**20
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def overrides(args, weights: Path | None) -> list[str]:
    items = [
        "data.dataset='digits'", "data.root=''", "data.download=false", f"run.device='{args.device}'",
        f"run.threads={args.threads}", f"train.channels_last={'true' if args.device == 'cuda' else 'false'}",
        f"search.extractor='{args.extractor}'",
    ]
    if weights is not None:
        items.append(f"search.inception_weights='{weights}'")
    for key in ("ch", "df"):
        if getattr(args, key):
            items.append(f"model.{key}={getattr(args, key)}")
    if args.batch:
        items.append(f"train.batch_size={args.batch}")
    if args.reward_samples:
        items.append(f"search.reward_samples={args.reward_samples}")
    return items + list(args.set)


def measure_stage(trainer: SupernetTrainer, space: SearchSpace, stage: int, steps: int, warmup: int, device: str) -> dict:
    archs = [space.prefix(space.sample(seed), stage) for seed in range(warmup + steps)]
    trainer.train(stage, archs[:warmup])  # cudnn autotuning and allocator growth happen here
    _sync(device)
    _reset_peak(device)
    started = time.perf_counter()
    result = trainer.train(stage, archs[warmup:])
    _sync(device)
    seconds = time.perf_counter() - started
    # A collapse stops train() early; the rate counts the steps it actually ran.
    return {
        "stage": stage, "resolution": trainer.config.model.bottom_width * 2**stage,
        "d_steps": result["d_steps"], "seconds": seconds, "d_steps_per_s": result["d_steps"] / seconds,
        "collapsed": result["collapsed"], "peak_mib": _peak_mib(device),
    }


def _items(space: SearchSpace, start: int, count: int) -> list[dict]:
    return [{"key": [i], "arch": str(space.sample(i)), "seed": i} for i in range(start, start + count)]


def _evaluator_worker(config_dict: dict, weights: dict, rank: int, count: int, barrier, results) -> None:
    """One evaluator: build, score one warm-up item, wait for the others, score ``count`` items."""
    evaluator = RewardEvaluator(config_dict)
    space = SearchSpace(num_cells=evaluator.config.search.num_cells)
    box = {"version": 0, "ref": weights}
    evaluator.score(_items(space, 10_000 + rank, 1)[0], box)  # builds the extractor's kernels, loads weights
    device = evaluator.device.type
    _sync(device)
    _reset_peak(device)
    barrier.wait()
    started = time.perf_counter()
    scored = [evaluator.score(item, box) for item in _items(space, 1000 * rank, count)]
    _sync(device)
    results.put({
        "rank": rank, "started": started, "finished": time.perf_counter(), "peak_mib": _peak_mib(device),
        "errors": [r["error"] for r in scored if r["error"]],
    })


def measure_evaluators(config, weights: dict, evaluators: int, per_evaluator: int, mode: str) -> dict:
    """Rewards per minute with ``evaluators`` RewardEvaluators scoring at once on one device."""
    if mode == "process":
        context = multiprocessing.get_context("spawn")  # CUDA cannot be re-initialised in a fork
        barrier, results = context.Barrier(evaluators + 1), context.Queue()
        workers = [
            context.Process(target=_evaluator_worker, args=(config.to_dict(), weights, rank, per_evaluator, barrier, results))
            for rank in range(evaluators)
        ]
    else:
        import queue

        barrier, results = threading.Barrier(evaluators + 1), queue.Queue()
        workers = [
            threading.Thread(target=_evaluator_worker, args=(config.to_dict(), weights, rank, per_evaluator, barrier, results))
            for rank in range(evaluators)
        ]
    for worker in workers:
        worker.start()
    barrier.wait()
    started = time.perf_counter()
    reports = [results.get() for _ in workers]
    seconds = time.perf_counter() - started
    for worker in workers:
        worker.join()
    rewards = evaluators * per_evaluator
    return {
        "evaluators": evaluators, "mode": mode, "rewards": rewards, "seconds": seconds,
        "rewards_per_min": 60 * rewards / seconds,
        "peak_mib_per_evaluator": [r["peak_mib"] for r in sorted(reports, key=lambda r: r["rank"])],
        "errors": sorted({e for r in reports for e in r["errors"]}),
    }


def extrapolate(config, stages: list[dict], evaluators: list[dict]) -> dict:
    search, train = config.search, config.train
    d_seconds = [
        iterations * train.d_steps_per_iteration / stage["d_steps_per_s"]
        for iterations, stage in zip(search.stage_iterations, stages)
    ]
    # One reward per architecture per iteration, plus the beam search's candidates at each stage's end.
    rewards = sum(search.stage_iterations) * search.archs_per_iteration + search.beam_candidates * search.num_cells
    by_count = {row["evaluators"]: row["rewards_per_min"] for row in evaluators}
    count = config.run.evaluators if config.run.evaluators in by_count else max(by_count)
    reward_seconds = 60 * rewards / by_count[count]
    return {
        "stage_iterations": list(search.stage_iterations),
        "d_steps_per_iteration": train.d_steps_per_iteration,
        "rewards": rewards,
        "reward_samples": search.reward_samples,
        "evaluators": count,
        "training_hours_per_stage": [s / 3600 for s in d_seconds],
        "reward_hours": reward_seconds / 3600,
        "total_hours_no_overlap": (sum(d_seconds) + reward_seconds) / 3600,
        "note": "sum of training and rewards: assumes no overlap; controller, checkpoints and retraining left out",
    }


def _device_name(device: str) -> str:
    if device == "cuda":
        return torch.cuda.get_device_name()
    return f"cpu ({platform.processor() or platform.machine()}, {os.cpu_count()} cores)"


def print_report(report: dict) -> None:
    m = report["model"]
    print(f"cifar10 schedule slice on {report['device']}, torch {report['torch']}: ch {m['ch']} df {m['df']} "
          f"batch {m['batch']}, n_critic {m['n_critic']}, {report['train']['loss']} loss, "
          f"{report['train']['step']} steps, reward {m['reward_samples']} images ({m['extractor']})")
    memory = "peak MiB (max_memory_allocated)" if report["device_type"] == "cuda" else "peak RSS MiB (whole process)"
    print()
    print(f"| stage | resolution | D steps timed | D steps/s | {memory} |")
    print("|---|---|---|---|---|")
    for row in report["stages"]:
        flag = " (collapsed)" if row["collapsed"] else ""
        print(f"| {row['stage']} | {row['resolution']} | {row['d_steps']}{flag} | {row['d_steps_per_s']:.2f} | {row['peak_mib']:.0f} |")
    print()
    base = report["evaluators"][0]["rewards_per_min"]
    mode = report["evaluators"][0]["mode"]
    if report["device_type"] == "cuda":
        per = "peak MiB per evaluator (its own max_memory_allocated)"
    else:
        per = "peak RSS MiB per evaluator process" if mode == "process" else "peak RSS MiB (the one shared process)"
    print(f"| evaluators (each a {mode}) | rewards | rewards/min | vs 1 | {per} |")
    print("|---|---|---|---|---|")
    for row in report["evaluators"]:
        peaks = ", ".join(f"{p:.0f}" for p in row["peak_mib_per_evaluator"])
        print(f"| {row['evaluators']} | {row['rewards']} | {row['rewards_per_min']:.1f} | {row['rewards_per_min'] / base:.2f}x | {peaks} |")
    errors = sorted({e for row in report["evaluators"] for e in row["errors"]})
    if errors:
        print(f"failed rewards (rates still count them): {errors}")
    x = report["extrapolation"]
    print()
    print(f"full schedule ({x['stage_iterations']} iterations x {x['d_steps_per_iteration']:,} D steps, "
          f"{x['rewards']:,} rewards of {x['reward_samples']:,} images on {x['evaluators']} evaluators), no overlap:")
    hours = ", ".join(f"stage {i + 1} {h:.2f}" for i, h in enumerate(x["training_hours_per_stage"]))
    print(f"  training hours: {hours}; rewards {x['reward_hours']:.2f} h; total {x['total_hours_no_overlap']:.2f} h")
    if report["smoke"]:
        print("  (smoke sizes: these hours are not the preset's; only the GPU run's are)")


def write_json(report: dict, path: Path) -> None:
    from autogan.files import atomic_write_bytes

    atomic_write_bytes(path, (json.dumps(report, indent=2) + "\n").encode())


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--smoke", action="store_true", help="tiny sizes and few steps, for a CPU check of the script")
    parser.add_argument("--steps", type=int, help="timed D steps per stage (default 200; smoke 4)")
    parser.add_argument("--warmup", type=int, help="untimed D steps per stage (default 20; smoke 1)")
    parser.add_argument("--rewards", type=int, help="rewards scored per evaluator (default 4; smoke 2)")
    parser.add_argument("--ch", type=int, help="override model.ch (smoke 16)")
    parser.add_argument("--df", type=int, help="override model.df (smoke 16)")
    parser.add_argument("--batch", type=int, help="override train.batch_size (smoke 16)")
    parser.add_argument("--reward-samples", type=int, help="override search.reward_samples (smoke 100)")
    parser.add_argument("--extractor", help="inception-v3 (random weights) or digits-classifier (default: digits-classifier with --smoke)")
    # Ray runs each evaluator as its own process with its own CUDA context and allocator;
    # threads in one process share those and the GIL, so processes are the faithful default.
    parser.add_argument("--evaluators-in", choices=["process", "thread"], help="default process; thread with --smoke")
    parser.add_argument("--threads", type=int, default=0, help="torch CPU threads per process (0: torch's choice; smoke 1)")
    parser.add_argument("--set", nargs="*", default=[], help="further config overrides, key=value")
    parser.add_argument("--out", type=Path, help="JSON path (default bench/results/gpu_schedule.json, _cpu_smoke with --smoke)")
    args = parser.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda: no CUDA device is visible; use --smoke on the CPU")
    smoke = args.smoke
    defaults = dict(steps=4, warmup=1, rewards=2, ch=16, df=16, batch=16, reward_samples=100,
                    extractor="digits-classifier", evaluators_in="thread", threads=1) if smoke else \
        dict(steps=200, warmup=20, rewards=4, extractor="inception-v3", evaluators_in="process")
    for key, value in defaults.items():
        if getattr(args, key) in (None, 0):
            setattr(args, key, value)
    if args.threads:
        torch.set_num_threads(args.threads)

    with tempfile.TemporaryDirectory() as tmp:
        weights_file = None
        if args.extractor == "inception-v3":
            from autogan.metrics.testing import random_inception_state_dict

            weights_file = Path(tmp) / "random-inception.pth"
            torch.save(random_inception_state_dict(seed=0), weights_file)
        config = load_config("cifar10", overrides(args, weights_file))
        trainer = SupernetTrainer(config.to_dict())
        space = SearchSpace(num_cells=config.search.num_cells)
        stages = []
        for stage in range(1, config.search.num_cells + 1):
            stages.append(measure_stage(trainer, space, stage, args.steps, args.warmup, args.device))
            print(f"stage {stage}: {stages[-1]['d_steps_per_s']:.2f} D steps/s", file=sys.stderr, flush=True)
        weights = trainer.weights()
        del trainer
        if args.device == "cuda":
            torch.cuda.empty_cache()  # the evaluators, not the finished trainer, should own the device now
        evaluators = []
        for count in EVALUATOR_COUNTS:
            evaluators.append(measure_evaluators(config, weights, count, args.rewards, args.evaluators_in))
            print(f"{count} evaluators: {evaluators[-1]['rewards_per_min']:.1f} rewards/min", file=sys.stderr, flush=True)

    report = {
        "benchmark": "gpu_schedule",
        "device": _device_name(args.device),
        "device_type": args.device,
        "torch": torch.__version__,
        "python": platform.python_version(),
        "threads": torch.get_num_threads(),
        "smoke": smoke,
        "steps": args.steps, "warmup": args.warmup, "rewards_per_evaluator": args.rewards,
        "model": {"ch": config.model.ch, "df": config.model.df, "batch": config.train.batch_size,
                  "n_critic": config.train.n_critic, "reward_samples": config.search.reward_samples,
                  "extractor": config.search.extractor},
        "train": {"loss": config.train.loss, "step": config.train.step, "channels_last": config.train.channels_last,
                  "bf16": config.train.bf16},
        "stages": stages,
        "evaluators": evaluators,
        "extrapolation": extrapolate(config, stages, evaluators),
    }
    print_report(report)
    name = "gpu_schedule_cpu_smoke.json" if smoke else f"gpu_schedule{'' if args.device == 'cuda' else '_cpu'}.json"
    out = args.out or ROOT / "bench" / "results" / name
    write_json(report, out)
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
