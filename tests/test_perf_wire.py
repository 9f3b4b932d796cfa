"""Timing from the wire: send-side stamps, connections opened before a level, ITL from
exact token counts (issue 16).  Real HTTP against `thinklens mock-server`: in its own
process for the timing checks (sharing the GIL would disturb both sides), in a thread
where only counts matter.  bench/bench_perf_wire.py measures the same against packet
timestamps (tcpdump).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import numpy as np
import pytest

from thinklens.client import ChatClient, ChatRequest
from thinklens.mock_server import MockServerConfig, run_mock_server
from tests.helpers.calibration import MockServerProcess, scheduling_noise
from thinklens.perf.config import PerfConfig, Warmup
from thinklens.perf.itl import chunk_tokenizer
from thinklens.perf.run import run_perf
from tests.helpers.shared_data import shared_data_dir


@pytest.fixture()
def prompts_file(tmp_path: Path) -> Path:
    path = tmp_path / "prompts.jsonl"
    path.write_text(
        "".join(json.dumps({"prompt": f"Invented question {i}: how many legs have {i} spiders?"}) + "\n" for i in range(300)),
        encoding="utf-8",
    )
    return path


def config(url: str, out: Path, prompts: Path, **kw) -> PerfConfig:
    base = dict(
        urls=(url,), model="mock-model", dataset="file", dataset_path=str(prompts), output_dir=out,
        figures=False, progress=False, ignore_eos=True,
    )
    base.update(kw)
    return PerfConfig(**base)


# ---- the send-side stamp ---------------------------------------------------------------------
def test_eval_ttft_is_timed_from_the_send_not_from_the_wait_for_a_connection():
    # Two requests through a client allowed one connection: the second waits for the
    # first to finish before it can be written.  The server answers each 200 ms after it
    # received it, so both TTFTs are ~200 ms; a stamp taken before the wait would give
    # the second ~450 ms.  `thinklens eval` stores this TTFT per sample.
    async def main(url: str):
        async with ChatClient(url, max_connections=1) as client:
            req = ChatRequest("mock-model", [{"role": "user", "content": "Invented: 2 + 2?"}], {"max_tokens": 5})
            return await asyncio.gather(client.chat(req), client.chat(req))

    with run_mock_server(MockServerConfig(ttft=0.2, tpot=0.01, tokens=5)) as server:
        gens = asyncio.run(main(server.url))
    for gen in gens:
        assert gen.error is None
        assert 0.2 <= gen.timings.ttft < 0.26, [g.timings for g in gens]
        assert 0.24 <= gen.timings.e2e < 0.3, [g.timings for g in gens]


def test_perf_send_stamp_follows_scheduling_and_meets_the_servers_receive_time(tmp_path, prompts_file):
    noise = scheduling_noise()["p99"]
    with MockServerProcess("--ttft", "0.1", "--tpot", "0.01", "--tokens", "4", "--record-timings") as server:
        closed = run_perf(config(server.url, tmp_path / "closed", prompts_file, concurrency=(8,), requests=48,
                                 output_tokens=4, ramp_up=0.13, warmup=Warmup(requests=0)))
        opened = run_perf(config(server.url, tmp_path / "open", prompts_file, rate=(40.0,), max_concurrency=4,
                                 requests=24, output_tokens=4, warmup=Warmup(requests=0)))
        received = {r["id"]: r["received"] for r in server.stats()["records"]}
    for result in (closed, opened):
        level = result.levels[0]
        recs = [r for r in result.records[level.label] if r.phase == "measure"]
        assert recs and all(r.ok for r in recs)
        for r in recs:
            assert r.dispatched is not None and r.dispatched <= r.start
            if r.scheduled is not None:
                assert r.scheduled <= r.dispatched
        assert (level.mode == "open") == all(r.scheduled is not None for r in recs)
        # the server's handler starts after the bytes left, and soon after
        delays = np.array([received[r.response_id] - r.start for r in recs])
        assert (delays > 0).all(), delays
        gen = level.generator
        assert np.median(delays) <= 0.002 + noise + gen["loop_lag_p99"], delays
        assert level.metrics["send_lag"]["n"] == len(recs)
    row = json.loads((tmp_path / "open" / "requests.jsonl").read_text().splitlines()[0])
    assert {"scheduled", "dispatched", "send_lag", "new_connection"} <= row.keys()
    assert row["start"] - row["dispatched"] == pytest.approx(row["send_lag"])


# ---- connections opened before the level -------------------------------------------------------
def test_warmup_opens_the_levels_connections_before_it_is_measured(tmp_path, prompts_file):
    with run_mock_server(MockServerConfig(ttft=0.05, tpot=0.005, tokens=3)) as server:
        warm = run_perf(config(server.url, tmp_path / "warm", prompts_file, concurrency=(32,), requests=96,
                               output_tokens=3, warmup=Warmup(requests=0)))
        cold = run_perf(config(server.url, tmp_path / "cold", prompts_file, concurrency=(32,), requests=96,
                               output_tokens=3, warmup=Warmup(requests=0), warm_connections=False))
    conns = warm.levels[0].connections
    # 32 side by side; the pre-flight's GET /models left one open to reuse
    assert conns["warmup_wanted"] == conns["warmup_ready"] == 32 and 31 <= conns["warmup_opened"] <= 32
    # ... and every measured request reused one: the body's end is read after [DONE]
    assert conns["opened_during_measure"] == 0 and conns["opened_during_level"] == 0
    summary = json.loads((tmp_path / "warm" / "summary.json").read_text())
    assert summary["levels"][0]["connections"]["opened_during_measure"] == 0
    # without the warm-up, the first wave opens them while measured (and says so)
    cold_conns = cold.levels[0].connections
    assert 31 <= cold_conns["opened_during_measure"] <= 32 and "warmup_opened" not in cold_conns
    assert any("connections were opened while the level was measured" in w for w in cold.levels[0].warnings)


# ---- ITL from exact token counts ------------------------------------------------------------------
def test_itl_with_four_tokens_per_chunk_from_continuous_usage_is_the_true_delay(tmp_path, prompts_file):
    noise = scheduling_noise()["p99"]
    with MockServerProcess("--ttft", "0.05", "--tpot", "0.01", "--tokens", "33", "--tokens-per-chunk", "4") as server:
        result = run_perf(config(server.url, tmp_path / "out", prompts_file, concurrency=(2,), requests=8,
                                 output_tokens=33, continuous_usage_stats=True, save_chunk_times=True))
    level = result.levels[0]
    assert level.tokens["itl_source"] == {"server": 8}
    recs = [r for r in result.records[level.label] if r.phase == "measure"]
    assert all(r.chunk_tokens == [4.0] * 8 + [1.0] for r in recs)
    itl = level.metrics["itl"]
    assert itl["n"] == 8 * 32
    lag = level.generator["loop_lag_p99"] + noise
    assert itl["p50"] == pytest.approx(0.01, abs=0.0005 + lag)
    assert itl["p99"] == pytest.approx(0.01, abs=0.002 + lag)  # characters gave ~20 ms here


def test_itl_counts_tokens_per_chunk_with_the_tokenizer_when_the_server_sends_none(tmp_path, prompts_file):
    tok_dir = shared_data_dir() / "tokenizers" / "qwen2"
    if not tok_dir.exists():
        pytest.skip("the shared Qwen2 tokenizer is not available (THINKLENS_SHARED_DATA)")
    with run_mock_server(MockServerConfig(ttft=0.02, tpot=0.004, tokens=25, tokens_per_chunk=4)) as server:
        result = run_perf(config(server.url, tmp_path / "out", prompts_file, concurrency=(2,), requests=6,
                                 output_tokens=25, tokenizer=str(tok_dir), save_chunk_times=True))
    level = result.levels[0]
    assert level.tokens["itl_source"] == {"tokenizer": 6}
    for r in (r for r in result.records[level.label] if r.phase == "measure"):
        assert sum(r.chunk_tokens) == r.completion_tokens == 25 and len(r.itl) == 24


def test_chunk_tokenizer_gives_a_token_to_the_chunk_that_completes_it():
    tok_dir = shared_data_dir() / "tokenizers" / "qwen2"
    if not tok_dir.exists():
        pytest.skip("the shared Qwen2 tokenizer is not available (THINKLENS_SHARED_DATA)")
    from thinklens.perf.tokenizer import load_tokenizer

    tok = load_tokenizer(str(tok_dir))
    count = chunk_tokenizer(tok)
    whole = len(tok.encode("Hello world, again", add_special_tokens=False).ids)
    # " world" arrives cut in two: it is one token, complete in the second chunk
    counts = count(["Hello wo", "rld,", " again"])
    assert sum(counts) == whole and counts[0] == 1 and counts[1] == 2
