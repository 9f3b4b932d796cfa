"""Issue 10's acceptance line: faults never change the result, and cost only their retries.

"A 500-sample eval with 20 % mixed faults including wrong-shape JSON and one replica
killed half way finishes with the same report as a clean run, and no sample is
requested more than (1 + its retries) times."

Two mock-server replicas replay real R1-Distill-Qwen-32B answers on MATH-500 (from
the shared data; synthetic answers when it is absent).  A clean eval runs against two
clean replicas; a faulty eval against two replicas injecting 20 % faults
(429, 500, reset, stall, malformed, wrong_shape), and replica B is killed (SIGKILL)
once half the samples have been requested.  Then: the two reports must be equal
(rows and per-subset counts), and per sample the requests the servers logged
(`--request-log`, which survives the kill) must be <= the attempts the run stored
<= 1 + --max-retries.

    python bench/bench_faults.py                 # 500 samples
    python bench/bench_faults.py --samples 100   # quicker
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))  # the repository root: tests.helpers (never shipped in the wheel)
from tests.helpers.shared_data import shared_data_dir  # noqa: E402

DATA = shared_data_dir()
MATH500 = DATA / "benchmarks" / "math500_test.jsonl"
REPLAY = [DATA / "model_outputs" / "meitann_R1-Distill-Qwen-32B_math500_part1_400.jsonl",
          DATA / "model_outputs" / "meitann_R1-Distill-Qwen-32B_math500_part2_100.jsonl"]
FAULTS = "429,500,reset,stall,malformed,wrong_shape"
MAX_RETRIES = 6
ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}


def start_server(log: Path, extra: list[str]) -> tuple[subprocess.Popen, str]:
    output = (["--replay", *map(str, REPLAY), "--tokens-per-chunk", "64"] if all(p.exists() for p in REPLAY)
              else ["--tokens", "50", "--answer", "\\boxed{1}"])
    cmd = [sys.executable, "-m", "thinklens", "mock-server", "--port", "0", "--quiet", "--request-log", str(log),
           *output, *extra]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, env=ENV)
    line = proc.stdout.readline()
    if "listening on" not in line:
        proc.kill()
        raise SystemExit(f"mock server did not start: {line!r}")
    return proc, line.split("listening on", 1)[1].strip()


def eval_cmd(urls: list[str], out: Path, samples: int) -> list[str]:
    return [sys.executable, "-m", "thinklens", "eval", "--api-url", *urls, "--model", "bench",
            "--datasets", "math_500", "--dataset-path", f"math_500={MATH500}", "--limit", str(samples),
            "--eval-batch-size", "32", "--max-tokens", "32000", "--output", str(out), "--no-progress",
            "--max-retries", str(MAX_RETRIES), "--retry-backoff", "0.05", "--timeout-idle", "2"]


def logged(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines() if line.strip()] if log.exists() else []


def comparable(report_path: Path) -> dict:
    """The report without what legitimately differs between runs (times, error tallies of retries)."""
    data = json.loads(report_path.read_text())
    subsets = [{k: v for k, v in s.items() if "time" not in k and "second" not in k} for s in data["subsets"]]
    return {"rows": data["rows"], "subsets": subsets}


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
            try:
                p.wait(10)
            except subprocess.TimeoutExpired:
                p.kill()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--samples", type=int, default=500)
    ap.add_argument("--fault-rate", type=float, default=0.2)
    args = ap.parse_args()
    if not MATH500.exists():
        raise SystemExit(f"needs {MATH500} (set THINKLENS_SHARED_DATA)")
    tmp = Path(tempfile.mkdtemp(prefix="bench_faults_"))

    # ---- clean run -------------------------------------------------------------------
    procs = []
    try:
        a, url_a = start_server(tmp / "clean_a.log", [])
        b, url_b = start_server(tmp / "clean_b.log", [])
        procs = [a, b]
        t0 = time.perf_counter()
        clean = subprocess.run(eval_cmd([url_a, url_b], tmp / "clean", args.samples), capture_output=True,
                               text=True, env=ENV)
        clean_wall = time.perf_counter() - t0
    finally:
        stop(procs)
    if clean.returncode != 0:
        raise SystemExit(f"clean eval failed ({clean.returncode}):\n{clean.stderr[-3000:]}")

    # ---- faulty run: 20 % faults on both replicas, B killed half way -------------------
    faults = ["--fault-rate", str(args.fault_rate), "--faults", FAULTS, "--retry-after", "0.05",
              "--stall-seconds", "30"]
    log_a, log_b = tmp / "faulty_a.log", tmp / "faulty_b.log"
    procs = []
    try:
        a, url_a = start_server(log_a, [*faults, "--seed", "1"])
        b, url_b = start_server(log_b, [*faults, "--seed", "2"])
        procs = [a, b]
        t0 = time.perf_counter()
        run = subprocess.Popen(eval_cmd([url_a, url_b], tmp / "faulty", args.samples), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True, env=ENV)
        killed_at = None
        while run.poll() is None:
            if killed_at is None and len({r["prompt_digest"] for r in logged(log_a) + logged(log_b)}) >= args.samples // 2:
                b.kill()  # SIGKILL: streams in flight break, new connections are refused
                killed_at = time.perf_counter() - t0
            time.sleep(0.05)
        _, faulty_err = run.communicate()
        faulty_wall = time.perf_counter() - t0
    finally:
        stop(procs)

    # ---- compare -----------------------------------------------------------------------
    same = comparable(tmp / "clean" / "report.json") == comparable(tmp / "faulty" / "report.json")
    records = logged(log_a) + logged(log_b)
    per_prompt = Counter(r["prompt_digest"] for r in records)
    injected = Counter(r["fault"] for r in records if r["fault"])
    conn = sqlite3.connect(tmp / "faulty" / "run.sqlite")
    stored = conn.execute("SELECT messages, attempts, status FROM results").fetchall()
    conn.close()
    over, max_requests, max_attempts, errors = 0, 0, 0, 0
    for messages, attempts, status in stored:
        last_user = next(m for m in reversed(json.loads(messages)) if m["role"] == "user")["content"]
        requests = per_prompt.get(hashlib.sha1(last_user.encode("utf-8")).hexdigest()[:16], 0)
        max_requests, max_attempts = max(max_requests, requests), max(max_attempts, attempts)
        over += not (requests <= attempts <= 1 + MAX_RETRIES)
        errors += status != "ok"
    on_b = sum(1 for _ in logged(log_b))

    print(f"samples {args.samples}, fault rate {args.fault_rate:.0%} of {FAULTS}, max retries {MAX_RETRIES}")
    print(f"clean run:  {clean_wall:6.1f} s, exit {clean.returncode}")
    print(f"faulty run: {faulty_wall:6.1f} s, exit {run.returncode}; replica B killed at {killed_at or 0:.1f} s "
          f"after {on_b} requests")
    print(f"requests logged by the servers: {len(records)} for {len(per_prompt)} prompts; injected faults: "
          f"{dict(sorted(injected.items()))}")
    print(f"failed samples: {errors}; most requests for one sample: {max_requests}; most attempts stored: "
          f"{max_attempts}; samples outside requests <= attempts <= 1 + retries: {over}")
    print(f"reports equal: {same}")
    if not same or over or errors or run.returncode != 0 or killed_at is None:
        print(faulty_err[-3000:], file=sys.stderr)
        raise SystemExit(1)


if __name__ == "__main__":
    main()
