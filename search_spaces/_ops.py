"""Registry of named operations that a cell decision may choose from.

The search space speaks in op *names*; the GAN side (``autogan.nn``) maps each
name to a module.  Registering a name here makes it legal in a ``SearchSpace``;
the network must also know how to build it before it can run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from search_spaces._errors import InvalidArchitecture, shown

# Decisions whose choices are op names.  Shortcut and skip-ins are structural
# (booleans and source cells), so they are not in the registry.
OP_DECISIONS = ("conv", "norm", "up")

_NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class OpSpec:
    decision: str
    name: str
    description: str


_REGISTRY: dict[str, dict[str, OpSpec]] = {decision: {} for decision in OP_DECISIONS}


def register_op(decision: str, name: str, description: str = "") -> OpSpec:
    """Make ``name`` a legal choice for ``decision`` ("conv", "norm" or "up").

    Names are lower-case identifiers so that the canonical string stays
    parseable.  Registering the same name twice is an error: a silent
    overwrite would change what saved architectures mean.
    """
    if decision not in _REGISTRY:
        raise ValueError(
            f"register_op: unknown decision {decision!r}; ops can be registered for {list(OP_DECISIONS)}"
        )
    if not _NAME_PATTERN.match(name):
        raise ValueError(
            f"register_op: op name {name!r} is not a lower-case identifier; use letters, digits and '_'"
        )
    if name in _REGISTRY[decision]:
        raise ValueError(f"register_op: {decision} op {name!r} is already registered; pick another name")
    spec = OpSpec(decision, name, description)
    _REGISTRY[decision][name] = spec
    return spec


def registered_ops(decision: str) -> tuple[str, ...]:
    return tuple(_REGISTRY[decision])


def check_op(decision: str, name: str, *, where: str) -> None:
    if name not in _REGISTRY[decision]:
        raise InvalidArchitecture(
            f"{where}: unknown {decision} op {shown(name)}; registered {decision} ops are "
            f"{list(_REGISTRY[decision])} (add one with search_spaces.register_op)"
        )


# AutoGAN's options, in the index order of the published 14-integer vector.
AUTOGAN_CONV = ("post", "pre")
AUTOGAN_NORM = ("none", "bn", "in")
AUTOGAN_UP = ("bilinear", "nearest", "deconv")

for _name, _text in zip(AUTOGAN_CONV, ("up -> conv -> norm -> ReLU", "norm -> ReLU -> up -> conv")):
    register_op("conv", _name, _text)
for _name, _text in zip(AUTOGAN_NORM, ("no normalization", "batch norm", "instance norm, no affine")):
    register_op("norm", _name, _text)
for _name, _text in zip(AUTOGAN_UP, ("bilinear x2", "nearest x2", "ConvTranspose 2x2, stride 2")):
    register_op("up", _name, _text)
