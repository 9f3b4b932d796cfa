"""Cold start-up of the command line: `thinklens --help`, median of fresh processes.

    python bench/bench_cli_startup.py                   # this checkout's src/, 5 runs
    python bench/bench_cli_startup.py --runs 9 --src /path/to/other/src --argv eval --help

Each run is a new interpreter (`python -m thinklens ...`), so every import is paid again;
the operating system's file cache stays warm, as it is for a user typing commands.  The
target (tests/test_cli_startup.py keeps it) is 0.3 s; on a busy shared machine the
figure moves with the load average, printed beside it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def time_once(src: Path, argv: list[str]) -> float:
    # As an installed thinklens runs: with its bytecode cached (pip compiles it at install;
    # a session that sets PYTHONDONTWRITEBYTECODE would compile every module on every run).
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["PYTHONPATH"] = str(src)
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-m", "thinklens", *argv], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--src", type=Path, default=ROOT / "src", help="the src/ folder holding thinklens")
    ap.add_argument("--argv", nargs=argparse.REMAINDER, default=["--help"], help="arguments (default --help)")
    args = ap.parse_args()
    time_once(args.src, args.argv)  # not counted: fills the file cache and writes __pycache__
    times = [time_once(args.src, args.argv) for _ in range(args.runs)]
    bare = statistics.median(time_once_python() for _ in range(args.runs))
    print(f"thinklens {' '.join(args.argv)}: median {statistics.median(times):.3f} s over {args.runs} fresh "
          f"processes (min {min(times):.3f}, max {max(times):.3f}); bare `python -c pass` {bare:.3f} s; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")


def time_once_python() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "pass"], check=True)
    return time.perf_counter() - t0


if __name__ == "__main__":
    main()
