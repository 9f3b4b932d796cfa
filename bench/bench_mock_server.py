"""How exactly does `thinklens mock-server` keep its schedule under concurrency?

The server runs in its own process pinned to one core (`taskset -c 0`); a minimal
raw aiohttp client (no thinklens code) runs pinned to another core, streams
requests at concurrency 1 / 32 / 256 in a closed loop, and timestamps every SSE
token event as it arrives.  Printed per level (milliseconds):

- server write lateness p50/p99/max: how late the server wrote each token behind
  its due time (arrival + ttft + i * tpot), from the server's own /stats;
- delivery p50/p99: arrival of token i at the client minus its due time on the
  server's schedule (server lateness + loopback + client read delay; the two
  processes share time.monotonic());
- client lateness p50/p99: arrival of token i minus (client send time + ttft +
  i * tpot), what a load tester sees: it also holds the time a request waits to
  be read when a burst of them arrives at once;
- TTFT error p50/p99: client-measured TTFT minus the configured ttft;
- CPU use of the server (its one core) and of each client core: a client core
  near 100 % means the client, not the server, limits the client-side figures.

    PYTHONPATH=src python bench/bench_mock_server.py                 # ttft 0.2 s, tpot 5 ms, 200 tokens
    PYTHONPATH=src python bench/bench_mock_server.py --levels 1 32 256 512 --client-cores 1 2 3
    PYTHONPATH=src python bench/bench_mock_server.py --realtime       # on a machine busy with other work
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

import aiohttp

_ID = re.compile(rb'"id":"([^"]+)"')


def _pct(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def _is_token_event(event: bytes) -> bool:
    if event.startswith(b"data: [DONE]") or b'"choices":[]' in event:
        return False
    return b'"role":"assistant"' not in event


async def _client(url: str, concurrency: int, requests: int, tokens: int):
    """Closed loop; returns one (response id, send time, token arrival times) per request."""
    body = json.dumps({
        "model": "bench", "stream": True, "max_tokens": tokens, "ignore_eos": True,
        "messages": [{"role": "user", "content": "Tell me something long."}],
    }).encode()
    headers = {"Content-Type": "application/json"}
    results: list[tuple[str, float, list[float]]] = []
    remaining = [requests]

    async def worker(session: aiohttp.ClientSession) -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            arrivals: list[float] = []
            response_id = ""
            buf = b""
            t0 = time.monotonic()
            async with session.post(url, data=body, headers=headers) as resp:
                resp.raise_for_status()
                async for chunk in resp.content.iter_any():
                    t = time.monotonic()
                    buf += chunk
                    *events, buf = buf.split(b"\n\n")
                    for event in events:
                        if not response_id and (m := _ID.search(event)):
                            response_id = m.group(1).decode()
                        if _is_token_event(event):
                            arrivals.append(t)
            results.append((response_id, t0, arrivals))

    connector = aiohttp.TCPConnector(limit=0)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=600)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return results


def _client_process(core: int | None, url: str, concurrency: int, requests: int, tokens: int,
                    out: mp.Queue) -> None:
    if core is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})
    cpu = time.process_time()
    results = asyncio.run(_client(url, concurrency, requests, tokens))
    out.put((results, time.process_time() - cpu))


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _http_json(url: str, method: str = "GET") -> dict:
    with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=60) as r:
        return json.loads(r.read())


def _run_level(args, url: str, root: str, server_pid: int, conc: int) -> str:
    requests = max(conc * args.rounds, 5)
    _http_json(root + "/stats/reset", "POST")
    cores = args.client_cores[: max(1, min(len(args.client_cores), conc))]
    shares = [conc // len(cores) + (1 if i < conc % len(cores) else 0) for i in range(len(cores))]
    per_core_requests = [requests * s // conc for s in shares]
    per_core_requests[0] += requests - sum(per_core_requests)
    queue: mp.Queue = mp.Queue()
    procs = [mp.Process(target=_client_process, args=(core, url, share, reqs, args.tokens, queue))
             for core, share, reqs in zip(cores, shares, per_core_requests) if share]
    cpu0, t0 = _cpu_seconds(server_pid), time.monotonic()
    for p in procs:
        p.start()
    outputs = [queue.get() for _ in procs]
    for p in procs:
        p.join()
    wall = time.monotonic() - t0
    server_cpu = (_cpu_seconds(server_pid) - cpu0) / wall
    client_cpu = sum(o[1] for o in outputs) / wall / len(outputs)
    results = [r for o in outputs for r in o[0]]

    stats = _http_json(root + "/stats")
    received = {rec["id"]: rec["received"] for rec in stats["records"]}
    client_late, delivery, ttft_err = [], [], []
    for response_id, sent, arrivals in results:
        if arrivals:
            ttft_err.append(arrivals[0] - sent - args.ttft)
        origin = received.get(response_id)
        for i, t in enumerate(arrivals):
            due = args.ttft + i * args.tpot
            client_late.append(t - sent - due)
            if origin is not None:
                delivery.append(t - origin - due)
    client_late.sort()
    delivery.sort()
    ttft_err.sort()
    lateness = stats["lateness"]
    counts = {len(a) for _, _, a in results}
    ok = counts == {args.tokens} and len(results) == requests
    ms = 1e3
    return (
        f"{conc:>5} {requests:>5} {wall:>6.2f} {server_cpu:>5.0%} {client_cpu:>5.0%} | "
        f"{lateness['p50'] * ms:>6.3f} {lateness['p99'] * ms:>6.3f} {lateness['max'] * ms:>6.2f} | "
        f"{_pct(delivery, .5) * ms:>6.3f} {_pct(delivery, .99) * ms:>6.3f} | "
        f"{_pct(client_late, .5) * ms:>7.3f} {_pct(client_late, .99) * ms:>7.3f} | "
        f"{_pct(ttft_err, .5) * ms:>7.3f} {_pct(ttft_err, .99) * ms:>7.3f} | "
        f"{'all ' + str(args.tokens) if ok else 'MISMATCH ' + str(sorted(counts))}"
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--levels", type=int, nargs="+", default=[1, 32, 256])
    ap.add_argument("--rounds", type=int, default=2, help="requests per stream slot at each level (at least 5 in all)")
    ap.add_argument("--ttft", type=float, default=0.2)
    ap.add_argument("--tpot", type=float, default=0.005)
    ap.add_argument("--tokens", type=int, default=200)
    ap.add_argument("--server-core", type=int, default=0)
    ap.add_argument("--client-cores", type=int, nargs="+", default=[1],
                    help="cores for client processes (the streams are split among them)")
    ap.add_argument("--realtime", action="store_true",
                    help="run server and clients under SCHED_FIFO (chrt -f 10): the mock's own figures on a "
                         "machine shared with other work (needs root; a few seconds of CPU priority)")
    ap.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more mock-server flags (last)")
    args = ap.parse_args()

    cmd = [sys.executable, "-m", "thinklens", "mock-server", "--port", "0", "--quiet", "--record-timings",
           "--ttft", str(args.ttft), "--tpot", str(args.tpot), "--tokens", str(args.tokens), *args.extra]
    if shutil.which("taskset") and args.server_core is not None:
        cmd = ["taskset", "-c", str(args.server_core), *cmd]
    if args.realtime:
        cmd = ["chrt", "-f", "10", *cmd]
        os.sched_setscheduler(0, os.SCHED_FIFO, os.sched_param(10))  # inherited by the client processes
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline().strip()
        if not line.startswith("listening on "):
            print(f"server did not start: {line!r}", file=sys.stderr)
            return 1
        base = line.removeprefix("listening on ")
        root = base.removesuffix("/v1")
        print(f"mock-server on core {args.server_core}, client on core(s) {args.client_cores}"
              f"{', SCHED_FIFO' if args.realtime else ''}; ttft {args.ttft * 1e3:g} ms, "
              f"tpot {args.tpot * 1e3:g} ms, {args.tokens} tokens/request {' '.join(args.extra)}")
        print(f"{'':>25}cpu | server write late | delivery      | client lateness | TTFT error      |")
        print(f"{'conc':>5} {'reqs':>5} {'wall s':>6} {'srv':>5} {'cli':>5} | {'p50':>6} {'p99':>6} {'max':>6} | "
              f"{'p50':>6} {'p99':>6} | {'p50':>7} {'p99':>7} | {'p50':>7} {'p99':>7} | tokens   (ms)")
        for conc in args.levels:
            print(_run_level(args, base + "/chat/completions", root, server.pid, conc), flush=True)
    finally:
        server.terminate()
        server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
