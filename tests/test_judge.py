"""The shared LLM judge: prompts, verdict parsing, cache, failures, against the mock server."""

from __future__ import annotations

import asyncio
import json

import pytest

from tests.helpers.judge_server import UNMATCHED, equivalence_key, judge_server
from thinklens.client import ClientPolicy
from thinklens.config import JudgeConfig
from thinklens.errors import ConfigError
from thinklens.judge import (
    EQUIVALENCE_PURPOSE,
    Judge,
    ParsedVerdict,
    Unparseable,
    equivalence_prompt,
    judge_equivalence,
    parse_equivalence,
    score_with_verdict,
)
from thinklens.records import Score
from thinklens.store import RunStore

PROBLEM = "What is the sum of the interior angles of a triangle, in degrees?"
OTHER = "Simplify $\\frac{6}{8}$ as a common fraction."


# ---- parsing ----------------------------------------------------------------------------
@pytest.mark.parametrize("text, value", [
    ("Both are 180.\nVerdict: EQUIVALENT", True),
    ("0.75 is not 3/4 written as asked... actually it is.\nVerdict: NOT EQUIVALENT", False),
    ("**Verdict:** equivalent", True),
    ("Verdict: INCORRECT", False),
    ("Verdict: EQUIVALENT\n\nOn reflection the units differ.\nVerdict: NOT EQUIVALENT", False),  # the last one decides
    ("Final verdict yes", True),
])
def test_equivalence_verdicts_are_parsed_and_the_last_line_decides(text, value):
    parsed = parse_equivalence(text)
    assert parsed.value is value


@pytest.mark.parametrize("text", ["", "They look the same to me.", "EQUIVALENT", "Verdict: maybe"])
def test_a_verdict_that_cannot_be_read_is_unparseable_not_negative(text):
    with pytest.raises(Unparseable):
        parse_equivalence(text)


def test_prompt_is_deterministic_and_cuts_long_responses_in_the_middle():
    a = equivalence_prompt(PROBLEM, "180", "so \\boxed{180}")
    assert a == equivalence_prompt(PROBLEM, "180", "so \\boxed{180}")
    assert PROBLEM in a and "[Reference answer]\n180" in a and "\\frac{1}{2}" in a  # braces survive .format
    long = "x" * 10_000 + " FINAL \\boxed{7}"
    p = equivalence_prompt(PROBLEM, "7", long)
    assert "FINAL \\boxed{7}" in p and "middle of the response omitted" in p and len(p) < 8000


def test_judge_without_url_or_model_is_a_config_error():
    with pytest.raises(ConfigError, match="--judge-url"):
        Judge(JudgeConfig(model="m"))
    with pytest.raises(ConfigError, match="--judge-model"):
        Judge(JudgeConfig(base_url="http://127.0.0.1:1/v1"))


# ---- against the mock server -------------------------------------------------------------
def test_equivalence_against_mock_judge_cached_in_the_run_store(tmp_path):
    verdicts = [
        (equivalence_key(PROBLEM, "180"), "The response states 180 degrees.\nVerdict: EQUIVALENT"),
        (equivalence_key(OTHER, "\\frac{3}{4}"), "0.75 is not a common fraction.\nVerdict: NOT EQUIVALENT"),
    ]
    store = RunStore(tmp_path / "run")
    with judge_server(tmp_path / "judge.jsonl", verdicts) as server:
        config = JudgeConfig(base_url=server.url, model_name="judge-72b")

        async def ask_all(judge):
            return await asyncio.gather(
                judge_equivalence(judge, PROBLEM, "180", "The angles add up to \\boxed{180^\\circ}."),
                judge_equivalence(judge, OTHER, "\\frac{3}{4}", "\\boxed{0.75}"),
                judge_equivalence(judge, "A question no record knows", "1", "\\boxed{1}"),
            )

        async def first():
            async with Judge(config, cache=store) as judge:
                return await ask_all(judge), judge.stats

        (yes, no, unknown), stats = asyncio.run(first())
        assert (yes.status, yes.value, yes.cached) == ("ok", True, False)
        assert yes.explanation == "The response states 180 degrees."
        assert (no.status, no.value) == ("ok", False)
        # The mock's fallback answer holds no verdict: recorded as unparsed, never as "not equivalent".
        assert unknown.status == "unparsed" and unknown.value is None and unknown.raw == UNMATCHED
        assert stats.requests == 3 and stats.unparsed == 1
        assert server.stats().requests_total == 3

        # Same questions again, new Judge, same store: every answer from the cache, no request.
        async def again():
            async with Judge(config, cache=store) as judge:
                return await ask_all(judge), judge.stats

        (yes2, no2, unknown2), stats2 = asyncio.run(again())
        assert server.stats().requests_total == 3
        assert stats2.requests == 0 and stats2.cache_hits == 3
        assert (yes2.value, no2.value, unknown2.status) == (True, False, "unparsed") and yes2.cached
    rows = store.conn.execute("SELECT purpose, request, response FROM judge_cache").fetchall()
    assert len(rows) == 3 and {r["purpose"] for r in rows} == {EQUIVALENCE_PURPOSE}
    request = json.loads(rows[0]["request"])
    assert request["temperature"] == 0 and request["model"] == "judge-72b"
    store.close()


