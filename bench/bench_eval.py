"""Evaluation pipeline throughput: wall time vs ideal and CPU per 1000 samples.

Issue 2's setting: mock server with TTFT 200 ms, 5 ms per token, 200 tokens per answer;
2000 samples (MATH-500 with --n 4); the server on core 0 and thinklens on core 1
(taskset).  Ideal wall time = samples / concurrency x 1.2 s.  Then the stall case:
10 % of streams stall for an hour, `--timeout-idle 10` must end the run within a few
minutes of the clean one.

    python bench/bench_eval.py                    # both concurrencies + stall case
    python bench/bench_eval.py --concurrency 64 --samples 500 --no-stall
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

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))  # the repository root: tests.helpers (never shipped in the wheel)
from tests.helpers.shared_data import shared_data_dir  # noqa: E402

TTFT, TPOT, TOKENS = 0.2, 0.005, 200
PER_REQUEST = TTFT + TOKENS * TPOT  # 1.2 s


def taskset(core: int) -> list[str]:
    return ["taskset", "-c", str(core)] if shutil.which("taskset") and os.cpu_count() and os.cpu_count() > 1 else []


def start_server(extra: list[str]) -> tuple[subprocess.Popen, str]:
    cmd = taskset(0) + [sys.executable, "-m", "thinklens", "mock-server", "--port", "0", "--quiet",
                        "--ttft", str(TTFT), "--tpot", str(TPOT), "--tokens", str(TOKENS),
                        "--answer", "\\boxed{42}", *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        raise SystemExit(f"mock server did not start: {line!r}")
    return proc, line.split("listening on", 1)[1].strip()


def run_eval(url: str, out: Path, concurrency: int, limit: int, n: int, extra: list[str]) -> tuple[float, float, int]:
    data = shared_data_dir() / "benchmarks" / "math500_test.jsonl"
    cmd = taskset(1) + [sys.executable, "-m", "thinklens", "eval", "--api-url", url, "--model", "mock",
                        "--datasets", "math_500", "--dataset-path", f"math_500={data}", "--limit", str(limit),
                        "--n", str(n), "--eval-batch-size", str(concurrency), "--max-tokens", "1000",
                        "--output", str(out), "--no-progress", *extra]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT / "src")})
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode not in (0, 1):
        raise SystemExit(f"eval failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    import sqlite3

    conn = sqlite3.connect(out / "run.sqlite")
    history = json.loads(conn.execute("SELECT value FROM meta WHERE key='history'").fetchone()[0])
    conn.close()
    return wall, cpu, proc.returncode, history[-1]["request_seconds"]


def server_stats(url: str) -> dict:
    import urllib.request

    with urllib.request.urlopen(url.rsplit("/v1", 1)[0] + "/stats") as resp:
        return json.load(resp)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--concurrency", type=int, nargs="+", default=[64, 256])
    ap.add_argument("--samples", type=int, default=500, help="MATH-500 questions (x --n repeats)")
    ap.add_argument("--n", type=int, default=4)
    ap.add_argument("--no-stall", action="store_true")
    args = ap.parse_args()
    if not (shared_data_dir() / "benchmarks" / "math500_test.jsonl").exists():
        raise SystemExit(f"needs MATH-500 at {shared_data_dir()} (set THINKLENS_SHARED_DATA)")
    total = args.samples * args.n
    print(f"{total} samples, server: TTFT {TTFT}s + {TOKENS} tokens x {TPOT}s = {PER_REQUEST}s per request")
    print("wall = the whole `thinklens eval` process (start-up, dataset, requests, grading, report);")
    print("requests = first request sent -> last response received")
    print(f"{'concurrency':>11} {'wall s':>8} {'requests s':>10} {'ideal s':>8} {'ratio':>6} {'req ratio':>9} "
          f"{'CPU s':>7} {'CPU s/1000':>10} {'max in flight':>13}")
    clean_wall = {}
    with tempfile.TemporaryDirectory() as tmp:
        for c in args.concurrency:
            server, url = start_server([])
            try:
                wall, cpu, _, req_s = run_eval(url, Path(tmp) / f"c{c}", c, args.samples, args.n, [])
                stats = server_stats(url)
            finally:
                server.kill()
            ideal = total / c * PER_REQUEST
            clean_wall[c] = wall
            print(f"{c:>11} {wall:>8.2f} {req_s:>10.2f} {ideal:>8.2f} {wall / ideal:>6.3f} {req_s / ideal:>9.3f} "
                  f"{cpu:>7.2f} {cpu / total * 1000:>10.2f} "
                  f"{stats.get('max_in_flight', '?'):>13}")
        if not args.no_stall:
            c = args.concurrency[0]
            server, url = start_server(["--fault-rate", "0.1", "--faults", "stall", "--stall-seconds", "3600", "--seed", "7"])
            try:
                wall, cpu, rc, _ = run_eval(url, Path(tmp) / "stall", c, args.samples, args.n,
                                         ["--timeout-idle", "10", "--retry-backoff", "0.5", "--max-retries", "8"])
            finally:
                server.kill()
            print(f"stall faults (10 % of streams silent for 1 h), --timeout-idle 10, concurrency {c}: "
                  f"wall {wall:.1f}s vs clean {clean_wall[c]:.1f}s (+{wall - clean_wall[c]:.1f}s), exit {rc}")


if __name__ == "__main__":
    main()
