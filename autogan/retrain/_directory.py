"""The retrain directory: its files, created once, reopened to resume, one writer at a time.

```
OUT/
  config.toml        resolved RetrainConfig, written once
  arch.json          the architecture
  metrics.jsonl      one line per evaluation (G step, which weights, IS, FID)
  checkpoints/latest.pt   everything needed to resume; atomic
  checkpoints/best.pt     the generator of the lowest-FID evaluation
  samples/step{N}.png     a grid per evaluation
  summary.json       the final and the best scores, written at the end
  tb/                TensorBoard
```
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from search_spaces import Architecture

from autogan.config import RetrainConfig, read_toml
from autogan.errors import MissingFileError, UserError
from autogan.files import DirectoryLock, atomic_write_bytes, remove_dead_temporaries


class RetrainDirectory:
    """``OUT/``: config.toml, arch.json, metrics.jsonl, checkpoints/, samples/, summary.json and tb/."""

    def __init__(self, out_dir: Path | str):
        self.out_dir = Path(out_dir)

    @property
    def config_path(self) -> Path:
        return self.out_dir / "config.toml"

    @property
    def arch_path(self) -> Path:
        return self.out_dir / "arch.json"

    @property
    def latest_path(self) -> Path:
        return self.out_dir / "checkpoints" / "latest.pt"

    @property
    def best_path(self) -> Path:
        return self.out_dir / "checkpoints" / "best.pt"

    @property
    def metrics_path(self) -> Path:
        return self.out_dir / "metrics.jsonl"

    @property
    def tensorboard_dir(self) -> Path:
        return self.out_dir / "tb"

    def grid_path(self, g_step: int) -> Path:
        return self.out_dir / "samples" / f"step{g_step:06d}.png"

    def create(self, config: RetrainConfig, arch: Architecture, source_note: str) -> None:
        if self.out_dir.exists() and any(self.out_dir.iterdir()):
            raise UserError(
                f"retrain directory {self.out_dir}: exists and is not empty; pass --resume {self.out_dir} to "
                "continue it, or choose another --out"
            )
        self.out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(self.arch_path, (json.dumps({**arch.to_dict(), "source": source_note}, indent=2) + "\n").encode())
        atomic_write_bytes(self.config_path, config.to_toml().encode())

    def write_config(self, config: RetrainConfig) -> None:
        """Replace the recorded config (a resume that extends the run), atomically."""
        atomic_write_bytes(self.config_path, config.to_toml().encode())

    def read(self) -> tuple[RetrainConfig, Architecture]:
        """The recorded config and architecture of an existing directory."""
        if not self.config_path.is_file():
            raise MissingFileError(
                f"retrain directory {self.out_dir}: has no config.toml, so it is not an `autogan retrain` directory; "
                "pass the --out directory of an earlier retrain"
            )
        config = RetrainConfig.from_dict(read_toml(self.config_path), source=str(self.config_path))
        try:
            arch = Architecture.from_dict(json.loads(self.arch_path.read_text()))
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(f"retrain directory {self.out_dir}: arch.json cannot be read ({exc})") from None
        return config, arch

    def lock(self) -> DirectoryLock:
        return DirectoryLock(self.out_dir, what="retrain directory").acquire()

    def remove_dead_temporaries(self) -> None:
        """Temporaries of a writer that died; only the lock's holder may remove them."""
        remove_dead_temporaries(self.out_dir)

    def keep_metrics_upto(self, g_step: int) -> None:
        if not self.metrics_path.exists():
            return
        rows = []
        for raw in self.metrics_path.read_bytes().splitlines(keepends=True):
            if not raw.endswith(b"\n"):
                break
            row = json.loads(raw)
            if row["g_step"] <= g_step:
                rows.append(raw)
        atomic_write_bytes(self.metrics_path, b"".join(rows))

    def append_metrics(self, row: dict[str, Any]) -> None:
        with open(self.metrics_path, "ab") as handle:
            handle.write((json.dumps(row, sort_keys=True) + "\n").encode())

    def write_grid(self, g_step: int, png: bytes) -> None:
        atomic_write_bytes(self.grid_path(g_step), png)

    def write_summary(self, summary: dict[str, Any]) -> None:
        atomic_write_bytes(self.out_dir / "summary.json", (json.dumps(summary, indent=2) + "\n").encode())
