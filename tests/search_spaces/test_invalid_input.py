"""Every class of invalid input raises InvalidArchitecture naming cell, decision, value and what is allowed."""

import pytest

from search_spaces import AUTOGAN_TOP1, Architecture, Cell, InvalidArchitecture, SearchSpace, register_op


def raises(pattern_parts, fn, *args, **kwargs):
    with pytest.raises(InvalidArchitecture) as info:
        fn(*args, **kwargs)
    message = str(info.value)
    for part in pattern_parts:
        assert part in message, f"{part!r} not in {message!r}"
    return message


def test_wrong_cell_count():
    two_cells = SearchSpace(num_cells=2).sample(0)
    raises(["2 cells", "this space has 3", "expected 3"], SearchSpace().validate, two_cells)


def test_unknown_op_name():
    raises(
        ["cell 2", "decision up", "'pixelshuffle'", "bilinear", "register_op"],
        Architecture.parse,
        "pre,none,nearest,sc | pre,none,pixelshuffle,sc,skip=1",
    )


def test_op_outside_this_space():
    space = SearchSpace(norm=("none", "bn"))
    arch = Architecture.parse("pre,in,nearest,sc | pre,none,nearest,sc,skip=1 | pre,none,nearest,sc,skip=none")
    raises(["cell 1", "decision norm", "'in'", "['none', 'bn']"], space.validate, arch)


def test_skip_from_cell_that_does_not_exist():
    raises(["cell 2", "decision skip", "cell 3", "[1]"], Architecture.parse, "pre,none,nearest,sc | pre,none,nearest,sc,skip=3")
    raises(["cell 1", "decision skip"], Architecture, (Cell("pre", "none", "nearest", True, (1,)),))


def test_vector_of_wrong_length():
    raises(["length 13", "14 for 3 cells"], Architecture.from_autogan_vector, [1] * 13)
    raises(["length 5", "expected one of"], SearchSpace().decode, [0] * 5)


def test_out_of_range_values():
    raises(["cell 3", "decision skip", "value 4", "0..3"], Architecture.from_autogan_vector, [0] * 13 + [4])
    raises(["cell 1", "decision up", "value 3", "0..2"], Architecture.from_autogan_vector, [0, 0, 3, 0] + [0] * 10)
    raises(["cell 2", "decision shortcut", "value 2"], Architecture.from_autogan_vector, [0] * 7 + [2] + [0] * 6)


def test_non_integer_token():
    space = SearchSpace()
    tokens = list(space.to_tokens(AUTOGAN_TOP1))
    tokens[5] = "x"
    raises(["cell 2", "decision norm", "'x'", "not an integer"], space.from_tokens, tokens)
    tokens[5] = 0  # a conv token where a norm token belongs
    raises(["cell 2", "decision norm", "token 0", "allowed tokens"], space.from_tokens, tokens)
    raises(["not an integer"], Architecture.from_autogan_vector, [1.5] + [0] * 13)


def test_malformed_json():
    raises(["not valid JSON"], Architecture.from_json, "{cells: ")
    raises(["'format'"], Architecture.from_json, '{"version": 1, "cells": []}')
    raises(["cell 1", "missing keys", "skips"], Architecture.from_json,
           '{"format": "autogan.architecture", "version": 1, "cells": [{"conv": "pre", "norm": "none", "up": "nearest", "shortcut": true}]}')


def test_future_format_version():
    text = AUTOGAN_TOP1.to_json().replace('"version": 1', '"version": 2')
    raises(["version 2", "newer", "upgrade autogan"], Architecture.from_json, text)


def test_malformed_canonical_string():
    raises(["cell 1", "fields", "expected 4"], Architecture.parse, "pre,none")
    raises(["cell 1", "decision shortcut", "'maybe'", "'sc' or 'nosc'"], Architecture.parse, "pre,none,nearest,maybe")
    raises(["empty"], Architecture.parse, "   ")


def test_bad_space_configuration():
    raises(["num_cells 7", "2 to 6"], SearchSpace, num_cells=7)
    raises(["stage 4", "1..3"], SearchSpace().decisions, 4)


def test_registered_op_becomes_legal():
    register_op("up", "test_pixelshuffle_ok", "sub-pixel conv, for this test")
    space = SearchSpace(up=("nearest", "test_pixelshuffle_ok"))
    arch = space.sample(0)
    assert all(c.up in space.up for c in arch.cells)
    assert space.decode(space.encode(arch)) == arch
    with pytest.raises(InvalidArchitecture, match="no AutoGAN vector code"):
        Architecture.parse("pre,none,test_pixelshuffle_ok,sc | pre,none,nearest,sc,skip=1").to_autogan_vector()
    with pytest.raises(ValueError, match="already registered"):
        register_op("up", "test_pixelshuffle_ok")
