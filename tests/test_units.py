"""Pure functions: reasoning split, SSE decoding, pass@k / maj@k, config validation, keys."""

from __future__ import annotations

import math
from itertools import combinations

import pytest

from thinklens.client.policy import ClientPolicy, parse_retry_after
from thinklens.client.reasoning import split_reasoning
from thinklens.client.sse import SSEDecoder
from thinklens.config import make_config, sample_key
from thinklens.errors import ConfigError
from thinklens.metrics import Vote, k_values, majority_correct, pass_at_k, subset_metrics


# ---- reasoning -----------------------------------------------------------------------
def test_paired_tags_lone_close_and_unclosed():
    s = split_reasoning("<think>\nstep 1\n</think>\n\nThe answer is \\boxed{4}.")
    assert (s.reasoning, s.content, s.source) == ("step 1", "The answer is \\boxed{4}.", "think_tags")
    s = split_reasoning("step 1, so 2+2=4\n</think>\n\\boxed{4}")
    assert (s.reasoning, s.content, s.source) == ("step 1, so 2+2=4", "\\boxed{4}", "lone_close_tag")
    s = split_reasoning("<think>cut off while thinking, maybe \\boxed{4}")
    assert (s.content, s.source) == ("", "unclosed_open_tag")
    s = split_reasoning("plain answer \\boxed{4}")
    assert (s.reasoning, s.content, s.source) == ("", "plain answer \\boxed{4}", "none")
    s = split_reasoning("cut off \\boxed{4}", prefilled=True)
    assert (s.content, s.source) == ("", "unclosed_open_tag")


def test_answer_offset_points_after_the_closing_tag_and_custom_tags():
    text = "<seed:think>abc</seed:think>ANSWER"
    s = split_reasoning(text, [("<seed:think>", "</seed:think>")])
    assert text[s.answer_offset:] == "ANSWER" and s.reasoning == "abc"


# ---- SSE -------------------------------------------------------------------------------
def test_sse_decoder_handles_split_lines_comments_and_crlf():
    d = SSEDecoder()
    assert d.feed(b'data: {"a":1}\n\nda') == [b'{"a":1}']
    assert d.feed(b'ta: {"b":2}\r\n\r\n: keep-alive\n\n') == [b'{"b":2}']
    assert d.feed(b"data: [DONE]") == []
    assert d.flush() == [b"[DONE]"]


# ---- retry policy -----------------------------------------------------------------------
def test_backoff_grows_with_jitter_and_honours_retry_after():
    p = ClientPolicy(retry_backoff=1.0, retry_backoff_max=8.0)
    for attempt, ceiling in ((1, 1), (2, 2), (3, 4), (4, 8), (9, 8)):
        waits = [p.backoff(attempt) for _ in range(50)]
        assert all(ceiling / 2 <= w <= ceiling for w in waits)
    assert p.backoff(1, retry_after=3.0) == 3.0
    assert parse_retry_after("7") == 7.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past
    assert parse_retry_after("soon") is None


# ---- metrics ---------------------------------------------------------------------------
def _pass_at_k_bruteforce(outcomes: list[bool], k: int) -> float:
    subsets = list(combinations(outcomes, k))
    return sum(any(s) for s in subsets) / len(subsets)


@pytest.mark.parametrize("outcomes", [[True, False, False, True], [False] * 5, [True] * 3, [False, True, False, False, False, False]])
def test_pass_at_k_matches_enumeration(outcomes):
    for k in range(1, len(outcomes) + 1):
        assert math.isclose(pass_at_k(len(outcomes), sum(outcomes), k), _pass_at_k_bruteforce(outcomes, k))


def test_majority_vote_uses_classes_and_abstains_without_answer():
    votes = [Vote(0, False, "w:3"), Vote(1, True, "=gold"), Vote(2, False, "w:3"), Vote(3, False, None)]
    assert majority_correct(votes) is False
    votes = [Vote(0, True, "=gold"), Vote(1, False, "w:3"), Vote(2, False, None), Vote(3, False, None)]
    assert majority_correct(votes) is True  # tie 1-1 broken by first seen; answerless votes abstain
    assert majority_correct([Vote(0, False, None)]) is False


