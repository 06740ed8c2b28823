class InvalidArchitecture(ValueError):
    """An architecture, or one of its encodings, is not a member of the space.

    The message names where (cell and decision), the bad value and what is allowed.
    """
