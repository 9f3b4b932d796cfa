"""Bad input gets a clear error and loses nothing: config, datasets, servers."""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
from pathlib import Path

import pytest
import yaml
from aiohttp import web

from thinklens.cli import main

from tests.helpers.http_helpers import http_server
from thinklens.mock_server import MockServerConfig, run_mock_server
from tests.helpers.shared_data import shared_data_dir

MATH500 = shared_data_dir() / "benchmarks" / "math500_test.jsonl"


def _tiny_math(tmp_path: Path, n: int = 4) -> Path:
    """An invented MATH-500-shaped file (no shared data needed)."""
    path = tmp_path / "tiny_math.jsonl"
    rows = [{"problem": f"What is {i} + {i}?", "answer": str(2 * i), "level": 1 + i % 5, "subject": "Algebra",
             "unique_id": f"tiny/{i}.json"} for i in range(n)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _eval(url: str, data: Path, out: Path, *extra: str) -> int:
    return main(["eval", "--api-url", url, "--model", "m", "--datasets", "math_500", "--dataset-path",
                 f"math_500={data}", "--output", str(out), "--no-progress", *extra])


def test_unknown_dataset_suggests_the_right_name(capsys, tmp_path):
    rc = main(["eval", "--api-url", "http://127.0.0.1:9/v1", "--model", "m", "--datasets", "math500x",
               "--output", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert rc == 2
    assert "math500x" in err and "math_500" in err and "did you mean" in err.lower()
    assert not (tmp_path / "out").exists()


def test_unreachable_server_fails_before_any_work(capsys, tmp_path):
    out = tmp_path / "out"
    rc = _eval(f"http://127.0.0.1:{_free_port()}/v1", _tiny_math(tmp_path), out)
    err = capsys.readouterr().err
    assert rc == 2
    assert "cannot reach the model server" in err and "Is it running" in err
    assert not out.exists()  # nothing was started, nothing to clean up


@pytest.mark.parametrize("flags, fragment", [
    (["--temperature", "-1"], "generation_config.temperature"),
    (["--top-p", "2"], "generation_config.top_p"),
    (["--max-tokens", "0"], "generation_config.max_tokens"),
    (["--eval-batch-size", "0"], "eval_batch_size"),
    (["--extra-body", "{not json"], "--extra-body is not valid JSON"),
])
def test_invalid_generation_values_are_rejected_up_front(flags, fragment, capsys, tmp_path):
    rc = _eval("http://127.0.0.1:9/v1", _tiny_math(tmp_path), tmp_path / "out", *flags)
    assert rc == 2
    assert fragment in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_malformed_local_file_names_the_line(capsys, tmp_path):
    bad = tmp_path / "bad.jsonl"
    good = json.dumps({"problem": "1+1?", "answer": "2", "level": 1, "unique_id": "a"})
    bad.write_text(good + "\n" + good.replace('"a"', '"b"') + "\n{\"problem\": \"broken\n")
    rc = _eval("http://127.0.0.1:9/v1", bad, tmp_path / "out")
    err = capsys.readouterr().err
    assert rc == 2
    assert "bad.jsonl" in err and "line 3" in err


def test_missing_model_and_bad_config_file(capsys, tmp_path):
    assert main(["eval", "--datasets", "math_500"]) == 2
    assert "--model" in capsys.readouterr().err
    cfg = tmp_path / "run.yaml"
    cfg.write_text("model: m\ndatasets: [math_500]\napi_url: http://x/v1\ngeneration_config: {temprature: 0.6}\n")
    assert main(["eval", "--config", str(cfg)]) == 2
    assert "did you mean 'temperature'" in capsys.readouterr().err


def test_server_returning_garbage_is_an_error_not_a_wrong_answer(capsys, tmp_path):
    hits = {"chat": 0}

    async def garbage(request: web.Request) -> web.StreamResponse:
        if request.path.endswith("/models"):
            return web.Response(text="<html>not an API</html>", content_type="text/html")
        hits["chat"] += 1
        return web.Response(text="<html><body>502 Bad Gateway (but sent as 200)</body></html>",
                            content_type="text/html")

    out = tmp_path / "out"
    with http_server(garbage) as url:
        rc = _eval(url, _tiny_math(tmp_path, 3), out, "--max-retries", "2", "--retry-backoff", "0", "--no-stream")
    err = capsys.readouterr().err
    assert rc == 1
    assert "3 request(s) failed" in err
    assert hits["chat"] == 9  # 3 samples x (1 + 2 retries)
    conn = sqlite3.connect(out / "run.sqlite")
    rows = conn.execute("SELECT status, error, graded, correct FROM results").fetchall()
    conn.close()
    assert len(rows) == 3
    for status, error, graded, correct in rows:
        assert status == "error" and "malformed response" in error and "after 3 attempts" in error
        assert graded == 0 and correct is None
    report = json.loads((out / "report.json").read_text())
    overall = next(s for s in report["subsets"] if s["subset"] == "OVERALL")
    assert overall["errors"] == 3 and overall["graded"] == 0


def test_client_errors_are_not_retried_and_a_fixed_server_gets_only_the_failures(capsys, tmp_path):
    state = {"calls": 0, "broken": True}

    async def picky(request: web.Request) -> web.StreamResponse:
        if request.path.endswith("/models"):
            return web.json_response({"data": [{"id": "m"}]})
        state["calls"] += 1
        if state["broken"]:
            return web.json_response({"error": {"message": "max_tokens is too large"}}, status=400)
        body = {"choices": [{"message": {"content": "\\boxed{0}"}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": 5, "completion_tokens": 3}}
        return web.json_response(body)

    data, out = _tiny_math(tmp_path, 2), tmp_path / "out"
    with http_server(picky) as url:
        assert _eval(url, data, out, "--no-stream", "--max-retries", "5") == 1
        assert state["calls"] == 2  # a 400 is our fault: no retry
        assert "HTTP 400: max_tokens is too large" in json.dumps(
            sqlite3.connect(out / "run.sqlite").execute("SELECT error FROM results").fetchall()
        )
        state["broken"], state["calls"] = False, 0
        assert _eval(url, data, out, "--no-stream") == 0
        assert state["calls"] == 2  # the rerun sends exactly the failed ones
    report = json.loads((out / "report.json").read_text())
    overall = next(r for r in report["rows"] if r["subset"] == "OVERALL")
    assert overall["num"] == 2 and overall["score"] == 0.5  # "0 + 0" is right, "1 + 1" is not


def test_yaml_config_with_the_guide_fields_runs_and_redacts_the_key(tmp_path):
    out = tmp_path / "out"
    with run_mock_server(MockServerConfig(tokens=5, answer="\\boxed{2}")) as server:
        cfg = tmp_path / "run.yaml"
        cfg.write_text(yaml.safe_dump({
            "api_url": server.url + "/chat/completions", "model": "QwQ-32B", "eval_type": "service",
            "api_key": "sk-very-secret", "datasets": ["math_500"],
            "dataset_args": {"math_500": {"dataset_id": str(_tiny_math(tmp_path)), "few_shot_num": 0}},
            "eval_batch_size": 4, "work_dir": str(out),
            "generation_config": {"max_tokens": 100, "temperature": 0.6, "top_p": 0.95, "top_k": 40, "n": 1},
        }))
        assert main(["eval", "--config", str(cfg), "--no-progress"]) == 0
    for path in out.rglob("*"):
        if path.is_file():
            assert b"sk-very-secret" not in path.read_bytes(), path
    assert yaml.safe_load((out / "config.yaml").read_text())["api_key"] == "***"
    report = json.loads((out / "report.json").read_text())
    assert next(r for r in report["rows"] if r["subset"] == "OVERALL")["score"] == 0.25  # only 1+1=2


def test_first_token_and_idle_timeouts_end_silent_requests(tmp_path):
    """Headers then silence (a queued or stuck request) is the first-token timeout's case;
    a stream that goes silent after its first token is the idle timeout's."""
    import time as _time

    calls = {"n": 0}

    async def silent(request: web.Request) -> web.StreamResponse:
        if request.path.endswith("/models"):
            return web.json_response({"data": [{"id": "m"}]})
        calls["n"] += 1
        resp = web.StreamResponse(headers={"Content-Type": "text/event-stream"})
        await resp.prepare(request)
        if "idle" in (await request.text()):
            await resp.write(b'data: {"choices": [{"index": 0, "delta": {"content": "so"}}]}\n\n')
        await asyncio.sleep(3600)
        return resp

    data = tmp_path / "q.jsonl"
    data.write_text(json.dumps({"problem": "first 1+1?", "answer": "2", "level": 1, "unique_id": "a"}) + "\n"
                    + json.dumps({"problem": "idle 2+2?", "answer": "4", "level": 1, "unique_id": "b"}) + "\n")
    out = tmp_path / "out"
    with http_server(silent) as url:
        started = _time.monotonic()
        rc = _eval(url, data, out, "--timeout-first-token", "0.5", "--timeout-idle", "0.5", "--max-retries", "1",
                   "--retry-backoff", "0")
        elapsed = _time.monotonic() - started
    assert rc == 1 and calls["n"] == 4
    assert elapsed < 10
    errors = dict(sqlite3.connect(out / "run.sqlite").execute("SELECT sample_id, error FROM results").fetchall())
    assert "no response within --timeout-first-token 0.5s" in errors["a"]
    assert "stream stalled: silent for --timeout-idle 0.5s" in errors["b"]
