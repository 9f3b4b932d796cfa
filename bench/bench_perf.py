"""Benchmark of `thinklens perf` against `thinklens mock-server` (prints its figures).

1. Accuracy: at concurrency 1, 32 and 256, TTFT / TPOT / E2E medians and p99 as
   thinklens measured them next to what the server did (its per-request records,
   same monotonic clock, joined by completion id).  The server is pinned to one CPU,
   the load generator to the other (`taskset`).  With `--evalscope BIN`, EvalScope's
   `evalscope perf` runs the same load and its percentiles are compared the same way.
2. Throughput: with zero server delay, the request rate thinklens sustains and its
   CPU time per request (marginal: the difference between a long and a short run, so
   start-up is not counted), for a closed loop and for an open loop at 90 % of it.

    PYTHONPATH=src python bench/bench_perf.py                    # ~2 minutes
    PYTHONPATH=src python bench/bench_perf.py --quick            # smaller, ~40 s
    PYTHONPATH=src python bench/bench_perf.py --evalscope /tmp/evs-venv/bin/evalscope

On a shared machine other processes steal the CPUs: the script prints the load
average and the scheduling noise it measured next to the figures.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the repository root: tests.helpers (never shipped in the wheel)

from tests.helpers.calibration import MockServerProcess, compare_with_server, scheduling_noise  # noqa: E402
from thinklens.perf.output import load_requests  # noqa: E402
ARRIVAL_LAG_KEPT = 0.020  # an open-loop rate is "kept" while arrivals leave within 20 ms of schedule at p99


def pinned(cpu: int | None, cmd: list[str]) -> list[str]:
    if cpu is not None and shutil.which("taskset"):
        return ["taskset", "-c", str(cpu), *cmd]
    return cmd


def run_child(cmd: list[str], timeout: float = 900) -> tuple[float, float, subprocess.CompletedProcess]:
    """Run a command; return (wall seconds, CPU seconds of the child, result)."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    done = subprocess.run(
        cmd, capture_output=True, text=True, timeout=timeout, env={**os.environ, "PYTHONPATH": str(ROOT / "src")}
    )
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    if done.returncode not in (0,):
        raise RuntimeError(f"{' '.join(cmd[:6])}... exited {done.returncode}: {done.stderr[-3000:]}")
    return wall, cpu, done


def prompts_file(tmp: Path) -> Path:
    path = tmp / "prompts.txt"
    path.write_text("".join(f"Question {i}: what is {i} plus {i}?\n" for i in range(500)), encoding="utf-8")
    return path


def thinklens_cmd(
    url: str,
    prompts: Path,
    out: Path,
    *,
    requests: int,
    tokens: int,
    concurrency: int | None = None,
    rate: int | None = None,
    ramp_up: float = 0.0,
    warmup: int = 0,
    extra: list[str] = (),
) -> list[str]:
    """A `thinklens perf` run: a closed loop of `concurrency`, or an open loop at `rate`."""
    load = ["--concurrency", str(concurrency)] if rate is None else ["--rate", str(rate)]
    return [
        sys.executable,
        "-m",
        "thinklens",
        "perf",
        "--url",
        url,
        "--model",
        "mock-model",
        *load,
        "--requests",
        str(requests),
        "--dataset-path",
        str(prompts),
        "--output-tokens",
        str(tokens),
        "--ignore-eos",
        "--output",
        str(out),
        "--no-figures",
        "--quiet",
        "--warmup",
        str(warmup),
        "--ramp-up",
        str(ramp_up),
        *extra,
    ]


def evalscope_cmd(
    bin_path: str, url: str, prompts: Path, out: Path, *, concurrency: int, requests: int, tokens: int
) -> list[str]:
    return [
        bin_path,
        "perf",
        "--url",
        f"{url}/chat/completions",
        "--api",
        "openai",
        "--model",
        "mock-model",
        "--parallel",
        str(concurrency),
        "--number",
        str(requests),
        "--dataset",
        "line_by_line",
        "--dataset-path",
        str(prompts),
        "--max-tokens",
        str(tokens),
        "--stream",
        "--extra-args",
        json.dumps({"ignore_eos": True}),
        "--outputs-dir",
        str(out),
    ]


def evalscope_percentiles(out: Path) -> dict[str, dict[str, float]]:
    [path] = list(out.rglob("benchmark_percentile.json"))
    rows = {r["Percentiles"]: r for r in json.loads(path.read_text())}
    return {
        "ttft": {"p50": rows["50%"]["TTFT (ms)"] / 1e3, "p99": rows["99%"]["TTFT (ms)"] / 1e3},
        "tpot": {"p50": rows["50%"]["TPOT (ms)"] / 1e3, "p99": rows["99%"]["TPOT (ms)"] / 1e3},
        "e2e": {"p50": rows["50%"]["Latency (s)"], "p99": rows["99%"]["Latency (s)"]},
    }


