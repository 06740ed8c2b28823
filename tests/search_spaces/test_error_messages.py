"""The whole message of each invalid input: where, the bad value as given, and what is allowed.

test_invalid_input.py checks that each class of error names its parts; here each message is
compared whole, so that a message which loses the bad value, the cell number or the hint fails.
"""

import pytest

from search_spaces import AUTOGAN_TOP1, Architecture, Cell, InvalidArchitecture, register_op
from search_spaces._ops import registered_ops

FORMAT = {"format": "autogan.architecture"}


def _cell(**decisions):
    return Cell(**{"conv": "pre", "norm": "none", "up": "nearest", "shortcut": True, **decisions})


def _top1_with(cell_number, **fields):
    data = AUTOGAN_TOP1.to_dict()
    data["cells"][cell_number - 1].update(fields)
    return data


CELL_ERRORS = [
    ({"skips": 5}, "cell decision skip: expected a sequence of earlier cell numbers, got 5"),
    ({"skips": (1.0,)}, "cell decision skip: skip source 1.0 is not an integer cell number (cells count from 1)"),
    ({"skips": (True,)}, "cell decision skip: skip source True is not an integer cell number (cells count from 1)"),
    ({"skips": (1, 1)}, "cell decision skip: [1, 1] names a source cell twice"),
    ({"shortcut": 1}, "cell decision shortcut: expected true or false, got 1"),
    ({"conv": 3}, "cell decision conv: expected an op name, got 3"),
]


@pytest.mark.parametrize(("decisions", "message"), CELL_ERRORS)
def test_a_bad_cell_decision_is_refused_with_its_value(decisions, message):
    with pytest.raises(InvalidArchitecture) as info:
        _cell(**decisions)
    assert str(info.value) == message


ARCHITECTURE_ERRORS = [
    (lambda: Architecture(()), "architecture: it has no cells; an architecture needs at least one cell"),
    (lambda: Architecture(("pre",)), "cell 1: expected a Cell, got str"),
    (lambda: Architecture((_cell(skips=(1,)),)),
     "cell 1, decision skip: skip from cell 1 does not exist before cell 1; "
     "allowed sources are none (cell 1 has no earlier cells)"),
    (lambda: Architecture.parse("  "),
     "architecture string: it is empty; expected cells like 'pre,none,nearest,sc | pre,bn,deconv,nosc,skip=1'"),
    (lambda: Architecture.parse("pre,none"), "cell 1: 'pre,none' has 2 fields, expected 4 (conv,norm,up,sc|nosc)"),
    (lambda: Architecture.parse("pre,none,nearest,sc | pre,none,nearest,sc"),
     "cell 2: 'pre,none,nearest,sc' has 4 fields, expected 5 (conv,norm,up,sc|nosc,skip=A+B|none)"),
    (lambda: Architecture.parse("pre,none,nearest,sc | pre,none,nearest,sc,foo"),
     "cell 2, decision skip: 'foo' should read 'skip=1+2' or 'skip=none'"),
    (lambda: Architecture.parse("pre,none,nearest,sc | pre,none,nearest,sc,skip=x"),
     "cell 2, decision skip: 'x' is not a cell number; write 'skip=1+2' or 'skip=none'"),
    (lambda: Architecture.from_dict([]), "architecture JSON: expected an object, got list"),
    (lambda: Architecture.from_dict({"format": "other"}),
     "architecture JSON: 'format' is 'other', expected 'autogan.architecture'"),
    (lambda: Architecture.from_dict({**FORMAT, "version": "1"}),
     "architecture JSON: 'version' is '1', expected an integer"),
    (lambda: Architecture.from_dict({**FORMAT, "version": True, "cells": []}),
     "architecture JSON: 'version' is True, expected an integer"),
    (lambda: Architecture.from_dict({**FORMAT, "version": 0}),
     "architecture JSON: format version 0 does not exist; versions start at 1"),
    (lambda: Architecture.from_dict({**FORMAT, "version": 1, "cells": {}}),
     "architecture JSON: 'cells' must be a list of cell objects"),
    (lambda: Architecture.from_dict({**FORMAT, "version": 1, "cells": [3]}), "cell 1: expected an object, got int"),
    (lambda: Architecture.from_dict(_top1_with(2, skips="1")),
     "cell 2, decision skip: expected a sequence of earlier cell numbers, got '1'"),
    (lambda: Architecture.from_json("[" * 100_000),
     "architecture JSON: nested too deeply to read; an architecture is an object with a list of cells"),
    (lambda: Architecture.from_autogan_vector([0] * 3),
     "AutoGAN vector: length 3 is not 4 + 5*(cells-1) (14 for 3 cells, e.g. '1 0 1 1 1 0 0 1 1 1 0 1 0 3')"),
    # Entry numbers count from 1 over the whole vector: cell 2's norm is entry 6.
    (lambda: Architecture.from_autogan_vector([0] * 4 + [0, "x", 0, 0, 0]),
     "cell 2: AutoGAN vector entry 6 is 'x', not an integer"),
    (lambda: Architecture.from_autogan_vector([0] * 4 + [2, 0, 0, 0, 0]),
     "cell 2, decision conv: value 2 is not allowed; allowed values are 0..1 (0=post, 1=pre)"),
    (lambda: Architecture.from_autogan_vector([0] * 4 + [0, 3, 0, 0, 0]),
     "cell 2, decision norm: value 3 is not allowed; allowed values are 0..2 (0=none, 1=bn, 2=in)"),
]


@pytest.mark.parametrize(("build", "message"), ARCHITECTURE_ERRORS)
def test_a_bad_architecture_in_any_form_is_refused_with_the_whole_message(build, message):
    with pytest.raises(InvalidArchitecture) as info:
        build()
    assert str(info.value) == message


def test_an_op_without_a_vector_code_is_named_in_the_refusal():
    if "test_message_conv" not in registered_ops("conv"):  # a registration lasts for the process
        register_op("conv", "test_message_conv", "for this test")
    arch = Architecture.parse("pre,none,nearest,sc | test_message_conv,none,nearest,sc,skip=1")
    with pytest.raises(InvalidArchitecture) as info:
        arch.to_autogan_vector()
    assert str(info.value) == (
        "cell 2, decision conv: op 'test_message_conv' has no AutoGAN vector code; only ['post', 'pre'] do"
    )


def test_a_one_cell_vector_is_the_first_stages_prefix():
    arch = Architecture.from_autogan_vector([1, 0, 1, 1])
    assert arch == Architecture((Cell("pre", "none", "nearest", True),))
    assert arch.to_autogan_vector() == (1, 0, 1, 1)


def test_cells_given_as_a_list_are_kept_as_a_tuple_so_the_architecture_hashes():
    cells = [_cell(), _cell(skips=[1])]
    arch = Architecture(cells)
    assert arch.cells == (_cell(), _cell(skips=(1,)))
    assert {arch: 1}[Architecture(tuple(cells))] == 1


def test_json_text_is_canonical_with_sorted_keys():
    # The same architecture always writes the same bytes: records compare and hash them as text.
    assert AUTOGAN_TOP1.to_json() == (
        '{"cells": [{"conv": "pre", "norm": "none", "shortcut": true, "skips": [], "up": "nearest"}, '
        '{"conv": "pre", "norm": "none", "shortcut": true, "skips": [1], "up": "bilinear"}, '
        '{"conv": "pre", "norm": "none", "shortcut": false, "skips": [1, 2], "up": "nearest"}], '
        '"format": "autogan.architecture", "version": 1}'
    )
