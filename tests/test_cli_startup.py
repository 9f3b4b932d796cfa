"""`thinklens --help` stays fast: building the parsers imports no heavy dependency.

Each check runs in a fresh interpreter (this test process has imported everything
already) and looks at `sys.modules` after the help text is printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import thinklens

SRC = str(Path(thinklens.__file__).resolve().parents[1])
HEAVY = ("aiohttp", "numpy", "pydantic", "matplotlib", "math_verify", "sympy", "rich", "orjson", "yaml",
         "tokenizers", "starlette", "uvicorn", "jinja2", "huggingface_hub", "torch", "transformers")
SUBCOMMANDS = ("eval", "grade", "benchmarks", "export", "report", "compare", "budget", "efficiency", "perf", "view",
               "mock-server")


def _python(code: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, env=env)


_HELP_THEN_MODULES = """
import contextlib, io, json, sys
from thinklens.cli import main
with contextlib.redirect_stdout(io.StringIO()) as out:
    try:
        main({argv!r})
    except SystemExit:
        pass
assert "usage:" in out.getvalue(), out.getvalue()
print(json.dumps(sorted(m for m in {heavy!r} if m in sys.modules)))
"""


@pytest.mark.parametrize("argv", [["--help"], *([name, "--help"] for name in SUBCOMMANDS)],
                         ids=lambda argv: " ".join(argv))
def test_help_imports_no_heavy_dependency(argv):
    out = _python(_HELP_THEN_MODULES.format(argv=argv, heavy=HEAVY))
    assert out.returncode == 0, out.stderr[-2000:]
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_every_subcommand_is_registered():
    out = _python("from thinklens.cli import build_parser; p = build_parser(); "
                  "print(' '.join(p._subparsers._group_actions[0].choices))")
    assert out.returncode == 0, out.stderr[-2000:]
    assert tuple(out.stdout.split()) == tuple(c for name in SUBCOMMANDS for c in ((name, "show") if name == "report"
                                                                                else (name,)))


def test_a_subcommand_that_fails_to_import_is_an_error_not_a_missing_command():
    # `None` in sys.modules makes the import raise ModuleNotFoundError, as a broken install would.
    code = ("import sys; sys.modules['thinklens.commands.export_cmd'] = None\n"
            "from thinklens.cli import main\n"
            "sys.exit(main(['--help']))")
    out = _python(code)
    assert out.returncode == 2, (out.returncode, out.stdout[-500:], out.stderr[-2000:])
    assert "thinklens.commands.export_cmd" in out.stderr and "ModuleNotFoundError" in out.stderr
    assert "usage:" not in out.stdout


def test_the_command_table_names_every_registered_command_and_alias():
    """`thinklens CMD` builds CMD's parser alone (start-up): the table must know every
    command the full parser has, so that no command loses its parser."""
    from thinklens.cli import _COMMANDS, build_parser

    full = build_parser()
    registered = set(full._subparsers._group_actions[0].choices)  # noqa: SLF001 - argparse has no public getter
    assert registered == set(_COMMANDS)
    for name in _COMMANDS:
        alone = build_parser(name)._subparsers._group_actions[0].choices  # noqa: SLF001
        # the command's own parser is the same whichever way it was built
        assert alone[name].format_help() == full._subparsers._group_actions[0].choices[name].format_help()  # noqa: SLF001
