"""Fuzzing every parser of user input: only the project's own error types may come out, as one line.

Deterministic and small here, so CI stays fast; ``tests/bad_inputs_table.py`` runs the same
targets with many fresh examples.
"""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings

from fuzz_inputs import TARGETS

# Run files and configs touch the disk per example; parsers of strings are cheap.  A run file's
# example that loads draws the report's seven charts (0.5 s, nearly all matplotlib), so they get
# 20 here; ``bad_inputs_table.py --fuzz-examples N`` runs many more, outside the suite.
EXAMPLES = {"evaluations.jsonl": 20, "iterations.jsonl": 20, "state.json": 20, "TOML config file": 60,
            "checkpoint .pt": 40, "section.key=value override": 150}


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_only_our_errors_come_out(target):
    outcomes = set()

    @settings(max_examples=EXAMPLES.get(target.name, 200), deadline=None, derandomize=True, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    @given(target.strategy)
    def run(value):
        outcomes.add(target.check(value))

    run()
    # The strategies draw mostly broken input: a parser that refused none of it accepts anything.
    assert any(target.refuses(o) for o in outcomes), f"{target.name}: nothing refused; outcomes {sorted(outcomes)}"


@pytest.mark.parametrize("target", TARGETS, ids=[t.name for t in TARGETS])
def test_invalid_inputs_are_refused_and_valid_ones_accepted(target):
    assert target.valid and target.invalid, "every parser needs inputs it must accept and inputs it must refuse"
    for value in target.valid:
        assert target.check(value) == target.accepted, (target.name, value)
    for value in target.invalid:
        assert target.refuses(target.check(value)), (target.name, value)
