class InvalidArchitecture(ValueError):
    """An architecture, or one of its encodings, is not a member of the space.

    The message names where (cell and decision), the bad value and what is allowed.
    """


def shown(value: object, limit: int = 80) -> str:
    """``repr(value)`` cut to ``limit`` characters: a message quotes a bad value, never pages of it."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = len(value) if isinstance(value, (str, bytes)) else len(text)
    return f"{text[: limit - 1]}… ({size:,} characters)"
