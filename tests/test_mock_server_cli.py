"""`python -m thinklens mock-server` as a separate process, as tests of other modules use it."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time

import aiohttp
import pytest

from thinklens.mock_server.probe import probe_chat


def _flat(text: str) -> str:
    """The CLI prints errors through Rich, which wraps long lines."""
    return " ".join(text.split())


def _spawn(*args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "thinklens", "mock-server", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=os.environ.copy(),
    )


def test_port_zero_prints_the_listening_line_then_serves():
    proc = _spawn("--port", "0", "--tokens", "7", "--reasoning-tokens", "3", "--answer", "\\boxed{5}",
                  "--reasoning-format", "inline", "--ttft", "20ms", "--fault-rate", "0")
    try:
        line = proc.stdout.readline()
        match = re.fullmatch(r"listening on (http://127\.0\.0\.1:(\d+)/v1)\n", line)
        assert match, line
        url = match.group(1)

        async def go():
            async with aiohttp.ClientSession() as session:
                return await probe_chat(session, url, {"model": "x", "stream": True,
                                                       "messages": [{"role": "user", "content": "2+3?"}]})

        r = asyncio.run(go())
        assert r.done and r.content().startswith("<think>") and r.content().endswith("\\boxed{5}")
        assert len(r.token_events()) == 10
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0
    assert "synthetic: 3 reasoning + 7 content tokens" in err  # the banner goes to stderr


def test_quiet_prints_only_the_listening_line():
    proc = _spawn("--port", "0", "--quiet")
    try:
        assert proc.stdout.readline().startswith("listening on http://127.0.0.1:")
    finally:
        proc.terminate()
        out, err = proc.communicate(timeout=10)
    assert out == "" and err == ""


@pytest.mark.parametrize(
    "args, message",
    [
        (["--faults", "429,teapot"], "unknown fault kind(s) teapot"),
        (["--replay", "/nonexistent/outputs.jsonl"], "replay file /nonexistent/outputs.jsonl does not exist"),
        (["--ttft", "soon"], "is not a duration"),
        (["--reasoning-format", "xml"], "invalid choice"),
    ],
)
def test_bad_options_fail_fast_with_a_clear_message(args, message):
    t0 = time.monotonic()
    proc = _spawn("--port", "0", *args)
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 2 and message in _flat(err) and "Traceback" not in err
    assert out == "" and time.monotonic() - t0 < 20


def test_port_in_use_is_a_clear_error():
    first = _spawn("--port", "0", "--quiet")
    try:
        port = first.stdout.readline().strip().rsplit(":", 1)[1].split("/")[0]
        second = _spawn("--port", port, "--quiet")
        out, err = second.communicate(timeout=20)
        assert second.returncode == 2 and f"cannot listen on 127.0.0.1:{port}" in _flat(err)
    finally:
        first.terminate()
        first.communicate(timeout=10)


def test_replay_with_malformed_file_names_the_line(tmp_path):
    path = tmp_path / "outputs.jsonl"
    path.write_text('{"problem": "a", "result": "b"}\n{"result": "no problem key"}\n')
    proc = _spawn("--port", "0", "--replay", str(path))
    out, err = proc.communicate(timeout=20)
    assert proc.returncode == 2 and f"{path}:2: no problem text" in _flat(err)