def test_identical_questions_in_flight_share_one_request(tmp_path):
    verdicts = [(equivalence_key(PROBLEM, "180"), "Verdict: EQUIVALENT")]
    with judge_server(tmp_path / "judge.jsonl", verdicts) as server:
        async def go():
            async with Judge(JudgeConfig(base_url=server.url, model_name="j")) as judge:
                out = await asyncio.gather(*(judge_equivalence(judge, PROBLEM, "180", "180") for _ in range(8)))
                return out, judge.stats

        out, stats = asyncio.run(go())
        assert all(v.value is True for v in out)
        assert stats.requests == 1 and server.stats().requests_total == 1


def test_a_failed_request_is_an_error_verdict_and_is_not_cached(tmp_path):
    store = RunStore(tmp_path / "run")
    policy = ClientPolicy(timeout_connect=2, max_retries=1, retry_backoff=0.01)

    async def go():
        # Nothing listens on port 9: connection refused, retried once, then an error verdict.
        async with Judge(JudgeConfig(base_url="http://127.0.0.1:9/v1", model_name="j"), cache=store,
                         policy=policy) as judge:
            return await judge_equivalence(judge, PROBLEM, "180", "180"), judge.stats

    verdict, stats = asyncio.run(go())
    assert verdict.status == "error" and verdict.value is None and "connection" in verdict.reason
    assert stats.errors == 1
    assert store.conn.execute("SELECT COUNT(*) FROM judge_cache").fetchone()[0] == 0  # the next run retries
    store.close()


def test_score_with_verdict_replaces_or_keeps_the_rule_score():
    from thinklens.judge import JudgeVerdict

    rule = Score(correct=False, reason="not_equivalent", extracted="0.75", method="rule")
    yes = JudgeVerdict(purpose=EQUIVALENCE_PURPOSE, status="ok", value=True, explanation="same", raw="Verdict: EQUIVALENT")
    failed = JudgeVerdict(purpose=EQUIVALENCE_PURPOSE, status="unparsed", raw="hmm", reason="no verdict line")
    s = score_with_verdict(rule, yes)
    assert (s.correct, s.reason, s.method, s.extracted) == (True, "correct", "judge", "0.75")
    assert s.detail["judge"]["explanation"] == "same" and s.detail["rule"]["correct"] is False
    kept = score_with_verdict(rule, failed)
    assert (kept.correct, kept.reason, kept.method) == (False, "not_equivalent", "rule")
    assert kept.detail["judge"]["status"] == "unparsed"


def test_custom_parser_errors_become_unparsed_with_the_reason(tmp_path):
    verdicts = [(PROBLEM, "The index is seven.")]
    with judge_server(tmp_path / "judge.jsonl", verdicts) as server:
        def parse(text: str) -> ParsedVerdict:
            raise Unparseable("no digits")

        async def go():
            async with Judge(JudgeConfig(base_url=server.url, model_name="j")) as judge:
                return await judge.ask("test.custom", PROBLEM, parse)

        v = asyncio.run(go())
        assert v.status == "unparsed" and v.reason == "no digits" and v.raw == "The index is seven."
