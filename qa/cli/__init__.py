"""The command line (`qa …`): thin commands over `qa.pipeline.Pipeline`; the only place besides qa.ui that imports click."""

from qa.cli.commands import cli, main

__all__ = ["cli", "main"]
