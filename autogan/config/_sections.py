"""A config as a frozen dataclass of section dataclasses: parsing, type checks, overrides and TOML.

The dataclasses are the single source of defaults.  A TOML file overrides them and
``section.key=value`` arguments override the file; unknown sections and keys are
errors and every value is type-checked, so a typo never silently keeps a default.
"""

from __future__ import annotations

import dataclasses
import math
import tomllib
import types
import typing
from typing import Any, ClassVar, Iterable

import tomli_w

from autogan.errors import ConfigError, shown


class Sections:
    """The methods every sectioned config shares; a subclass is a frozen dataclass of sections with a ``check``."""

    #: Names the config in errors when ``from_dict`` is not told its source.
    what: ClassVar[str] = "config"

    def to_dict(self) -> dict[str, Any]:
        return sections_to_dict(self)

    def to_toml(self) -> str:
        return tomli_w.dumps(self.to_dict())

    @classmethod
    def from_dict(cls, data: dict[str, Any], *, source: str | None = None):
        config = sections_from_dict(cls, data, source=cls.what if source is None else source)
        config.check()
        return config

    def replace(self, **sections: Any):
        return dataclasses.replace(self, **sections)

    def check(self) -> None:
        """Cross-field checks that a dataclass type alone cannot express."""


def check_at_least_one(values: dict[str, int]) -> None:
    for key, value in values.items():
        if value < 1:
            raise ConfigError(f"{key}={value}: must be at least 1")


def check_choices(choices: dict[str, tuple[Any, Iterable[Any]]], *, show=shown) -> None:
    """Each ``key: (value, allowed)`` has its value among the allowed ones."""
    for key, (value, allowed) in choices.items():
        if value not in allowed:
            raise ConfigError(f"{key}={show(value)}: not one of {list(allowed)}")


def check_auto_or_bool(key: str, value: str | bool) -> None:
    """A switch whose default depends on the device: ``"auto"``, ``true`` or ``false``."""
    if value != "auto" and not isinstance(value, bool):
        raise ConfigError(
            f'{key}={shown(value)}: not "auto", true or false; give "auto" to let the device decide, '
            "or true or false without quotes"
        )


def check_auto_or_value(key: str, value: Any, kind: str) -> None:
    """A key that is either a value of its type or ``"auto"``: any other string is a typo."""
    if isinstance(value, str) and value != "auto":
        raise ConfigError(f'{key}={shown(value)}: give {kind}, or "auto" to fit the machine')


def sections_from_dict(cls: type, data: dict[str, Any], *, source: str = "config") -> Any:
    """Build a frozen dataclass of section dataclasses from a dict.

    Unknown sections and keys are errors, values are type-checked, missing ones keep
    their defaults.  Cross-field checks are the caller's.
    """
    if not isinstance(data, dict):
        raise ConfigError(f"{source}: expected a table of sections, got {type(data).__name__}")
    sections = {f.name: f for f in dataclasses.fields(cls)}
    unknown = set(data) - set(sections)
    if unknown:
        raise ConfigError(f"{source}: unknown section(s) {shown(sorted(unknown))}; sections are {sorted(sections)}")
    built = {}
    for name, section_field in sections.items():
        values = data.get(name, {})
        if not isinstance(values, dict):
            raise ConfigError(f"{source}: [{name}] must be a table")
        built[name] = _build_section(section_field.default_factory, values, f"{source} [{name}]")  # type: ignore[arg-type]
    return cls(**built)


def sections_to_dict(config: Any) -> dict[str, Any]:
    """The plain-dict form of a sectioned config (tuples as lists), ready for TOML or a checkpoint."""
    return {section.name: _plain(dataclasses.asdict(getattr(config, section.name))) for section in dataclasses.fields(config)}


def _build_section(section_cls: type, values: dict[str, Any], where: str) -> Any:
    hints = typing.get_type_hints(section_cls)
    known = {f.name for f in dataclasses.fields(section_cls)}
    unknown = set(values) - known
    if unknown:
        raise ConfigError(f"{where}: unknown key(s) {shown(sorted(unknown))}; known keys are {sorted(known)}")
    converted = {key: _coerce(value, hints[key], f"{where} {key}") for key, value in values.items()}
    return section_cls(**converted)


# How a union's members are named when a value fits none of them.
_TYPE_NAMES = {bool: "true or false", int: "an integer", float: "a number", str: "a string"}

# Torch, Ray and numpy take 64-bit integers; a larger one fails deep inside them.
_INT_LIMIT = 2**63


