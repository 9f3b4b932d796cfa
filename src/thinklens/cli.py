"""The command line: `thinklens eval | grade | efficiency | perf | view | mock-server | benchmarks`.

argparse rather than Click/Typer: options such as `--datasets math_500 aime24` and
`--concurrency 1 8 32` take several values after one flag (the EvalScope and vLLM
shape users already type), which Click cannot express.  Each subcommand lives in the
module that owns it and registers itself here through `register(subparsers)`.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from rich.console import Console
from rich.text import Text

from .errors import ThinklensError

# subcommand module -> each exposes register(subparsers) that sets `func` on its parser.
_COMMAND_MODULES = (
    "thinklens.commands.eval_cmd",
    "thinklens.commands.grade_cmd",
    "thinklens.commands.benchmarks_cmd",
    "thinklens.commands.export_cmd",
    "thinklens.efficiency.command",
    "thinklens.perf.command",
    "thinklens.viewer.command",
    "thinklens.mock_server.command",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="thinklens",
        description="Evaluate reasoning LLMs: accuracy, efficiency of reasoning, serving speed.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"thinklens {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:  # a feature not built yet must not break the rest
            if exc.name and exc.name.startswith("thinklens"):
                continue
            raise
        module.register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ThinklensError as exc:
        # soft_wrap: one line however long (a message names a path and what to do).
        Console(stderr=True, soft_wrap=True).print(Text.assemble(("error: ", "bold red"), str(exc)))
        return 2
    except KeyboardInterrupt:
        Console(stderr=True, soft_wrap=True).print(
            "[yellow]interrupted[/]: everything finished so far is stored; run the same command to resume."
        )
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
