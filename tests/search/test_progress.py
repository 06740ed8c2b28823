"""Following a run: its directory named first, progress lines in a log, samples and settings in TensorBoard."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

from autogan.search._progress import Progress

ROOT = Path(__file__).resolve().parents[2]
LINE = re.compile(
    r"progress: (stage \d+/\d+, iteration \d+ of \d+ \(run: \d+ of \d+\)|stage \d+/\d+, scoring the beam candidates|"
    r"final re-scoring of the top candidates), \d+s in; [\d.]+ D steps/s, [\d.]+ rewards/min; "
    r"(ETA (\d+m)?\d+s \(policy iterations left: \d+\)|ETA after the first iteration|policy iterations done)$"
)


def test_progress_counts_iterations_and_predicts_from_the_recent_ones():
    progress = Progress([3, 2], 0, interactive=False, every=0)
    try:
        progress.begin(1, 0, "policy")
        assert "iteration 1 of 3 (run: 1 of 5)" in progress.describe()
        assert progress.describe().endswith("ETA after the first iteration")
        for seconds in (10.0, 20.0, 30.0, 40.0):
            progress.iteration_done({"d_steps": 100, "seconds": seconds}, rewards=3)
        progress.begin(2, 1, "policy")
        line = progress.describe()
        assert LINE.search(line), line
        # One iteration left, at the mean of the last three (20, 30, 40 s).
        assert "iteration 2 of 2 (run: 5 of 5)" in line and line.endswith("ETA 30s (policy iterations left: 1)")
        assert progress.d_steps == 400 and progress.rewards == 12
        progress.moved_to(2)  # a recovery went back to the checkpoint after iteration 2
        progress.begin(1, 2, "policy")
        assert "iteration 3 of 3 (run: 3 of 5)" in progress.describe()
    finally:
        progress.close()


def test_a_logged_search_names_its_directory_first_and_reports_progress(tmp_path, tiny_overrides_for):
    run = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "autogan.cli", "search", "--out", str(run), "--progress-every", "0.2",
         *tiny_overrides_for("run.backend='inprocess'")],
        capture_output=True, text=True, cwd=ROOT, timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stderr.splitlines()
    named = [i for i, line in enumerate(lines)
             if line.endswith(f"run directory: {run} (follow it: autogan inspect {run}; tensorboard --logdir {run}/tb)")]
    searching = [i for i, line in enumerate(lines) if " progress: " in line or " stage 1 iter " in line]
    assert len(named) == 1 and searching and named[0] < min(searching), done.stderr[-3000:]  # named before any work
    progress = [line for line in lines if " progress: " in line]
    assert progress, done.stderr[-3000:]
    for line in progress:
        assert LINE.search(line), line

    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    events = EventAccumulator(str(run / "tb"), size_guidance={"images": 0})
    events.Reload()
    iterations = len((run / "iterations.jsonl").read_text().splitlines())
    grids = events.Images("search/samples_of_the_best")
    assert 0 < len(grids) <= iterations and len({g.step for g in grids}) == len(grids)
    assert "config/text_summary" in events.Tags()["tensors"]
    # The ranked architectures' own samples from the final supernet, for the report.
    top_k = len(json.loads((run / "state.json").read_text())["top"])
    assert top_k > 0 and len(list((run / "samples").glob("final_arch-*.png"))) == top_k
    assert "_hparams_/session_start_info" in events.PluginTagToContent("hparams")
