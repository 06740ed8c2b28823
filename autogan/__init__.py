"""autogan: neural architecture search for GAN generators.

The GAN side and the product: models, training steps, metrics, data, the
search loop and the ``autogan`` command.  The public Python API:

- ``search(config="digits", out=..., overrides=[...], backend=...) -> SearchResult``
- ``retrain(arch_or_run, config=..., out=...) -> RetrainResult``
- ``load_generator(path, rank=None) -> TrainedGenerator`` with ``sample(n, truncation=None, seed=None)``
- ``Architecture`` and ``SearchSpace``, from ``search_spaces``.

The API's names load on first use, so that ``import autogan`` (and ``autogan --help``)
does not pay for torch.

``autogan.search`` and ``autogan.retrain`` are also the subpackages that implement them,
and Python's import system binds a subpackage to its parent's attribute of that name.
So that neither breaks the other, those two subpackages are made callable: the
attribute stays the real module (``autogan.search.run_search``, ``import
autogan.retrain._loop`` work as before) and calling it calls the API function.
"""

import sys
import types

from search_spaces import Architecture, SearchSpace

from autogan.errors import UserError

_CALLABLE_SUBPACKAGES = ("search", "retrain")


class _CallableSubpackage(types.ModuleType):
    """``autogan.search`` / ``autogan.retrain``: the subpackage, which also runs ``autogan.api``'s function of its name."""

    def __call__(self, *args, **kwargs):
        from autogan import api

        return getattr(api, self.__name__.rpartition(".")[2])(*args, **kwargs)


class _Package(types.ModuleType):
    def __setattr__(self, name, value):
        # The import system binds each subpackage here once it has run: the one moment to make it callable.
        if name in _CALLABLE_SUBPACKAGES and type(value) is types.ModuleType:
            value.__class__ = _CallableSubpackage
            from autogan import api

            value.__signature__ = api.signature_of(name)
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package

__version__ = "0.1.0"

_LAZY = {
    "load_generator": "autogan.api",
    "SearchResult": "autogan.api",
    "TrainedGenerator": "autogan.api",
    "RetrainResult": "autogan.retrain",
}

__all__ = [
    "Architecture",
    "RetrainResult",
    "SearchResult",
    "SearchSpace",
    "TrainedGenerator",
    "UserError",
    "__version__",
    "load_generator",
    "retrain",
    "search",
]


def __getattr__(name: str):
    import importlib

    if name in _CALLABLE_SUBPACKAGES:
        return importlib.import_module(f"autogan.{name}")  # binds itself, callable, through _Package
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'autogan' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_LAZY) | set(_CALLABLE_SUBPACKAGES))
