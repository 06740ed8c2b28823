"""A dynamic reset neither leaves a ranking scored on a fresh supernet nor blames the policy for it."""

from autogan.search import RunDirectory, Search

# A variance threshold no loss window can pass below forces a collapse every 4 D steps.
COLLAPSE_ALWAYS = ("run.backend='inprocess'", "train.reset_window=4", "train.reset_threshold=1e9")


def _spy(obj, name, events, record=None):
    original = getattr(obj, name)

    def spying(*args, **kwargs):
        if record is not None:
            events.append((name, record()))
        result = original(*args, **kwargs)
        if record is None:
            events.append((name, None))
        return result

    setattr(obj, name, spying)


def test_every_reward_is_scored_on_a_trained_supernet_even_after_a_last_iteration_collapse(tiny_config, tmp_path):
    """Each stage's only iteration collapses: its beam, and the final ranking, must still see trained weights."""
    config = tiny_config(*COLLAPSE_ALWAYS, cells=2, iterations=1)
    search = Search(config, tmp_path / "run", progress=False)
    trainer = search.trainer.instance
    events: list = []
    for name in ("train", "weights", "reset"):
        _spy(trainer, name, events)
    try:
        search.run()
    finally:
        search.close()
    names = [name for name, _ in events]
    assert names.count("weights") >= 4 and "reset" in names  # policy, beam per stage, and the re-scoring
    trained = False
    for position, name in enumerate(names):
        if name == "train":
            trained = True
        elif name == "reset":
            trained = False
        else:
            assert trained, f"weights taken at call {position} of {names} come from a supernet that was reset and never trained"
    rows = RunDirectory(tmp_path / "run").evaluations()
    assert {r["kind"] for r in rows} == {"policy", "beam", "rescore"}


def test_the_baseline_restarts_after_a_dynamic_reset(tiny_config, tmp_path):
    config = tiny_config(*COLLAPSE_ALWAYS, "search.controller='rnn'", "search.stage_iterations=[3,1]")
    search = Search(config, tmp_path / "run", progress=False)
    baselines: list = []
    _spy(search.controller, "update", baselines, record=lambda: search.controller.baseline)
    try:
        search.run()
    finally:
        search.close()
    before_each_update = [value for _, value in baselines]
    assert len(before_each_update) == 4
    # Every iteration collapses and is reset; the rewards after a reset come from a fresh
    # supernet, so no old average may be subtracted from them (a stage's first starts afresh too).
    assert before_each_update == [None, None, None, None]
    assert search.controller.baseline is None
