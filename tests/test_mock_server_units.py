"""The mock server's pure parts: tokenization, replay lookup, output plans, faults, config."""

from __future__ import annotations

import json

import pytest

from thinklens.errors import ConfigError
from thinklens.mock_server import MockServerConfig
from thinklens.mock_server.faults import FaultInjector
from thinklens.mock_server.plan import plan_output, render
from thinklens.mock_server.replay import ReplayIndex, load_replay_files, parse_record
from thinklens.mock_server.request import BadRequest, parse_chat_request
from thinklens.mock_server.stats import LatenessHistogram
from thinklens.mock_server.tokens import count_tokens, reasoning_filler, synthetic_content, tokenize


def _req(text: str = "hello", **extra) -> object:
    body = {"model": "m", "messages": [{"role": "user", "content": text}], **extra}
    return parse_chat_request(json.dumps(body).encode())


# -- tokens -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "text",
    ["", "x", "Hello, world!", " x = \\frac{12}{5}.", "a  \n\n b  ", "你好，世界", "tab\tand\r\nCRLF ", "émigré café"],
)
def test_tokenize_is_lossless(text):
    assert "".join(tokenize(text)) == text
    assert count_tokens(text) == len(tokenize(text))


def test_count_tokens_matches_tokenize_on_random_text():
    import random

    rng = random.Random(5)
    alphabet = ["a", "Zq", " ", "  ", "\n", "\t", "7", ".", "{", "\\", "é", "你", "_", "\u00a0"]
    for _ in range(2000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 12)))
        assert count_tokens(text) == len(tokenize(text)), repr(text)


def test_tokenize_rules():
    assert tokenize(" x = \\frac{12}{5}.") == [" x", " =", " \\", "frac", "{", "1", "2", "}", "{", "5", "}", "."]
    assert tokenize("end  ") == ["end", "  "]  # trailing whitespace is a token of its own


@pytest.mark.parametrize("n", [0, 1, 7, 16, 200, 1001])
def test_fillers_have_exact_token_counts(n):
    r = reasoning_filler(n)
    assert len(r) == n and tokenize("".join(r)) == r
    c = synthetic_content(n, "\\boxed{42}")
    assert "".join(c).endswith("\\boxed{42}")
    assert len(c) == max(n, len(tokenize("\\boxed{42}")))
    assert tokenize("".join(c)) == c


# -- replay records and lookup ------------------------------------------------------------
def test_parse_record_key_aliases_and_failed_rows():
    r = parse_record({"question": "Q?", "reasoning_content": "think", "response": "A"}, "f:1")
    assert (r.problem, r.reasoning, r.content, r.failed) == ("Q?", "think", "A", False)
    failed = parse_record({"problem": "P", "status": "failed", "error": "boom", "full_reasoning": "x"}, "f:2")
    assert failed.failed and failed.reasoning == "" and failed.content == ""
    nulls = parse_record({"prompt": "P", "reasoning": None, "content": None}, "f:3")
    assert nulls.reasoning == "" and nulls.content == ""


def test_parse_record_splits_raw_think_output():
    r = parse_record({"problem": "P", "response": "<think>\nhmm\n</think>\n\nThe answer is 3."}, "f:1")
    assert r.reasoning == "\nhmm\n" and r.content == "\n\nThe answer is 3." and r.finish_reason is None
    unclosed = parse_record({"problem": "P", "response": "<think>still going"}, "f:2")
    assert unclosed.reasoning == "still going" and unclosed.content == "" and unclosed.finish_reason == "length"


@pytest.mark.parametrize(
    "row, message",
    [
        ({"answer": 1}, "needs one of the keys problem, prompt, question"),
        ({"problem": 3}, "'problem' must be a string"),
        ({"problem": "p", "result": 5}, "'result' must be a string"),
        ({"problem": "p", "finish_reason": "eos"}, "finish_reason must be"),
        ([1, 2], "must be a JSON object"),
    ],
)
def test_parse_record_rejects_bad_rows(row, message):
    with pytest.raises(ConfigError, match=message) as info:
        parse_record(row, "data.jsonl:7")
    assert "data.jsonl:7" in str(info.value)


