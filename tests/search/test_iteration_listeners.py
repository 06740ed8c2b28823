"""A finished policy iteration goes to the search's listeners: the record, the grid, and any a caller adds."""

from autogan.search import FinishedIteration, RunDirectory, Search


def test_a_listener_receives_every_policy_iteration_as_the_record_keeps_it(tiny_config, tmp_path):
    config = tiny_config("run.backend='inprocess'", cells=2, iterations=2)
    seen: list[FinishedIteration] = []
    grids_when_seen: list[bool] = []
    record = RunDirectory(tmp_path / "run")

    def listener(finished: FinishedIteration) -> None:
        # The run's own listeners come first: the row is recorded and the grid saved before this one.
        at = finished.position
        grids_when_seen.append((record.samples_dir / f"stage{at.stage}_iter{at.iteration:03d}.png").exists())
        seen.append(finished)

    search = Search(config, tmp_path / "run", progress=False, listeners=[listener])
    try:
        search.run()
    finally:
        search.close()
    policy_rows = [r for r in record.iterations() if r["phase"] == "policy"]
    assert [f.row for f in seen] == policy_rows
    assert [(f.position.stage, f.position.iteration) for f in seen] == [(1, 0), (1, 1), (2, 0), (2, 1)]
    assert all(grids_when_seen)
    scored = [r for r in record.evaluations() if r["kind"] == "policy"]
    assert [(r["arch"], r["reward"]) for f in seen for r in f.results] == [(r["arch"], r["reward"]) for r in scored]
    # Every iteration's rewards were scored on the weights of that iteration, in the order they were taken.
    versions = [f.weights["version"] for f in seen]
    assert versions == sorted(versions) and len(set(versions)) == len(versions)
