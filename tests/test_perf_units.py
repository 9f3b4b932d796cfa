"""perf building blocks without a server: ITL spreading, statistics, SLOs, arrivals,
warm-up parsing, config validation, prompt sources, output formats."""

from __future__ import annotations

import json
import math
import statistics
from array import array

import numpy as np
import pytest

from thinklens.errors import ConfigError, DatasetError
from thinklens.perf.arrivals import ArrivalSchedule
from thinklens.perf.config import LevelSpec, PerfConfig, Warmup
from thinklens.perf.output import PerfOutput, csv_columns
from thinklens.perf.prompts import PromptPool, file_prompts
from thinklens.perf.records import RequestRecord, chunk_token_counts, inter_token_latencies
from thinklens.perf.slo import SLO, parse_duration
from thinklens.perf.stats import DIST_KEYS, distribution, summarize_level

URL = ("http://127.0.0.1:1/v1",)


def rec(**kw) -> RequestRecord:
    base = dict(
        level="concurrency=1",
        phase="measure",
        index=0,
        start=0.0,
        end=1.0,
        ttft=0.1,
        completion_tokens=10,
        prompt_tokens=5,
    )
    base.update(kw)
    return RequestRecord(**base)


# ---- per-token ITL ---------------------------------------------------------------------
def test_multi_token_chunks_are_spread_over_their_tokens():
    # chunk 1: first token at t=1.0; chunk 2: 3 tokens at t=1.3; chunk 3: 1 token at t=1.4
    counts, source = chunk_token_counts([4, 12, 4], [1, 4, 5], 5)
    assert (counts, source) == ([1.0, 3.0, 1.0], "server")
    itl = inter_token_latencies([1.0, 1.3, 1.4], counts)
    assert list(itl) == pytest.approx([0.1, 0.1, 0.1, 0.1])
    assert len(itl) == 5 - 1 and sum(itl) == pytest.approx(1.4 - 1.0)


def test_one_token_per_chunk_and_character_fallback():
    counts, source = chunk_token_counts([3, 3, 3], [None, None, None], 3)
    assert (counts, source) == ([1.0, 1.0, 1.0], "one_per_chunk")
    # 6 tokens over chunks of 2, 2 and 8 characters: 1, 1, 4 tokens
    counts, source = chunk_token_counts([2, 2, 8], [None, None, None], 6)
    assert source == "chars" and sum(counts) == 6 and counts == [1.0, 1.0, 4.0]
    itl = inter_token_latencies([0.0, 0.5, 1.3], counts)
    assert list(itl) == pytest.approx([0.5, 0.2, 0.2, 0.2, 0.2])


def test_first_chunk_with_several_tokens_and_empty_chunks():
    # first chunk carries 2 tokens (second arrived with the first: gap 0); an empty chunk in between
    itl = inter_token_latencies([0.0, 0.2, 0.5], [2.0, 0.0, 3.0])
    assert list(itl) == pytest.approx([0.0, 0.5 / 3, 0.5 / 3, 0.5 / 3])
    assert chunk_token_counts([], [], 0) == ([], "none")


def test_tpot_definition_and_failed_requests_have_none():
    r = rec(start=10.0, end=11.0, ttft=0.1, completion_tokens=10)
    assert r.e2e == pytest.approx(1.0) and r.tpot == pytest.approx(0.9 / 9)
    assert rec(completion_tokens=1).tpot is None
    assert rec(status="error").tpot is None


# ---- statistics ------------------------------------------------------------------------
def test_distribution_matches_numpy_and_the_keys_of_summary_json():
    values = [0.01 * i for i in range(1, 1001)]
    d = distribution(values)
    assert set(DIST_KEYS) <= set(d)
    assert d["mean"] == pytest.approx(statistics.fmean(values))
    assert d["p50"] == pytest.approx(np.percentile(values, 50))
    assert d["p999"] == pytest.approx(np.percentile(values, 99.9))
    assert d["max"] == 10.0 and d["n"] == 1000
    assert distribution([])["p99"] is None and distribution([])["n"] == 0