def server_percentiles(records: list[dict]) -> dict[str, dict[str, float]]:
    ok = [r for r in records if r.get("outcome") == "ok" and r.get("first_token") is not None]
    ttft = np.array([r["first_token"] - r["received"] for r in ok])
    e2e = np.array([r["last_write"] - r["received"] for r in ok])
    tpot = np.array(
        [(r["last_write"] - r["first_token"]) / (r["completion_tokens"] - 1) for r in ok if r["completion_tokens"] > 1]
    )
    return {
        m: {"p50": float(np.percentile(v, 50)), "p99": float(np.percentile(v, 99))}
        for m, v in (("ttft", ttft), ("tpot", tpot), ("e2e", e2e))
    }


def ms(x: float) -> str:
    return f"{x * 1e3:8.2f}"


def accuracy(args: argparse.Namespace, tmp: Path, prompts: Path) -> list[dict]:
    cases = [(1, 0.1, 0.01, 16, 40), (32, 0.2, 0.02, 16, 256), (256, 0.5, 0.05, 16, 512)]
    if args.quick:
        cases = [(1, 0.1, 0.01, 8, 20), (32, 0.2, 0.02, 8, 96), (256, 0.5, 0.05, 8, 256)]
    rows = []
    print(
        "\n== accuracy: client vs server (ms); server pinned to CPU", args.server_cpu, "client to CPU", args.client_cpu
    )
    print(
        f"{'tool':10s} {'conc':>4s} {'metric':6s} {'server p50':>10s} {'client p50':>10s} {'diff':>8s} "
        f"{'server p99':>10s} {'client p99':>10s} {'diff':>8s}"
    )
    for conc, ttft, tpot, tokens, requests in cases:
        e2e = ttft + (tokens - 1) * tpot
        with MockServerProcess(
            "--ttft", str(ttft), "--tpot", str(tpot), "--tokens", str(tokens), "--record-timings", cpu=args.server_cpu
        ) as server:
            out = tmp / f"acc_c{conc}"
            run_child(
                pinned(
                    args.client_cpu,
                    thinklens_cmd(
                        server.url,
                        prompts,
                        out,
                        concurrency=conc,
                        requests=requests,
                        tokens=tokens,
                        ramp_up=e2e if conc > 1 else 0.0,
                        warmup=min(conc, 4),
                    ),
                )
            )
            records = load_requests(out / "requests.jsonl")
            stats = server.stats()
            cmp = compare_with_server(records, stats["records"])
            summary = json.loads((out / "summary.json").read_text())["levels"][0]
            for metric in ("ttft", "tpot", "e2e"):
                c = cmp[metric]
                ok = c.within(0.002, 0.02)
                rows.append({"tool": "thinklens", "concurrency": conc, **c.as_dict(), "within_2ms_or_2pct": ok})
                print(
                    f"{'thinklens':10s} {conc:4d} {metric:6s} {ms(c.server_p50):>10s} {ms(c.client_p50):>10s} "
                    f"{ms(c.diff_p50):>8s} {ms(c.server_p99):>10s} {ms(c.client_p99):>10s} {ms(c.diff_p99):>8s}"
                    f"{'' if ok else '  (outside 2 ms / 2 %)'}"
                )
            gen = summary["generator"]
            print(
                f"{'':10s} {'':4s} server write lateness p99 {stats['lateness']['p99'] * 1e3:.2f} ms; client loop lag "
                f"p99 {gen['loop_lag_p99'] * 1e3:.2f} ms; one-way delays p50: request "
                f"{cmp['request_delay'].client_p50 * 1e3:.2f} ms, "
                f"response {cmp['response_delay'].client_p50 * 1e3:.2f} ms"
            )
            if args.evalscope:
                server.reset_stats()
                eout = tmp / f"evs_c{conc}"
                run_child(
                    pinned(
                        args.client_cpu,
                        evalscope_cmd(
                            args.evalscope,
                            server.url,
                            prompts,
                            eout,
                            concurrency=conc,
                            requests=requests,
                            tokens=tokens,
                        ),
                    )
                )
                theirs = evalscope_percentiles(eout)
                truth = server_percentiles(server.stats()["records"])
                for metric in ("ttft", "tpot", "e2e"):
                    t, s = theirs[metric], truth[metric]
                    ok = all(abs(t[k] - s[k]) <= max(0.002, 0.02 * s[k]) for k in ("p50", "p99"))
                    rows.append(
                        {
                            "tool": "evalscope",
                            "concurrency": conc,
                            "metric": metric,
                            "client_p50": t["p50"],
                            "server_p50": s["p50"],
                            "client_p99": t["p99"],
                            "server_p99": s["p99"],
                            "within_2ms_or_2pct": ok,
                        }
                    )
                    print(
                        f"{'evalscope':10s} {conc:4d} {metric:6s} {ms(s['p50']):>10s} {ms(t['p50']):>10s} "
                        f"{ms(t['p50'] - s['p50']):>8s} {ms(s['p99']):>10s} {ms(t['p99']):>10s} "
                        f"{ms(t['p99'] - s['p99']):>8s}{'' if ok else '  (outside 2 ms / 2 %)'}"
                    )
    return rows


