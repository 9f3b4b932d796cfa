"""thinklens against the real vLLM OpenAI server (the engine its users run), not its mock.

The server (`python -m vllm.entrypoints.openai.api_server --reasoning-parser deepseek_r1`)
runs from the vLLM venv on a tiny random Qwen2 (tests/helpers/vllm_server.py), once per
session; thinklens runs from this venv, as a user's CLI.  The model's outputs are noise: the
tests check what thinklens makes of a real server's replies against the server's own
accounts: its /tokenize, its Prometheus counters, its seeds.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers.vllm_server import MATH500, PromMetrics, VllmServer
from thinklens.store import RunStore

pytestmark = [pytest.mark.vllm, pytest.mark.timeout(900)]  # the first test waits for the server

EOS_ID = 151645  # <|im_end|> in the Qwen2 vocabulary
CLOSE_THINK_ID = 151647  # </think> as added by tests/helpers/tiny.py


def thinklens(*args: str, check: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run([sys.executable, "-m", "thinklens", *args], capture_output=True, text=True,
                          timeout=timeout, env={**os.environ, "NO_COLOR": "1"})
    if check and proc.returncode != 0:
        raise AssertionError(f"thinklens {' '.join(args)} -> {proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    return proc


def eval_args(server: VllmServer, out: Path, *extra: str, limit: int = 2, n: int = 2, max_tokens: int = 24) -> list[str]:
    return [
        "eval", "--model", server.model, "--api-url", server.url, "--datasets", "math_500",
        "--dataset-path", f"math_500={MATH500}", "--limit", str(limit), "--n", str(n),
        "--max-tokens", str(max_tokens), "--temperature", "1.0", "--seed", "11", "--no-progress", "-o", str(out),
        *extra,
    ]


def rows(run: Path) -> dict[tuple[str, int], object]:
    store = RunStore(run)
    try:
        return {(r.sample.id, r.repeat): r for r in store.iter_results()}
    finally:
        store.close()


def server_prompt_tokens(server: VllmServer, messages: list[dict]) -> int:
    """The server's own count of a chat prompt (its /tokenize endpoint)."""
    import urllib.request

    body = json.dumps({"model": server.model, "messages": messages, "add_generation_prompt": True}).encode()
    req = urllib.request.Request(f"{server.base_url}/tokenize", data=body, headers={"content-type": "application/json"})
    with urllib.request.urlopen(req, timeout=60) as resp:
        return int(json.loads(resp.read())["count"])


@pytest.fixture(scope="module")
def stream_run(vllm_server: VllmServer, tmp_path_factory) -> tuple[Path, PromMetrics]:
    """One streaming eval (2 questions x 2 repeats, 24 tokens each) and the server's counters
    accumulated during it."""
    out = tmp_path_factory.mktemp("vllm-eval") / "stream"
    before = vllm_server.metrics()
    thinklens(*eval_args(vllm_server, out))
    return out, vllm_server.metrics().minus(before)


def test_stream_eval_captures_reasoning_and_server_usage(vllm_server, stream_run):
    run, delta = stream_run
    got = rows(run)
    assert len(got) == 4 and all(r.generation.ok for r in got.values())
    for r in got.values():
        gen = r.generation
        # vLLM 0.32 streams the reasoning as `delta.reasoning` (not reasoning_content).
        assert gen.reasoning_source == "reasoning" and gen.reasoning, gen
        assert gen.finish_reason == "length" and gen.usage.completion_tokens == 24
        assert gen.usage.prompt_tokens == server_prompt_tokens(vllm_server, r.sample.messages)
        assert gen.timings.ttft is not None and 0 < gen.timings.ttft <= gen.timings.e2e
    # The server's own counters over the run: thinklens's usage is exactly what it did.
    assert delta.get("vllm:request_success_total") == 4
    assert sum(r.generation.usage.prompt_tokens for r in got.values()) == delta.get("vllm:prompt_tokens_total")
    assert sum(r.generation.usage.completion_tokens for r in got.values()) == delta.get("vllm:generation_tokens_total")


