"""The search's answer: full architectures ranked by mean reward, and the final re-scoring's candidates."""

from __future__ import annotations

import math

import pytest

from autogan.search import RankedArchitecture, rank_architectures
from autogan.search._ranking import autogan_vector, rescore_candidates
from search_spaces import AUTOGAN_TOP1, Architecture, SearchSpace, register_op
from search_spaces._ops import registered_ops

SPACE = SearchSpace()
A, B, C, D = (SPACE.sample(seed) for seed in range(4))
PREFIX = SPACE.prefix(A, 2)


def row(arch, reward, stage=3, kind="policy"):
    return {"arch": str(arch), "reward": reward, "stage": stage, "kind": kind}


def test_architectures_rank_by_mean_reward_with_their_spread_count_and_stage():
    rows = [row(A, 0.2, stage=2), row(B, 0.9), row(A, 0.6), row(C, 0.5)]
    ranking = rank_architectures(rows, 3)
    assert [(r.rank, r.arch) for r in ranking] == [(1, B), (2, C), (3, A)]
    third = ranking[2]
    assert third.mean_reward == pytest.approx(0.4)
    assert third.std_reward == pytest.approx(0.2)  # the population spread of 0.2 and 0.6
    assert third.evaluations == 2
    assert third.stage == 2  # the stage of its first evaluation
    assert all(r.basis == "during-run" for r in ranking)
    assert ranking[0].std_reward == 0.0 and ranking[0].evaluations == 1


def test_failed_evaluations_and_prefixes_are_left_out_of_the_ranking():
    rows = [row(A, None), row(A, math.nan), row(B, math.inf), row(B, -math.inf), row(PREFIX, 5.0, stage=2),
            row(C, 0.1), row(A, 0.3)]
    ranking = rank_architectures(rows, 3)
    assert [(r.arch, r.evaluations, r.mean_reward) for r in ranking] == [(A, 1, 0.3), (C, 1, 0.1)]
    assert [r.arch for r in rank_architectures(rows, 2)] == [PREFIX]


def test_equal_means_rank_by_the_architecture_string():
    first, second = sorted([A, B], key=str)
    ranking = rank_architectures([row(second, 0.5), row(first, 0.5)], 3)
    assert [r.arch for r in ranking] == [first, second]


def test_once_rescore_rows_exist_only_they_count():
    rows = [row(A, 0.9), row(B, 0.1), row(B, 0.3, kind="rescore"), row(C, 0.2, kind="rescore"),
            row(B, 0.5, kind="rescore")]
    ranking = rank_architectures(rows, 3)
    assert [(r.arch, r.mean_reward, r.evaluations) for r in ranking] == [(B, pytest.approx(0.4), 2), (C, 0.2, 1)]
    assert all(r.basis == "final" for r in ranking)


def test_a_ranked_architecture_reads_as_a_record_row():
    ranked = RankedArchitecture(rank=2, arch=AUTOGAN_TOP1, mean_reward=0.5, std_reward=0.25, evaluations=3,
                                stage=3, basis="final")
    assert ranked.to_dict() == {
        "rank": 2,
        "arch": str(AUTOGAN_TOP1),
        "autogan_vector": [1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 1, 0, 3],
        "mean_reward": 0.5,
        "std_reward": 0.25,
        "evaluations": 3,
        "stage": 3,
        "basis": "final",
    }
    assert RankedArchitecture(1, A, 0.0, 0.0, 1, 3).basis == "during-run"


def test_an_architecture_without_a_published_vector_has_none():
    if "test_ranking_up" not in registered_ops("up"):  # a registration lasts for the process
        register_op("up", "test_ranking_up", "for this test")
    arch = Architecture.parse("pre,none,test_ranking_up,sc")
    assert autogan_vector(arch) is None
    assert autogan_vector(AUTOGAN_TOP1) == [1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 1, 0, 3]


def test_rescore_candidates_are_the_beam_then_the_best_of_the_run_distinct():
    rows = [row(A, 0.9), row(B, 0.8), row(C, 0.7), row(D, 0.1)]
    assert rescore_candidates([C], rows, 3, 3) == [C, A, B]
    assert rescore_candidates([C, A], rows, 3, 4) == [C, A, B, D]
    # Never fewer than the beam, even when count asks for fewer.
    assert rescore_candidates([D, C], rows, 3, 1) == [D, C]
    assert rescore_candidates([], rows, 3, 2) == [A, B]


def test_rescore_candidates_ignore_the_rescore_rows_of_a_resumed_rescoring():
    rows = [row(A, 0.9), row(B, 0.8), row(C, 0.7)]
    resumed = rows + [row(C, 5.0, kind="rescore"), row(D, 4.0, kind="rescore")]
    assert rescore_candidates([], resumed, 3, 2) == rescore_candidates([], rows, 3, 2) == [A, B]
