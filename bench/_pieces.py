"""What the long benchmarks share: cached JSON pieces, logged CLI runs on one core, a priority scheduler.

A piece is one unit of work (a search, a retrain) whose result is a JSON file; it is computed
once, written atomically, and read back on every later run, so a bench can stop anywhere and
continue where it stopped.
"""

from __future__ import annotations

import heapq
import json
import os
import subprocess
import sys
import threading
import time
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from pathlib import Path
from typing import Any, Callable

ROOT = Path(__file__).resolve().parents[1]
# What a bench computes in its own process (a resampling, a reward) runs this checkout's code, as
# its subprocesses do (they start in ROOT): not whatever checkout the environment installed.
sys.path.insert(0, str(ROOT))
# Run directories of unfinished pieces live outside the checkout, which a new session lays anew:
# a machine that is kept between sessions then resumes them where they stopped.
CACHE_ROOT = Path(os.environ.get("AUTOGAN_BENCH_CACHE") or Path.home() / ".cache" / "autogan" / "bench")


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "autogan.cli", *args]


def run_logged(command: list[str], log_path: Path, *, nice: int = 0) -> str:
    """Run a CLI command with one torch thread; its stdout is returned, stderr kept in ``log_path``.

    ``nice`` lowers the job's priority, so that work done beside a background bench (tests, an
    editor) is not slowed by it; what such a bench measures is never its own speed.
    """
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "PYTHONUNBUFFERED": "1"}
    log_path.parent.mkdir(parents=True, exist_ok=True)
    # stdout goes to a file, not a pipe: a job whose bench was stopped then finishes and keeps
    # its answer, instead of dying on a broken pipe when it prints it.
    out_path = log_path.with_suffix(".out")
    with open(log_path, "w") as stderr, open(out_path, "w") as stdout:
        done = subprocess.run(command, stdout=stdout, stderr=stderr, text=True, cwd=ROOT, env=env,
                              preexec_fn=(lambda: os.nice(nice)) if nice else None)
    if done.returncode != 0:
        raise RuntimeError(f"{' '.join(command[2:])} exited {done.returncode}; see {log_path}")
    return out_path.read_text()


def retrain_command(out: Path, arch: str, preset: str, seed: int, overrides: list[str]) -> list[str]:
    """``autogan retrain`` of ``arch`` into ``out``, or its resume where an earlier run left it."""
    if (out / "config.toml").exists():
        return cli("retrain", "--resume", str(out), "--json")
    return cli("retrain", "--arch", arch, "--config", preset, "--out", str(out), "--json",
               f"run.seed={seed}", *[f"--set={o}" for o in overrides])


def read_json(path: Path) -> Any:
    return json.loads(path.read_text()) if path.exists() else None


def write_json(path: Path, data: Any) -> None:
    from autogan.files import atomic_write_bytes

    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(path, (json.dumps(data, indent=1) + "\n").encode())


# --------------------------------------------------------------------------- scheduling


class Scheduler:
    """Up to ``jobs`` pieces at once, by priority; a finished piece may add more."""

    def __init__(self, jobs: int):
        self.pool = ThreadPoolExecutor(jobs)
        self.jobs = jobs
        self.queue: list[tuple[int, int, str, Callable[[], Any], Callable[[Any], None] | None]] = []
        self.counter = 0
        self.lock = threading.Lock()
        self.failures: list[str] = []

    def add(self, priority: int, name: str, work: Callable[[], Any], then: Callable[[Any], None] | None = None) -> None:
        with self.lock:
            heapq.heappush(self.queue, (priority, self.counter, name, work, then))
            self.counter += 1

    def run(self, deadline: float | None) -> None:
        running: dict[Future, tuple[str, Callable[[Any], None] | None, float]] = {}
        while self.queue or running:
            while self.queue and len(running) < self.jobs and (deadline is None or time.time() < deadline):
                _, _, name, work, then = heapq.heappop(self.queue)
                running[self.pool.submit(work)] = (name, then, time.time())
                log(f"start {name}")
            if not running:
                break
            done, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in done:
                name, then, started = running.pop(future)
                try:
                    result = future.result()
                except Exception as exc:  # one failed piece must not stop the others
                    self.failures.append(f"{name}: {exc}")
                    log(f"FAILED {name}: {exc}")
                    continue
                log(f"done {name} ({(time.time() - started) / 60:.1f} min)")
                if then is not None:
                    then(result)
        self.pool.shutdown()


def spread_order(n: int) -> list[int]:
    """0..n-1, each next index as far as possible from those already taken (ties: the lower)."""
    order: list[int] = []
    for _ in range(n):
        order.append(max((i for i in range(n) if i not in order),
                         key=lambda i: (min((abs(i - j) for j in order), default=n), -i)))
    return order




def run_plan(plan: Callable[["Scheduler", Any], None], args: Any) -> list[str]:
    """``plan``'s pieces on ``args.jobs`` jobs, starting none after ``args.hours`` (if given); the failures."""
    scheduler = Scheduler(args.jobs)
    plan(scheduler, args)
    hours = getattr(args, "hours", None)
    scheduler.run(time.time() + hours * 3600 if hours else None)
    for failure in scheduler.failures:
        log(f"failed: {failure}")
    return scheduler.failures


def publish(summary: Any, path: Path, table: Callable[[Any], str]) -> None:
    """Write a bench's summary JSON and print its table."""
    write_json(path, summary)
    print(table(summary))
    log(f"wrote {path}")