def test_level_summary_counts_excludes_warmup_cooldown_and_computes_throughput():
    records = [
        rec(phase="warmup", start=0.0, end=1.0, ttft=5.0),
        rec(index=1, start=1.0, end=2.0, ttft=0.2, completion_tokens=100, prompt_tokens=10),
        rec(index=2, start=1.5, end=3.0, ttft=0.4, completion_tokens=100, prompt_tokens=10),
        rec(
            index=3,
            start=2.0,
            end=2.5,
            status="error",
            error="HTTP 500: boom",
            http_status=500,
            ttft=None,
            completion_tokens=None,
        ),
        rec(
            index=4,
            start=2.0,
            end=2.1,
            status="error",
            error="stream stalled",
            error_kind="stall",
            ttft=None,
            completion_tokens=None,
        ),
        rec(phase="cooldown", index=5, start=2.5, end=3.5, ttft=9.0),
    ]
    s = summarize_level(records, label="concurrency=2", mode="closed", concurrency=2, rate=None)
    assert (s.requests_ok, s.requests_failed) == (2, 2)
    assert s.failures == {"HTTP 500": 1, "stall": 1}
    assert s.duration == pytest.approx(2.0)  # first measured start 1.0 -> last measured end 3.0
    assert s.request_throughput == pytest.approx(1.0)
    assert s.output_throughput == pytest.approx(100.0)
    assert s.total_throughput == pytest.approx(110.0)
    assert s.metrics["ttft"]["max"] == pytest.approx(0.4)  # warm-up/cool-down 5 s and 9 s left out
    assert s.excluded == {"warmup": 1, "cooldown": 1}
    # in flight over [1, 3]: 1 + 1.5 + 0.5 + 0.1 (measured) + 0.5 (cool-down) = 3.6 request-seconds
    assert s.concurrency_achieved == pytest.approx(3.6 / 2.0)
    d = s.as_dict()
    assert d["concurrency"] == 2 and "rate" not in d
    for key in (
        "requests_ok",
        "requests_failed",
        "duration",
        "request_throughput",
        "output_throughput",
        "total_throughput",
        "ttft",
        "ttfat",
        "tpot",
        "itl",
        "e2e",
    ):
        assert key in d


def test_goodput_and_slo_parsing():
    slo = SLO.parse(["ttft=200ms", "tpot=0.05"])
    assert slo.as_dict() == {"ttft": 0.2, "tpot": 0.05}
    good = rec(ttft=0.1, start=0, end=0.5, completion_tokens=10)  # tpot 0.044
    slow = rec(index=1, ttft=0.3, start=0, end=0.5)
    failed = rec(index=2, status="error", ttft=None, completion_tokens=None)
    assert slo.met_by(good) and not slo.met_by(slow) and not slo.met_by(failed)
    s = summarize_level(
        [good, slow, failed], label="x", mode="closed", concurrency=1, rate=None, slo=slo, attainment_target=0.3
    )
    assert s.goodput["requests"] == 1 and s.goodput["attainment"] == pytest.approx(1 / 3) and s.goodput["met"]
    assert parse_duration("2min", what="x") == 120 and parse_duration("300us", what="x") == pytest.approx(3e-4)
    for bad in (["latency=2s"], ["ttft"], ["ttft=-1s"], ["ttft=fast"]):
        with pytest.raises(ConfigError):
            SLO.parse(bad)


# ---- arrivals --------------------------------------------------------------------------
def test_poisson_and_gamma_arrivals_have_the_requested_rate_and_shape():
    for burstiness in (1.0, 0.25, 4.0):
        sched = ArrivalSchedule(50.0, burstiness=burstiness, seed=3)
        gaps = np.array([sched.interval() for _ in range(20000)])
        assert gaps.mean() == pytest.approx(1 / 50, rel=0.05)
        # gamma: coefficient of variation = 1/sqrt(shape)
        assert gaps.std() / gaps.mean() == pytest.approx(1 / math.sqrt(burstiness), rel=0.08)
    offsets = ArrivalSchedule(10.0, seed=1).offsets()
    first = [next(offsets) for _ in range(5)]
    assert first[0] == 0.0 and all(b > a for a, b in zip(first, first[1:]))
    assert next(ArrivalSchedule(math.inf).offsets()) == 0.0 and ArrivalSchedule(math.inf).interval() == 0.0
    with pytest.raises(ValueError):
        ArrivalSchedule(0)


