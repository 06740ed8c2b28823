"""Size-aware search: a hard budget the whole search keeps to, and MnasNet's soft size factor."""

from __future__ import annotations

import math

import pytest

from autogan.config import load_config
from autogan.errors import ConfigError
from autogan.search import RunDirectory
from autogan.search._rows import evaluation_row_problem
from autogan.search import run_search
from autogan.search._scoring import ArchitectureScorer
from autogan.search._size import SizeFactor, budget_summary, budget_text, size_budget
from search_spaces import Architecture, SearchSpace

from autogan.nn import generator_cost

FLOOR_MESSAGE = (
    "search.max_params=50000 is below the smallest generator in the space at the retrain width of preset "
    "'digits' (ch 32, latent 64): 89,121 params; set search.max_params to at least 89121 or 0 for no budget"
)


def test_an_unmeetable_budget_is_one_config_error_and_the_fix_it_names_works():
    space = SearchSpace(num_cells=3)
    with pytest.raises(ConfigError) as info:
        size_budget(load_config("digits", ["search.max_params=50000"]), space)
    assert str(info.value) == FLOOR_MESSAGE
    budget = size_budget(load_config("digits", ["search.max_params=89121"]), space)
    # The fix admits exactly the smallest generators, and nothing larger.
    assert budget.feasible(()) and 0 < budget.feasible_fraction() < 0.01
    with pytest.raises(ConfigError, match=r"search.max_gmacs=0.01 is below .*: 0.0251003 GMACs; set search.max_gmacs to at least 0.025101 "):
        size_budget(load_config("digits", ["search.max_gmacs=0.01"]), space)
    assert size_budget(load_config("digits", ["search.max_gmacs=0.025101"]), space).feasible(())


def test_the_cli_refuses_an_unmeetable_budget_with_one_line_and_exit_2(tmp_path, capsys):
    from autogan.cli import main

    assert main(["search", "--out", str(tmp_path / "run"), "search.max_params=50000", "run.backend='inprocess'"]) == 2
    err = capsys.readouterr().err.strip()
    assert FLOOR_MESSAGE in err and len(err.splitlines()) == 1
    assert not (tmp_path / "run").exists()  # nothing was written for a search that could not start


@pytest.mark.parametrize(
    "override, message",
    [
        ("search.max_params=-1", "search.max_params=-1: must be 0 (off) or a positive size"),
        ("search.size_weight=0.07", "search.size_weight=0.07: must be 0 or negative"),
    ],
)
def test_bad_size_keys_name_the_key_and_the_fix(override, message):
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_config("digits", [override])


def test_a_soft_size_term_refuses_a_negative_reward():
    with pytest.raises(ConfigError, match="use search.reward='is' or a hard budget"):
        load_config("digits", ["search.size_target_params=100000", "search.reward='fid'"])


def test_the_soft_size_factor_is_mnasnets_and_counts_at_the_retrain_width():
    config = load_config("digits", ["search.size_target_params=100000", "search.size_target_gmacs=0.03",
                                    "search.size_weight=-0.07"])
    factor = SizeFactor(config, SearchSpace(num_cells=3))
    arch = Architecture.parse("pre,bn,deconv,sc | post,in,nearest,sc,skip=1 | pre,bn,bilinear,nosc,skip=1+2")
    cost = generator_cost(arch, 32, 64, 4, 1)
    assert factor.cost(arch) == (cost.params, cost.macs)
    expected = (cost.params / 100000) ** -0.07 * (cost.macs / 0.03e9) ** -0.07
    assert factor.factor(arch) == pytest.approx(expected, rel=1e-12)


class _Pool:
    """Evaluators that return a fixed reward per architecture."""

    def __init__(self, rewards):
        self.rewards = rewards

    def submit(self, method, items, box):
        rewards = self.rewards

        class _Pending:
            def results(self):
                return [{"arch": item["arch"], "reward": rewards[item["arch"]], "is_std": 0.0, "error": None,
                         "seconds": 0.1} for item in items]

        return _Pending()


def test_shaped_rows_keep_the_raw_reward_and_the_factor(tmp_path):
    config = load_config("digits", ["search.size_target_params=100000"])
    big = Architecture.parse("pre,bn,deconv,sc | pre,bn,deconv,sc,skip=1 | pre,bn,deconv,sc,skip=1+2")
    small = Architecture.parse("post,none,bilinear,nosc | post,none,bilinear,nosc,skip=none | post,none,bilinear,nosc,skip=none")
    record = RunDirectory.create(tmp_path / "run", config)
    pool = _Pool({str(big): 4.0, str(small): None})
    factor = SizeFactor(config, SearchSpace(num_cells=3))
    rows = ArchitectureScorer(record, pool, 0, lambda: None, size_factor=factor).score(1, 0, "policy", [big, small], {})
    params = generator_cost(big, 32, 64, 4, 1).params
    assert rows[0]["raw_reward"] == 4.0
    assert rows[0]["size_factor"] == pytest.approx((params / 100000) ** -0.07)
    assert rows[0]["reward"] == pytest.approx(4.0 * (params / 100000) ** -0.07) and rows[0]["reward"] < 4.0
    assert rows[1]["reward"] is None and rows[1]["raw_reward"] is None  # a failed evaluation stays failed
    assert [r["raw_reward"] for r in record.evaluations()] == [4.0, None]
    assert all(evaluation_row_problem(r) is None for r in record.evaluations())
    assert "size_factor" in evaluation_row_problem({**record.evaluations()[0], "size_factor": "big"})


def test_inspect_text_names_the_budget_and_its_width():
    summary = budget_summary(load_config("digits", ["search.max_params=113121"]), SearchSpace(num_cells=3))
    assert summary["max_params"] == 113121 and summary["floor_params"] == 89121
    assert budget_text(summary) == (
        "size budget: at most 113,121 params, at the retrain width of preset 'digits' (ch 32, latent 64); "
        "the space's smallest has 89,121 params"
    )


def test_a_tiny_search_under_a_budget_evaluates_only_architectures_within_it(tiny_config, tmp_path):
    # Two cells at the retrain width: 70,625 to 94,689 params; 74,000 excludes most of the space.
    # A soft target rides along, so that its rows are checked on the real loop too.
    config = tiny_config("run.backend='inprocess'", "search.max_params=74000", "search.size_target_params=72000",
                         cells=2, iterations=1)
    space = SearchSpace(num_cells=2)
    budget = size_budget(config, space)
    assert budget.feasible_fraction() < 0.5
    ranking = run_search(config, tmp_path / "run", progress=False)
    rows = RunDirectory(tmp_path / "run").evaluations()
    assert len(rows) > 10
    for row in rows:
        # Stage-1 rows are prefixes: some completion of them must be within the budget.
        assert budget.feasible(space.encode(Architecture.parse(row["arch"]))), row["arch"]
    full = [r for r in rows if len(Architecture.parse(r["arch"]).cells) == 2]
    assert full and all(budget.within(space.encode(Architecture.parse(r["arch"]))) for r in full)
    assert ranking and all(budget.within(space.encode(entry.arch)) for entry in ranking)
    assert not math.isnan(ranking[0].mean_reward)
    factor = SizeFactor(config, space)
    for row in rows:
        assert row["size_factor"] == pytest.approx(factor.factor(Architecture.parse(row["arch"])), rel=1e-12)
        if row["raw_reward"] is not None:
            assert row["reward"] == pytest.approx(row["raw_reward"] * row["size_factor"], rel=1e-12)
