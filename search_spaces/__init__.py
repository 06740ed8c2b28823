"""What can be searched: AutoGAN generator cells and their exact encodings.

Pure Python; imports nothing else of ours and no torch.
"""

from search_spaces._architecture import Architecture, Cell
from search_spaces._errors import InvalidArchitecture
from search_spaces._ops import register_op
from search_spaces._space import SearchSpace

#: AutoGAN's best published architecture (CIFAR-10 FID 12.42).
AUTOGAN_TOP1 = Architecture.from_autogan_vector([1, 0, 1, 1, 1, 0, 0, 1, 1, 1, 0, 1, 0, 3])

__all__ = [
    "AUTOGAN_TOP1",
    "Architecture",
    "Cell",
    "InvalidArchitecture",
    "SearchSpace",
    "register_op",
]
