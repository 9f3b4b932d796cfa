"""Loading the real public benchmark files from the shared data folder.

GPQA rule: no GPQA text is ever printed or compared in a way that a failing assertion
would show it; GPQA checks assert on counts and booleans only.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from thinklens.benchmarks import DatasetArgs, get_benchmark
from thinklens.benchmarks import local
from thinklens.errors import DatasetError
from tests.helpers.shared_data import shared_data_dir

INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
GPQA_PASSWORD = "deserted-untie-orchid"  # the GPQA authors' published password for their own zip


@pytest.fixture(scope="module")
def data() -> Path:
    folder = shared_data_dir() / "benchmarks"
    if not (folder / "math500_test.jsonl").is_file():
        pytest.skip(f"shared benchmark data not found in {folder} (set THINKLENS_SHARED_DATA to the data folder)")
    return folder


def _jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


# ----------------------------------------------------------------------------- MATH-500


def test_math500_levels_ids_golds_and_prompt(data):
    raw = _jsonl(data / "math500_test.jsonl")
    samples = get_benchmark("math_500").load({"dataset_id": str(data / "math500_test.jsonl")})
    assert len(samples) == 500
    assert Counter(s.subset for s in samples) == {"Level 1": 43, "Level 2": 90, "Level 3": 105, "Level 4": 128, "Level 5": 134}
    assert [s.id for s in samples] == [r["unique_id"] for r in raw]
    assert [s.gold for s in samples] == [r["answer"] for r in raw]
    assert [s.meta["problem"] for s in samples] == [r["problem"].strip() for r in raw]
    assert [s.meta["level"] for s in samples] == [r["level"] for r in raw]
    first = samples[0]
    assert first.dataset == "math_500"
    assert first.messages == [{"role": "user", "content": raw[0]["problem"].strip() + "\n" + INSTRUCTION}]
    assert first.meta["subject"] == raw[0]["subject"] and first.meta["row_index"] == 0
    assert first.meta["source"] == "math500_test.jsonl"


def test_math500_subset_filter_then_limit_keeps_file_order(data):
    raw = _jsonl(data / "math500_test.jsonl")
    args = DatasetArgs(dataset_id=str(data / "math500_test.jsonl"), subset_list=["Level 5", "Level 1"], limit=12)
    samples = get_benchmark("math_500").load(args)
    expected = [r["unique_id"] for r in raw if r["level"] in (1, 5)][:12]
    assert [s.id for s in samples] == expected
    assert {s.subset for s in samples} <= {"Level 1", "Level 5"}


def test_math500_from_a_folder_of_several_benchmarks(data):
    samples = get_benchmark("math_500").load({"dataset_id": str(data)})
    assert len(samples) == 500 and {s.meta["source"] for s in samples} == {"math500_test.jsonl"}


# ----------------------------------------------------------------------------- AIME


def test_aime24_both_formats(data):
    bench = get_benchmark("aime24")
    qwq = bench.load({"dataset_id": str(data / "aime24_qwq.jsonl")})
    qwen = bench.load({"dataset_id": str(data / "aime24_qwen25math.jsonl")})
    raw_qwen = _jsonl(data / "aime24_qwen25math.jsonl")
    assert len(qwq) == len(qwen) == 30
    assert {s.subset for s in qwq + qwen} == {"default"}
    # zero-padded golds are kept exactly as given; the two files agree as integers
    assert [s.gold for s in qwen] == [r["answer"] for r in raw_qwen]
    assert sum(s.gold.startswith("0") for s in qwen) == 7
    assert [int(a.gold) for a in qwq] == [int(b.gold) for b in qwen]
    assert [s.id for s in qwen] == [str(r["id"]) for r in raw_qwen]
    # QwQ's `prompt` already ends with the instruction: it must be there exactly once
    for sample in qwq:
        content = sample.messages[0]["content"]
        assert content.count("Please reason step by step") == 1 and content.endswith(INSTRUCTION)
        assert not sample.meta["problem"].endswith(INSTRUCTION)
    # where the two files carry the same problem text, the prompts sent are identical
    same = [(a, b) for a, b in zip(qwq, qwen) if a.meta["problem"] == b.meta["problem"]]
    assert len(same) >= 25
    assert all(a.messages == b.messages for a, b in same)
    # ids stay the same across loads (content digest for the id-less QwQ file)
    assert [s.id for s in qwq] == [s.id for s in bench.load({"dataset_id": str(data / "aime24_qwq.jsonl")})]
    assert len({s.id for s in qwq}) == 30


def test_aime25_folder_of_exam_parts(data, tmp_path):
    folder = tmp_path / "aime25"
    folder.mkdir()
    for name in ("aime25_I_aimepreview.jsonl", "aime25_II_aimepreview.jsonl"):
        (folder / name).symlink_to(data / name)  # a view of the shared files, nothing copied
    bench = get_benchmark("aime25")
    samples = bench.load({"dataset_id": str(folder)})
    assert len(samples) == 30
    assert Counter(s.subset for s in samples) == {"AIME2025-I": 15, "AIME2025-II": 15}
    assert [s.id for s in samples[:2]] == ["I-1", "I-2"] and samples[15].id == "II-1"
    assert all(re.fullmatch(r"\d+", s.gold) for s in samples)
    part2 = bench.load({"dataset_id": str(folder), "subset_list": ["AIME2025-II"], "limit": 3})
    assert [s.id for s in part2] == ["II-1", "II-2", "II-3"]


def test_aime25_qwq_file_and_its_golds(data):
    samples = get_benchmark("aime25").load({"dataset_id": str(data / "aime25_qwq.jsonl")})
    raw = _jsonl(data / "aime25_qwq.jsonl")
    assert len(samples) == 30
    assert [s.gold for s in samples] == [str(r["answer"]) for r in raw]
    assert all(s.messages[0]["content"].count(INSTRUCTION) == 1 for s in samples)
    # no exam part in this file: asking for one is an error that says what was found
    with pytest.raises(DatasetError, match=r"no samples of subset\(s\) 'AIME2025-I'.*subsets found: default"):
        get_benchmark("aime25").load({"dataset_id": str(data / "aime25_qwq.jsonl"), "subset_list": ["AIME2025-I"]})


def test_aime25_folder_holding_the_benchmark_twice_is_refused(data, tmp_path):
    folder = tmp_path / "aime25_all"
    folder.mkdir()
    for name in ("aime25_I_aimepreview.jsonl", "aime25_II_aimepreview.jsonl", "aime25_qwq.jsonl"):
        (folder / name).symlink_to(data / name)
    with pytest.raises(DatasetError) as err:
        get_benchmark("aime25").load({"dataset_id": str(folder)})
    assert "more than once" in str(err.value) and "aime25_qwq.jsonl" in str(err.value)


def test_aime24_in_the_shared_folder_is_ambiguous(data):
    with pytest.raises(DatasetError, match="aime24_qwq.jsonl also appear in aime24_qwen25math.jsonl"):
        get_benchmark("aime24").load({"dataset_id": str(data)})


# ----------------------------------------------------------------------------- GSM8K


def test_gsm8k_golds_are_the_number_after_hashes(data):
    raw = _jsonl(data / "gsm8k_test.jsonl")
    samples = get_benchmark("gsm8k").load({"dataset_id": str(data / "gsm8k_test.jsonl")})
    assert len(samples) == 1319 and {s.subset for s in samples} == {"main"}
    assert [s.gold for s in samples] == [r["answer"].split("####")[-1].strip().replace(",", "") for r in raw]
    assert all(re.fullmatch(r"-?\d+(\.\d+)?", s.gold) for s in samples)
    assert sum("," in r["answer"].split("####")[-1] for r in raw) > 0  # the comma case is really exercised
    assert len({s.id for s in samples}) == 1319
    assert samples[0].meta["solution"] == raw[0]["answer"].split("####")[0].strip()
    assert samples[0].messages[0]["content"] == raw[0]["question"].strip() + "\n" + INSTRUCTION


# ----------------------------------------------------------------------------- GPQA (counts and structure only)


@pytest.fixture(scope="module")
def gpqa(data):
    return get_benchmark("gpqa").load({"dataset_id": str(data / "gpqa_diamond.zip"), "password": GPQA_PASSWORD})


def test_gpqa_zip_structure(gpqa):
    assert len(gpqa) == 198
    assert {s.subset for s in gpqa} == {"gpqa_diamond"}
    assert {s.gold for s in gpqa} == {"A", "B", "C", "D"}
    assert len({s.id for s in gpqa}) == 198 and all(s.id.startswith("rec") for s in gpqa)
    assert Counter(s.meta["domain"] for s in gpqa) == {"Chemistry": 93, "Physics": 86, "Biology": 19}
    assert all(len(s.meta["choices"]) == 4 and len(s.meta["incorrect_answers"]) == 3 for s in gpqa)
    assert all(s.meta["source"] == "gpqa_diamond.zip!gpqa_diamond.csv" for s in gpqa)
    ok_prompt = [
        s.messages[0]["content"].count("ANSWER: [LETTER]") == 1
        and all(f"\n{letter}) " in s.messages[0]["content"] for letter in "ABCD")
        for s in gpqa
    ]
    assert ok_prompt.count(False) == 0


def test_gpqa_gold_points_at_the_correct_option_in_every_repeat(gpqa):
    bench = get_benchmark("gpqa")
    wrong = 0
    for sample in gpqa:
        for repeat in range(4):
            shown = bench.for_repeat(sample, repeat)
            idx = "ABCD".index(shown.gold)
            wrong += shown.meta["choices"][idx] != shown.meta["correct_answer"]
            wrong += f"\n{shown.gold}) {shown.meta['correct_answer']}" not in shown.messages[0]["content"]
            wrong += sorted(shown.meta["choices"]) != sorted((shown.meta["correct_answer"], *shown.meta["incorrect_answers"]))
    assert wrong == 0


def test_gpqa_shuffle_is_deterministic_and_differs_across_repeats(gpqa, data):
    bench = get_benchmark("gpqa")
    unchanged_at_zero = sum(bench.for_repeat(s, 0) == s for s in gpqa)
    assert unchanged_at_zero == 198
    local.clear_cache()  # a fresh parse of the zip must give the very same prompts
    again = bench.load({"dataset_id": str(data / "gpqa_diamond.zip"), "password": GPQA_PASSWORD})
    assert sum(a == b for a, b in zip(gpqa, again)) == 198
    second = [bench.for_repeat(s, 1) for s in gpqa]
    reordered = sum(a.meta["choices"] != b.meta["choices"] for a, b in zip(gpqa, second))
    assert reordered >= 170  # 1 - 1/24 of 198 expected
    letters = Counter(s.gold for s in gpqa) + Counter(s.gold for s in second)
    assert all(60 <= letters[x] <= 140 for x in "ABCD"), letters  # roughly uniform over 396 draws
    repeated = [bench.for_repeat(s, 1) for s in again]
    assert sum(a == b for a, b in zip(second, repeated)) == 198


def test_gpqa_zip_needs_the_right_password(data):
    bench = get_benchmark("gpqa")
    with pytest.raises(DatasetError, match="password-protected: pass the password with --dataset-password"):
        bench.load({"dataset_id": str(data / "gpqa_diamond.zip")})
    with pytest.raises(DatasetError) as err:
        bench.load({"dataset_id": str(data / "gpqa_diamond.zip"), "password": "not-the-password"})
    assert "wrong password" in str(err.value) and "not-the-password" not in str(err.value)


def test_gpqa_found_in_the_shared_folder(data):
    samples = get_benchmark("gpqa_diamond").load(DatasetArgs(dataset_id=str(data), password=GPQA_PASSWORD, limit=5))
    assert len(samples) == 5 and samples[0].dataset == "gpqa"
