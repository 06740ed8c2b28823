"""autogan: neural architecture search for GAN generators.

The GAN side and the product: models, training steps, metrics, data, the
search loop and the ``autogan`` command.
"""

from autogan.errors import UserError

__version__ = "0.1.0"

__all__ = ["UserError", "__version__"]