def test_truncation_is_counted_and_eos_is_not(vllm_server, stream_run, tmp_path):
    run, _ = stream_run
    report = json.loads((run / "report.json").read_text())
    overall = next(s for s in report["subsets"] if s["subset"] == "OVERALL")
    assert overall["generations"] == 4 and overall["truncated"] == 4  # every one hit max_tokens
    # The same questions with <|im_end|> forced first: finished by the model, nothing truncated.
    out = tmp_path / "eos"
    before = vllm_server.metrics()
    thinklens(*eval_args(vllm_server, out, "--extra-body", json.dumps({"logit_bias": {str(EOS_ID): 100}})))
    delta = vllm_server.metrics().minus(before)
    got = rows(out)
    assert {r.generation.finish_reason for r in got.values()} == {"stop"}
    assert delta.get("vllm:request_success_total", finished_reason="stop") == 4
    overall = next(s for s in json.loads((out / "report.json").read_text())["subsets"] if s["subset"] == "OVERALL")
    assert overall["truncated"] == 0


def test_no_stream_gives_the_same_generations_and_seeds_reproduce(vllm_server, stream_run, tmp_path):
    run, _ = stream_run
    out = tmp_path / "nostream"
    thinklens(*eval_args(vllm_server, out, "--no-stream"))
    streamed, plain = rows(run), rows(out)
    assert streamed.keys() == plain.keys()
    for key, r in streamed.items():
        p = plain[key]
        # Same --seed: the server reproduces each repeat's tokens whichever way they are sent.
        assert p.generation.reasoning == r.generation.reasoning, key
        assert (p.generation.usage.prompt_tokens, p.generation.usage.completion_tokens) == (
            r.generation.usage.prompt_tokens, r.generation.usage.completion_tokens)
        assert p.generation.reasoning_source == "reasoning"
    # ... and each repeat has its own seed (seed + repeat): repeats differ.
    for sample_id in {k[0] for k in streamed}:
        assert streamed[(sample_id, 0)].generation.reasoning != streamed[(sample_id, 1)].generation.reasoning


def test_resume_sends_only_what_is_missing(vllm_server, tmp_path):
    out = tmp_path / "resume"
    thinklens(*eval_args(vllm_server, out, limit=1))
    first = rows(out)
    before = vllm_server.metrics()
    thinklens(*eval_args(vllm_server, out, limit=2))  # one more question: 2 new keys of 4
    delta = vllm_server.metrics().minus(before)
    assert delta.get("vllm:request_success_total") == 2
    after = rows(out)
    assert len(after) == 4 and all(after[k].generation.reasoning == v.generation.reasoning for k, v in first.items())
    before = vllm_server.metrics()
    again = thinklens(*eval_args(vllm_server, out, limit=2))
    assert vllm_server.metrics().minus(before).get("vllm:request_success_total") == 0
    assert "0 to run" in again.stderr


def test_reasoning_closed_mid_output_is_split_like_the_server(vllm_server, tmp_path):
    """With `</think>` made likely, the server's reasoning parser splits reasoning from answer;
    thinklens keeps its split (reasoning field) and grades only the content."""
    out = tmp_path / "closed"
    thinklens(*eval_args(vllm_server, out, "--extra-body", json.dumps({"logit_bias": {str(CLOSE_THINK_ID): 9}}),
                         max_tokens=32))
    got = rows(out)
    split = [r for r in got.values() if r.generation.content]
    assert split, "no output closed its reasoning: raise the bias"
    for r in split:
        assert "</think>" not in r.generation.reasoning
        assert r.generation.reasoning_source == "reasoning"
        assert r.score is not None and r.score.reason in ("not_equivalent", "no_answer", "truncated", "correct")
