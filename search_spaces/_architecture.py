"""Value objects for AutoGAN generator cells and whole architectures."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Iterable

from search_spaces._errors import InvalidArchitecture, shown
from search_spaces._ops import AUTOGAN_CONV, AUTOGAN_NORM, AUTOGAN_UP, check_op

JSON_FORMAT = "autogan.architecture"
JSON_VERSION = 1

_SHORTCUT_WORDS = {"sc": True, "nosc": False}
_CELL_SEPARATOR = " | "


@dataclass(frozen=True)
class Cell:
    """One generator cell.

    ``skips`` holds the 1-based numbers of the earlier cells whose first-conv
    output feeds this cell, sorted and without repeats.
    """

    conv: str
    norm: str
    up: str
    shortcut: bool
    skips: tuple[int, ...] = ()

    def __post_init__(self) -> None:
        # Normalise so that equal cells compare and hash equal whatever
        # iterable the caller passed.
        skips = self.skips
        if isinstance(skips, (str, bytes)) or not isinstance(skips, Iterable):
            raise InvalidArchitecture(
                f"cell decision skip: expected a sequence of earlier cell numbers, got {shown(skips)}"
            )
        skips = tuple(skips)
        for source in skips:
            if isinstance(source, bool) or not isinstance(source, int):
                raise InvalidArchitecture(
                    f"cell decision skip: skip source {shown(source)} is not an integer cell number (cells count from 1)"
                )
        if len(set(skips)) != len(skips):
            raise InvalidArchitecture(f"cell decision skip: {list(skips)} names a source cell twice")
        object.__setattr__(self, "skips", tuple(sorted(skips)))
        if not isinstance(self.shortcut, bool):
            raise InvalidArchitecture(f"cell decision shortcut: expected true or false, got {shown(self.shortcut)}")
        for decision in ("conv", "norm", "up"):
            value = getattr(self, decision)
            if not isinstance(value, str):
                raise InvalidArchitecture(f"cell decision {decision}: expected an op name, got {shown(value)}")
            check_op(decision, value, where=f"cell decision {decision}")

    def to_dict(self) -> dict[str, Any]:
        return {
            "conv": self.conv,
            "norm": self.norm,
            "up": self.up,
            "shortcut": self.shortcut,
            "skips": list(self.skips),
        }


def _check_cell_position(cell: Cell, number: int) -> None:
    for source in cell.skips:
        if not 1 <= source < number:
            allowed = list(range(1, number)) or "none (cell 1 has no earlier cells)"
            raise InvalidArchitecture(
                f"cell {number}, decision skip: skip from cell {source} does not exist before cell {number}; "
                f"allowed sources are {allowed}"
            )


@dataclass(frozen=True)
class Architecture:
    """A generator: cells in order from the bottom (4x4) up.

    A *prefix* (fewer cells than the space has) is also an ``Architecture``:
    multi-level search decides cells one stage at a time.
    """

    cells: tuple[Cell, ...]

    def __post_init__(self) -> None:
        cells = tuple(self.cells)
        if not cells:
            raise InvalidArchitecture("architecture: it has no cells; an architecture needs at least one cell")
        for number, cell in enumerate(cells, start=1):
            if not isinstance(cell, Cell):
                raise InvalidArchitecture(f"cell {number}: expected a Cell, got {type(cell).__name__}")
            _check_cell_position(cell, number)
        object.__setattr__(self, "cells", cells)

    def __len__(self) -> int:
        return len(self.cells)

    # --- canonical one-line string -------------------------------------------------

    def __str__(self) -> str:
        parts = []
        for number, cell in enumerate(self.cells, start=1):
            fields = [cell.conv, cell.norm, cell.up, "sc" if cell.shortcut else "nosc"]
            if number > 1:
                fields.append("skip=" + ("+".join(map(str, cell.skips)) if cell.skips else "none"))
            parts.append(",".join(fields))
        return _CELL_SEPARATOR.join(parts)

    @classmethod
    def parse(cls, text: str) -> "Architecture":
        """Inverse of ``str(arch)``: ``"pre,none,nearest,sc | pre,bn,deconv,nosc,skip=1"``."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidArchitecture(
                "architecture string: it is empty; expected cells like 'pre,none,nearest,sc | pre,bn,deconv,nosc,skip=1'"
            )
        cells = []
        for number, chunk in enumerate(text.split("|"), start=1):
            fields = [f.strip() for f in chunk.split(",")]
            expected = 4 if number == 1 else 5
            if len(fields) != expected:
                shape = "conv,norm,up,sc|nosc" + ("" if number == 1 else ",skip=A+B|none")
                raise InvalidArchitecture(
                    f"cell {number}: {shown(chunk.strip())} has {len(fields)} fields, expected {expected} ({shape})"
                )
            conv, norm, up, shortcut_word = fields[:4]
            if shortcut_word not in _SHORTCUT_WORDS:
                raise InvalidArchitecture(
                    f"cell {number}, decision shortcut: {shown(shortcut_word)} is not allowed; use 'sc' or 'nosc'"
                )
            skips: tuple[int, ...] = ()
            if number > 1:
                skips = _parse_skip_field(fields[4], number)
            cells.append(
                _make_cell(number, conv=conv, norm=norm, up=up, shortcut=_SHORTCUT_WORDS[shortcut_word], skips=skips)
            )
        return cls(tuple(cells))

    # --- JSON ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": JSON_FORMAT,
            "version": JSON_VERSION,
            "cells": [cell.to_dict() for cell in self.cells],
        }

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Any) -> "Architecture":
        if not isinstance(data, dict):
            raise InvalidArchitecture(f"architecture JSON: expected an object, got {type(data).__name__}")
        if data.get("format") != JSON_FORMAT:
            raise InvalidArchitecture(
                f"architecture JSON: 'format' is {shown(data.get('format'))}, expected {JSON_FORMAT!r}"
            )
        version = data.get("version")
        if not isinstance(version, int) or isinstance(version, bool):
            raise InvalidArchitecture(f"architecture JSON: 'version' is {shown(version)}, expected an integer")
        if version > JSON_VERSION:
            raise InvalidArchitecture(
                f"architecture JSON: format version {version} is newer than this autogan reads "
                f"(up to {JSON_VERSION}); upgrade autogan"
            )
        if version < 1:
            raise InvalidArchitecture(f"architecture JSON: format version {version} does not exist; versions start at 1")
        raw_cells = data.get("cells")
        if not isinstance(raw_cells, list):
            raise InvalidArchitecture("architecture JSON: 'cells' must be a list of cell objects")
        cells = []
        for number, raw in enumerate(raw_cells, start=1):
            if not isinstance(raw, dict):
                raise InvalidArchitecture(f"cell {number}: expected an object, got {type(raw).__name__}")
            missing = {"conv", "norm", "up", "shortcut", "skips"} - raw.keys()
            if missing:
                raise InvalidArchitecture(f"cell {number}: missing keys {sorted(missing)}")
            cells.append(_make_cell(number, **{k: raw[k] for k in ("conv", "norm", "up", "shortcut", "skips")}))
        return cls(tuple(cells))

    @classmethod
    def from_json(cls, text: str) -> "Architecture":
        try:
            data = json.loads(text)
        except (json.JSONDecodeError, TypeError) as exc:
            raise InvalidArchitecture(f"architecture JSON: not valid JSON ({exc})") from None
        except RecursionError:
            raise InvalidArchitecture(
                "architecture JSON: nested too deeply to read; an architecture is an object with a list of cells"
            ) from None
        return cls.from_dict(data)

    # --- the published AutoGAN vector ------------------------------------------------

    def to_autogan_vector(self) -> tuple[int, ...]:
        """The published integer form: ``[conv, norm, up, sc]`` then ``[..., skip]`` per later cell.

        The skip integer's binary digits, most significant first, flag cells 1..s-1.
        """
        vector: list[int] = []
        for number, cell in enumerate(self.cells, start=1):
            for decision, options in (("conv", AUTOGAN_CONV), ("norm", AUTOGAN_NORM), ("up", AUTOGAN_UP)):
                value = getattr(cell, decision)
                if value not in options:
                    raise InvalidArchitecture(
                        f"cell {number}, decision {decision}: op {shown(value)} has no AutoGAN vector code; "
                        f"only {list(options)} do"
                    )
                vector.append(options.index(value))
            vector.append(int(cell.shortcut))
            if number > 1:
                vector.append(skips_to_int(cell.skips, number))
        return tuple(vector)

    @classmethod
    def from_autogan_vector(cls, vector: Iterable[Any]) -> "Architecture":
        values = list(vector)
        if len(values) < 4 or (len(values) - 4) % 5 != 0:
            raise InvalidArchitecture(
                f"AutoGAN vector: length {len(values)} is not 4 + 5*(cells-1) "
                "(14 for 3 cells, e.g. '1 0 1 1 1 0 0 1 1 1 0 1 0 3')"
            )
        cells = []
        position = 0
        for number in range(1, 2 + (len(values) - 4) // 5):
            width = 4 if number == 1 else 5
            chunk = values[position : position + width]
            position += width
            for index, value in enumerate(chunk):
                if isinstance(value, bool) or not isinstance(value, int):
                    raise InvalidArchitecture(
                        f"cell {number}: AutoGAN vector entry {position - width + index + 1} is {shown(value)}, "
                        "not an integer"
                    )
            conv = _pick(number, "conv", chunk[0], AUTOGAN_CONV)
            norm = _pick(number, "norm", chunk[1], AUTOGAN_NORM)
            up = _pick(number, "up", chunk[2], AUTOGAN_UP)
            if chunk[3] not in (0, 1):
                raise InvalidArchitecture(
                    f"cell {number}, decision shortcut: value {chunk[3]} is not allowed; allowed values are [0, 1]"
                )
            skips = skips_from_int(chunk[4], number) if number > 1 else ()
            cells.append(Cell(conv, norm, up, bool(chunk[3]), skips))
        return cls(tuple(cells))


def skips_to_int(skips: tuple[int, ...], number: int) -> int:
    """Skip sources of cell ``number`` as AutoGAN's integer (MSB = cell 1)."""
    width = number - 1
    return sum(1 << (width - source) for source in skips)


def skips_from_int(value: int, number: int) -> tuple[int, ...]:
    width = number - 1
    if not 0 <= value < (1 << width):
        raise InvalidArchitecture(
            f"cell {number}, decision skip: value {value} is not allowed; allowed values are 0..{(1 << width) - 1}"
        )
    return tuple(source for source in range(1, number) if value & (1 << (width - source)))


def _pick(number: int, decision: str, value: int, options: tuple[str, ...]) -> str:
    if not 0 <= value < len(options):
        raise InvalidArchitecture(
            f"cell {number}, decision {decision}: value {value} is not allowed; "
            f"allowed values are 0..{len(options) - 1} ({', '.join(f'{i}={o}' for i, o in enumerate(options))})"
        )
    return options[value]


def _parse_skip_field(field: str, number: int) -> tuple[int, ...]:
    if not field.startswith("skip="):
        raise InvalidArchitecture(
            f"cell {number}, decision skip: {shown(field)} should read 'skip=1+2' or 'skip=none'"
        )
    body = field[len("skip=") :]
    if body == "none":
        return ()
    sources = []
    for token in body.split("+"):
        if not token.isdigit():
            raise InvalidArchitecture(
                f"cell {number}, decision skip: {shown(token)} is not a cell number; write 'skip=1+2' or 'skip=none'"
            )
        sources.append(int(token))
    return tuple(sources)


def _make_cell(number: int, **fields: Any) -> Cell:
    """Build a cell, prefixing any error with the cell's position."""
    try:
        cell = Cell(**fields)
    except InvalidArchitecture as exc:
        message = str(exc)
        raise InvalidArchitecture(f"cell {number}, " + message.removeprefix("cell ")) from None
    _check_cell_position(cell, number)
    return cell