def test_load_replay_files_reports_line_of_invalid_json(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"problem": "a", "content": "x"}\n\n{"problem": "b",\n')
    with pytest.raises(ConfigError, match=r"r\.jsonl:3: invalid JSON"):
        load_replay_files([path])


def test_lookup_exact_substring_longest_match_wins():
    records = [
        parse_record({"problem": "What is 2+2?", "content": "short"}, "f:1"),
        parse_record({"problem": "Compute the value: What is 2+2? Show the working in full.", "content": "long"}, "f:2"),
        parse_record({"problem": "A completely different problem statement here.", "content": "other"}, "f:3"),
    ]
    index = ReplayIndex(records)
    assert index.lookup("What is 2+2?").content == "short"  # whole message is a key
    assert index.lookup("What is 2+2?\nPlease reason step by step.").content == "short"
    long_msg = "Compute the value: What is 2+2? Show the working in full.\nPlease reason step by step."
    assert index.lookup(long_msg).content == "long"  # contains both problems: the longest wins
    assert index.lookup("Intro. A completely different problem statement here. Outro.").content == "other"
    assert index.lookup("What is 2+3?") is None
    assert index.lookup("What is 2+3?") is None  # cached miss stays a miss


def test_lookup_is_fast_for_thousands_of_records():
    import time

    records = [parse_record({"problem": f"Problem number {i}: find x such that x + {i} = {2 * i}.",
                             "content": str(i)}, f"f:{i}") for i in range(5000)]
    index = ReplayIndex(records)
    messages = [f"Some preamble text.\nProblem number {i}: find x such that x + {i} = {2 * i}.\nPlease reason."
                for i in range(0, 5000, 50)]
    t = time.perf_counter()
    found = [index.lookup(m).content for m in messages]
    elapsed = time.perf_counter() - t
    assert found == [str(i) for i in range(0, 5000, 50)]
    assert elapsed / len(messages) < 0.005  # a scan over 5000 records would be far slower


# -- output plans -------------------------------------------------------------------------
def _synthetic(**changes):
    return MockServerConfig(tokens=10, reasoning_tokens=6, **changes)


def test_plan_synthetic_counts_and_finish():
    plan = plan_output(_req(), _synthetic(), None)
    assert (len(plan.reasoning), len(plan.content), plan.finish_reason) == (6, 10, "stop")
    assert plan.reasoning_closed


def test_plan_cap_inside_reasoning_and_inside_content():
    inside = plan_output(_req(max_tokens=4), _synthetic(), None)
    assert (len(inside.reasoning), inside.content, inside.finish_reason) == (4, [], "length")
    assert not inside.reasoning_closed
    exact = plan_output(_req(max_tokens=6), _synthetic(), None)
    assert (len(exact.reasoning), exact.content, exact.reasoning_closed) == (6, [], False)
    after = plan_output(_req(max_tokens=9), _synthetic(), None)
    assert (len(after.reasoning), len(after.content), after.finish_reason) == (6, 3, "length")
    assert after.reasoning_closed
    roomy = plan_output(_req(max_completion_tokens=16, max_tokens=3), _synthetic(), None)
    assert roomy.completion_tokens == 16 and roomy.finish_reason == "stop"  # max_completion_tokens wins


def test_plan_ignore_eos_generates_exactly_max_tokens():
    plan = plan_output(_req(max_tokens=50, ignore_eos=True), _synthetic(), None)
    assert plan.completion_tokens == 50 and plan.finish_reason == "length"
    assert len(plan.reasoning) == 6
    short = plan_output(_req(max_tokens=3, ignore_eos=True), _synthetic(), None)
    assert short.completion_tokens == 3 and short.finish_reason == "length"


def test_plan_stop_strings():
    config = MockServerConfig(tokens=30, reasoning_tokens=0, answer="The result is \\boxed{7}.")
    plan = plan_output(_req(stop=["\\boxed"]), config, None)
    assert "".join(plan.content).endswith("The result is ") and plan.finish_reason == "stop"
    in_reasoning = plan_output(_req(stop="step"), _synthetic(), None)
    assert "".join(in_reasoning.reasoning) == "Let me think about this " and in_reasoning.content == []
    assert not in_reasoning.reasoning_closed


def test_render_formats_keep_one_text_per_token():
    plan = plan_output(_req(), _synthetic(answer="\\boxed{1}"), None)
    field = render(plan, "field")
    assert field.field_split == 6 and field.answer_start == 6 and len(field.texts) == 16
    assert field.reasoning == "".join(plan.reasoning) and field.content == "".join(plan.content)
    inline = render(plan, "inline")
    assert len(inline.texts) == 16 and inline.field_split == 0
    assert inline.content == "<think>" + field.reasoning + "</think>" + field.content
    lone = render(plan, "lone-close")
    assert lone.content == field.reasoning + "</think>" + field.content
    cut = render(plan_output(_req(max_tokens=3), _synthetic(), None), "inline")
    assert cut.content.startswith("<think>") and "</think>" not in cut.content
    none = plan_output(_req(), _synthetic(answer="\\boxed{1}", reasoning_format="none"), None)
    assert none.reasoning == [] and render(none, "none").content == field.content


def test_render_reasoning_only_output_closes_the_tag():
    config = MockServerConfig(tokens=0, reasoning_tokens=5)
    out = render(plan_output(_req(), config, None), "lone-close")
    assert out.content.endswith("</think>") and len(out.texts) == 5


# -- requests -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    "body, message",
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "must be a JSON object"),
        (b'{"model": "m"}', "'messages' is a required property"),
        (b'{"messages": []}', "non-empty list"),
        (b'{"messages": [{"content": "x"}]}', "string 'role'"),
        (b'{"messages": [{"role": "user", "content": "x"}], "max_tokens": 0}', "'max_tokens' must be at least 1"),
        (b'{"messages": [{"role": "user", "content": "x"}], "max_tokens": "9"}', "'max_tokens' must be an integer"),
        (b'{"messages": [{"role": "user", "content": "x"}], "temperature": 3}', "'temperature' must be between"),
        (b'{"messages": [{"role": "user", "content": "x"}], "n": 0}', "'n' must be at least 1"),
        (b'{"messages": [{"role": "user", "content": "x"}], "stop": 5}', "'stop' must be"),
        (b'{"messages": [{"role": "user", "content": "x"}], "stream_options": {"include_usage": true}}',
         "only allowed when 'stream' is true"),
    ],
)
def test_bad_requests(body, message):
    with pytest.raises(BadRequest, match=message):
        parse_chat_request(body)


