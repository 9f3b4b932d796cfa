"""An API URL without /v1 is caught before the run with a did-you-mean, and a run with
failures ends with the first failure's status and message (issue 15)."""

from __future__ import annotations

import json
from pathlib import Path

from aiohttp import web

from thinklens.cli import main

from tests.helpers.calibration import MockServerProcess
from tests.helpers.http_helpers import http_server


def _tiny_math(tmp_path: Path, n: int = 2) -> Path:
    path = tmp_path / "tiny_math.jsonl"
    rows = [{"problem": f"What is {i} + {i}?", "answer": str(2 * i), "level": 1, "subject": "Algebra",
             "unique_id": f"tiny/{i}.json"} for i in range(n)]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    return path


def _eval(url: str, data: Path, out: Path, *extra: str) -> int:
    return main(["eval", "--api-url", url, "--model", "mock-model", "--datasets", "math_500", "--dataset-path",
                 f"math_500={data}", "--output", str(out), "--no-progress", "--retry-backoff", "0", *extra])


def test_url_without_v1_is_caught_before_the_run(tmp_path, capsys):
    out = tmp_path / "out"
    with MockServerProcess("--tokens", "5") as server:
        assert _eval(server.base_url, _tiny_math(tmp_path), out) == 2
    err = capsys.readouterr().err
    assert f"did you mean {server.base_url}/v1?" in err
    assert not out.exists()  # nothing written, nothing sent


def test_a_server_without_models_that_404s_every_chat_gets_the_hint_too(tmp_path, capsys):
    async def nothing_here(request: web.Request) -> web.StreamResponse:
        return web.json_response({"error": {"message": f"no route {request.path}"}}, status=404)

    out = tmp_path / "out"
    with http_server(nothing_here) as url:
        base = url.removesuffix("/v1")
        assert _eval(base, _tiny_math(tmp_path, 4), out, "--no-stream", "--concurrency", "1") == 2
    err = capsys.readouterr().err
    assert "refused 3 requests in a row" in err and f"did you mean {base}/v1?" in err


def test_a_run_with_failures_ends_with_the_first_failure(tmp_path, capsys):
    async def picky(request: web.Request) -> web.StreamResponse:
        if request.path.endswith("/models"):
            return web.json_response({"data": [{"id": "mock-model"}]})
        return web.json_response({"error": {"message": "max_tokens is too large"}}, status=400)

    with http_server(picky) as url:
        assert _eval(url, _tiny_math(tmp_path), tmp_path / "out", "--no-stream") == 1
    err = capsys.readouterr().err
    assert "2 request(s) failed" in err
    assert "first failure: HTTP 400: max_tokens is too large" in err
