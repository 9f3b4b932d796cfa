"""The grader registry: one module per grader, and nothing else branches on grader names."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from thinklens.benchmarks import list_benchmarks
from thinklens.grading import GradeRequest, grade
from thinklens.grading.grader import Grader
from thinklens.grading.registry import all_graders, get_grader, grader_names

SRC = Path(__file__).resolve().parents[1] / "src" / "thinklens"
# `grader == "choice"`, `grader in ("integer", ...)`, `grader != "math"`: a branch on a name.
_BRANCH_RE = re.compile(r"""grader\s*(?:==|!=|in|not\s+in)\s*[(\["']""")


def test_every_grader_module_declares_its_own_name() -> None:
    names = grader_names()
    assert {"math", "integer", "choice", "gsm8k"} <= set(names)
    for grader in all_graders():
        assert isinstance(grader, Grader)
        assert grader.name in names and grader.description


def test_every_benchmark_names_a_registered_grader() -> None:
    for bench in list_benchmarks():
        assert get_grader(bench.grader).name == bench.grader


def test_unknown_grader_is_refused_with_the_registered_names() -> None:
    with pytest.raises(ValueError, match="unknown grader 'nope'.*math"):
        GradeRequest("nope", "\\boxed{1}", "1")


def test_no_code_outside_the_graders_branches_on_a_grader_name() -> None:
    offenders = []
    for path in SRC.rglob("*.py"):
        if path.parent.name == "kinds":
            continue
        for i, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if _BRANCH_RE.search(line):
                offenders.append(f"{path.relative_to(SRC)}:{i}: {line.strip()}")
    assert not offenders, "\n".join(offenders)


def test_gold_info_reaches_the_grader_and_keeps_the_request_hashable() -> None:
    req = GradeRequest("math", "\\boxed{2}", "2", gold_info={"final_answer": ["2"], "error": None})
    assert req.info == {"error": None, "final_answer": ("2",)}
    assert hash(req) == hash(GradeRequest("math", "\\boxed{2}", "2", gold_info=req.gold_info))
    assert grade(req).correct is True