def test_request_text_parts_and_prompt_tokens():
    req = parse_chat_request(json.dumps({"messages": [
        {"role": "system", "content": "Be brief."},
        {"role": "user", "content": [{"type": "text", "text": "Add 2 and 3."}, {"type": "image_url"}]},
    ]}).encode())
    assert req.last_user_text == "Add 2 and 3."
    assert req.prompt_tokens == count_tokens("Be brief.") + count_tokens("Add 2 and 3.")


# -- faults, stats, config ----------------------------------------------------------------
def test_fault_sequence_is_deterministic_and_at_rate():
    inj1, inj2 = FaultInjector(0.2, ("429", "reset"), seed=7), FaultInjector(0.2, ("429", "reset"), seed=7)
    seq1 = [inj1.draw() for _ in range(2000)]
    assert seq1 == [inj2.draw() for _ in range(2000)]
    kinds = [d.kind for d in seq1]
    assert 300 < sum(k is not None for k in kinds) < 500
    assert {k for k in kinds if k} == {"429", "reset"}
    other = FaultInjector(0.2, ("429", "reset"), seed=8)
    assert [other.draw().kind for _ in range(2000)] != kinds
    assert all(FaultInjector(0.0, ("500",), 1).draw().kind is None for _ in range(100))


def test_lateness_histogram_percentiles():
    h = LatenessHistogram()
    for i in range(1000):
        h.add(i * 1e-5)  # 0 .. 9.99 ms
    s = h.summary()
    assert s.count == 1000 and abs(s.p50 - 0.005) < 2e-5 and abs(s.p99 - 0.0099) < 2e-5
    assert s.max == pytest.approx(0.00999)
    h.add(5.0)  # beyond the last bucket: max stays exact
    assert h.summary().max == 5.0


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"ttft": -1}, "ttft must be"),
        ({"tpot": float("nan")}, "tpot must be"),
        ({"reasoning_format": "xml"}, "reasoning_format 'xml'"),
        ({"faults": "429,teapot"}, "unknown fault kind"),
        ({"fault_rate": 1.5}, "fault_rate must be"),
        ({"tokens_per_chunk": 0}, "tokens_per_chunk"),
        ({"replay": ["/nonexistent/x.jsonl"]}, "does not exist"),
    ],
)
def test_config_validation(changes, message):
    with pytest.raises(ConfigError, match=message):
        MockServerConfig(**changes)


def test_config_normalises_containers(tmp_path):
    path = tmp_path / "r.jsonl"
    path.write_text('{"problem": "p", "content": "c"}\n')
    config = MockServerConfig(replay=[str(path)], faults="429, stall")
    assert config.replay == (path,) and config.faults == ("429", "stall")
    assert config.summary()["replay"] == [str(path)]
