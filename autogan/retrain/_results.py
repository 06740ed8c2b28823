"""What the retrainings under a search's run directory (``RUN/retrain/*/``) have scored so far."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path

from search_spaces import Architecture


@dataclass(frozen=True)
class RetrainScore:
    """The newest EMA evaluation of one retraining, and how long its recipe is."""

    out_dir: Path
    g_step: int
    g_steps: int | None
    fid: float
    is_mean: float

    @property
    def finished(self) -> bool:
        return self.g_steps is not None and self.g_step >= self.g_steps

    def describe(self) -> str:
        where = "" if self.finished or self.g_steps is None else f" (G step {self.g_step} of {self.g_steps})"
        return f"FID {self.fid:.2f}, IS {self.is_mean:.2f}{where}"


def latest_retrain_score(run_dir: Path | str, arch: Architecture | str) -> RetrainScore | None:
    """The furthest-along retraining of ``arch`` under ``run_dir/retrain/``; None if there is none yet."""
    wanted = str(arch)
    found: RetrainScore | None = None
    for arch_file in sorted((Path(run_dir) / "retrain").glob("*/arch.json")):
        out = arch_file.parent
        try:
            if str(Architecture.from_dict(json.loads(arch_file.read_text()))) != wanted:
                continue
            rows = [json.loads(line) for line in (out / "metrics.jsonl").read_text().splitlines() if line.strip()]
        except (OSError, ValueError):
            continue  # a retraining that is starting, or damaged, has nothing to show yet
        rows = [r for r in rows if r.get("weights") == "ema" and r.get("fid") is not None]
        if not rows:
            continue
        newest = max(rows, key=lambda r: r["g_step"])
        if found is None or newest["g_step"] > found.g_step:
            found = RetrainScore(out, int(newest["g_step"]), _recipe_g_steps(out), float(newest["fid"]), float(newest["is_mean"]))
    return found


def _recipe_g_steps(out: Path) -> int | None:
    try:
        return int(tomllib.loads((out / "config.toml").read_text())["train"]["g_steps"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
