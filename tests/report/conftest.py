"""A synthetic run directory in the exact format `autogan search` writes, without training a GAN."""

from __future__ import annotations

import json
import random
import time
from pathlib import Path

import pytest
import torch

from search_spaces import AUTOGAN_TOP1, SearchSpace

from autogan.config import load_config
from autogan.search import RunDirectory
from autogan.images import png_bytes

STAGES = (3, 4, 4)
RESET_AT = 5  # the global iteration whose supernet collapsed


def write_synthetic_run(path: Path, *, stages=STAGES, finished: bool = True, seed: int = 0, overrides=()) -> RunDirectory:
    """Policy and beam rows, evaluations, state, sample grids; TOP1 gets the best rewards."""
    overrides = [f"search.stage_iterations={list(stages)}", "search.archs_per_iteration=3", "run.backend='inprocess'",
                 *overrides]
    config = load_config("digits", overrides)
    record = RunDirectory.create(path, config)
    space = SearchSpace(num_cells=config.search.num_cells)
    rng = random.Random(seed)
    draw = torch.Generator().manual_seed(seed)
    global_iteration = 0
    for stage, count in enumerate(stages, start=1):
        if not finished and stage == len(stages):
            break
        for iteration in range(count):
            rewards = []
            for index in range(3):
                arch = AUTOGAN_TOP1 if index == 0 and stage == 3 else space.sample(rng)
                arch = space.prefix(arch, stage)
                reward = None if (global_iteration, index) == (2, 2) else 1.0 + 0.1 * global_iteration + rng.random() * 0.3
                if arch == AUTOGAN_TOP1:
                    reward = 5.0 + 0.01 * iteration
                rewards.append(reward)
                record.append_evaluation(
                    {"stage": stage, "iteration": iteration, "kind": "policy", "index": index, "arch": str(arch),
                     "autogan_vector": list(arch.to_autogan_vector()), "reward": reward,
                     "is_std": None if reward is None else 0.05, "error": None if reward is not None else "ValueError: NaN images",
                     "seconds": 0.5, "time": time.time()}
                )
            valid = [r for r in rewards if r is not None]
            record.append_iteration(
                {"stage": stage, "iteration": iteration, "phase": "policy", "global_iteration": global_iteration,
                 "d_steps": 100, "loss_d": 1.6 - 0.05 * global_iteration, "loss_g": 0.4 + 0.03 * global_iteration,
                 "collapsed": global_iteration == RESET_AT, "reset": global_iteration == RESET_AT,
                 "reward_mean": sum(valid) / len(valid), "reward_max": max(valid), "failed_rewards": 3 - len(valid),
                 "entropy": 9.0 - 0.3 * global_iteration, "baseline": 1.0 + 0.05 * global_iteration,
                 "policy_loss": 0.1, "train_seconds": 3.0, "seconds": 4.0, "time": time.time()}
            )
            images = torch.rand(16, 1, 8 * 2**stage // 2, 8 * 2**stage // 2, generator=draw) * 2 - 1
            path_png = record.samples_dir / f"stage{stage}_iter{iteration:03d}.png"
            path_png.parent.mkdir(parents=True, exist_ok=True)
            path_png.write_bytes(png_bytes(images, nrow=4))
            global_iteration += 1
        beam_arch = space.prefix(AUTOGAN_TOP1, stage)
        record.append_iteration(
            {"stage": stage, "iteration": count, "phase": "beam", "global_iteration": global_iteration,
             "beam": [{"arch": str(beam_arch), "score": 4.0}], "time": time.time()}
        )
    state = {"stage": len(stages), "iteration": stages[-1], "phase": "done" if finished else "policy",
             "global_iteration": global_iteration, "beam": [], "controller": "rnn"}
    record.write_state(state)
    return record


@pytest.fixture(scope="session")
def synthetic_run(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("run") / "synthetic"
    write_synthetic_run(path)
    return path


@pytest.fixture()
def partial_run(tmp_path) -> Path:
    """A search still in stage 2, with a line it is in the middle of writing."""
    path = tmp_path / "partial"
    record = write_synthetic_run(path, finished=False)
    with open(record.evaluations_path, "a") as handle:
        handle.write(json.dumps({"stage": 2, "iteration": 4, "kind": "policy"})[:-8])
    return path


@pytest.fixture(scope="session")
def make_synthetic_run():
    """``write_synthetic_run`` for tests that need several runs of their own."""
    return write_synthetic_run