# ---- config ----------------------------------------------------------------------------
def test_warmup_parsing():
    assert Warmup.parse("32") == Warmup(requests=32)
    assert Warmup.parse("10s") == Warmup(seconds=10.0)
    assert Warmup.parse("500ms") == Warmup(seconds=0.5)
    assert Warmup.parse("0") == Warmup() and Warmup.parse(None) == Warmup()
    with pytest.raises(ConfigError):
        Warmup.parse("soon")


def test_config_levels_and_validation():
    cfg = PerfConfig(urls=URL, model="m", concurrency=(1, 8), tokenizer="x", requests=10)
    assert [lv.label for lv in cfg.levels()] == ["concurrency=1", "concurrency=8"]
    cfg = PerfConfig(urls=URL, model="m", rate=(2.0, math.inf), max_concurrency=16, tokenizer="x")
    assert [lv.label for lv in cfg.levels()] == ["rate=2", "rate=inf"]
    assert cfg.levels()[1] == LevelSpec("open", concurrency=16, rate=math.inf)
    sb = PerfConfig(urls=URL, model="m", speed_benchmark=True, tokenizer="x")
    assert [lv.input_tokens for lv in sb.levels()] == [1, 6144, 14336, 30720]
    assert sb.effective_output_tokens == 2048 and sb.request_params(2048)["ignore_eos"] is True
    assert sb.levels()[0].label == "concurrency=1,input=1"
    params = PerfConfig(
        urls=URL,
        model="m",
        tokenizer="x",
        output_tokens=8,
        ignore_eos=True,
        continuous_usage_stats=True,
        extra_body={"min_tokens": 8},
    ).request_params(8)
    assert params == {
        "max_tokens": 8,
        "ignore_eos": True,
        "min_tokens": 8,
        "stream_options": {"include_usage": True, "continuous_usage_stats": True},
    }
    bad = [
        dict(concurrency=(1,), rate=(1.0,)),
        dict(concurrency=(0,)),
        dict(rate=(-1.0,)),
        dict(tokenizer=None),
        dict(ignore_eos=True),
        dict(search="concurrency"),
        dict(dataset="file"),
        dict(max_concurrency=4, concurrency=(2,)),
    ]
    for kw in bad:
        args = dict(urls=URL, model="m", tokenizer="x")
        args.update(kw)
        with pytest.raises(ConfigError):
            PerfConfig(**args)
    with pytest.raises(ConfigError, match="--url"):
        PerfConfig(urls=("localhost:8000",), model="m", tokenizer="x")


