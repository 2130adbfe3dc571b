"""The implementations of ``bucle`` subcommands, imported only when the command runs."""
