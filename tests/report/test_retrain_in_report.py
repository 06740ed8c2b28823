"""What the report says of a retraining: in progress or final, in which features, on how many samples, and its samples."""

import json

from search_spaces import AUTOGAN_TOP1

from autogan.retrain._results import latest_retrain_score


def _retraining(run_dir, g_steps, evaluated):
    out = run_dir / "retrain" / "arch-top1"
    (out / "samples").mkdir(parents=True)
    (out / "arch.json").write_text(json.dumps(AUTOGAN_TOP1.to_dict()))
    (out / "config.toml").write_text(f'[train]\ng_steps = {g_steps}\n\n[eval]\nextractor = "digits-classifier"\n')
    rows = [{"g_step": s, "weights": "ema", "fid": 40.0 - s / 100, "is_mean": 3.0, "samples": 1000} for s in evaluated]
    (out / "metrics.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    (out / "samples" / f"step{evaluated[-1]:06d}.png").write_bytes(b"\x89PNG")
    return out


def test_a_running_retrain_says_it_is_in_progress(tmp_path):
    _retraining(tmp_path, 600, [0, 200])
    text = latest_retrain_score(tmp_path, AUTOGAN_TOP1).describe()
    assert text.startswith("in progress, at G step 200 of 600: FID 38.00") and "so far" in text
    assert "1,000 samples" in text and "digits-classifier features" in text


def test_a_finished_retrain_says_final_and_shows_its_samples(tmp_path):
    out = _retraining(tmp_path, 600, [0, 200, 400, 600])
    score = latest_retrain_score(tmp_path, AUTOGAN_TOP1)
    assert score.describe() == "FID 34.00, IS 3.00 (final, G step 600; 1,000 samples, digits-classifier features)"
    assert score.grid == out / "samples" / "step000600.png"
