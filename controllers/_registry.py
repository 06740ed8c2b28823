"""Controllers by name, so that one flag (and CLI ``choices=``) picks the search strategy."""

from __future__ import annotations

import re
from types import MappingProxyType
from typing import Any, Callable, Mapping

from controllers._base import Controller
from controllers._optuna import OptunaController
from controllers._random import RandomController
from controllers._rnn import RNNController
from search_spaces import SearchSpace

ControllerFactory = Callable[..., Controller]

_NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
_REGISTRY: dict[str, ControllerFactory] = {}

#: Read-only view of the registry: name -> factory ``(space, seed, **kwargs) -> Controller``.
CONTROLLERS: Mapping[str, ControllerFactory] = MappingProxyType(_REGISTRY)


def register_controller(name: str, factory: ControllerFactory) -> None:
    """Make ``get_controller(name, space, seed, **kwargs)`` call ``factory``.

    A name is registered once: silently replacing one would change what a saved
    configuration means.
    """
    if not isinstance(name, str) or not _NAME.match(name):
        raise ValueError(f"register_controller: name {name!r} must be lower-case letters, digits, '-' or '_'")
    if name in _REGISTRY:
        raise ValueError(f"register_controller: {name!r} is already registered; pick another name")
    if not callable(factory):
        raise TypeError(f"register_controller: factory for {name!r} is not callable")
    _REGISTRY[name] = factory


def get_controller(name: str, space: SearchSpace, seed: int, **kwargs: Any) -> Controller:
    """Build the controller registered as ``name``; ``kwargs`` go to its constructor."""
    if name not in _REGISTRY:
        raise ValueError(f"controller {name!r} is unknown; choose one of {sorted(_REGISTRY)}")
    return _REGISTRY[name](space, seed, **kwargs)


register_controller("rnn", RNNController)
register_controller("random", RandomController)
register_controller("tpe", OptunaController)
