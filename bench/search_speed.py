"""Search throughput: D steps per second, rewards per minute, evaluator scaling, overlap, and
an extrapolation of the paper's full schedule.

    python bench/search_speed.py                 # CPU: digits preset + cifar10 model sizes
    python bench/search_speed.py --device cuda   # the same on a GPU
    python bench/search_speed.py --quick         # fewer steps, for a smoke run

Every number is a ratio or a rate measured in this run, on this machine.  The cifar10
model sizes (ch 128 / df 64, D batch 64, 32 px, 3 channels) train on the built-in digits
replicated to RGB, since CIFAR-10 is not on disk here: the content does not change the
arithmetic.  The cifar10 reward uses torch-fidelity's Inception architecture with seeded
random weights: same cost as the real weights.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from pathlib import Path

import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from search_spaces import SearchSpace  # noqa: E402

from autogan.config import load_config  # noqa: E402
from autogan.search import RewardEvaluator, SupernetTrainer  # noqa: E402

PAPER_D_STEPS = 762_450  # 65 iterations x 11,730 D steps
PAPER_REWARDS = 1_980
PAPER_REWARD_IMAGES = 5_000
AUTOGAN_CITED_SECONDS = 2 * 24 * 3600


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


def d_steps_per_second(config, stage: int, steps: int, warmup: int) -> float:
    trainer = SupernetTrainer(config.to_dict())
    space = SearchSpace(num_cells=config.search.num_cells)
    archs = [space.prefix(space.sample(seed), stage) for seed in range(warmup + steps)]
    trainer.train(stage, archs[:warmup])
    _sync(config.run.device)
    started = time.perf_counter()
    trainer.train(stage, archs[warmup:])
    _sync(config.run.device)
    return steps / (time.perf_counter() - started)


def reward_seconds(config, count: int) -> float:
    """Mean seconds per reward (one IS of ``search.reward_samples`` images) on one evaluator."""
    evaluator = RewardEvaluator(config.to_dict())
    weights = SupernetTrainer(config.to_dict()).weights()
    box = {"version": 0, "ref": weights}
    space = SearchSpace(num_cells=config.search.num_cells)
    evaluator.score({"key": [0], "arch": str(space.sample(0)), "seed": 0}, box)  # warm-up
    started = time.perf_counter()
    for index in range(count):
        evaluator.score({"key": [index], "arch": str(space.sample(index + 1)), "seed": index}, box)
    return (time.perf_counter() - started) / count


def evaluator_scaling(config, rewards: int) -> dict[str, float]:
    """Rewards per minute with 1 and 2 Ray evaluator actors on the same batch of architectures."""
    from workers import ActorPool, RayBackend, Resources

    backend = RayBackend()
    space = SearchSpace(num_cells=config.search.num_cells)
    weights = SupernetTrainer(config.to_dict()).weights()
    box = {"version": 0, "ref": backend.put(weights)}
    items = [{"key": [i], "arch": str(space.sample(i)), "seed": i} for i in range(rewards)]
    out = {}
    try:
        for count in (1, 2):
            actors = [
                backend.actor(RewardEvaluator, config.to_dict(), resources=Resources(num_cpus=1)) for _ in range(count)
            ]
            pool = ActorPool(backend, actors)
            pool.map("score", items[:count], box)  # warm-up: build the extractor, load weights
            started = time.perf_counter()
            pool.map("score", items, box)
            out[f"{count}_evaluators_rewards_per_min"] = 60 * rewards / (time.perf_counter() - started)
    finally:
        backend.shutdown()
    out["speedup_2_vs_1"] = out["2_evaluators_rewards_per_min"] / out["1_evaluators_rewards_per_min"]
    return out


def overlap_ratio(overrides: list[str]) -> dict[str, float]:
    """Wall-clock of the same short digits search with and without overlapping rewards and training."""
    from autogan.search import run_search

    seconds = {}
    for overlap in (False, True):
        config = load_config("digits", overrides + [f"run.overlap={str(overlap).lower()}"])
        with tempfile.TemporaryDirectory() as run_dir:
            started = time.perf_counter()
            run_search(config, Path(run_dir) / "run", progress=False)
            seconds[overlap] = time.perf_counter() - started
    return {"seconds_sequential": seconds[False], "seconds_overlap": seconds[True], "speedup": seconds[False] / seconds[True]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cpu", choices=["cpu", "cuda"])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--skip-ray", action="store_true", help="skip the evaluator-scaling and overlap runs")
    parser.add_argument("--out", type=Path, help="JSON path (default bench/results/search_speed_<device>.json)")
    args = parser.parse_args()
    steps = 10 if args.quick else 40
    device = args.device

    results: dict = {"device": device, "torch": torch.__version__, "machine": platform.machine(), "threads": torch.get_num_threads()}
    if device == "cuda":
        results["gpu"] = torch.cuda.get_device_name()

    digits = load_config("digits", [f"run.device='{device}'", "run.threads=0"])
    results["digits"] = {
        f"stage{stage}_d_steps_per_s": d_steps_per_second(digits, stage, steps, 3) for stage in (1, 2, 3)
    }
    per_reward = reward_seconds(digits, 3 if args.quick else 8)
    results["digits"]["rewards_per_min"] = 60 / per_reward
    results["digits"]["reward_images"] = digits.search.reward_samples

    paper = load_config(
        "cifar10",
        ["data.dataset='digits'", "data.root=''", "data.download=false", f"run.device='{device}'", "run.threads=0",
         "train.channels_last=" + ("true" if device == "cuda" else "false")],
    )
    paper_steps = max(3, steps // (4 if device == "cpu" else 1))
    results["cifar10_sizes"] = {"stage3_d_steps_per_s": d_steps_per_second(paper, 3, paper_steps, 2)}

    from autogan.metrics.testing import random_inception_state_dict

    with tempfile.TemporaryDirectory() as tmp:
        weights = Path(tmp) / "random-inception.pth"
        torch.save(random_inception_state_dict(seed=0), weights)
        images = 50 if device == "cpu" else 5000
        inception = load_config(
            "cifar10",
            ["data.dataset='digits'", f"run.device='{device}'", f"search.inception_weights='{weights}'",
             f"search.reward_samples={images}", "run.threads=0"],
        )
        per_image = reward_seconds(inception, 1) / images
    results["cifar10_sizes"]["inception_images_per_s"] = 1 / per_image
    d_seconds = PAPER_D_STEPS / results["cifar10_sizes"]["stage3_d_steps_per_s"]
    reward_seconds_total = PAPER_REWARDS * PAPER_REWARD_IMAGES * per_image
    results["paper_schedule_extrapolation"] = {
        "d_steps": PAPER_D_STEPS,
        "rewards": PAPER_REWARDS,
        "training_hours": d_seconds / 3600,
        "reward_hours_one_evaluator": reward_seconds_total / 3600,
        "total_hours_sequential": (d_seconds + reward_seconds_total) / 3600,
        "total_hours_overlapped": max(d_seconds, reward_seconds_total) / 3600,
        "speedup_vs_autogan_2_gpu_days": AUTOGAN_CITED_SECONDS / (d_seconds + reward_seconds_total),
        "note": "stage-3 step rate for every stage (stages 1-2 are cheaper), so this is an upper bound",
    }

    if not args.skip_ray:
        results["evaluator_scaling"] = evaluator_scaling(digits, 4 if args.quick else 8)
        short = [
            f"run.device='{device}'",
            "search.stage_iterations=[2, 2, 2]",
            "train.d_steps_per_iteration=40",
            "search.beam_candidates=4",
            "search.beam_width=2",
        ]
        results["overlap"] = overlap_ratio(short)

    print(f"search speed on {device} ({results.get('gpu', platform.processor() or platform.machine())}):")
    print("| measurement | value |\n|---|---|")
    for section, values in results.items():
        if isinstance(values, dict):
            for key, value in values.items():
                shown = f"{value:,.2f}" if isinstance(value, float) else value
                print(f"| {section}.{key} | {shown} |")
    out = args.out or ROOT / "bench" / "results" / f"search_speed_{device}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
