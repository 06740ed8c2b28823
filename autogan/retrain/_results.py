"""What the retrainings under a search's run directory (``RUN/retrain/*/``) have scored so far."""

from __future__ import annotations

import json
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from search_spaces import Architecture


@dataclass(frozen=True)
class RetrainScore:
    """The newest EMA evaluation of one retraining, and how long its recipe is."""

    out_dir: Path
    g_step: int
    g_steps: int | None
    fid: float
    is_mean: float
    samples: int | None = None
    extractor: str | None = None

    @property
    def finished(self) -> bool:
        return self.g_steps is not None and self.g_step >= self.g_steps

    @property
    def grid(self) -> Path | None:
        """The sample grid of this evaluation's generator, when the retraining wrote one."""
        path = self.out_dir / "samples" / f"step{self.g_step:06d}.png"
        return path if path.is_file() else None

    def to_dict(self) -> dict[str, Any]:
        return {"fid": self.fid, "is_mean": self.is_mean, "g_step": self.g_step, "g_steps": self.g_steps,
                "finished": self.finished, "samples": self.samples, "extractor": self.extractor,
                "out_dir": str(self.out_dir)}

    def describe(self) -> str:
        # Which features and how many samples: a digits-classifier FID is no Inception FID, and a
        # FID on 1,000 samples sits above one on 50,000.
        basis = ", ".join(p for p in (f"{self.samples:,} samples" if self.samples else "",
                                      f"{self.extractor} features" if self.extractor else "") if p)
        basis = f"; {basis}" if basis else ""
        scores = f"FID {self.fid:.2f}, IS {self.is_mean:.2f}"
        if self.finished:
            return f"{scores} (final, G step {self.g_step}{basis})"
        total = f" of {self.g_steps}" if self.g_steps is not None else ""
        return f"in progress, at G step {self.g_step}{total}: {scores} so far{basis}"


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
            g_steps, extractor = _recipe(out)
            found = RetrainScore(out, int(newest["g_step"]), g_steps, float(newest["fid"]), float(newest["is_mean"]),
                                 samples=newest.get("samples"), extractor=extractor)
    return found


def _recipe(out: Path) -> tuple[int | None, str | None]:
    """The recipe's G steps and the extractor its scores are in, from the retraining's config."""
    try:
        config = tomllib.loads((out / "config.toml").read_text())
    except (OSError, ValueError):
        return None, None
    try:
        g_steps = int(config["train"]["g_steps"])
    except (KeyError, TypeError, ValueError):
        g_steps = None
    extractor = config.get("eval", {}).get("extractor") if isinstance(config.get("eval"), dict) else None
    return g_steps, extractor
