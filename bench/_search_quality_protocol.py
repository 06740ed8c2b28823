"""The end-to-end search-quality bench's protocol: what runs, where pieces are cached, and their names.

Shared by ``search_quality.py`` (running the pieces), ``_search_quality_stats.py`` (the
statistics over them) and ``_search_quality_report.py`` (the table and charts).
"""

from __future__ import annotations

import hashlib

from _pieces import CACHE_ROOT, ROOT

RESULTS = ROOT / "bench" / "results"
PIECES = RESULTS / "search_quality"
CACHE = CACHE_ROOT / "search_quality"
SUMMARY = RESULTS / "search_quality.json"

CONTROLLERS = ("rnn", "random", "tpe")
REWARDS = ("is", "fid")  # search.reward: the searches run with each
NORM_MODES = ("running", "recalibrate", "batch")
# Every search and retrain runs on one core; the in-process backend keeps a search in
# one process (a deterministic one, with a fixed thread count).
# The protocol is the digits preset as it stood when the first searches were cached (ch 32, 250 D
# steps an iteration, stages [4, 5, 6]); the preset has since been made cheaper, and every search
# compared here must run the same protocol.
SEARCH_PROTOCOL = ["model.ch=32", "model.df=32", "train.d_steps_per_iteration=250", "search.stage_iterations=[4,5,6]"]
SEARCH_OVERRIDES = ["run.backend='inprocess'", "run.threads=1", "run.overlap=false", *SEARCH_PROTOCOL]
RETRAIN_PRESET = "digits"
# What the retrain's evaluations do does not change its training: only the final
# checkpoint is scored, on more images, so FID's own noise is small against the spread.
RETRAIN_EVAL = ["run.threads=1", "eval.at_start=false", "eval.score_raw=false", "eval.samples=2000"]
# Every retrain cached here ran before one-stage retraining honoured train.g_batch_size: G trained
# on the merged step's 32 fakes, not the preset's 64.  Pinning 32 reproduces those runs exactly
# (the same stream of draws), so it stays out of the fingerprint that keys them.
LEGACY_G_BATCH = "train.g_batch_size=32"
PROXY_SOURCE = ("rnn", 0)
PROXY_POOL = 60  # random architectures scored once to find the reward range
FIDELITY_SAMPLES = (500, 2000)  # the preset's reward_samples, and four times as many


def recipe_fingerprint() -> str:
    """The retrain preset's text plus the bench's overrides: a changed recipe is a new cache key."""
    preset = (ROOT / "configs" / f"retrain_{RETRAIN_PRESET}.toml").read_text()
    return hashlib.sha1((preset + "\n".join(RETRAIN_EVAL)).encode()).hexdigest()[:10]


def search_name(controller: str, seed: int, reward: str = "is") -> str:
    """The cache name of a search; the Inception Score searches keep the names they were cached under."""
    return f"{controller}-s{seed}" if reward == "is" else f"{controller}-{reward}-s{seed}"

