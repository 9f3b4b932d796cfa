"""Registry, DatasetArgs and prompt templates (no shared data needed)."""

from __future__ import annotations

import json

import pytest

from thinklens.benchmarks import Benchmark, DatasetArgs, get_benchmark, list_benchmarks, parse_dataset_paths
from thinklens.benchmarks import registry
from thinklens.benchmarks.prompts import BOXED_TEMPLATE, render, strip_instruction
from thinklens.errors import DatasetError


def test_builtin_benchmarks_and_their_declared_data():
    by_name = {b.name: b for b in list_benchmarks()}
    assert sorted(by_name) == ["aime24", "aime25", "amc23", "gpqa", "gsm8k", "math_500", "minerva_math", "olympiadbench"]
    assert by_name["math_500"].subsets == ("Level 1", "Level 2", "Level 3", "Level 4", "Level 5")
    assert by_name["math_500"].size == 500
    assert by_name["math_500"].hub_id == "HuggingFaceH4/MATH-500"
    assert by_name["math_500"].modelscope_id == "AI-ModelScope/MATH-500"
    assert by_name["math_500"].prompt_template == (
        "{question}\nPlease reason step by step, and put your final answer within \\boxed{}."
    )
    assert by_name["aime25"].subsets == ("AIME2025-I", "AIME2025-II")
    assert by_name["gpqa"].subsets == ("gpqa_diamond",)
    assert by_name["gpqa"].size == 198
    assert by_name["gsm8k"].size == 1319
    assert {b.grader for b in by_name.values()} == {"math", "integer", "choice", "gsm8k", "minerva", "olympiad"}
    assert by_name["aime24"].grader == by_name["aime25"].grader == "integer"


@pytest.mark.parametrize(
    "name, expected",
    [("math_500", "math_500"), ("MATH-500", "math_500"), ("math500", "math_500"), ("gpqa_diamond", "gpqa"),
     ("AIME24", "aime24"), ("aime2025", "aime25"), ("gsm8k", "gsm8k")],
)
def test_names_aliases_and_case(name, expected):
    assert get_benchmark(name).name == expected


@pytest.mark.parametrize("typo, suggestion", [("math5OO", "math_500"), ("aime26", "aime25"), ("gpqa_diamnd", "gpqa"),
                                              ("gsm8", "gsm8k")])
def test_unknown_name_suggests_the_closest(typo, suggestion):
    with pytest.raises(DatasetError) as err:
        get_benchmark(typo)
    msg = str(err.value)
    assert f"unknown dataset {typo!r}" in msg
    assert f"Did you mean {suggestion!r}?" in msg
    assert "Available: aime24, aime25, amc23, gpqa, gsm8k, math_500, minerva_math, olympiadbench" in msg


def test_unknown_name_without_close_match_lists_all():
    with pytest.raises(DatasetError, match=r"unknown dataset 'humaneval'\. Available: aime24, aime25, amc23, gpqa"):
        get_benchmark("humaneval")


def test_register_a_user_benchmark(monkeypatch, tmp_path):
    monkeypatch.setattr(registry, "_registry", dict(registry._registry))
    monkeypatch.setattr(registry, "_aliases", dict(registry._aliases))
    mine = Benchmark(
        name="my_quiz", grader="math", subsets=("default",), hub_id="me/quiz", modelscope_id=None,
        split="test", prompt_template="Solve: {question}", description="a test benchmark",
        aliases=("quiz",),
    )
    registry.register(mine)
    assert get_benchmark("quiz") is mine
    with pytest.raises(ValueError, match="already registered"):
        registry.register(mine)
    data = tmp_path / "quiz.jsonl"
    data.write_text(json.dumps({"question": "1+1?", "answer": "2"}) + "\n")
    [sample] = get_benchmark("my_quiz").load({"dataset_id": str(data)})
    assert sample.messages == [{"role": "user", "content": "Solve: 1+1?"}]
    assert (sample.gold, sample.subset, sample.dataset) == ("2", "default", "my_quiz")


def test_benchmark_declaration_is_checked():
    with pytest.raises(ValueError, match="grader"):
        Benchmark(name="x", grader="fuzzy", subsets=("a",), hub_id="a/b", modelscope_id=None, split="test",
                  prompt_template="{question}", description="")
    with pytest.raises(DatasetError, match=r"must contain \{question\}"):
        Benchmark(name="x", grader="math", subsets=("a",), hub_id="a/b", modelscope_id=None, split="test",
                  prompt_template="no placeholder", description="")


