"""How far a search has come: a progress bar on a terminal, a line every few seconds in a log.

A log (``ray job logs``, CI, nohup) gets no bar, so a heartbeat thread writes a line at most every
``every`` seconds, also in the middle of a long iteration: where the run stands, how long the
current phase has taken, the D-step and reward rates, and an ETA.

The ETA sums over stages (iterations left in the stage) x (that stage's time an iteration): the
mean of the stage's own recent iterations, since a 32 px stage-3 iteration takes several times a
16 px stage-2 one.  A stage not timed yet is estimated from the nearest timed stage, scaled by the
ratio of their step costs (``stage_costs``, by default the output's pixel count), and the line says
so until that stage's first iteration ends.  The beam and final re-scoring phases are not counted.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from autogan.log import logger

RECENT = 3  # a stage's iterations whose mean duration predicts the rest of that stage


class Progress:
    def __init__(
        self,
        stage_iterations: list[int],
        done_iterations: int,
        *,
        interactive: bool | None,
        every: float,
        stage_costs: list[float] | None = None,
    ):
        """``stage_costs``: the relative cost of a policy iteration's step at each stage
        (``autogan.search._stage_cost.stage_step_macs``); None: the pixel count, 4x a stage."""
        from tqdm.auto import tqdm

        if stage_costs is None:
            stage_costs = [4.0**stage for stage in range(1, len(stage_iterations) + 1)]
        if len(stage_costs) != len(stage_iterations) or not all(c > 0 for c in stage_costs):
            raise ValueError(
                f"Progress: stage_costs={list(stage_costs)!r} must hold one positive cost per stage "
                f"({len(stage_iterations)}); pass None for the pixel-count default"
            )
        self.stage_iterations = stage_iterations
        self.stage_costs = [float(c) for c in stage_costs]
        self.total = sum(stage_iterations)
        self.done = done_iterations
        self.interactive = sys.stderr.isatty() if interactive is None else interactive
        self.every = every
        self.started = time.monotonic()
        self.d_steps = 0
        self.rewards = 0
        self.stage_durations: dict[int, list[float]] = {}
        self.where = "starting"
        self.phase_started = self.started
        self._last_line = self.started
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.bar = tqdm(total=self.total, initial=done_iterations, desc="search", unit="iter", disable=not self.interactive)
        self._thread = None
        if not self.interactive and every > 0:
            self._thread = threading.Thread(target=self._heartbeat, name="autogan-progress", daemon=True)
            self._thread.start()

    def begin(self, stage: int, iteration: int, phase: str) -> None:
        """A phase starts: a policy iteration, a stage's beam, or the final re-scoring."""
        with self._lock:
            if phase == "policy":
                self.where = (f"stage {stage}/{len(self.stage_iterations)}, iteration {iteration + 1} of "
                              f"{self.stage_iterations[stage - 1]} (run: {self.done + 1} of {self.total})")
            elif phase == "beam":
                self.where = f"stage {stage}/{len(self.stage_iterations)}, scoring the beam candidates"
            else:
                self.where = "final re-scoring of the top candidates"
            self.phase_started = time.monotonic()
        self.bar.set_postfix_str(f"stage {stage}/{len(self.stage_iterations)}", refresh=False)
        if phase == "policy" and iteration == 0 and self._thread is not None:
            # A stage may end before the next heartbeat (stage 1 of the default search takes 14 s):
            # its estimate is logged as it starts, to be held against the time it takes.
            self._line()

    def iteration_done(self, row: dict[str, Any]) -> None:
        """A policy iteration's row is complete (its rewards were counted by ``rewards_done``)."""
        with self._lock:
            self.done += 1
            self.d_steps += int(row.get("d_steps") or 0)
            self.stage_durations.setdefault(int(row["stage"]), []).append(float(row["seconds"]))
        self.bar.set_postfix_str(self._rates(), refresh=False)
        self.bar.update(1)

    def rewards_done(self, count: int) -> None:
        with self._lock:
            self.rewards += count

    def moved_to(self, done_iterations: int) -> None:
        """After a recovery went back to the last checkpoint."""
        with self._lock:
            self.done = done_iterations
        self.bar.n = done_iterations
        self.bar.refresh()

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self.bar.close()

    def describe(self) -> str:
        """One line: where the run stands, for how long, the rates, and the ETA."""
        with self._lock:
            phase_for = time.monotonic() - self.phase_started
            return f"progress: {self.where}, {_duration(phase_for)} in; {self._rates()}; {self._eta()}"

    def _rates(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-9)
        return f"{self.d_steps / elapsed:.1f} D steps/s, {60 * self.rewards / elapsed:.1f} rewards/min"

    def _eta(self) -> str:
        if self.done >= self.total:
            return "policy iterations done"
        left = self._left_per_stage()
        remaining, estimated = 0.0, []
        for stage, count in enumerate(left, start=1):
            if count == 0:
                continue
            per_iteration, measured = self._per_iteration(stage)
            if per_iteration is None:
                return "ETA after the first iteration"
            remaining += count * per_iteration
            if not measured:
                estimated.append(stage)
        if not estimated:
            return f"ETA {_duration(remaining)} (policy iterations left: {self.total - self.done})"
        stages = f"stage {estimated[0]}" if len(estimated) == 1 else "stages " + ", ".join(map(str, estimated))
        return f"ETA ~{_duration(remaining)} (estimated for {stages}; policy iterations left: {self.total - self.done})"

    def _left_per_stage(self) -> list[int]:
        left, start = [], 0
        for count in self.stage_iterations:
            left.append(max(0, min(count, start + count - self.done)))
            start += count
        return left

    def _per_iteration(self, stage: int) -> tuple[float | None, bool]:
        """A stage's seconds per iteration, and whether they were measured on that stage."""
        own = self.stage_durations.get(stage)
        if own:
            recent = own[-RECENT:]
            return sum(recent) / len(recent), True
        timed = sorted(self.stage_durations, key=lambda s: (s > stage, abs(s - stage)))  # earlier stages first
        if not timed:
            return None, False
        source = timed[0]
        rate, _ = self._per_iteration(source)
        return rate * self.stage_costs[stage - 1] / self.stage_costs[source - 1], False

    def _line(self) -> None:
        logger.info("%s", self.describe())
        self._last_line = time.monotonic()

    def _heartbeat(self) -> None:
        while not self._stop.wait(min(self.every, 5.0)):
            if time.monotonic() - self._last_line >= self.every:
                self._line()


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes}m{seconds:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"
