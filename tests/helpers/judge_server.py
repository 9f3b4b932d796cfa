"""The mock server acting as an LLM judge, through its replay mode.

The mock server answers a request with the replay record whose `problem` text
occurs in the request's last user message (longest match wins).  A judge verdict
is therefore a record whose key is a piece of text that occurs only in the judge
prompt it answers, built here from the very templates the judge code uses, and
whose content is the verdict.
"""

from __future__ import annotations

import json
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from thinklens.efficiency.judge_method import answer_text, problem_text
from thinklens.efficiency.traces import Trace
from thinklens.mock_server import MockServerConfig, run_mock_server

UNMATCHED = "The mock judge has no verdict for this prompt."


def equivalence_key(problem: str, gold: str) -> str:
    """Occurs only in the equivalence prompt about (problem, gold)."""
    return f"[Problem]\n{problem.strip()}\n\n[Reference answer]\n{gold.strip()}"


def first_correct_key(trace: Trace) -> str:
    """Occurs only in the first-correct-step prompt about this trace's question."""
    return f"{problem_text(trace)}\n\n[Correct answer]\n{answer_text(trace)}"


def split_key(reasoning: str) -> str:
    """Occurs only in the split prompt of this reasoning."""
    return "[Reasoning]\n" + reasoning[:300]


def write_replay(path: Path, verdicts: list[tuple[str, str]]) -> Path:
    with path.open("w", encoding="utf-8") as f:
        for key, content in verdicts:
            f.write(json.dumps({"problem": key, "content": content}, ensure_ascii=False) + "\n")
    return path


@contextmanager
def judge_server(path: Path, verdicts: list[tuple[str, str]]) -> Iterator[object]:
    """A running mock judge; `.url` is its /v1 base URL, `.stats()` counts its requests."""
    write_replay(path, verdicts)
    with run_mock_server(MockServerConfig(replay=(path,), unmatched_content=UNMATCHED, quiet=True)) as server:
        yield server