# ----------------------------------------------------------------------------- DatasetArgs


def test_dataset_args_from_mapping_like_evalscope():
    args = DatasetArgs.from_mapping({"subset_list": ["gpqa_diamond"], "few_shot_num": 0})
    assert args.subset_list == ["gpqa_diamond"] and args.few_shot_num == 0 and args.hub == "huggingface"
    assert DatasetArgs.from_mapping(None) == DatasetArgs()
    # older EvalScope spellings
    args = DatasetArgs.from_mapping({"local_path": "/data/m.jsonl", "dataset_hub": "ModelScope", "limit": 5.0})
    assert (args.dataset_id, args.hub, args.limit) == ("/data/m.jsonl", "modelscope", 5)
    assert DatasetArgs(subset_list="Level 1").subset_list == ["Level 1"]


def test_dataset_args_unknown_keys_list_valid_ones():
    with pytest.raises(DatasetError) as err:
        DatasetArgs.from_mapping({"subset": ["x"], "few_shot": 1}, dataset="gpqa")
    msg = str(err.value)
    assert "unknown dataset_args key(s) for 'gpqa': 'few_shot', 'subset'" in msg
    for key in ("dataset_id", "subset_list", "few_shot_num", "hub", "password", "prompt_template", "limit", "cache_dir"):
        assert key in msg


@pytest.mark.parametrize(
    "bad, fragment",
    [({"limit": 0}, "limit must be a positive integer"), ({"limit": "10"}, "limit must be"),
     ({"few_shot_num": -1}, "few_shot_num"), ({"hub": "github"}, "unknown hub 'github'"),
     ({"subset_list": [1, 2]}, "subset_list"), ({"dataset_id": "  "}, "dataset_id"),
     ({"local_path": "a", "dataset_id": "b"}, "twice")],
)
def test_dataset_args_bad_values(bad, fragment):
    with pytest.raises(DatasetError, match=fragment):
        DatasetArgs.from_mapping(bad)


def test_dataset_args_not_a_mapping():
    with pytest.raises(DatasetError, match="must be a mapping"):
        DatasetArgs.from_mapping(["limit", 3], dataset="math_500")


def test_password_stays_out_of_repr():
    args = DatasetArgs(dataset_id="x.zip", password="hunter2-secret")
    assert "hunter2-secret" not in repr(args)
    assert args.password == "hunter2-secret"


def test_parse_dataset_paths():
    assert parse_dataset_paths(["math500=/d/m.jsonl", "gpqa_diamond=g.zip"]) == {"math_500": "/d/m.jsonl", "gpqa": "g.zip"}
    assert parse_dataset_paths(None) == {}
    with pytest.raises(DatasetError, match="NAME=PATH"):
        parse_dataset_paths(["math_500"])
    with pytest.raises(DatasetError, match="Did you mean 'math_500'"):
        parse_dataset_paths(["math_50=x.jsonl"])
    with pytest.raises(DatasetError, match="given twice"):
        parse_dataset_paths(["math_500=a.jsonl", "math500=b.jsonl"])


# ----------------------------------------------------------------------------- templates


def test_render_plain_and_format_style_templates():
    assert render(BOXED_TEMPLATE, {"question": "What is {choices}?"}) == (
        "What is {choices}?\nPlease reason step by step, and put your final answer within \\boxed{}."
    )
    # EvalScope writes str.format templates with doubled braces
    assert render("{question}\nPut it in \\boxed{{}}.", {"question": "x"}) == "x\nPut it in \\boxed{}."


def test_strip_instruction_already_in_the_data():
    prompt = "Find x.\nPlease reason step by step, and put your final answer within \\boxed{}."
    assert strip_instruction(prompt, [BOXED_TEMPLATE]) == "Find x."
    assert strip_instruction("  Find x.  ", [BOXED_TEMPLATE]) == "Find x."
    # EvalScope's AIME layout: instruction before and after
    template = "Solve step by step. Put it in \\boxed{{}}.\n\n{question}\n\nRemember \\boxed{{}}."
    assert strip_instruction("Solve step by step. Put it in \\boxed{}.\n\nFind y.\n\nRemember \\boxed{}.", [template]) == "Find y."
