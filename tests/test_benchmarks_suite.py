"""The reasoning suite's benchmarks (AMC23, Minerva Math, OlympiadBench) on the real
public files of the shared data folder (the Qwen2.5-Math evaluation copies)."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from thinklens.benchmarks import get_benchmark, list_benchmarks
from thinklens.benchmarks.minerva_math import course
from thinklens.grading import grade
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
    assert {"aime24", "aime25", "amc23", "math_500", "minerva_math", "olympiadbench", "gpqa", "gsm8k"} <= names


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


# ----------------------------------------------------------------------------- Minerva Math


def test_minerva_courses_golds_and_units(data):
    raw = _jsonl(data / "minerva_math_test.jsonl")
    samples = get_benchmark("minerva_math").load({"dataset_id": str(data / "minerva_math_test.jsonl")})
    assert len(samples) == 272
    assert Counter(s.subset for s in samples) == Counter(course(r["type"]) for r in raw)
    assert samples[0].subset == "Astronomy 8.282J"
    assert samples[0].gold == "1.6" and samples[0].meta["gold_unit"] == "\\mathrm{~cm}"
    assert samples[1].gold == "4.5e33"
    assert _graded(samples[1], "L \\approx \\boxed{4.5 \\times 10^{33} \\text{ ergs/s}}") is True
    assert _graded(samples[0], "\\boxed{1.6 \\text{ cm}}") is True
    assert _graded(samples[0], "\\boxed{16 \\text{ mm}}") is False


# ----------------------------------------------------------------------------- OlympiadBench


def test_olympiadbench_subfields_answer_lists_and_gold_info(data):
    raw = _jsonl(data / "olympiadbench_test.jsonl")
    samples = get_benchmark("olympiadbench").load({"dataset_id": str(data / "olympiadbench_test.jsonl")})
    assert len(samples) == 675
    assert Counter(s.subset for s in samples) == {"Algebra": 264, "Combinatorics": 154, "Geometry": 129,
                                                   "Number Theory": 128}
    assert "$" not in "".join(s.gold for s in samples)
    multi = next(s for s, r in zip(samples, raw) if r["final_answer"] == ["$69$,$84$"])
    assert multi.gold == "69,84" and multi.meta["is_multiple_answer"] is True
    assert _graded(multi, "\\boxed{84, 69}") is True and _graded(multi, "\\boxed{69}") is False
    tolerant = next(s for s, r in zip(samples, raw) if r["error"])
    req = grade_request(tolerant, Generation(content="\\boxed{4.25}"), "olympiad")
    assert dict(req.gold_info)["error"] == "1e-1" and grade(req).correct is True
