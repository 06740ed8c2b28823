"""The package logger.  Library code logs through it and never prints."""

import logging

logger = logging.getLogger("autogan")


def configure_cli_logging(verbose: bool = False) -> None:
    """Send the package's logs to stderr; results go to stdout."""
    if logger.handlers:
        return
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%H:%M:%S"))
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG if verbose else logging.INFO)
    logger.propagate = False
    try:  # Optuna logs every trial at INFO; the search's own log says what matters.
        import optuna

        optuna.logging.set_verbosity(optuna.logging.WARNING)
    except ImportError:
        pass
