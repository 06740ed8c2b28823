"""Fuzz targets: every parser of user input, with the only errors it may raise.

Each target is a Hypothesis strategy for inputs and a check that feeds one input to
the parser.  A check returns a short outcome ("ok" or the error type); any exception
other than the project's own error types escapes, and that is the failure.  Used by
``test_fuzz_parsers.py`` (few examples, deterministic) and by ``tests/bad_inputs_table.py``
(many examples, a fresh draw each run).
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import tomli_w
from hypothesis import strategies as st

from search_spaces import AUTOGAN_TOP1, Architecture, InvalidArchitecture, SearchSpace

from autogan.checkpoints import load_checkpoint_file
from autogan.commands.arch import parse_arch_text, parse_int_vector
from autogan.config import Config, load_config
from autogan.config._sections import sections_to_dict
from autogan.errors import UserError
from autogan.search import RunDirectory

OURS = (UserError, InvalidArchitecture)


@dataclass(frozen=True)
class Target:
    name: str
    strategy: st.SearchStrategy
    check: Callable[[Any], str]
    # Inputs the parser must accept and inputs it must refuse: a parser that takes anything
    # (or nothing) raises none of our errors, so the fuzz alone would not see it.
    valid: tuple = ()
    invalid: tuple = ()
    accepted: str = "ok"  # the check's outcome for an accepted input

    def refuses(self, outcome: str) -> bool:
        return outcome != self.accepted


def outcome(call: Callable[[], Any]) -> str:
    try:
        call()
    except OURS as exc:
        message = str(exc)
        assert message and "\n" not in message and len(message) < 2000, message[:3000]
        return type(exc).__name__
    return "ok"


# --------------------------------------------------------------------------- architectures

_TOKENS = ["pre", "post", "none", "bn", "in", "nearest", "bilinear", "deconv", "sc", "nosc", "skip=1", "skip=1+2",
           "skip=none", "skip=", "skip=2+1", "skip=0", "skip=99999999999999999999", "", " ", "x", "é", "\x00"]
_cell_text = st.lists(st.sampled_from(_TOKENS), max_size=7).map(",".join)
_VALID = [str(AUTOGAN_TOP1), "post,bn,deconv,nosc | post,in,nearest,nosc,skip=none | post,none,bilinear,nosc,skip=none"]


@st.composite
def _edited(draw) -> str:
    """A valid architecture string with one span replaced: the near misses a user types."""
    text = draw(st.sampled_from(_VALID))
    start = draw(st.integers(0, len(text)))
    end = draw(st.integers(start, min(len(text), start + 6)))
    return text[:start] + draw(st.one_of(st.sampled_from(_TOKENS + [",", "|", "+"]), st.text(max_size=4))) + text[end:]


arch_strings = st.one_of(
    st.text(max_size=200),
    st.lists(_cell_text, min_size=1, max_size=14).map(" | ".join),
    _edited(),
    st.sampled_from(_VALID),
)


def check_arch_string(text: str) -> str:
    return outcome(lambda: SearchSpace(num_cells=3).validate(Architecture.parse(text)))


def check_arch_cli_text(text: str) -> str:
    return outcome(lambda: SearchSpace(num_cells=3).validate(parse_arch_text(text, source="ARCH")))


vectors = st.lists(st.one_of(st.integers(-3, 40), st.integers(-(2**70), 2**70)), max_size=30)
vector_texts = st.one_of(
    st.lists(st.sampled_from(["0", "1", "2", "3", "-1", "7", "99999999999999999999", ",", " ", "x", "1.5", "٣"]), max_size=30).map(" ".join),
    st.text(alphabet="0123456789 ,-+\t", max_size=60),
)


def check_vector(values: list[int]) -> str:
    return outcome(lambda: SearchSpace(num_cells=3).validate(Architecture.from_autogan_vector(values)))


def check_vector_text(text: str) -> str:
    return outcome(
        lambda: SearchSpace(num_cells=3).validate(
            Architecture.from_autogan_vector(parse_int_vector(text, source="--autogan-vector"))
        )
    )


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=8), children, max_size=5),
    max_leaves=25,
)


@st.composite
def mutated(draw, valid: dict) -> Any:
    """``valid`` with one value somewhere replaced or one key dropped."""
    def walk(value: Any) -> Any:
        if isinstance(value, dict) and value and draw(st.booleans()):
            key = draw(st.sampled_from(sorted(value)))
            copy = dict(value)
            if draw(st.booleans()):
                del copy[key]
            else:
                copy[key] = walk(copy[key])
            return copy
        if isinstance(value, list) and value and draw(st.booleans()):
            index = draw(st.integers(0, len(value) - 1))
            copy = list(value)
            copy[index] = walk(copy[index])
            return copy
        return draw(json_values)

    return walk(valid)


arch_jsons = st.one_of(
    json_values.map(json.dumps),
    mutated(AUTOGAN_TOP1.to_dict()).map(json.dumps),
    st.text(max_size=100),
    st.integers(1, 3000).map(lambda depth: '{"cells": ' + "[" * depth + "]" * depth + "}"),
)


def check_arch_json(text: str) -> str:
    return outcome(lambda: SearchSpace(num_cells=3).validate(Architecture.from_json(text)))


# --------------------------------------------------------------------------- config

_DEFAULTS = sections_to_dict(Config())
_SECTIONS = sorted(_DEFAULTS) + ["", "runs", "x y"]
_KEYS = sorted({key for section in _DEFAULTS.values() for key in section}) + ["", "unknown", "a.b"]
_VALUES = ["1", "0", "-1", "1e400", "nan", "inf", "true", "'x'", "[1, 2]", "[]", "[[1]]", "{a = 1}", "3.5",
           "99999999999999999999999", "9" * 5000, "bce", "'digits'", "\"\"\"x\"\"\"", "[1, 'a']", "'\\u0000'"]
overrides = st.one_of(
    st.builds(lambda s, k, v: f"{s}.{k}={v}", st.sampled_from(_SECTIONS), st.sampled_from(_KEYS),
              st.one_of(st.sampled_from(_VALUES), st.text(max_size=30))),
    st.text(max_size=80),
)


def check_override(text: str) -> str:
    return outcome(lambda: load_config("digits", [text]))


@st.composite
def toml_documents(draw) -> str:
    if draw(st.integers(0, 4)) == 0:
        return draw(st.text(max_size=300))
    data: dict[str, Any] = {}
    for section in draw(st.lists(st.sampled_from(_SECTIONS[:-2]), max_size=4, unique=True)):
        keys = draw(st.lists(st.sampled_from(_KEYS[:-1]), max_size=4, unique=True))
        data[section] = {k: draw(json_values.filter(lambda v: v is not None)) for k in keys if k}
    if draw(st.booleans()):
        data[draw(st.text(min_size=1, max_size=8))] = draw(json_values.filter(lambda v: v is not None))
    try:
        return tomli_w.dumps(_without_none(data))
    except (TypeError, ValueError):
        return json.dumps(data)


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value if v is not None]
    return value


def check_toml_config(text: str) -> str:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "config.toml"
        path.write_text(text, encoding="utf-8", errors="surrogatepass")
        return outcome(lambda: load_config(str(path)))


# --------------------------------------------------------------------------- run files

_EVALUATION = {"stage": 3, "iteration": 1, "kind": "policy", "index": 0, "arch": str(AUTOGAN_TOP1),
               "autogan_vector": list(AUTOGAN_TOP1.to_autogan_vector()), "reward": 2.5, "is_std": 0.1,
               "error": None, "seconds": 0.5, "time": 1.0}
_POLICY_ROW = {"stage": 1, "iteration": 0, "phase": "policy", "global_iteration": 0, "d_steps": 6, "loss_d": 1.0,
               "loss_g": 0.5, "collapsed": False, "reset": False, "reward_mean": 2.0, "reward_max": 2.5,
               "failed_rewards": 0, "entropy": 9.0, "baseline": 1.0, "policy_loss": 0.1, "train_seconds": 1.0,
               "seconds": 2.0, "time": 1.0}
_BEAM_ROW = {"stage": 1, "iteration": 1, "phase": "beam", "global_iteration": 1,
             "beam": [{"arch": "pre,none,nearest,sc", "score": 2.0}], "time": 1.0}
_STATE = {"stage": 3, "iteration": 2, "phase": "done", "global_iteration": 6, "beam": [], "controller": "rnn", "version": 1}


def _lines(rows: st.SearchStrategy) -> st.SearchStrategy:
    line = st.one_of(
        rows.map(lambda row: json.dumps(row).encode()),
        st.binary(max_size=40),
        st.just(b"{garbage"),
        st.just(b""),
        st.just(b"[" * 5000),
    )
    return st.tuples(st.lists(line, max_size=8), st.binary(max_size=20)).map(
        lambda parts: b"".join(l.replace(b"\n", b" ") + b"\n" for l in parts[0]) + parts[1].replace(b"\n", b" ")
    )


evaluation_files = _lines(st.one_of(st.just(_EVALUATION), mutated(_EVALUATION)))
iteration_files = _lines(st.one_of(st.just(_POLICY_ROW), st.just(_BEAM_ROW), mutated(_POLICY_ROW), mutated(_BEAM_ROW)))
state_files = st.one_of(
    st.just(_STATE).map(json.dumps), mutated(_STATE).map(json.dumps), json_values.map(json.dumps), st.text(max_size=50)
).map(lambda text: text.encode("utf-8", "surrogatepass"))
checkpoint_files = st.one_of(st.binary(max_size=300), st.just(b"PK\x03\x04"), st.just(b""))


def _run_dir(scratch: str) -> RunDirectory:
    config = load_config("digits", ["run.backend='inprocess'"])
    return RunDirectory.create(Path(scratch) / "run", config)


def _show(record: RunDirectory) -> None:
    """What `autogan inspect --report` does with a run directory, for every stage's ranking.

    The charts (most of a page's cost, in matplotlib) read the summary, not the ranking:
    they are drawn once per example and reused by the four pages.
    """
    from unittest import mock

    from autogan.report import format_table, load_run, rank, ranking_rows
    from autogan.report._page import render_html
    from autogan.report import _page as page

    summary = load_run(record.path)
    charts = page.search_charts(summary)
    with mock.patch.object(page, "search_charts", lambda _summary: charts):
        for stage in (None, 1, 2, 3):
            ranking, what = rank(summary, stage=stage)
            format_table(ranking_rows(ranking))
            render_html(summary, ranking, what)


def _check_run_file(name: str, data: bytes, strict: Callable[[RunDirectory], Any]) -> str:
    with tempfile.TemporaryDirectory() as scratch:
        record = _run_dir(scratch)
        (record.path / name).write_bytes(data)
        shown = outcome(lambda: _show(record))
        refused = outcome(lambda: strict(record))
        return f"show {shown}, resume-read {refused}"


def check_evaluations_file(data: bytes) -> str:
    return _check_run_file("evaluations.jsonl", data, RunDirectory.evaluations)


def check_iterations_file(data: bytes) -> str:
    return _check_run_file("iterations.jsonl", data, RunDirectory.iterations)


def check_state_file(data: bytes) -> str:
    return _check_run_file("state.json", data, RunDirectory.check_damage)


def check_checkpoint_file(data: bytes) -> str:
    with tempfile.TemporaryDirectory() as scratch:
        path = Path(scratch) / "latest.pt"
        path.write_bytes(data)
        return outcome(lambda: load_checkpoint_file(path))


def _torch_bytes(value: Any) -> bytes:
    import io

    import torch

    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


_TOP1_TEXT = str(AUTOGAN_TOP1)
_TOP1_VECTOR = list(AUTOGAN_TOP1.to_autogan_vector())
_RUN_FILE_OK = "show ok, resume-read ok"  # shown, and read back by a resume
_EVALUATION_LINE = json.dumps(_EVALUATION).encode() + b"\n"
_POLICY_LINE = json.dumps(_POLICY_ROW).encode() + b"\n"

TARGETS = [
    Target("architecture string", arch_strings, check_arch_string,
           valid=(_TOP1_TEXT, _VALID[1]),
           invalid=("", "pre,none,nearest", "pre,xx,nearest,sc | pre,none,bilinear,sc,skip=1 | pre,none,nearest,nosc,skip=1",
                    _TOP1_TEXT.replace("skip=1+2", "skip=3"), _TOP1_TEXT.split(" | ", 1)[0])),
    Target("ARCH argument text (JSON, vector or string)", st.one_of(arch_strings, arch_jsons, vector_texts), check_arch_cli_text,
           valid=(_TOP1_TEXT, AUTOGAN_TOP1.to_json(), " ".join(map(str, _TOP1_VECTOR))),
           invalid=("1 0 1", "[1, 2]", "pre,none")),
    Target("14-int vector (ints)", vectors, check_vector,
           valid=(_TOP1_VECTOR,), invalid=([], [1, 0, 1], [9] * 14, [-1] + _TOP1_VECTOR[1:], _TOP1_VECTOR + [0])),
    Target("--autogan-vector text", vector_texts, check_vector_text,
           valid=(" ".join(map(str, _TOP1_VECTOR)),), invalid=("", "1 0 x", "1 0 1", " ".join(["9"] * 14))),
    Target("architecture JSON", arch_jsons, check_arch_json,
           valid=(AUTOGAN_TOP1.to_json(),), invalid=("[1]", '{"cells": []}', "{", AUTOGAN_TOP1.to_json().replace('"pre"', '"x"'))),
    Target("section.key=value override", overrides, check_override,
           valid=("train.n_critic=3", "train.loss='hinge'"),
           invalid=("train.n_critic='x'", "nosection.key=1", "train.nokey=1", "train.n_critic", "seed=1", "run.evaluators=0")),
    Target("TOML config file", toml_documents(), check_toml_config,
           valid=("[train]\nn_critic = 3\n", ""), invalid=("[train]\nn_critic = 'five'\n", "[run\n", "run = 3\n", "[nonsense]\nx = 1\n")),
    Target("evaluations.jsonl", evaluation_files, check_evaluations_file, accepted=_RUN_FILE_OK,
           valid=(_EVALUATION_LINE, _EVALUATION_LINE + b'{"sta'),  # a torn last line is a crash's, repaired
           invalid=(b"{garbage\n" + _EVALUATION_LINE, b"[1]\n" + _EVALUATION_LINE,
                    json.dumps({**_EVALUATION, "reward": "4.2"}).encode() + b"\n" + _EVALUATION_LINE)),
    Target("iterations.jsonl", iteration_files, check_iterations_file, accepted=_RUN_FILE_OK,
           valid=(_POLICY_LINE, _POLICY_LINE + json.dumps(_BEAM_ROW).encode() + b"\n"),
           invalid=(b"[1]\n" + _POLICY_LINE, json.dumps({**_POLICY_ROW, "stage": 0}).encode() + b"\n" + _POLICY_LINE)),
    Target("state.json", state_files, check_state_file, accepted=_RUN_FILE_OK,
           valid=(json.dumps(_STATE).encode(),), invalid=(b"[1, 2]", b"{", b"", b"3", json.dumps({**_STATE, "version": 99}).encode())),
    Target("checkpoint .pt", checkpoint_files, check_checkpoint_file,
           valid=(_torch_bytes({"version": 1, "trainer": {}}),),
           invalid=(b"", b"PK\x03\x04", b"garbage", _torch_bytes([1, 2]))),
]