# ---- prompt files ----------------------------------------------------------------------
def test_prompt_files_jsonl_sharegpt_and_txt(tmp_path):
    jsonl = tmp_path / "p.jsonl"
    jsonl.write_text(
        json.dumps({"prompt": "What is 2+2?", "max_tokens": 7})
        + "\n\n"
        + json.dumps({"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}]})
        + "\n"
        + json.dumps({"question": "Why?"})
        + "\n",
        encoding="utf-8",
    )
    ps = file_prompts(jsonl, output_tokens=None)
    assert [p.messages[-1]["content"] for p in ps] == ["What is 2+2?", "Hi", "Why?"]
    assert [p.output_tokens for p in ps] == [7, None, None]
    assert file_prompts(jsonl, output_tokens=99)[0].output_tokens == 99

    share = tmp_path / "sharegpt.json"
    share.write_text(
        json.dumps(
            [
                {
                    "id": "a",
                    "conversations": [
                        {"from": "human", "value": "Tell me a story."},
                        {"from": "gpt", "value": "Once upon a time there was a cat."},
                    ],
                },
                {"id": "b", "conversations": [{"from": "gpt", "value": "no human turn"}]},
            ]
        ),
        encoding="utf-8",
    )
    ps = file_prompts(share)
    assert len(ps) == 1 and ps[0].messages == [{"role": "user", "content": "Tell me a story."}]

    txt = tmp_path / "p.txt"
    txt.write_text("first prompt\n\nsecond prompt\n", encoding="utf-8")
    assert [p.messages[0]["content"] for p in file_prompts(txt)] == ["first prompt", "second prompt"]


def test_prompt_files_bad_input_is_a_clear_error(tmp_path):
    with pytest.raises(DatasetError, match="does not exist"):
        file_prompts(tmp_path / "missing.jsonl")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"prompt": "ok"}\n{not json}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match=r"bad.jsonl:2"):
        file_prompts(bad)
    nofield = tmp_path / "nofield.jsonl"
    nofield.write_text('{"answer": 4}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match="no prompt in this row"):
        file_prompts(nofield)
    with pytest.raises(DatasetError):
        PromptPool([])


def test_prompt_pool_cycles_and_counts_reuse():
    from thinklens.perf.prompts import PerfPrompt

    pool = PromptPool([PerfPrompt([{"role": "user", "content": str(i)}]) for i in range(3)])
    got = [pool.next().messages[0]["content"] for _ in range(5)]
    assert got == ["0", "1", "2", "0", "1"] and pool.reused == 2


# ---- output formats --------------------------------------------------------------------
def test_requests_jsonl_sqlite_and_csv_formats(tmp_path):
    import csv
    import sqlite3

    out = PerfOutput(tmp_path)
    ok = rec(start=100.0, end=101.0, ttft=0.25, ttfat=0.5, itl=array("d", [0.1] * 9))
    bad = rec(
        index=1,
        start=100.5,
        end=100.6,
        status="error",
        error="HTTP 503: busy",
        http_status=503,
        ttft=None,
        completion_tokens=None,
        prompt_tokens=None,
    )
    out.write(ok)
    out.write(bad)
    levels = [summarize_level([ok, bad], label="concurrency=1", mode="closed", concurrency=1, rate=None)]
    out.write_summary({"config": {"model": "m"}, "levels": [lv.as_dict() for lv in levels]}, levels)
    out.close()

    lines = (tmp_path / "requests.jsonl").read_text().splitlines()
    rows = [json.loads(line) for line in lines]
    assert list(rows[0])[:9] == [
        "level",
        "start",
        "ttft",
        "ttfat",
        "end",
        "prompt_tokens",
        "completion_tokens",
        "status",
        "error",
    ]
    assert rows[0]["start"] == 100.0 and rows[0]["ttft"] == 0.25 and rows[1]["error"] == "HTTP 503: busy"
    summary = json.loads((tmp_path / "summary.json").read_text())
    assert summary["levels"][0]["concurrency"] == 1
    assert set(DIST_KEYS) <= set(summary["levels"][0]["ttft"])
    with open(tmp_path / "summary.csv", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert list(table[0]) == csv_columns() and table[0]["ttft_p50"] == "0.25"
    conn = sqlite3.connect(tmp_path / "run.sqlite")
    assert conn.execute("SELECT COUNT(*), SUM(status='error') FROM perf_requests").fetchone() == (2, 1)
    assert json.loads(conn.execute("SELECT summary FROM perf_levels").fetchone()[0])["requests_ok"] == 1


# ---- the client's stream trace ---------------------------------------------------------
def test_stream_trace_keeps_per_chunk_server_token_counts():
    """vLLM's continuous_usage_stats puts the running completion count on every chunk:
    the trace keeps it and ITL uses it (a chunk of 3 tokens is 3 gaps, not one)."""
    from thinklens.client.http import StreamTrace, _StreamAccumulator

    def chunk(text, tokens):
        return json.dumps(
            {
                "id": "cmpl-1",
                "choices": [{"index": 0, "delta": {"content": text}}],
                "usage": {"prompt_tokens": 3, "completion_tokens": tokens},
            }
        ).encode()

    trace = StreamTrace()
    acc = _StreamAccumulator(100.0, trace)
    acc.feed(chunk("a", 1), 100.2)
    acc.feed(chunk(" b c d", 4), 100.5)
    acc.feed(b'{"choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]}', 100.5)
    assert acc.feed(b"[DONE]", 100.6)
    assert trace.cum_tokens == [1, 4] and trace.chars == [1, 6] and trace.response_id == "cmpl-1"
    counts, source = chunk_token_counts(trace.chars, trace.cum_tokens, 4)
    assert (counts, source) == ([1.0, 3.0], "server")
    assert list(inter_token_latencies(trace.times, counts)) == pytest.approx([0.1, 0.1, 0.1])


def test_search_bisects_between_the_last_pass_and_the_first_failure():
    """The SLO search on a fake server whose capacity is 37: doubling to 64, then bisection."""
    import asyncio

    from thinklens.perf.run import _search

    cfg = PerfConfig(
        urls=URL, model="m", tokenizer="x", search="concurrency", slo=SLO.parse(["ttft=1s"]), search_tolerance=0.01
    )
    probed = []

    async def fake_level(spec):
        probed.append(spec.concurrency)
        met = spec.concurrency <= 37
        return type("S", (), {"label": spec.label, "goodput": {"met": met}, "attainment": 1.0 if met else 0.5})()

    result = asyncio.run(_search(cfg, fake_level))
    assert result["best"] == 37 and result["first_failing"] == 38
    assert probed[:7] == [1, 2, 4, 8, 16, 32, 64] and len(probed) == len(set(probed))

    rate_cfg = PerfConfig(
        urls=URL, model="m", tokenizer="x", search="rate", rate=(8.0,), slo=SLO.parse(["e2e=1s"]), search_tolerance=0.05
    )

    async def fake_rate(spec):
        met = spec.rate <= 3.3
        return type("S", (), {"label": spec.label, "goodput": {"met": met}, "attainment": None})()

    result = asyncio.run(_search(rate_cfg, fake_rate))
    assert 3.3 / 1.05 <= result["best"] <= 3.3 < result["first_failing"] <= 3.3 * 1.05


def test_tokenizer_defaults_to_a_hub_model_name_for_random_prompts():
    assert PerfConfig(urls=URL, model="Qwen/QwQ-32B").effective_tokenizer == "Qwen/QwQ-32B"
    assert PerfConfig(urls=URL, model="Qwen/QwQ-32B", tokenizer="/tok").effective_tokenizer == "/tok"
    with pytest.raises(ConfigError, match="--tokenizer"):
        PerfConfig(urls=URL, model="qwq")  # not a Hub id: cannot guess
    files = PerfConfig(urls=URL, model="Qwen/QwQ-32B", dataset="file", dataset_path="p.jsonl")
    assert files.effective_tokenizer is None  # prompts files need no tokenizer


def test_every_perf_option_reaches_perf_config_and_every_field_has_an_option():
    """The parser is the one listing of perf's options: each dest is a PerfConfig field
    (or one of the few parsed into another), and each field is set by an option."""
    import argparse
    import dataclasses

    from thinklens.commands.perf_args import register
    from thinklens.perf.command import DERIVED_FIELDS, config_from_args
    from thinklens.perf.config import PerfConfig

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    perf = parser._subparsers._group_actions[0].choices["perf"]  # noqa: SLF001 - argparse has no public getter
    dests = {a.dest for a in perf._actions if a.dest != "help"}  # noqa: SLF001
    fields = {f.name for f in dataclasses.fields(PerfConfig)}
    parsed_into_other = {"url", "quiet", "output"}  # -> urls, progress, output_dir
    assert dests - fields - parsed_into_other - {"func"} == set()
    assert fields - dests - DERIVED_FIELDS == set()
    args = parser.parse_args(["perf", "--url", "http://127.0.0.1:9/v1", "--model", "m", "--concurrency", "2",
                              "--requests", "3", "--no-warm-connections", "--ramp-up", "1.5", "--quiet",
                              "--tokenizer", "Qwen/QwQ-32B"])
    config = config_from_args(args)
    assert (config.urls, config.concurrency, config.requests) == (("http://127.0.0.1:9/v1",), (2,), 3)
    assert config.warm_connections is False and config.ramp_up == 1.5 and config.progress is False
