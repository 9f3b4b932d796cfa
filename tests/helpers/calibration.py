"""Checking `perf` against a server that says what it did: `thinklens mock-server`.

The mock server records, per request, when it received it and when it wrote the first
token and the last byte, on `time.monotonic()`: the same clock as the client's, since
both run on one machine.  Joined by completion id, each measured request gives two
views of the same events; `compare_with_server` puts their medians and p99s side by
side.  Used by the accuracy tests and by bench/bench_perf.py.

`MockServerProcess` runs the server in its own process (optionally pinned to a CPU):
in-process, server and client would share the GIL and disturb each other's timing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import urllib.request
from dataclasses import dataclass
from typing import Any

import numpy as np

from thinklens.perf.records import RequestRecord


class MockServerProcess:
    """`python -m thinklens mock-server --port 0 ARGS...` in a child process.

    `cpu`: pin the server to this CPU with `taskset` (when available)."""

    def __init__(self, *args: str, cpu: int | None = None, env: dict[str, str] | None = None):
        cmd = [sys.executable, "-m", "thinklens", "mock-server", "--port", "0", "--quiet", *args]
        if cpu is not None and _has_taskset():
            cmd = ["taskset", "-c", str(cpu), *cmd]
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, **(env or {})}
        )
        line = self.proc.stdout.readline() if self.proc.stdout else ""
        if not line.startswith("listening on "):
            err = self.proc.stderr.read() if self.proc.stderr else ""
            self.stop()
            raise RuntimeError(f"mock-server did not start: {line.strip()} {err.strip()[-2000:]}")
        self.url = line.split("listening on ", 1)[1].strip()
        self.base_url = self.url[: -len("/v1")] if self.url.endswith("/v1") else self.url

    def stats(self, records: bool = True) -> dict[str, Any]:
        with urllib.request.urlopen(f"{self.base_url}/stats?records={int(records)}", timeout=60) as resp:
            return json.loads(resp.read())

    def reset_stats(self) -> None:
        req = urllib.request.Request(f"{self.base_url}/stats/reset", method="POST", data=b"")
        with urllib.request.urlopen(req, timeout=30):
            pass

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        for stream in (self.proc.stdout, self.proc.stderr):
            if stream is not None:
                stream.close()

    def __enter__(self) -> "MockServerProcess":
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _has_taskset() -> bool:
    from shutil import which

    return which("taskset") is not None and sys.platform.startswith("linux")


@dataclass
class MetricComparison:
    metric: str
    n: int
    client_p50: float
    server_p50: float
    client_p99: float
    server_p99: float

    @property
    def diff_p50(self) -> float:
        return self.client_p50 - self.server_p50

    @property
    def diff_p99(self) -> float:
        return self.client_p99 - self.server_p99

    def within(self, abs_tol: float = 0.002, rel_tol: float = 0.02) -> bool:
        """Both medians and p99s agree to abs_tol seconds or rel_tol of the server's value."""
        return all(
            abs(c - s) <= max(abs_tol, rel_tol * abs(s))
            for c, s in ((self.client_p50, self.server_p50), (self.client_p99, self.server_p99))
        )

    def as_dict(self) -> dict[str, Any]:
        return {
            "metric": self.metric,
            "n": self.n,
            "client_p50": self.client_p50,
            "server_p50": self.server_p50,
            "client_p99": self.client_p99,
            "server_p99": self.server_p99,
            "diff_p50": self.diff_p50,
            "diff_p99": self.diff_p99,
        }


def compare_with_server(
    records: list[RequestRecord], server_records: list[dict[str, Any]]
) -> dict[str, MetricComparison]:
    """TTFT, TPOT and E2E of the measured, successful requests as the client saw them
    and as the server did them; plus the one-way delays that separate the two views
    (`request_delay`: client start -> server received; `response_delay`: the server's
    last write -> the client's end)."""
    by_id = {r["id"]: r for r in server_records if r.get("id")}
    pairs: dict[str, tuple[list[float], list[float]]] = {m: ([], []) for m in ("ttft", "tpot", "e2e")}
    request_delay: list[float] = []
    response_delay: list[float] = []
    for rec in records:
        if rec.phase != "measure" or not rec.ok or not rec.response_id:
            continue
        srv = by_id.get(rec.response_id)
        if not srv or srv.get("outcome") != "ok" or srv.get("first_token") is None or srv.get("last_write") is None:
            continue
        received, first, last = srv["received"], srv["first_token"], srv["last_write"]
        n = srv.get("completion_tokens") or 0
        pairs["ttft"][0].append(rec.ttft)  # type: ignore[arg-type]
        pairs["ttft"][1].append(first - received)
        pairs["e2e"][0].append(rec.e2e)
        pairs["e2e"][1].append(last - received)
        if n > 1 and rec.tpot is not None:
            pairs["tpot"][0].append(rec.tpot)
            pairs["tpot"][1].append((last - first) / (n - 1))
        request_delay.append(received - rec.start)
        response_delay.append(rec.end - last)
    out: dict[str, MetricComparison] = {}
    for metric, (client, server) in pairs.items():
        if client:
            c, s = np.asarray(client), np.asarray(server)
            out[metric] = MetricComparison(
                metric,
                len(c),
                float(np.percentile(c, 50)),
                float(np.percentile(s, 50)),
                float(np.percentile(c, 99)),
                float(np.percentile(s, 99)),
            )
    for name, values in (("request_delay", request_delay), ("response_delay", response_delay)):
        if values:
            v = np.asarray(values)
            out[name] = MetricComparison(
                name, len(v), float(np.percentile(v, 50)), 0.0, float(np.percentile(v, 99)), 0.0
            )
    return out


def scheduling_noise(samples: int = 200, period: float = 0.005) -> dict[str, float]:
    """How late a timer fires on this machine right now (seconds), in a fresh event
    loop of the kind `perf` uses: the floor under any latency measured here.  On a quiet
    machine p99 is tens of microseconds; on an oversubscribed one, milliseconds."""
    import asyncio

    from thinklens.perf.eventloop import new_event_loop

    async def sample() -> list[float]:
        loop = asyncio.get_running_loop()
        lags = []
        for _ in range(samples):
            due = loop.time() + period
            await asyncio.sleep(period)
            lags.append(max(0.0, loop.time() - due))
        return lags

    with asyncio.Runner(loop_factory=new_event_loop) as runner:
        lags = np.asarray(runner.run(sample()))
    return {"p50": float(np.percentile(lags, 50)), "p99": float(np.percentile(lags, 99)), "max": float(lags.max())}
