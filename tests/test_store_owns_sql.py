"""The store package owns every SQL statement (docs/architecture.md, issue 11): no SQL
string and no cursor call anywhere else in the source tree."""

from __future__ import annotations

import ast
import re
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src" / "thinklens"
SQL = re.compile(
    r"\bSELECT\b.+\bFROM\b|\bINSERT\s+(OR\s+\w+\s+)?INTO\b|\bUPDATE\s+\S+\s+SET\b|\bDELETE\s+FROM\b"
    r"|\bCREATE\s+(TEMP\s+|UNIQUE\s+)?(TABLE|INDEX|VIEW)\b|\bPRAGMA\s+\w+|\bWHERE\b.*(=|\bIS\b|\bIN\b)"
    # fragments: conditions and sort expressions assembled into a statement elsewhere
    r"|\w+='[^']*'|\bIS\s+(NOT\s+)?NULL\b|\bIFNULL\(|\bORDER\s+BY\b|\bCASE\s+WHEN\b",
    re.S,
)
CURSOR_CALLS = {"execute", "executemany", "executescript"}


def _docstrings(tree: ast.AST) -> set[int]:
    ids = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                ids.add(id(body[0].value))
    return ids


def _sql_outside_store(src: Path = SRC) -> list[str]:
    found = []
    for path in sorted(src.rglob("*.py")):
        if path.is_relative_to(src / "store"):
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        docs = _docstrings(tree)
        rel = path.relative_to(src.parent)
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docs:
                if SQL.search(node.value):
                    found.append(f"{rel}:{node.lineno}: SQL text {node.value[:60]!r}")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in CURSOR_CALLS:
                found.append(f"{rel}:{node.lineno}: .{node.func.attr}(...) call")
    return found


def test_no_sql_outside_the_store_package() -> None:
    assert _sql_outside_store() == []


def test_the_check_sees_sql() -> None:
    """The patterns catch the shapes the viewer used to hold (guards the guard)."""
    for text in ("SELECT key FROM temp.s WHERE pos IS NOT NULL", "status='ok' AND correct=1", "PRAGMA data_version",
                 "INSERT OR REPLACE INTO temp.s (rid) VALUES (?)", "IFNULL(-e2e, 1e300)", "pos IS NOT NULL"):
        assert SQL.search(text), text
    for text in ("Select a run to compare", "the report is older than the latest results"):
        assert not SQL.search(text), text
