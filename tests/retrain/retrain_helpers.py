"""Shared by the retrain tests: a CI-sized recipe on the built-in digits and a tiny run record."""

from __future__ import annotations

import json
from pathlib import Path

from search_spaces import AUTOGAN_TOP1

from autogan.config import load_config
from autogan.search import RunDirectory

# 16 px digits (bottom width 2), narrow networks: a few seconds of CPU per hundred G steps.
TINY = [
    "model.bottom_width=2",
    "model.ch=16",
    "model.df=16",
    "model.latent_dim=32",
    "train.d_batch_size=16",
    "train.g_batch_size=32",
    "train.n_critic=2",
    "train.ema_decay=0.95",
    "train.ema_start=100",
    "eval.samples=1000",
    "eval.checkpoint_every=10",
    "run.threads=1",
]

SECOND = "post,bn,deconv,nosc | pre,in,nearest,sc,skip=1 | pre,none,bilinear,sc,skip=2"


def write_run(path: Path) -> Path:
    """A finished search record with two full architectures, TOP1 ranked first."""
    config = load_config("digits", ["search.stage_iterations=[1,1,1]", "run.backend='inprocess'"])
    record = RunDirectory.create(path, config)
    for index, (arch, reward) in enumerate([(str(AUTOGAN_TOP1), 4.0), (SECOND, 3.0)]):
        record.append_evaluation(
            {"stage": 3, "iteration": 0, "kind": "policy", "index": index, "arch": arch, "autogan_vector": None,
             "reward": reward, "is_std": 0.1, "error": None, "seconds": 1.0, "time": 0.0}
        )
    record.write_state({"stage": 3, "iteration": 1, "phase": "done", "global_iteration": 3, "beam": [], "controller": "rnn"})
    return path


def read_metrics(out: Path) -> list[dict]:
    return [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines()]
