"""How exactly does `thinklens mock-server` keep its schedule under concurrency?

The server runs in its own process pinned to one core (`taskset -c 0`); a minimal
raw aiohttp client (no thinklens code) runs pinned to other cores, streams
requests at concurrency 1 / 32 / 256 in a closed loop, and timestamps every SSE
token event as it arrives.  Printed per level:

- server write lateness p50/p99/max: how late the server wrote each token
  behind its due time (arrival + ttft + i * tpot), from the server's /stats;
- client token lateness p50/p99: arrival of token i at the client minus
  (client send time + ttft + i * tpot), i.e. what a load tester would see;
- client TTFT error p50/p99 (measured TTFT minus the configured ttft);
- the server's CPU use (share of its one core) during the level, and the
  client's (per client core: near 100 % means the client, not the server, is
  the limit of the client-side figures).

    PYTHONPATH=src python bench/bench_mock_server.py                 # ttft 0.2 s, tpot 5 ms, 200 tokens
    PYTHONPATH=src python bench/bench_mock_server.py --levels 1 32 256 512 --client-cores 1 2 3
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import shutil
import subprocess
import sys
import time

import aiohttp


def _pct(sorted_values: list[float], q: float) -> float:
    if not sorted_values:
        return float("nan")
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def _is_token_event(event: bytes) -> bool:
    if event.startswith(b"data: [DONE]") or b'"choices":[]' in event:
        return False
    return b'"role":"assistant"' not in event


async def _client(url: str, concurrency: int, requests: int, ttft: float, tpot: float, tokens: int):
    """Closed loop; returns (ttft errors, token latenesses, token counts) of all requests."""
    payload = {
        "model": "bench", "stream": True, "max_tokens": tokens, "ignore_eos": True,
        "messages": [{"role": "user", "content": "Tell me something long."}],
    }
    body = json.dumps(payload).encode()
    headers = {"Content-Type": "application/json"}
    ttft_errors: list[float] = []
    lateness: list[float] = []
    counts: list[int] = []
    remaining = [requests]
    connector = aiohttp.TCPConnector(limit=0, force_close=False)
    timeout = aiohttp.ClientTimeout(total=None, sock_read=600)

    async def worker(session: aiohttp.ClientSession) -> None:
        while remaining[0] > 0:
            remaining[0] -= 1
            t0 = time.monotonic()
            n = 0
            buf = b""
            async with session.post(url, data=body, headers=headers) as resp:
                resp.raise_for_status()
                async for chunk in resp.content.iter_any():
                    t = time.monotonic()
                    buf += chunk
                    *events, buf = buf.split(b"\n\n")
                    for event in events:
                        if _is_token_event(event):
                            if n == 0:
                                ttft_errors.append(t - t0 - ttft)
                            lateness.append(t - (t0 + ttft + n * tpot))
                            n += 1
            counts.append(n)

    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await asyncio.gather(*(worker(session) for _ in range(concurrency)))
    return ttft_errors, lateness, counts


def _client_process(core: int | None, url, concurrency, requests, ttft, tpot, tokens, out: mp.Queue) -> None:
    if core is not None and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {core})
    cpu = time.process_time()
    ttft_errors, lateness, counts = asyncio.run(_client(url, concurrency, requests, ttft, tpot, tokens))
    out.put((ttft_errors, lateness, counts, time.process_time() - cpu))


def _cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _get(url: str, method: str = "GET") -> dict:
    import urllib.request

    with urllib.request.urlopen(urllib.request.Request(url, method=method), timeout=30) as r:
        return json.loads(r.read())


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--levels", type=int, nargs="+", default=[1, 32, 256])
    ap.add_argument("--rounds", type=int, default=2, help="requests per stream slot at each level")
    ap.add_argument("--ttft", type=float, default=0.2)
    ap.add_argument("--tpot", type=float, default=0.005)
    ap.add_argument("--tokens", type=int, default=200)
    ap.add_argument("--server-core", type=int, default=0)
    ap.add_argument("--client-cores", type=int, nargs="+", default=[1],
                    help="cores for client processes (the streams are split among them)")
    ap.add_argument("--extra", nargs=argparse.REMAINDER, default=[], help="more mock-server flags")
    args = ap.parse_args()

    cmd = [sys.executable, "-m", "thinklens", "mock-server", "--port", "0", "--quiet",
           "--ttft", str(args.ttft), "--tpot", str(args.tpot), "--tokens", str(args.tokens), *args.extra]
    if shutil.which("taskset") and args.server_core is not None:
        cmd = ["taskset", "-c", str(args.server_core), *cmd]
    server = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        line = server.stdout.readline().strip()
        if not line.startswith("listening on "):
            print(f"server did not start: {line!r}", file=sys.stderr)
            return 1
        base = line.removeprefix("listening on ")
        root = base.removesuffix("/v1")
        url = base + "/chat/completions"
        print(f"mock-server on core {args.server_core}, client on cores {args.client_cores}; "
              f"ttft {args.ttft * 1e3:g} ms, tpot {args.tpot * 1e3:g} ms, {args.tokens} tokens/request")
        print(f"{'conc':>5} {'reqs':>5} {'wall s':>7} {'srv cpu':>7} {'cli cpu':>7} | {'server write lateness ms':^26} | "
              f"{'client token lateness ms':^24} | {'client TTFT err ms':^19} | tokens")
        print(f"{'':>5} {'':>5} {'':>7} {'':>7} {'':>7} | {'p50':>8} {'p99':>8} {'max':>8} | {'p50':>7} {'p99':>7} {'max':>8} |"
              f" {'p50':>9} {'p99':>9} |")
        for conc in args.levels:
            requests = conc * args.rounds
            _get(root + "/stats/reset", "POST")
            cores = args.client_cores[: max(1, min(len(args.client_cores), conc))]
            shares = [conc // len(cores) + (1 if i < conc % len(cores) else 0) for i in range(len(cores))]
            queue: mp.Queue = mp.Queue()
            cpu0, t0 = _cpu_seconds(server.pid), time.monotonic()
            procs = [
                mp.Process(target=_client_process, args=(core, url, share, share * args.rounds, args.ttft,
                                                         args.tpot, args.tokens, queue))
                for core, share in zip(cores, shares) if share
            ]
            for p in procs:
                p.start()
            results = [queue.get() for _ in procs]
            for p in procs:
                p.join()
            wall = time.monotonic() - t0
            cpu = (_cpu_seconds(server.pid) - cpu0) / wall
            client_cpu = sum(r[3] for r in results) / wall / len(results)
            ttft_err = sorted(x for r in results for x in r[0])
            late = sorted(x for r in results for x in r[1])
            counts = [c for r in results for c in r[2]]
            srv = _get(root + "/stats?records=0")["lateness"]
            ok = all(c == args.tokens for c in counts)
            print(f"{conc:>5} {requests:>5} {wall:>7.2f} {cpu:>7.0%} {client_cpu:>7.0%} | {srv['p50'] * 1e3:>8.3f} {srv['p99'] * 1e3:>8.3f} "
                  f"{srv['max'] * 1e3:>8.2f} | {_pct(late, .5) * 1e3:>7.3f} {_pct(late, .99) * 1e3:>7.3f} "
                  f"{late[-1] * 1e3:>8.2f} | {_pct(ttft_err, .5) * 1e3:>9.3f} {_pct(ttft_err, .99) * 1e3:>9.3f} | "
                  f"{'all ' + str(args.tokens) if ok else 'MISMATCH ' + str(sorted(set(counts)))}")
    finally:
        server.terminate()
        server.wait(10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
