"""The subcommands' argparse parsers (light modules: no heavy import until a command runs)."""

from __future__ import annotations

import argparse
import importlib
from collections.abc import Callable


def lazy_command(module: str, attr: str = "run") -> Callable[[argparse.Namespace], int]:
    """A parser's `func` that imports `module` only when the command really runs.

    `thinklens --help` builds every subcommand's parser; importing each command's
    implementation there would load aiohttp, numpy and pydantic for nothing.
    """

    def run(args: argparse.Namespace) -> int:
        return getattr(importlib.import_module(module), attr)(args)

    run.__qualname__ = f"lazy_command({module}.{attr})"
    return run