def test_subset_metrics_excludes_missing_verdicts_and_reports_k_rows():
    questions = {
        "q1": [Vote(0, True, "=gold"), Vote(1, True, "=gold"), Vote(2, False, "w:1"), Vote(3, True, "=gold")],
        "q2": [Vote(0, False, "w:2"), Vote(1, False, "w:2"), Vote(2, False, None)],  # one repeat failed
        "q3": [],  # every request failed: no verdict, not counted
    }
    rows = {m.metric: m for m in subset_metrics(questions, 4)}
    assert rows["AveragePass@1"].num == 2
    assert math.isclose(rows["AveragePass@1"].score, (3 / 4 + 0) / 2)
    assert rows["pass@4"].num == 1 and rows["pass@4"].score == 1.0
    assert rows["pass@2"].num == 2
    assert rows["maj@4"].num == 1 and rows["maj@4"].score == 1.0
    assert k_values(4) == [1, 2, 4] and k_values(6) == [1, 2, 4, 6]


# ---- config ----------------------------------------------------------------------------
def test_config_accepts_the_evalscope_guide_shape_and_redacts_secrets():
    cfg = make_config(dict(
        api_url="http://127.0.0.1:8801/v1/chat/completions", model="QwQ-32B", eval_type="service",
        datasets=["math_500", "gpqa"], dataset_args={"gpqa": {"subset_list": ["gpqa_diamond"], "few_shot_num": 0}},
        eval_batch_size=32, api_key="sk-secret",
        generation_config={"max_tokens": 32000, "temperature": 0.6, "top_p": 0.95, "top_k": 40, "n": 1,
                           "chat_template_kwargs": {"enable_thinking": True}},
    ))
    assert cfg.api_url == ["http://127.0.0.1:8801/v1"]
    assert cfg.generation_config.request_params()["chat_template_kwargs"] == {"enable_thinking": True}
    assert "n" not in cfg.generation_config.request_params()
    assert cfg.redacted()["api_key"] == "***" and "sk-secret" not in str(cfg.redacted())


@pytest.mark.parametrize("bad, fragment", [
    ({"generation_config": {"temperature": -1}}, "generation_config.temperature"),
    ({"generation_config": {"top_p": 1.5}}, "generation_config.top_p"),
    ({"generation_config": {"max_tokns": 5}}, "did you mean 'max_tokens'"),
    ({"eval_batch_size": 0}, "eval_batch_size"),
    ({"api_url": ["127.0.0.1:8000"]}, "http://"),
    ({"datasts": ["x"]}, "did you mean 'datasets'"),
    ({"dataset_args": {"gsm8k": {}}}, "not in datasets"),
])
def test_invalid_config_is_a_clear_error(bad, fragment):
    base = {"model": "m", "api_url": ["http://x/v1"], "datasets": ["math_500"]}
    with pytest.raises(ConfigError) as err:
        make_config({**base, **bad})
    assert fragment in str(err.value)


def test_key_changes_with_generation_config_and_repeat_not_with_endpoint():
    a = make_config({"model": "m", "api_url": ["http://a/v1"], "datasets": ["math_500"], "generation_config": {"temperature": 0.6}})
    b = make_config({"model": "m", "api_url": ["http://b/v1"], "datasets": ["math_500"], "generation_config": {"temperature": 0.6}})
    c = make_config({"model": "m", "api_url": ["http://a/v1"], "datasets": ["math_500"], "generation_config": {"temperature": 0.7}})
    msgs = [{"role": "user", "content": "1+1?"}]
    ka = sample_key(a.generation_fingerprint(), msgs, 0)
    assert ka == sample_key(b.generation_fingerprint(), msgs, 0)
    assert ka != sample_key(c.generation_fingerprint(), msgs, 0)
    assert ka != sample_key(a.generation_fingerprint(), msgs, 1)
