"""Two run directories compared file for file, wall-clock fields aside: what a resume must leave."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from autogan.checkpoints import load_checkpoint_file


# Wall-clock fields: the only part of a record that a crash and resume may change.
WALL_CLOCK_KEYS = frozenset({"time", "seconds", "train_seconds"})


def _without_wall_clock(value):
    if isinstance(value, dict):
        return {k: _without_wall_clock(v) for k, v in value.items() if k not in WALL_CLOCK_KEYS}
    if isinstance(value, (list, tuple)):
        return [_without_wall_clock(v) for v in value]
    if hasattr(value, "detach"):  # a tensor: its exact bytes
        tensor = value.detach().cpu().contiguous()
        return ("tensor", str(tensor.dtype), tuple(tensor.shape), hashlib.sha256(tensor.numpy().tobytes()).hexdigest())
    return value


def _tensorboard_values(tb_dir: Path) -> list:
    """Every scalar and text the run logged, as (tag, step, value), however many event files hold them."""
    from tensorboard.backend.event_processing.event_file_loader import EventFileLoader

    values = set()
    for path in sorted(tb_dir.glob("events.out.tfevents.*")):
        for event in EventFileLoader(str(path)).Load():
            for value in event.summary.value:
                plugin = value.metadata.plugin_data.plugin_name
                if plugin == "hparams":  # its session info carries the start time
                    continue
                content = value.simple_value if value.WhichOneof("value") == "simple_value" else value.tensor.SerializeToString()
                values.add((value.tag, event.step, content))
    return sorted(values, key=repr)


def record_contents(run_dir: Path) -> dict:
    """Every file of a run directory as a comparable value, without its wall-clock fields.

    Two runs of the same config on the CPU (fixed threads) compute the same thing bit for bit,
    so a resumed run must leave exactly what an uninterrupted one does, file for file.
    """
    run_dir = Path(run_dir)
    contents = {}
    for path in sorted(p for p in run_dir.rglob("*") if p.is_file()):
        name = path.relative_to(run_dir).as_posix()
        if name == ".lock" or name.startswith("tb/"):  # the lock names a pid; TensorBoard is read below
            continue
        if path.suffix == ".jsonl":
            contents[name] = [_without_wall_clock(json.loads(line)) for line in path.read_text().splitlines()]
        elif path.suffix == ".json":
            contents[name] = _without_wall_clock(json.loads(path.read_text()))
        elif path.suffix == ".pt":
            contents[name] = _without_wall_clock(load_checkpoint_file(path))
        else:
            contents[name] = hashlib.sha256(path.read_bytes()).hexdigest()
    contents["tb"] = _tensorboard_values(run_dir / "tb")
    return contents


def assert_same_record(got: Path, want: Path) -> None:
    got_contents, want_contents = record_contents(got), record_contents(want)
    assert sorted(got_contents) == sorted(want_contents), "the run directories hold different files"
    for name in want_contents:
        assert got_contents[name] == want_contents[name], f"{name} differs from the uninterrupted run's"
