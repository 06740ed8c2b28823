"""The retraining computes; its listeners write.  A listener of one's own gets every result and no file appears."""

from __future__ import annotations

from retrain_helpers import TINY

from search_spaces import SearchSpace

from autogan.config import load_retrain_config
from autogan.retrain._directory import RetrainDirectory
from autogan.retrain._loop import Retrainer


class Recorder:
    def __init__(self):
        self.losses, self.evaluations, self.closed = [], [], 0

    def trained(self, retrainer, losses):
        self.losses.append((retrainer.step, dict(losses)))

    def evaluated(self, retrainer, evaluations, new_best):
        self.evaluations.append((retrainer.step, list(evaluations), new_best, retrainer.best))

    def close(self):
        self.closed += 1


def test_a_retrain_with_its_own_listener_hands_it_every_result_and_writes_no_output(tmp_path):
    config = load_retrain_config("retrain_digits", [*TINY, "train.g_steps=6", "eval.every=3", "eval.at_start=false",
                                                    "eval.score_raw=true", "eval.samples=100", "eval.splits=2"])
    directory = RetrainDirectory(tmp_path / "run")
    recorder = Recorder()
    retrainer = Retrainer(directory, config, SearchSpace(num_cells=3).sample(0), listeners=[recorder])
    measured = retrainer.measure()
    assert [e.weights for e in measured] == ["ema", "raw"] and retrainer.history == []  # measuring keeps nothing
    result = retrainer.run()
    assert [step for step, _ in recorder.losses] == [1, 2, 3, 4, 5, 6]
    assert [(step, [e.weights for e in evals]) for step, evals, _, _ in recorder.evaluations] == [
        (3, ["ema", "raw"]), (6, ["ema", "raw"])]
    assert [evals[0] for _, evals, _, _ in recorder.evaluations] == retrainer.history
    # A new best is announced exactly when the retrainer's best became that evaluation.
    for _, evals, new_best, best in recorder.evaluations:
        assert new_best == (best is evals[0])
    assert recorder.closed == 1 and result.final == retrainer.history[-1]
    # Only the writer writes: no metrics lines, grids, TensorBoard events or best checkpoint.
    assert not directory.best_path.exists()
    written = {p.relative_to(directory.out_dir).parts[0] for p in directory.out_dir.rglob("*") if p.is_file()}
    assert "metrics.jsonl" not in written and "tb" not in written and "samples" not in written
