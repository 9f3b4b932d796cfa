"""The command line: `thinklens eval | grade | report | compare | efficiency | perf | view | mock-server | benchmarks`.

argparse rather than Click/Typer: options such as `--datasets math_500 aime24` and
`--concurrency 1 8 32` take several values after one flag (the EvalScope and vLLM
shape users already type), which Click cannot express.  Each subcommand registers its
parser here through `register(subparsers)` of a light module: building the parsers
imports no aiohttp, numpy, pydantic or rich (`thinklens --help` starts in ~0.1 s); the
command's implementation is imported when it runs.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import ThinklensError

# subcommand module -> each exposes register(subparsers) that sets `func` on its parser.
# Keep these modules light (tests/test_cli_startup.py checks): heavy imports go inside `func`.
_COMMAND_MODULES = (
    "thinklens.commands.eval_cmd",
    "thinklens.commands.grade_cmd",
    "thinklens.commands.benchmarks_cmd",
    "thinklens.commands.export_cmd",
    "thinklens.commands.report_cmd",
    "thinklens.commands.compare_args",
    "thinklens.commands.budget_args",
    "thinklens.commands.efficiency_args",
    "thinklens.commands.perf_args",
    "thinklens.viewer.command",
    "thinklens.mock_server.command",
)


# command name (and alias) -> the module that registers it: `thinklens eval ...` builds the
# eval parser only (start-up counts: eval reaches its first request in under 0.3 s).
_COMMANDS = {
    "eval": "thinklens.commands.eval_cmd",
    "grade": "thinklens.commands.grade_cmd",
    "benchmarks": "thinklens.commands.benchmarks_cmd",
    "export": "thinklens.commands.export_cmd",
    "report": "thinklens.commands.report_cmd",
    "show": "thinklens.commands.report_cmd",
    "compare": "thinklens.commands.compare_args",
    "budget": "thinklens.commands.budget_args",
    "efficiency": "thinklens.commands.efficiency_args",
    "perf": "thinklens.commands.perf_args",
    "view": "thinklens.viewer.command",
    "mock-server": "thinklens.mock_server.command",
}


class CommandImportError(ThinklensError):
    """A subcommand's module does not import: a broken install or a bug, never skipped silently."""


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The whole parser, or, for a known `command`, a parser of that command alone (the
    same options, help and errors for it; `thinklens --help` still lists every command)."""
    parser = argparse.ArgumentParser(
        prog="thinklens",
        description="Evaluate reasoning LLMs: accuracy, efficiency of reasoning, serving speed.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"thinklens {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in (_COMMANDS[command],) if command in _COMMANDS else _COMMAND_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError as exc:  # dropping the command would make e.g. `eval` vanish unexplained
            raise CommandImportError(f"cannot load the command module {name}: {type(exc).__name__}: {exc}") from exc
        module.register(sub)
    return parser


def _print_error(message: str) -> None:
    from rich.console import Console  # only on this path: rich costs start-up time
    from rich.text import Text

    # soft_wrap: one line however long (a message names a path and what to do).
    Console(stderr=True, soft_wrap=True).print(Text.assemble(("error: ", "bold red"), message))


def main(argv: list[str] | None = None) -> int:
    if argv is None:
        argv = sys.argv[1:]
    command = argv[0] if argv and not argv[0].startswith("-") else None
    try:
        parser = build_parser(command)
    except CommandImportError as exc:
        _print_error(str(exc))
        return 2
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except ThinklensError as exc:
        _print_error(str(exc))
        return 2
    except KeyboardInterrupt:
        from rich.console import Console

        Console(stderr=True, soft_wrap=True).print(
            "[yellow]interrupted[/]: everything finished so far is stored; run the same command to resume."
        )
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
