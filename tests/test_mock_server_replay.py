"""Replaying the real DeepSeek-R1-Distill-Qwen-32B outputs (meitann files) over HTTP."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from thinklens.mock_server import MockServerConfig, run_mock_server
from thinklens.mock_server.probe import ProbeResult, probe_chat
from thinklens.mock_server.replay import ReplayIndex, load_replay_files
from thinklens.mock_server.tokens import count_tokens
from tests.helpers.shared_data import shared_data_dir

DATA = shared_data_dir()
OUTPUTS = DATA / "model_outputs"
PARTS = [OUTPUTS / "meitann_R1-Distill-Qwen-32B_math500_part1_400.jsonl",
         OUTPUTS / "meitann_R1-Distill-Qwen-32B_math500_part2_100.jsonl"]
AIME = OUTPUTS / "meitann_R1-Distill-Qwen-32B_aime24.jsonl"
MATH500 = DATA / "benchmarks" / "math500_test.jsonl"
PROMPT = "{question}\nPlease reason step by step, and put your final answer within \\boxed{{}}."

pytestmark = pytest.mark.skipif(
    not all(p.is_file() for p in [*PARTS, AIME, MATH500]),
    reason=f"real model outputs not found under {OUTPUTS} (set THINKLENS_SHARED_DATA)",
)


def _rows(path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _ask(server, problems: list[str], stream: bool = True, **extra) -> list[ProbeResult]:
    def body(problem: str) -> dict:
        b = {"model": "DeepSeek-R1-Distill-Qwen-32B", "stream": stream,
             "messages": [{"role": "user", "content": PROMPT.format(question=problem)}], **extra}
        if stream:
            b["stream_options"] = {"include_usage": True}
        return b

    async def go():
        async with aiohttp.ClientSession() as session:
            return await asyncio.gather(*(probe_chat(session, server.url, body(p)) for p in problems))

    return asyncio.run(go())


@pytest.fixture(scope="module")
def meitann_rows() -> list[dict]:
    return _rows(PARTS[0]) + _rows(PARTS[1])


@pytest.fixture(scope="module")
def sample(meitann_rows) -> list[dict]:
    """Every 25th successful row plus every failed row."""
    ok = [r for r in meitann_rows if r["status"] == "success"]
    failed = [r for r in meitann_rows if r["status"] == "failed"]
    assert len(failed) == 14  # as the data README says
    return ok[::25] + failed


def test_every_math500_problem_finds_its_record(meitann_rows):
    index = ReplayIndex(load_replay_files(PARTS))
    assert len(index) == 500
    by_problem = {r["problem"]: r for r in meitann_rows}
    for row in _rows(MATH500):
        record = index.lookup(PROMPT.format(question=row["problem"]))
        assert record is not None and record.problem == row["problem"]
        expected = by_problem[row["problem"]]
        if expected["status"] == "failed":
            assert record.failed and record.content == "" and record.reasoning == ""
        else:
            assert record.reasoning == expected["full_reasoning"] and record.content == expected["result"]


def test_replay_field_format_returns_the_files_text(sample):
    with run_mock_server(MockServerConfig(replay=PARTS)) as srv:
        streamed = _ask(srv, [r["problem"] for r in sample])
        plain = _ask(srv, [r["problem"] for r in sample], stream=False)
        stats = srv.stats()
    for row, s, p in zip(sample, streamed, plain):
        reasoning = row.get("full_reasoning") or ""
        content = row.get("result") or ""
        assert s.done and s.reasoning() == reasoning and s.content() == content
        assert p.reasoning() == reasoning and p.content() == content
        assert s.finish_reason() == p.finish_reason() == "stop"
        assert s.usage["completion_tokens"] == count_tokens(reasoning) + count_tokens(content)
        assert s.usage["completion_tokens_details"]["reasoning_tokens"] == count_tokens(reasoning)
        assert len(s.token_events()) == s.usage["completion_tokens"]
    assert stats.unmatched == 0 and stats.outcomes == {"ok": 2 * len(sample)}


@pytest.mark.parametrize("fmt", ["inline", "lone-close"])
def test_replay_tag_formats_wrap_the_same_text(sample, fmt):
    with run_mock_server(MockServerConfig(replay=PARTS, reasoning_format=fmt)) as srv:
        results = _ask(srv, [r["problem"] for r in sample[::2]])
    for row, r in zip(sample[::2], results):
        reasoning, content = row.get("full_reasoning") or "", row.get("result") or ""
        if not reasoning:  # failed rows: nothing at all, no tags
            assert r.content() == ""
            continue
        opening = "<think>" if fmt == "inline" else ""
        assert r.content() == f"{opening}{reasoning}</think>{content}"
        assert r.reasoning() == ""


def test_replay_truncation_inside_a_real_trace(sample):
    row = next(r for r in sample if r["status"] == "success" and count_tokens(r["full_reasoning"]) > 300)
    with run_mock_server(MockServerConfig(replay=PARTS, reasoning_format="inline")) as srv:
        (r,) = _ask(srv, [row["problem"]], max_tokens=300)
    assert r.finish_reason() == "length" and r.usage["completion_tokens"] == 300
    assert r.content().startswith("<think>") and "</think>" not in r.content()
    assert row["full_reasoning"].startswith(r.content()[len("<think>"):])


def test_replay_aime_and_several_files():
    aime = _rows(AIME)
    with run_mock_server(MockServerConfig(replay=[*PARTS, AIME])) as srv:
        results = _ask(srv, [r["problem"] for r in aime[:5]], stream=False)
    for row, r in zip(aime, results):
        assert r.content() == row["result"] and r.reasoning() == row["full_reasoning"]


def test_skythought_rows_split_at_their_thought_and_solution_markers(tmp_path):
    rows = [
        {"idx": 0, "question": "What is one plus one, written as a numeral?", "score": [True],
         "code": ["<|begin_of_thought|>\n\nadd them<|end_of_thought|>\n\n<|begin_of_solution|>\n\n\\boxed{2}\n\n<|end_of_solution|>"]},
        {"idx": 1, "question": "What is two plus two, written as a numeral?", "score": [False],
         "code": ["<|begin_of_thought|>\n\nstill adding and adding"]},
        {"idx": 2, "question": "What is three plus three, written as a numeral?", "score": [True],
         "code": ["Adding gives \\boxed{6}."]},
    ]
    path = tmp_path / "skythought.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    done, cut, plain = load_replay_files([path])
    assert (done.reasoning, done.content, done.finish_reason) == ("add them", "\\boxed{2}", None)
    assert (cut.reasoning, cut.content, cut.finish_reason) == ("still adding and adding", "", "length")
    assert (plain.reasoning, plain.content) == ("", "Adding gives \\boxed{6}.")
