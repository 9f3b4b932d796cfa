"""How long `thinklens eval` takes from launch to its first request on the wire.

    python bench/bench_eval_startup.py               # 5 fresh eval processes, median
    python bench/bench_eval_startup.py --runs 9 --src /path/to/other/src   # another checkout, same load

A real `thinklens mock-server` logs each chat request's arrival (`--request-log`, wall
clock); each run launches a new `python -m thinklens eval` into a fresh folder and
measures launch -> first arrival.  Target (issue 11): <= 0.3 s.  Whatever the eval does
before its first request (imports, dataset load, preflight, store, plan) is in it.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # the repository root: tests.helpers
from tests.helpers.calibration import MockServerProcess  # noqa: E402


def _dataset(folder: Path) -> Path:
    path = folder / "math.jsonl"
    rows = [{"problem": f"What is {i} + {i}?", "answer": str(2 * i), "level": 1 + i % 5, "subject": "Algebra",
             "unique_id": f"bench/{i}.json"} for i in range(200)]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def first_request_delay(src: Path, url: str, data: Path, log: Path, out: Path) -> float:
    before = log.stat().st_size if log.exists() else 0
    # As an installed thinklens runs: with its bytecode cached (pip compiles it at install;
    # a session that sets PYTHONDONTWRITEBYTECODE would compile every module on every run).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(src)
    launched = time.time()
    subprocess.run(
        [sys.executable, "-m", "thinklens", "eval", "--api-url", url, "--model", "mock-model", "--datasets",
         "math_500", "--dataset-path", f"math_500={data}", "--limit", "20", "--eval-batch-size", "8",
         "--output", str(out), "--no-progress"],
        env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=300,
    )
    with log.open("rb") as f:
        f.seek(before)
        arrivals = [json.loads(line)["at"] for line in f if line.strip()]
    return min(arrivals) - launched


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--src", type=Path, default=ROOT / "src", help="the src/ folder holding thinklens")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        data, log = _dataset(folder), folder / "requests.log"
        with MockServerProcess("--model", "mock-model", "--request-log", str(log)) as server:
            first_request_delay(args.src, server.url, data, log, folder / "warm")  # fills caches, not counted
            delays = [first_request_delay(args.src, server.url, data, log, folder / f"run{i}")
                      for i in range(args.runs)]
    print(f"thinklens eval, launch -> first request: median {statistics.median(delays):.3f} s over {args.runs} "
          f"fresh processes (min {min(delays):.3f}, max {max(delays):.3f}); load average "
          f"{os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


if __name__ == "__main__":
    main()
