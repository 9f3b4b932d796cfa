"""The reasoning suite's benchmarks (AMC23, Minerva Math, OlympiadBench) on the real
public files of the shared data folder (the Qwen2.5-Math evaluation copies)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from thinklens.benchmarks import get_benchmark, list_benchmarks
from thinklens.grading import GradeRequest, grade
from thinklens.scoring import grade_request
from thinklens.records import Generation
from tests.helpers.shared_data import shared_data_dir

INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."


@pytest.fixture(scope="module")
def data() -> Path:
    folder = shared_data_dir() / "benchmarks"
    if not (folder / "amc23_test.jsonl").is_file():
        pytest.skip(f"shared benchmark data not found in {folder} (set THINKLENS_SHARED_DATA to the data folder)")
    return folder


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def _graded(sample, content: str) -> bool | None:
    gen = Generation(content=content, finish_reason="stop")
    return grade(grade_request(sample, gen, get_benchmark(sample.dataset).grader)).correct


def test_the_suite_is_registered_with_graders_and_hub_ids() -> None:
    names = {b.name for b in list_benchmarks()}
    assert {"aime24", "aime25", "amc23", "math_500", "gpqa", "gsm8k"} <= names


# ----------------------------------------------------------------------------- AMC23


def test_amc23_exams_golds_as_integers_and_prompt(data):
    raw = _jsonl(data / "amc23_test.jsonl")
    samples = get_benchmark("amc23").load({"dataset_id": str(data / "amc23_test.jsonl")})
    assert len(samples) == 40
    assert Counter(s.subset for s in samples) == {"AMC12A": 22, "AMC12B": 18}
    assert [s.gold for s in samples] == [str(int(r["answer"])) for r in raw]  # 27.0 -> "27"
    assert samples[0].messages == [{"role": "user", "content": raw[0]["problem"].strip() + "\n" + INSTRUCTION}]
    assert [s.id for s in samples] == [str(r["id"]) for r in raw]


def test_amc23_integer_golds_compare_as_integers(data):
    sample = get_benchmark("amc23").load({"dataset_id": str(data / "amc23_test.jsonl"), "limit": 1})[0]
    assert sample.gold == "27"
    assert _graded(sample, "so they meet \\boxed{27} miles from A") is True
    assert _graded(sample, "\\boxed{27.0}") is True
    assert _graded(sample, "\\boxed{\\frac{54}{2}}") is True
    assert _graded(sample, "\\boxed{27.5}") is False
    assert _graded(sample, "\\boxed{270}") is False