# ---- a server that costs (almost) nothing ------------------------------------------------
class CannedServer:
    """A minimal HTTP/1.1 server answering every chat request at once with the same
    pre-built SSE body (N token events, usage, [DONE]) on a keep-alive connection.
    The mock server parses and schedules every request in Python: at zero delay it,
    not the load generator, would set the ceiling.  This one costs a few microseconds
    per request, so the generator's own limit shows."""

    def __init__(self, tokens: int, cpu: int | None):
        cmd = [sys.executable, str(Path(__file__).resolve()), "--canned-server", str(tokens)]
        self.proc = subprocess.Popen(pinned(cpu, cmd), stdout=subprocess.PIPE, text=True)
        line = self.proc.stdout.readline()  # type: ignore[union-attr]
        self.url = line.split("listening on ", 1)[1].strip()

    def __enter__(self) -> "CannedServer":
        return self

    def __exit__(self, *exc: object) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        if self.proc.stdout:
            self.proc.stdout.close()


def serve_canned(tokens: int) -> None:
    import asyncio

    events = [
        {
            "id": "cmpl-canned",
            "object": "chat.completion.chunk",
            "model": "mock-model",
            "choices": [{"index": 0, "delta": {"content": f" tok{i}"}, "finish_reason": None}],
        }
        for i in range(tokens)
    ]
    events.append(
        {
            "id": "cmpl-canned",
            "object": "chat.completion.chunk",
            "model": "mock-model",
            "choices": [{"index": 0, "delta": {}, "finish_reason": "length"}],
        }
    )
    events.append(
        {
            "id": "cmpl-canned",
            "object": "chat.completion.chunk",
            "model": "mock-model",
            "choices": [],
            "usage": {"prompt_tokens": 10, "completion_tokens": tokens, "total_tokens": 10 + tokens},
        }
    )
    body = "".join(f"data: {json.dumps(e)}\n\n" for e in events).encode() + b"data: [DONE]\n\n"
    chat = (
        b"HTTP/1.1 200 OK\r\nContent-Type: text/event-stream\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\n\r\n"
        + body
    )
    models_body = b'{"object": "list", "data": [{"id": "mock-model", "object": "model"}]}'
    models = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(models_body)).encode()
        + b"\r\n\r\n"
        + models_body
    )

    class Proto(asyncio.Protocol):
        def connection_made(self, transport):  # type: ignore[no-untyped-def]
            self.t, self.buf = transport, b""

        def data_received(self, data: bytes) -> None:
            self.buf += data
            while True:
                head_end = self.buf.find(b"\r\n\r\n")
                if head_end < 0:
                    return
                head = self.buf[:head_end].lower()
                i = head.find(b"content-length:")
                length = (
                    int(head[i + 15 : head.find(b"\r\n", i) if head.find(b"\r\n", i) > 0 else None]) if i >= 0 else 0
                )
                if len(self.buf) < head_end + 4 + length:
                    return
                self.buf = self.buf[head_end + 4 + length :]
                self.t.write(models if head.startswith(b"get") else chat)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(Proto, "127.0.0.1", 0, backlog=4096)
        print(f"listening on http://127.0.0.1:{server.sockets[0].getsockname()[1]}/v1", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


def throughput(args: argparse.Namespace, tmp: Path, prompts: Path) -> list[dict]:
    tokens, conc = 16, 64
    short, long = (300, 2000) if args.quick else (1000, 6000)
    rows = []
    print(
        f"\n== throughput: zero server delay (a canned-response server), {tokens} tokens per answer, closed loop of "
        f"{conc}; CPU per request is marginal (long run minus short run, so start-up is not counted)"
    )
    tools = [("thinklens", None)] + ([("evalscope", args.evalscope)] if args.evalscope else [])
    with CannedServer(tokens, args.server_cpu) as server:
        for tool, bin_path in tools:
            runs = {}
            for n in (short, long):
                out = tmp / f"tp_{tool}_{n}"
                if tool == "thinklens":
                    cmd = thinklens_cmd(server.url, prompts, out, concurrency=conc, requests=n, tokens=tokens)
                else:
                    cmd = evalscope_cmd(bin_path, server.url, prompts, out, concurrency=conc, requests=n, tokens=tokens)
                wall, cpu, _ = run_child(pinned(args.client_cpu, cmd))
                runs[n] = (wall, cpu, out)
            (w1, c1, _), (w2, c2, out2) = runs[short], runs[long]
            cpu_per_req = (c2 - c1) / (long - short)
            rate = (long - short) / (w2 - w1)
            row = {"tool": tool, "cpu_per_request_ms": cpu_per_req * 1e3, "marginal_req_per_s": rate}
            extra = ""
            if tool == "thinklens":
                lv = json.loads((out2 / "summary.json").read_text())["levels"][0]
                row["measured_req_per_s"] = lv["request_throughput"]
                row["generator_cpu_utilization"] = lv["generator"]["cpu_utilization"]
                extra = (
                    f", measured {row['measured_req_per_s']:.0f} req/s with the loop at "
                    f"{row['generator_cpu_utilization']:.0%} of a core"
                )
            rows.append(row)
            print(f"{tool:10s} {rate:7.0f} req/s, CPU {cpu_per_req * 1e3:.3f} ms/request{extra}")
        # Open loop: the highest Poisson rate the generator keeps (arrivals on schedule,
        # everything completed at that rate), searched from 50 % of the closed-loop rate up.
        base = rows[0]["marginal_req_per_s"]
        sustained = None
        for frac in (0.5, 0.7, 0.85, 1.0, 1.2):
            target = round(frac * base)
            out = tmp / f"tp_open_{target}"
            n = max(1000, int(target * 4))
            run_child(
                pinned(
                    args.client_cpu,
                    thinklens_cmd(
                        server.url,
                        prompts,
                        out,
                        rate=target,
                        requests=n,
                        tokens=tokens,
                        extra=["--max-concurrency", "512", "--num-prompts", "100000"],
                    ),
                )
            )
            lv = json.loads((out / "summary.json").read_text())["levels"][0]
            gen = lv["generator"]
            achieved = gen.get("arrival_rate_achieved") or 0.0
            kept = (
                achieved >= 0.97 * target
                and lv["request_throughput"] >= 0.95 * target
                and lv["requests_failed"] == 0
                and gen["arrival_lag_p99"] <= ARRIVAL_LAG_KEPT
            )
            rows.append(
                {
                    "tool": "thinklens-open",
                    "rate": target,
                    "arrival_rate_achieved": achieved,
                    "request_throughput": lv["request_throughput"],
                    "arrival_lag_p99_ms": gen["arrival_lag_p99"] * 1e3,
                    "loop_lag_p99_ms": gen["loop_lag_p99"] * 1e3,
                    "cpu_per_request_ms": gen["cpu_per_request_ms"],
                    "kept": kept,
                }
            )
            print(
                f"open loop {target:5d} req/s: arrivals {achieved:7.1f}/s, "
                f"completed {lv['request_throughput']:7.1f}/s, arrival lag p99 {gen['arrival_lag_p99'] * 1e3:6.2f} ms, "
                f"loop lag p99 {gen['loop_lag_p99'] * 1e3:6.2f} ms, "
                f"CPU {gen['cpu_per_request_ms']:.3f} ms/request, loop at {gen['cpu_utilization']:.0%} of a core"
                f" -> {'kept' if kept else 'NOT kept'}"
            )
            if not kept:
                break
            sustained = target
        print(f"highest open-loop rate kept: {sustained} req/s")
    return rows


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--evalscope", default=None, metavar="BIN", help="path of an `evalscope` executable to compare")
    ap.add_argument("--server-cpu", type=int, default=0)
    ap.add_argument("--client-cpu", type=int, default=1)
    ap.add_argument("--only", choices=("accuracy", "throughput"), default=None)
    ap.add_argument("--json", default=None, metavar="FILE", help="also write the figures as JSON")
    ap.add_argument("--canned-server", type=int, default=None, help=argparse.SUPPRESS)  # internal: the server child
    args = ap.parse_args()
    if args.canned_server is not None:
        serve_canned(args.canned_server)
        return 0
    if os.cpu_count() and os.cpu_count() < 2:
        args.server_cpu = args.client_cpu = None
    noise = scheduling_noise()
    print(
        f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f}; scheduling noise "
        f"(timer lateness) p50 {noise['p50'] * 1e3:.3f} ms, p99 {noise['p99'] * 1e3:.3f} ms"
    )
    results: dict = {"load_average": os.getloadavg(), "scheduling_noise": noise}
    with tempfile.TemporaryDirectory(prefix="bench_perf_") as d:
        tmp = Path(d)
        prompts = prompts_file(tmp)
        if args.only in (None, "accuracy"):
            results["accuracy"] = accuracy(args, tmp, prompts)
        if args.only in (None, "throughput"):
            results["throughput"] = throughput(args, tmp, prompts)
    print(f"\nload average at the end: {os.getloadavg()[0]:.2f}")
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
