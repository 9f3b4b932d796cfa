"""`thinklens grade`: JSONL in, graded JSONL out; --explain; clear errors for bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from thinklens.cli import main

PREDS = [
    {"id": 1, "response": "so \\boxed{\\dfrac{14}{3}}", "gold": "\\frac{14}{3}"},
    {"id": 2, "response": "<think>maybe it is \\boxed{5}</think>The answer is $6$.", "gold": "5"},
    {"id": 3, "response": "<think>we get 7, so \\boxed{7} hmm wait", "gold": "7"},
    {"id": 4, "response": "We get \\boxed{0.5}", "gold": "\\frac{1}{2}", "problem": "Express it as a common fraction."},
    {"id": 5, "reasoning": "long thoughts", "response": "Thus $x = \\boxed{3}$.", "gold": "x=3", "finish_reason": "stop"},
    {"id": 6, "response": "I do not know.", "gold": "2"},
    {"id": 7, "response": "thinking 2+2=4 ...</think>\n\n**Final Answer:** 4", "gold": "4"},
    {"id": 8, "response": "\\boxed{10^{10^{10}} - 1}", "gold": "5"},
]


def _write(path: Path, rows: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_grade_command_end_to_end(tmp_path: Path) -> None:
    src = _write(tmp_path / "preds.jsonl", PREDS)
    out = tmp_path / "graded.jsonl"
    proc = subprocess.run(
        [sys.executable, "-m", "thinklens", "grade", "--dataset", "math_500", "--input", str(src), "--output", str(out),
         "--workers", "1"],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    rows = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert [r["id"] for r in rows] == [1, 2, 3, 4, 5, 6, 7, 8]
    by_id = {r["id"]: r for r in rows}
    assert (by_id[1]["correct"], by_id[1]["extracted"], by_id[1]["reason"]) == (True, "\\dfrac{14}{3}", "correct")
    # the box inside the reasoning is never graded
    assert (by_id[2]["correct"], by_id[2]["extracted"], by_id[2]["reasoning_source"]) == (False, "6", "think_tags")
    # cut off inside <think>: no answer, even though the reasoning boxed the gold
    assert (by_id[3]["correct"], by_id[3]["reason"], by_id[3]["reasoning_source"]) == (False, "truncated", "unclosed_open_tag")
    assert by_id[4]["reason"] == "not_equivalent" and by_id[4]["grading"]["comparison"] == "form"
    assert by_id[5]["correct"] is True and by_id[5]["reasoning"] == "long thoughts"  # input fields kept
    assert (by_id[6]["correct"], by_id[6]["reason"]) == (False, "no_answer")
    assert (by_id[7]["correct"], by_id[7]["reasoning_source"]) == (True, "lone_close_tag")
    assert (by_id[8]["correct"], by_id[8]["reason"]) == (None, "ungraded")
    for r in rows:  # the audit fields are always there
        assert {"correct", "extracted", "reason", "normalized_pred", "normalized_gold", "method", "grading"} <= set(r)
    assert "graded 8 answers: accuracy 0.3750, ungraded counted as not correct" in proc.stderr  # 3 of 8


def test_grade_to_stdout_with_grader_flag(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write(tmp_path / "p.jsonl", [{"id": "a", "response": "ANSWER: C", "gold": "C"},
                                         {"id": "b", "response": "\\boxed{023}", "gold": 23}])
    assert main(["grade", "--grader", "choice", "--input", str(src), "--workers", "1"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["correct"] for r in rows] == [True, False]  # "023" names no option
    assert main(["grade", "--dataset", "aime24", "--input", str(src), "--workers", "1"]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert rows[1]["correct"] is True and rows[1]["grading"]["comparison"] == "integer"


def test_explain_one_case(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["grade", "--explain", "--response", "so \\boxed{0.75}", "--gold", "\\frac34",
                 "--problem", "Express your answer as a common fraction."]) == 0
    out = capsys.readouterr().out
    assert "WRONG" in out and "not_equivalent" in out
    assert "'0.75'" in out and "common fraction" in out and "compared by  form" in out


def test_explain_by_id(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write(tmp_path / "preds.jsonl", PREDS)
    assert main(["grade", "--explain", "--dataset", "math_500", "--input", str(src), "--id", "3"]) == 0
    out = capsys.readouterr().out
    assert "truncated" in out and "removed (unclosed_open_tag)" in out


@pytest.mark.parametrize(
    ("lines", "message"),
    [
        (['{"id": 1, "response": "a", "gold": "1"}', "{not json"], "preds.jsonl:2: not valid JSON"),
        (['{"id": 1, "response": "a"}'], "preds.jsonl:1: missing field 'gold'"),
        (['{"id": 1, "response": "a", "gold": "1"}', "", '[1, 2]'], "preds.jsonl:3: expected a JSON object"),
        (['{"id": 1, "response": ["a"], "gold": "1"}'], "preds.jsonl:1: field 'response' must be a string"),
        (['{"id": 1, "response": "a", "gold": "1", "choices": "AB"}'], "preds.jsonl:1: field 'choices'"),
        ([], "no predictions"),
    ],
)
def test_malformed_input_names_the_line(tmp_path: Path, capsys: pytest.CaptureFixture[str], lines: list[str],
                                        message: str) -> None:
    src = tmp_path / "preds.jsonl"
    src.write_text("\n".join(lines) + ("\n" if lines else ""), encoding="utf-8")
    assert main(["grade", "--dataset", "math_500", "--input", str(src)]) == 2
    err = " ".join(capsys.readouterr().err.split())
    assert message in err


def test_usage_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    src = _write(tmp_path / "p.jsonl", PREDS[:1])
    assert main(["grade", "--dataset", "math_50", "--input", str(src)]) == 2
    assert "Did you mean 'math_500'" in " ".join(capsys.readouterr().err.split())
    assert main(["grade", "--input", str(src)]) == 2
    assert "--dataset" in capsys.readouterr().err
    assert main(["grade", "--dataset", "gsm8k", "--input", str(tmp_path / "missing.jsonl")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["grade", "--explain", "--gold", "1"]) == 2
    assert "--response" in capsys.readouterr().err
    assert main(["grade", "--explain", "--dataset", "math_500", "--input", str(src), "--id", "99"]) == 2
    assert "no line with id '99'" in capsys.readouterr().err
