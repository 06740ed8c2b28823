"""The record's row schema: every way a row can be wrong is named, with the key and the value seen.

A reader shows these messages with the file and line of the damage, so each must say which key
is wrong and what stood there; a good row must pass, whatever optional key it leaves out.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from search_spaces import Architecture, InvalidArchitecture

from autogan.errors import DamagedRecordError, shown
from autogan.search._rows import Damage, damage_error, evaluation_row_problem, iteration_row_problem

ARCH = "post,bn,nearest,sc | pre,in,bilinear,sc,skip=1"
POLICY = {"stage": 1, "iteration": 0, "global_iteration": 0, "phase": "policy", "d_steps": 10, "loss_d": 1.5,
          "loss_g": 0.5, "reward_mean": 2.0, "reward_max": 3.0, "entropy": 4.0, "baseline": 2.5, "policy_loss": 0.1}
BEAM = {"stage": 2, "iteration": 3, "global_iteration": 7, "phase": "beam",
        "beam": [{"arch": ARCH, "score": 3.25}, {"arch": ARCH, "score": None}]}
EVALUATION = {"stage": 1, "iteration": 0, "index": 2, "kind": "policy", "reward": 2.5, "arch": ARCH}


def test_rows_as_the_search_writes_them_pass():
    assert iteration_row_problem(POLICY) is None
    assert iteration_row_problem(BEAM) is None
    assert iteration_row_problem({**POLICY, "loss_g": None, "baseline": None}) is None  # null: not measured
    assert iteration_row_problem({**BEAM, "beam": []}) is None
    assert evaluation_row_problem(EVALUATION) is None
    assert evaluation_row_problem({**EVALUATION, "reward": None, "kind": "rescore"}) is None
    assert evaluation_row_problem({**EVALUATION, "raw_reward": 2.0, "size_factor": 0.9}) is None
    assert evaluation_row_problem({**EVALUATION, "stage": 3, "index": 0, "kind": "beam", "reward": 1}) is None


@pytest.mark.parametrize("row, problem", [
    ([1, 2], "a JSON list where an object belongs"),
    ("row", "a JSON str where an object belongs"),
    ({k: v for k, v in POLICY.items() if k != "global_iteration"}, "the row has no 'global_iteration'"),
    ({**POLICY, "stage": 0}, "'stage' is 0, not a positive integer"),
    ({**POLICY, "iteration": -1}, "'iteration' is -1, not a non-negative integer"),
    ({**POLICY, "iteration": True}, "'iteration' is True, not a non-negative integer"),
    ({**POLICY, "loss_d": "1.5"}, "'loss_d' is '1.5', not a number or null"),
    ({**POLICY, "policy_loss": [0.1]}, "'policy_loss' is [0.1], not a number or null"),
    ({**POLICY, "entropy": False}, "'entropy' is False, not a number or null"),
    ({**POLICY, "phase": "final"}, "'phase' is 'final', not 'policy' or 'beam'"),
    ({k: v for k, v in POLICY.items() if k != "phase"}, "'phase' is None, not 'policy' or 'beam'"),
    ({**BEAM, "beam": "top"}, "'beam' is 'top', not a list"),
    ({**BEAM, "beam": [7]}, "a 'beam' entry is 7, not an object"),
    ({**BEAM, "beam": [{"arch": ARCH, "score": "high"}]}, "a beam 'score' is 'high', not a number or null"),
    ({**BEAM, "beam": [{"arch": 3, "score": 1.0}]}, "a beam entry's 'arch' is 3, not an architecture string"),
    ({**BEAM, "beam": [{"arch": ARCH, "score": 1.0}, {"score": 1.0}]},
     "a beam entry's 'arch' is None, not an architecture string"),
])
def test_each_wrong_iteration_row_is_named_with_its_key_and_value(row, problem):
    assert iteration_row_problem(row) == problem


def test_a_beam_entry_that_is_not_an_architecture_says_why():
    problem = iteration_row_problem({**BEAM, "beam": [{"arch": "post,bn", "score": 1.0}]})
    assert problem.startswith("a beam entry's 'arch' is not an architecture (")


@pytest.mark.parametrize("row, problem", [
    (None, "a JSON NoneType where an object belongs"),
    ([EVALUATION], "a JSON list where an object belongs"),
    ({k: v for k, v in EVALUATION.items() if k != "index"}, "the row has no 'index'"),
    ({**EVALUATION, "kind": "final"}, "'kind' is 'final', not one of ['policy', 'beam', 'rescore']"),
    ({k: v for k, v in EVALUATION.items() if k != "reward"}, "the row has no 'reward'"),
    ({**EVALUATION, "reward": "2.5"}, "'reward' is '2.5', not a number or null"),
    ({**EVALUATION, "raw_reward": "2"}, "'raw_reward' is '2', not a number or null"),
    ({**EVALUATION, "arch": None}, "'arch' is None, not an architecture string"),
])
def test_each_wrong_evaluation_row_is_named_with_its_key_and_value(row, problem):
    assert evaluation_row_problem(row) == problem


def test_the_refusal_names_the_first_damage_counts_the_rest_and_says_how_to_go_on():
    run = Path("runs/r")
    one = damage_error([Damage(run / "evaluations.jsonl", 4, "not a JSON row")], run)
    assert isinstance(one, DamagedRecordError)
    assert str(one) == (
        "runs/r/evaluations.jsonl line 4: not a JSON row; the search will not rewrite a damaged record, so no row is "
        "lost. `autogan inspect runs/r` shows every good row; to continue, repair or delete that line "
        "(sed -i '4d' runs/r/evaluations.jsonl), then `autogan search --resume runs/r`")
    three = damage_error([Damage(run / "iterations.jsonl", 2, "an empty line"),
                          Damage(run / "iterations.jsonl", 9, "not a JSON row"),
                          Damage(run / "evaluations.jsonl", 1, "not a JSON row")], run)
    assert str(three).startswith("runs/r/iterations.jsonl line 2: an empty line (and 2 more damaged line(s)); ")
    assert "(sed -i '2d' runs/r/iterations.jsonl)" in str(three)
    two = damage_error([Damage(run / "iterations.jsonl", 5, "an empty line"),
                        Damage(run / "iterations.jsonl", 6, "an empty line")], run)
    assert str(two).startswith("runs/r/iterations.jsonl line 5: an empty line (and 1 more damaged line(s)); ")
    assert str(Damage(run / "x.jsonl", 3, "why")) == "runs/r/x.jsonl line 3: why"


LONG = "x" * 100  # its repr is cut at 40 characters in every message, with the length said


@pytest.mark.parametrize("row, problem", [
    ({**POLICY, "stage": LONG}, "'stage' is 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx… (100 characters), not a positive integer"),
    ({**POLICY, "iteration": LONG},
     "'iteration' is 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx… (100 characters), not a non-negative integer"),
    ({**POLICY, "loss_d": LONG}, "'loss_d' is 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx… (100 characters), not a number or null"),
    ({**POLICY, "phase": LONG}, "'phase' is 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx… (100 characters), not 'policy' or 'beam'"),
    ({**BEAM, "beam": LONG}, "'beam' is 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx… (100 characters), not a list"),
    ({**BEAM, "beam": [LONG]}, "a 'beam' entry is 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx… (100 characters), not an object"),
    ({**BEAM, "beam": [{"arch": ARCH, "score": LONG}]},
     "a beam 'score' is 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx… (100 characters), not a number or null"),
])
def test_a_long_wrong_value_is_cut_in_the_message_with_its_length(row, problem):
    assert iteration_row_problem(row) == problem


@pytest.mark.parametrize("key", ["stage", "iteration", "index", "kind", "reward", "raw_reward", "size_factor"])
def test_a_long_wrong_value_of_an_evaluation_row_is_cut_too(key):
    problem = evaluation_row_problem({**EVALUATION, key: LONG})
    assert problem.startswith(f"'{key}' is 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx… (100 characters), not ")


def test_an_unparseable_architecture_is_named_with_the_parsers_reason_cut_at_80_characters():
    with pytest.raises(InvalidArchitecture) as parsed:
        Architecture.parse(LONG)
    assert len(repr(str(parsed.value))) > 80
    assert evaluation_row_problem({**EVALUATION, "arch": LONG}) == f"'arch' is not an architecture ({shown(str(parsed.value), 80)})"
    assert evaluation_row_problem({**EVALUATION, "arch": 7}) == "'arch' is 7, not an architecture string"


def test_a_long_value_where_an_architecture_string_belongs_is_cut_too():
    value = list(range(40))
    assert evaluation_row_problem({**EVALUATION, "arch": value}) == (
        f"'arch' is {shown(value, 40)}, not an architecture string")
    assert shown(value, 40).endswith("characters)")


def test_a_run_file_is_read_as_its_good_rows_and_each_bad_line_named_but_a_torn_last_line_is_neither(tmp_path):
    from autogan.search._rows import read_jsonl

    path = tmp_path / "evaluations.jsonl"
    path.write_bytes(b'{"a": 1}\n\n{"a": 2\nnull\n{"a": 3}\n{"a": 4, "torn')
    rows, damage = read_jsonl(path, lambda row: None if isinstance(row, dict) else "not an object")
    assert rows == [{"a": 1}, {"a": 3}]
    assert [(d.line, d.problem) for d in damage] == [(2, "an empty line"), (3, "not a JSON row"), (4, "not an object")]
    assert read_jsonl(tmp_path / "missing.jsonl", lambda row: None) == ([], [])


def test_a_row_is_appended_as_one_line_of_canonical_json(tmp_path):
    from autogan.search._rows import append_jsonl

    path = tmp_path / "iterations.jsonl"
    append_jsonl(path, {"stage": 1, "arch": "x", "b": [2, 1]})
    append_jsonl(path, {"z": None, "a": 0.5})
    assert path.read_bytes() == b'{"arch": "x", "b": [2, 1], "stage": 1}\n{"a": 0.5, "z": null}\n'


def test_a_torn_last_line_is_cut_off_and_every_whole_line_before_it_kept(tmp_path):
    from autogan.search._rows import truncate_partial_line

    path = tmp_path / "iterations.jsonl"
    path.write_bytes(b'{"a": 1}\n{"a": 2}\n{"a": 3, "to')
    truncate_partial_line(path)
    assert path.read_bytes() == b'{"a": 1}\n{"a": 2}\n'
    truncate_partial_line(path)  # a whole file is left as it is
    assert path.read_bytes() == b'{"a": 1}\n{"a": 2}\n'
    truncate_partial_line(tmp_path / "missing.jsonl")
    assert not (tmp_path / "missing.jsonl").exists()