def _coerce(value: Any, hint: Any, where: str) -> Any:
    if hint is bool:
        if isinstance(value, bool):
            return value
        raise ConfigError(f"{where}: {shown(value)} is not true or false")
    if hint is int:
        if isinstance(value, int) and not isinstance(value, bool):
            if not -_INT_LIMIT <= value < _INT_LIMIT:
                raise ConfigError(f"{where}: {shown(value)} is out of range; give a 64-bit integer")
            return value
        raise ConfigError(f"{where}: {shown(value)} is not an integer")
    if hint is float:
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            if not -_INT_LIMIT <= value < _INT_LIMIT or not math.isfinite(value):
                raise ConfigError(f"{where}: {shown(value)} is not a finite number of ordinary size")
            return float(value)
        raise ConfigError(f"{where}: {shown(value)} is not a number")
    if hint is str:
        if isinstance(value, str):
            return value
        raise ConfigError(f"{where}: {shown(value)} is not a string")
    if isinstance(hint, types.UnionType):
        fitting_error = None
        for option in typing.get_args(hint):
            try:
                return _coerce(value, option, where)
            except ConfigError as exc:
                # A value of the member's own type that it refuses (a NaN for a float) gets that member's reason.
                if fitting_error is None and _is_of_type(value, option):
                    fitting_error = exc
        if fitting_error is not None:
            raise fitting_error
        names = ", nor ".join(_TYPE_NAMES.get(option, str(option)) for option in typing.get_args(hint))
        raise ConfigError(f"{where}: {shown(value)} is not {names}")
    if typing.get_origin(hint) is tuple:
        item_hint = typing.get_args(hint)[0]
        if not isinstance(value, (list, tuple)):
            raise ConfigError(f"{where}: {shown(value)} is not a list")
        return tuple(_coerce(v, item_hint, where) for v in value)
    raise ConfigError(f"{where}: unsupported type {hint}")


def _is_of_type(value: Any, option: Any) -> bool:
    if option is float:
        return isinstance(value, (int, float)) and not isinstance(value, bool)
    if option is int:
        return isinstance(value, int) and not isinstance(value, bool)
    return isinstance(option, type) and isinstance(value, option)


def _plain(values: dict[str, Any]) -> dict[str, Any]:
    return {k: list(v) if isinstance(v, tuple) else v for k, v in values.items()}


# --------------------------------------------------------------------------- overrides


def parse_override(text: str) -> tuple[str, str, Any]:
    """``section.key=value``; the value is read as TOML (so ``[15,20,30]``, ``true``, ``1e-3``)."""
    if "=" not in text:
        raise ConfigError(f"override {shown(text)}: expected section.key=value, e.g. train.n_critic=1")
    key, raw = text.split("=", 1)
    if key.count(".") != 1:
        raise ConfigError(f"override {shown(text)}: key {shown(key)} should be section.key, e.g. search.archs_per_iteration")
    section, name = key.strip().split(".")
    if "\n" in raw or "\r" in raw:
        # Read as TOML, a second line would be a second key that is silently dropped.
        raise ConfigError(f"override {shown(text)}: the value spans lines; give a one-line value")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw  # a bare word, such as train.loss=bce
    except ValueError:  # an integer of thousands of digits
        raise ConfigError(f"override {shown(text)}: the number is far too long; give a value of ordinary size") from None
    except RecursionError:
        raise ConfigError(f"override {shown(text)}: the value is nested too deeply; give a number, word or flat list") from None
    return section, name, value


def apply_overrides(
    data: dict[str, Any], overrides: list[str] | tuple[str, ...], config_cls: type | None = None
) -> dict[str, Any]:
    """``section.key=value`` overrides applied to a config dict read from TOML (changed in place and returned).

    With ``config_cls``, a section or key it does not have is blamed on the override, with the nearest
    name, not on the file it would have been merged into.
    """
    for override in overrides:
        section, name, value = parse_override(override)
        if config_cls is not None:
            _check_override_key(config_cls, override, section, name)
        data.setdefault(section, {})
        if not isinstance(data[section], dict):
            raise ConfigError(f"override {override!r}: [{section}] is not a table")
        data[section][name] = value
    return data


def _check_override_key(config_cls: type, override: str, section: str, name: str) -> None:
    import difflib

    sections = {f.name: f.default_factory for f in dataclasses.fields(config_cls)}
    if section not in sections:
        near = difflib.get_close_matches(section, sections, n=1)
        hint = f"did you mean {near[0]}.{name}?" if near else f"sections are {sorted(sections)}"
        raise ConfigError(f"override {shown(override)}: there is no section [{section}]; {hint}")
    keys = [f.name for f in dataclasses.fields(sections[section])]  # type: ignore[arg-type]
    if name not in keys:
        near = difflib.get_close_matches(name, keys, n=1)
        hint = f"did you mean {section}.{near[0]}?" if near else f"[{section}] has {sorted(keys)}"
        raise ConfigError(f"override {shown(override)}: [{section}] has no key {shown(name)}; {hint}")
