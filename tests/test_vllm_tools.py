"""The LLM judge, `efficiency` and `perf` against the real vLLM OpenAI server.

Same session server as tests/test_vllm_server.py.  The tiny model's verdicts are noise (and a
reasoning model's judge reply may carry no content at all): the tests check that every
judge request really reached the engine and is recorded honestly, that a rerun is served
from the cache, and that `perf`'s numbers agree with the server's own Prometheus accounts.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.helpers.vllm_server import MATH500, VllmServer
from tests.test_vllm_server import CLOSE_THINK_ID, rows, thinklens

pytestmark = [pytest.mark.vllm, pytest.mark.timeout(900)]


@pytest.fixture(scope="module")
def judged_run(vllm_server: VllmServer, tmp_path_factory) -> Path:
    """2 questions x 2 repeats whose outputs close their reasoning (biased `</think>`), graded
    by the same server as the LLM judge (32-token verdicts: the tiny model never stops)."""
    folder = tmp_path_factory.mktemp("vllm-judge")
    config = folder / "run.yaml"
    config.write_text(yaml.safe_dump({
        "model": vllm_server.model, "api_url": vllm_server.url, "datasets": ["math_500"],
        "dataset_args": {"math_500": {"dataset_id": str(MATH500)}}, "limit": 2, "output": str(folder / "run"),
        "generation_config": {"n": 2, "max_tokens": 32, "temperature": 1.0, "seed": 11,
                              "extra_body": {"logit_bias": {str(CLOSE_THINK_ID): 9}}},
        "judge_strategy": "llm",
        "judge_config": {"api_url": vllm_server.url, "model": vllm_server.model, "max_tokens": 32},
        "progress": False,
    }))
    before = vllm_server.metrics()
    thinklens("eval", "--config", str(config))
    got = rows(folder / "run")
    asked = sum(1 for r in got.values() if r.generation.content.strip())
    # 4 generations + one judge request per answer the judge could see.
    assert vllm_server.metrics().minus(before).get("vllm:request_success_total") == 4 + asked
    return folder / "run"


def test_llm_judge_verdicts_come_from_the_server_and_are_cached(vllm_server, judged_run):
    got = rows(judged_run)
    judged = [r for r in got.values() if r.generation.content.strip()]
    assert judged, "no answer for the judge: the </think> bias no longer closes the reasoning"
    for r in judged:
        verdict = r.score.detail["judge"]
        # The judge's reply is recorded as what it was: a verdict, or "unparsed" with its raw text.
        assert verdict["status"] in ("ok", "unparsed"), verdict
        assert verdict["purpose"] == "grading.equivalence"
    before = vllm_server.metrics()
    thinklens("eval", "--regrade", str(judged_run))  # re-scoring asks the judge's cache, not the server
    assert vllm_server.metrics().minus(before).get("vllm:request_success_total") == 0


def test_efficiency_with_the_server_as_judge(vllm_server, judged_run):
    before = vllm_server.metrics()
    thinklens("efficiency", str(judged_run), "--method", "judge", "--judge-url", vllm_server.url,
              "--judge-model", vllm_server.model, "--judge-max-tokens", "16", "--count", "0", "--no-figures",
              "--tokenizer", str(vllm_server.checkpoint), "--no-progress")
    delta = vllm_server.metrics().minus(before)
    result = json.loads((judged_run / "efficiency.json").read_text())
    calls = result["judge_calls"]
    # Every judge call that was not a cache hit is one request the server completed.
    assert calls["requests"] - calls["cache_hits"] == delta.get("vllm:request_success_total") > 0
    assert calls["errors"] == 0 and calls["by_purpose"].get("efficiency.first_correct") == calls["requests"]
    assert sum(s["selected"] for s in result["selection"].values()) == 4
    assert result["settings"]["tokens_exact"] is True  # counted with the checkpoint's own tokenizer


def test_perf_agrees_with_the_servers_own_metrics(vllm_server, tmp_path):
    out = tmp_path / "perf"
    before = vllm_server.metrics()
    thinklens("perf", "--url", vllm_server.url, "--model", vllm_server.model, "--concurrency", "2",
              "--requests", "6", "--no-hold-load", "--input-tokens", "32", "--output-tokens", "16", "--ignore-eos",
              "--tokenizer", str(vllm_server.checkpoint), "--no-figures", "--quiet", "-o", str(out))
    delta = vllm_server.metrics().minus(before)
    records = [json.loads(line) for line in (out / "requests.jsonl").read_text().splitlines() if line.strip()]
    measured = [r for r in records if r["status"] == "ok"]
    assert len(measured) == len(records) == 6
    # Token counts: exactly the server's (every request ran to the 16 tokens asked for).
    assert {r["completion_tokens"] for r in measured} == {16}
    assert sum(r["prompt_tokens"] for r in records) == delta.get("vllm:prompt_tokens_total")
    assert sum(r["completion_tokens"] for r in records) == delta.get("vllm:generation_tokens_total")
    # Latencies: the client sees the server's time plus the network, never less (10 ms: clock
    # and scheduling slack on a shared CPU).
    server_ttft = delta.mean("vllm:time_to_first_token_seconds")
    server_e2e = delta.mean("vllm:e2e_request_latency_seconds")
    client_ttft = sum(r["ttft"] for r in measured) / len(measured)
    client_e2e = sum(r["e2e"] for r in measured) / len(measured)
    assert server_ttft is not None and server_e2e is not None
    assert client_ttft >= server_ttft - 0.010, (client_ttft, server_ttft)
    assert client_e2e >= server_e2e - 0.010, (client_e2e, server_e2e)
    # ... and not far more: HTTP + SSE parsing on one machine cost milliseconds, not a second.
    assert client_e2e - server_e2e < 1.0, (client_e2e, server_e2e)
