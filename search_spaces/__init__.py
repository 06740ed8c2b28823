"""What can be searched: AutoGAN generator cells and their exact encodings.

Pure Python; imports nothing else of ours and no torch.
"""

from search_spaces._architecture import JSON_VERSION, Architecture, Cell
from search_spaces._errors import InvalidArchitecture
from search_spaces._ops import OP_DECISIONS, OpSpec, register_op, registered_ops
from search_spaces._space import CELL_DECISIONS, MAX_CELLS, MIN_CELLS, Decision, SearchSpace

#: AutoGAN's best published architecture (CIFAR-10 FID 12.42).
AUTOGAN_TOP1 = Architecture.from_autogan_vector([1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 1, 0, 3])

__all__ = [
    "AUTOGAN_TOP1",
    "Architecture",
    "CELL_DECISIONS",
    "Cell",
    "Decision",
    "InvalidArchitecture",
    "JSON_VERSION",
    "MAX_CELLS",
    "MIN_CELLS",
    "OP_DECISIONS",
    "OpSpec",
    "SearchSpace",
    "register_op",
    "registered_ops",
]
