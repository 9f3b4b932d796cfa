"""How fast the viewer opens a big run.

Builds (once; reused when the folder exists) a 2,000-sample run whose traces are
30,000 tokens long (~120 kB of reasoning each, ~250 MB store), serves it with the real
app over real HTTP, and times each page: the samples page must open in well under a
second (issue 6).  "cold" is the first request after start (it builds the reader's
summary table); "warm" is the median of later requests.

    PYTHONPATH=src python bench/bench_viewer.py [--dir /tmp/thinklens-bench-viewer] [--samples 2000]
"""

from __future__ import annotations

import argparse
import http.client
import random
import statistics
import sys
import threading
import time
from pathlib import Path

from thinklens.records import Generation, Sample, Score, Timings, Usage
from thinklens.store import RunStore

WORDS = ("let us compute the value then check whether this works so we get the answer is "
         "because since therefore hence if and only when").split()
SWITCHES = ("Wait,", "Alternatively,", "Hmm,", "But wait,")


def trace(rnd: random.Random, target_chars: int) -> str:
    parts, size = [], 0
    while size < target_chars:
        head = rnd.choice(SWITCHES) + " " if rnd.random() < 0.08 else ""
        body = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(25, 70)))
        para = f"{head}{body} so $x_{{{rnd.randint(1, 9)}}}^2 = \\frac{{{rnd.randint(1, 99)}}}{{{rnd.randint(2, 9)}}}$."
        parts.append(para)
        size += len(para) + 2
    return "\n\n".join(parts)


def build(run_dir: Path, samples: int, chars: int) -> None:
    rnd = random.Random(0)
    store = RunStore(run_dir)
    store.set_meta("model", "bench-model")
    store.set_meta("datasets", ["math_500"])
    store.set_meta("created_at", time.time())
    keys = []
    t0 = time.perf_counter()
    for i in range(samples):
        key = f"k{i:05d}"
        keys.append((key, "math"))
        s = Sample(id=f"test/algebra/{i}.json", dataset="math_500", subset=f"Level {i % 5 + 1}",
                   messages=[{"role": "user", "content": f"Problem {i}: find $x$ if $x^2 = {i}$."}], gold=str(i % 17))
        finish = "length" if i % 23 == 0 else "stop"
        tokens = rnd.randint(2_000, 32_768)
        g = Generation(content=f"The answer is $\\boxed{{{i % 13}}}$.", reasoning=trace(rnd, chars),
                       reasoning_source="reasoning_content", finish_reason=finish,
                       usage=Usage(80, tokens, tokens - 40), timings=Timings(time.time(), 0.3, tokens / 900, tokens / 800))
        store.put_generation(key, s, 0, g)
        correct = i % 17 == i % 13
        store.put_score(key, Score(correct, "correct" if correct else ("truncated" if finish == "length" else "not_equivalent"),
                                   extracted=str(i % 13)))
        if (i + 1) % 500 == 0:
            print(f"  built {i + 1}/{samples} rows ({time.perf_counter() - t0:.0f}s)", file=sys.stderr)
    store.set_plan(keys)
    store.close()


def timed_get(host: str, port: int, path: str) -> tuple[float, int, int]:
    conn = http.client.HTTPConnection(host, port, timeout=120)
    t0 = time.perf_counter()
    conn.request("GET", path)
    resp = conn.getresponse()
    body = resp.read()
    elapsed = time.perf_counter() - t0
    conn.close()
    if resp.status != 200:
        raise RuntimeError(f"{path}: HTTP {resp.status}")
    return elapsed, len(body), resp.status


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--dir", default="/tmp/thinklens-bench-viewer")
    ap.add_argument("--samples", type=int, default=2000)
    ap.add_argument("--trace-chars", type=int, default=120_000, help="~4 characters per token: 30,000 tokens")
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--export", action="store_true", help="also time `--export` of the run (all its pages)")
    args = ap.parse_args()
    root = Path(args.dir)
    run_dir = root / "run"
    if not (run_dir / "run.sqlite").exists():
        print(f"building {args.samples} samples x {args.trace_chars:,} chars in {run_dir} ...", file=sys.stderr)
        build(run_dir, args.samples, args.trace_chars)
    size_mb = (run_dir / "run.sqlite").stat().st_size / 1e6

    import uvicorn

    from thinklens.viewer.server import bind_socket, create_app

    app = create_app(root, allowed_hosts=["127.0.0.1"])
    sock = bind_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.01)
    pages = [
        ("samples page (cold: first request, builds the summary)", "/run/run/samples"),
        ("samples page", "/run/run/samples"),
        ("samples, page 30 of 40", "/run/run/samples?page=30"),
        ("samples, sorted by tokens", "/run/run/samples?sort=-tokens"),
        ("samples, sorted by latency, 200/page", "/run/run/samples?sort=-latency&per_page=200"),
        ("samples, filter wrong + Level 3", "/run/run/samples?dataset=math_500&subset=Level+3&outcome=wrong"),
        ("samples, quick search", "/run/run/samples?q=algebra%2F77"),
        ("samples, deep search (reasoning)", "/run/run/samples?q=zzzz-not-there&deep=1"),
        ("sample page (30k-token trace)", "/run/run/sample/k01000?sort=-tokens"),
        ("run page", "/run/run/"),
        ("runs list", "/"),
    ]
    print(f"store: {args.samples} samples, {size_mb:.0f} MB; times over HTTP, median of {args.repeat}")
    print(f"{'page':58s} {'ms':>9s} {'kB':>8s}")
    for label, path in pages:
        if "cold" in label:
            elapsed, size, _ = timed_get("127.0.0.1", port, path)
            print(f"{label:58s} {elapsed * 1000:9.1f} {size / 1000:8.0f}")
            continue
        times = []
        for i in range(args.repeat):
            # deep search: the cached hit list is per query text; vary it to time real scans
            p = path.replace("zzzz", f"zzzz{i}") if "deep" in path else path
            elapsed, size, _ = timed_get("127.0.0.1", port, p)
            times.append(elapsed)
        print(f"{label:58s} {statistics.median(times) * 1000:9.1f} {size / 1000:8.0f}")
    server.should_exit = True
    thread.join()
    if args.export:
        import os
        import tempfile

        from thinklens.viewer.export import export_site

        with tempfile.TemporaryDirectory() as tmp:
            result = export_site(root, Path(tmp) / "site")
            size = sum(p.stat().st_size for p in (Path(tmp) / "site").rglob("*") if p.is_file())
        print(f"export: {result.pages} pages, {size / 1e6:.0f} MB in {result.seconds:.1f}s "
              f"({os.cpu_count()} CPUs)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
