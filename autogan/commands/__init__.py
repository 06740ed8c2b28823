"""One module per ``autogan`` subcommand; see ``autogan.cli``."""
