"""Exact-length random prompts and token counts with the real Qwen2 BPE (shared data)."""

from __future__ import annotations

import json

import pytest

from thinklens.errors import ConfigError
from thinklens.perf.prompts import RandomPromptFactory, file_prompts, random_prompts
from thinklens.perf.tokenizer import load_tokenizer
from tests.helpers.shared_data import shared_data_dir

QWEN2 = shared_data_dir() / "tokenizers" / "qwen2"
MATH500 = shared_data_dir() / "benchmarks" / "math500_test.jsonl"


@pytest.fixture(scope="module")
def tok():
    if not (QWEN2 / "vocab.json").is_file():
        pytest.skip(f"the shared Qwen2 tokenizer is not at {QWEN2} (set THINKLENS_SHARED_DATA)")
    return load_tokenizer(QWEN2)


def n_tokens(tok, text: str) -> int:
    return len(tok.encode(text, add_special_tokens=False).ids)


def test_rebuilt_qwen2_tokenizer_gives_the_published_ids(tok):
    # ids of the real Qwen2 tokenizer: digits split one by one, "Ġworld" = 1879, "\n\n" = 271
    assert tok.encode("Hello world! 123", add_special_tokens=False).ids == [9707, 1879, 0, 220, 16, 17, 18]
    assert tok.encode("\n\n", add_special_tokens=False).ids == [271]
    assert tok.token_to_id("<|im_end|>") == 151645


@pytest.mark.parametrize("n", [1, 2, 17, 1024, 6144])
def test_random_prompts_have_exactly_the_asked_token_count(tok, n):
    prompts = random_prompts(tok, 3, n, 64, seed=n)
    assert len({p.messages[0]["content"] for p in prompts}) == 3  # distinct: no prefix-cache hits
    for p in prompts:
        assert n_tokens(tok, p.messages[0]["content"]) == n == p.input_tokens
        assert p.output_tokens == 64


def test_shared_prefix_and_length_range(tok):
    prompts = random_prompts(tok, 5, 200, 50, prefix_tokens=32, seed=7)
    factory = RandomPromptFactory(tok, seed=7, prefix_tokens=32)
    prefix = factory.prefix_text
    assert all(p.messages[0]["content"].startswith(prefix) for p in prompts)
    assert all(n_tokens(tok, p.messages[0]["content"]) == 200 for p in prompts)
    varied = random_prompts(tok, 40, 100, 100, range_ratio=0.5, seed=1)
    lengths = {p.input_tokens for p in varied}
    assert len(lengths) > 5 and min(lengths) >= 50 and max(lengths) <= 150
    assert all(n_tokens(tok, p.messages[0]["content"]) == p.input_tokens for p in varied)
    with pytest.raises(ConfigError):
        factory.prompt_text(10)  # shorter than the shared prefix


def test_random_prompts_are_reproducible_with_a_seed(tok):
    a = random_prompts(tok, 2, 50, None, seed=5)
    b = random_prompts(tok, 2, 50, None, seed=5)
    assert a == b and a != random_prompts(tok, 2, 50, None, seed=6)


def test_sharegpt_output_length_comes_from_the_recorded_reply(tok, tmp_path):
    share = tmp_path / "s.json"
    reply = "Once upon a time there was a cat."
    share.write_text(
        json.dumps(
            [{"conversations": [{"from": "human", "value": "Tell me a story."}, {"from": "gpt", "value": reply}]}]
        )
    )
    [p] = file_prompts(share, tokenizer=tok)
    assert p.output_tokens == n_tokens(tok, reply) and p.input_tokens == n_tokens(tok, "Tell me a story.")


def test_tokenizer_errors_are_clear(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_tokenizer(str(tmp_path / "nope"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="neither tokenizer.json"):
        load_tokenizer(tmp_path / "empty")
    bad = tmp_path / "tokenizer.json"
    bad.write_text("{}")
    with pytest.raises(ConfigError, match="cannot read tokenizer"):
        load_tokenizer(bad)


def test_benchmark_prompts_are_the_prompts_eval_sends(tok):
    if not MATH500.is_file():
        pytest.skip(f"MATH-500 is not at {MATH500}")
    from thinklens.perf.prompts import benchmark_prompts

    prompts = benchmark_prompts("math_500", dataset_path=str(MATH500), limit=5, tokenizer=tok, output_tokens=100)
    first = json.loads(MATH500.read_text().splitlines()[0])["problem"]
    assert len(prompts) == 5 and first in prompts[0].messages[-1]["content"]
    assert all(p.input_tokens and p.output_tokens == 100 for p in prompts)
