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
    r"(ETA (\d+m)?\d+s \(policy iterations left: \d+\)|"
    r"ETA ~(\d+m)?\d+s \(estimated for stages? \d+(, \d+)*; policy iterations left: \d+\)|"
    r"ETA after the first iteration|policy iterations done)$"
)


def test_progress_counts_iterations_and_predicts_each_stage_from_its_own_iterations():
    progress = Progress([3, 2], 0, interactive=False, every=0)
    try:
        progress.begin(1, 0, "policy")
        assert "iteration 1 of 3 (run: 1 of 5)" in progress.describe()
        assert progress.describe().endswith("ETA after the first iteration")
        for stage, seconds in ((1, 10.0), (1, 20.0), (1, 30.0), (2, 40.0)):
            progress.rewards_done(3)
            progress.iteration_done({"stage": stage, "d_steps": 100, "seconds": seconds})
        progress.begin(2, 1, "policy")
        line = progress.describe()
        assert LINE.search(line), line
        # One iteration left, at stage 2's own 40 s (not the 30 s mean of the last three overall).
        assert "iteration 2 of 2 (run: 5 of 5)" in line and line.endswith("ETA 40s (policy iterations left: 1)")
        assert progress.d_steps == 400 and progress.rewards == 12
        progress.moved_to(2)  # a recovery went back to the checkpoint after iteration 2
        progress.begin(1, 2, "policy")
        line = progress.describe()
        # Stage 1's last iteration at its mean (20 s), then stage 2's two at 40 s each.
        assert "iteration 3 of 3 (run: 3 of 5)" in line and line.endswith("ETA 1m40s (policy iterations left: 3)")
    finally:
        progress.close()


def test_a_log_gets_each_stage_s_estimate_as_the_stage_starts(caplog):
    progress = Progress([2, 2], 0, interactive=False, every=3600)
    try:
        with caplog.at_level("INFO", logger="autogan"):
            progress.begin(1, 0, "policy")
            _iterations(progress, 1, 10.0, 10.0)
            progress.begin(1, 1, "policy")  # not a stage's start: no line before the heartbeat's
            progress.begin(2, 0, "policy")
            progress.begin(2, 1, "policy")
        lines = [record.getMessage() for record in caplog.records if record.getMessage().startswith("progress:")]
        assert len(lines) == 2, lines
        assert all(LINE.search(line) for line in lines), lines
        assert lines[0].endswith("ETA after the first iteration")
        # Stage 2's two iterations at stage 1's 10 s scaled by the pixel count (4x): 80 s.
        assert "stage 2/2, iteration 1 of 2" in lines[1] and "ETA ~1m20s (estimated for stage 2;" in lines[1]
    finally:
        progress.close()


def _iterations(progress, stage, *seconds):
    for value in seconds:
        progress.rewards_done(1)
        progress.iteration_done({"stage": stage, "d_steps": 10, "seconds": value})


def test_an_untimed_stage_is_estimated_from_the_previous_stage_scaled_by_its_step_cost():
    # The case: at the start of stage 3 the old ETA was 2 iterations x the last three's
    # mean (10, 30, 50 s: 1m00s); stage 3's steps cost 4x stage 2's.
    progress = Progress([3, 2, 2], 0, interactive=False, every=0, stage_costs=[1.0, 4.0, 16.0])
    try:
        _iterations(progress, 1, 10.0, 10.0, 10.0)
        progress.begin(2, 0, "policy")
        # Stage 2: 2 x 10 x 4 = 80 s; stage 3: 2 x 10 x 16 = 320 s, both estimated from stage 1.
        line = progress.describe()
        assert LINE.search(line), line
        assert line.endswith("ETA ~6m40s (estimated for stages 2, 3; policy iterations left: 4)"), line
        _iterations(progress, 2, 30.0, 50.0)
        progress.begin(3, 0, "policy")
        # Stage 3 from stage 2's own mean, 40 s x 16/4, two iterations.
        line = progress.describe()
        assert LINE.search(line), line
        assert line.endswith("ETA ~5m20s (estimated for stage 3; policy iterations left: 2)"), line
        _iterations(progress, 3, 100.0)
        progress.begin(3, 1, "policy")
        assert progress.describe().endswith("ETA 1m40s (policy iterations left: 1)")  # measured: no "~"
        _iterations(progress, 3, 110.0)
        assert progress.describe().endswith("policy iterations done")
    finally:
        progress.close()


def test_without_step_costs_a_stage_is_scaled_by_its_pixel_count():
    progress = Progress([1, 1], 0, interactive=False, every=0)
    try:
        _iterations(progress, 1, 10.0)
        progress.begin(2, 0, "policy")
        assert progress.describe().endswith("ETA ~40s (estimated for stage 2; policy iterations left: 1)")
    finally:
        progress.close()


def test_a_resumed_search_estimates_earlier_stages_from_the_nearest_timed_one():
    # Resumed in stage 2, the recovery went back into stage 1: stage 1 has no timing of this session.
    progress = Progress([2, 2], 3, interactive=False, every=0, stage_costs=[1.0, 4.0])
    try:
        _iterations(progress, 2, 80.0)
        progress.moved_to(1)
        # Stage 1's one iteration at 80 x 1/4 = 20 s, stage 2's two at 80 s.
        assert progress.describe().endswith("ETA ~3m00s (estimated for stage 1; policy iterations left: 3)")
    finally:
        progress.close()


def test_step_costs_must_be_one_positive_number_per_stage():
    import pytest

    for costs in ([1.0, 2.0], [1.0, 0.0, 2.0]):
        with pytest.raises(ValueError, match=r"stage_costs=.*one positive cost per stage \(3\)"):
            Progress([1, 1, 1], 0, interactive=False, every=0, stage_costs=costs)


def test_a_stage_step_costs_g_for_a_fake_and_d_for_a_real_and_a_fake():
    import numpy as np
    from search_spaces import SearchSpace

    from autogan.config import ModelConfig
    from autogan.nn import generator_cost
    from autogan.search._stage_cost import SAMPLED_ARCHITECTURES, discriminator_macs, stage_step_macs

    df, ch = 4, 8
    # Stage 1, 8 px, 1 channel: OptimizedDisBlock (two 3x3 convs at 8 px, a 1x1 shortcut at 4 px),
    # the final block's two 3x3 convs at 4 px, the linear layer.
    by_hand = 64 * df * 9 + 64 * df * df * 9 + 16 * df + 2 * 16 * df * df * 9 + df
    assert discriminator_macs(df, 1, 3, 1, 8) == by_hand
    space, model = SearchSpace(num_cells=3), ModelConfig(ch=ch, df=df, latent_dim=16)
    costs = stage_step_macs(space, model, 1)
    rng = np.random.default_rng(0)
    archs = [space.sample(rng) for _ in range(SAMPLED_ARCHITECTURES)]
    g = np.mean([generator_cost(space.prefix(a, 2), ch, 16, 4, 1).macs for a in archs])
    assert costs[1] == int(round(g)) + 2 * discriminator_macs(df, 1, 3, 2, 16)
    # Each stage doubles the width: near the pixel count's 4x, a little more for the extra cell and block.
    assert all(3.5 < later / earlier < 6 for earlier, later in zip(costs, costs[1:])), costs


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
