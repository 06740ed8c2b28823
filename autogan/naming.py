"""Names on disk derived from an architecture itself, so that the same cell always lands in the same place."""

from __future__ import annotations

import hashlib

from search_spaces import Architecture


def architecture_slug(arch: Architecture) -> str:
    """``arch-`` and the published AutoGAN vector's digits, or a hash where the cell is outside that space."""
    try:
        return "arch-" + "".join(map(str, arch.to_autogan_vector()))
    except ValueError:
        return "arch-" + hashlib.sha1(str(arch).encode()).hexdigest()[:12]
