"""Grading benchmark: accuracy on the labelled corpus, and throughput on real answers.

    PYTHONPATH=src python bench/bench_grading.py [--workers 2] [--skip-accuracy] [--skip-throughput]

1. Accuracy, false positives and false negatives of thinklens' grader, plain math-verify
   (its README usage), math-verify with the gold read as LaTeX, and the MATH paper's strict
   string grader, on the corpus of tests/grading/ (real answers from the shared data folder,
   labelled by hand, plus invented cases for every answer form).  The baselines are also
   run on the *raw* generations (reasoning included, as a tool that does not split
   `<think>` would see them): that is where unfinished reasoning turns into false positives.
2. Throughput: the 900 real MATH-500 answers (R1-distill 500 + QwQ 400) through a
   `GradingPool` on `--workers` cores, cold worker caches; the same with every item
   forced through the workers; trivial answers per second; the slowest single case.
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))  # the repository root: tests.helpers (never shipped in the wheel)

from thinklens.grading import GradeRequest, GradingPool, grade  # noqa: E402
from grading_baselines import BASELINES  # noqa: E402
from tests.helpers.corpus import CORPUS_DIR, load_corpus, load_skythought  # noqa: E402
from tests.helpers.realdata import math500_real_cases, shared_data_available  # noqa: E402


def _row(name: str, verdicts: list[bool | None], labels: list[bool]) -> str:
    n = len(labels)
    right = sum(1 for v, y in zip(verdicts, labels) if bool(v) == y)
    fp = sum(1 for v, y in zip(verdicts, labels) if v is True and not y)
    fn = sum(1 for v, y in zip(verdicts, labels) if v is not True and y)
    return f"| {name:<44} | {n:5d} | {right / n:8.4f} | {fp:4d} | {fn:4d} |"


def accuracy() -> None:
    cases = load_corpus()
    real = [c for c in cases if c.kind == "real"]
    print(f"corpus: {len(cases)} cases ({len(real)} real answers, {len(cases) - len(real)} invented)")
    ours = [grade(c.request).correct for c in cases]
    base = {name: [fn(c.request.grader, c.request.response, c.request.gold) for c in cases] for name, fn in BASELINES.items()}
    raw = {name: [fn(c.request.grader, c.raw_output, c.request.gold) for c in real] for name, fn in BASELINES.items()}
    for title, idx in (("whole corpus", range(len(cases))),
                       ("real answers only", [i for i, c in enumerate(cases) if c.kind == "real"]),
                       ("invented cases only", [i for i, c in enumerate(cases) if c.kind == "invented"])):
        idx = list(idx)
        if not idx:
            continue
        labels = [cases[i].correct for i in idx]
        print(f"\n{title} (FP = graded correct but wrong, FN = graded wrong but correct)")
        print(f"| {'grader':<44} | {'n':>5} | {'accuracy':>8} | {'FP':>4} | {'FN':>4} |")
        print(f"|{'-' * 46}|{'-' * 7}|{'-' * 10}|{'-' * 6}|{'-' * 6}|")
        print(_row("thinklens", [ours[i] for i in idx], labels))
        for name, verdicts in base.items():
            print(_row(name, [verdicts[i] for i in idx], labels))
        if title == "real answers only":
            for name, verdicts in raw.items():
                print(_row(name + " (raw output)", verdicts, labels))
    truncated = [i for i, c in enumerate(real) if c.request.finish_reason == "length"]
    if truncated:
        print(f"\ntruncated real generations: {len(truncated)}; graded correct by")
        print(f"  thinklens: {sum(1 for i in truncated if ours[i])}")
        for name, verdicts in raw.items():
            print(f"  {name} on the raw output: {sum(1 for i in truncated if verdicts[i])}")


def suite_accuracy() -> None:
    """The reasoning suite (AMC23, Minerva Math, OlympiadBench): thinklens, plain math-verify and the
    Qwen2.5-Math grader (the output files' own `score`) against the hand labels."""
    import json
    from collections import defaultdict

    from grading_baselines import plain_math_verify

    cases = load_skythought()
    if not cases:
        print("\nsuite: shared data folder absent, skipped")
        return
    qwen = {}
    with (CORPUS_DIR / "skythought_labels.jsonl").open(encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            qwen[d["ref"]] = d["graders_at_labelling"]["qwen25math"]
    groups: dict[str, list[tuple[bool, bool, bool, bool]]] = defaultdict(list)
    for c in cases:
        ours = grade(c.request).correct is True
        mv = bool(c.request.response) and plain_math_verify(c.request.response, c.request.gold)
        groups[c.id.split(":")[0].removeprefix("skythought_")].append((c.correct, ours, mv, qwen[c.id]))
    print("\nreasoning suite, SkyThought outputs (accuracy against the hand labels; FP / FN)")
    print("| file | n | thinklens | plain math-verify | Qwen2.5-Math grader |")
    print("|---|---|---|---|---|")
    groups["all"] = [r for rows in list(groups.values()) for r in rows]
    for name, rows in groups.items():
        cells = []
        for i in (1, 2, 3):
            right = sum(1 for r in rows if r[i] == r[0])
            fp = sum(1 for r in rows if r[i] and not r[0])
            fn = sum(1 for r in rows if not r[i] and r[0])
            cells.append(f"{right / len(rows):.3f} ({fp} / {fn})")
        print(f"| {name} | {len(rows)} | " + " | ".join(cells) + " |")


def throughput(workers: int) -> None:
    if not shared_data_available():
        print("throughput: shared data folder absent, skipped")
        return
    reqs = [c.request for c in math500_real_cases()]
    print(f"\nthroughput on {len(reqs)} real MATH-500 answers, {workers} worker processes (cpu count {os.cpu_count()})")
    for label, quick in (("quick path in the caller + workers", True), ("every item through the workers", False)):
        t0 = time.perf_counter()
        with GradingPool(workers=workers, timeout=10, quick_path=quick) as pool:
            pool.wait_ready()
            started = time.perf_counter()
            cpu0 = time.process_time()
            scores = pool.grade_many(reqs)
            wall = time.perf_counter() - started
            cpu = time.process_time() - cpu0
        ungraded = sum(1 for s in scores if s.reason == "ungraded")
        print(f"  {label:<38} {len(reqs) / wall:8.1f} answers/s  ({wall:.2f} s; parent CPU {cpu:.2f} s; "
              f"pool start {started - t0:.2f} s; ungraded {ungraded})")
    trivial = [GradeRequest("math", f"so the answer is \\boxed{{{i % 97}}}", str(i % 89)) for i in range(20000)]
    with GradingPool(workers=workers, timeout=10, quick_path=False) as pool:
        pool.wait_ready()
        t = time.perf_counter()
        pool.grade_many(trivial[:5000])
        dt = time.perf_counter() - t
        print(f"  trivial answers through the workers     {5000 / dt:8.0f} answers/s (round trip per item incl. pipes)")
        t = time.perf_counter()
        pool.grade_many(trivial)
        dt = time.perf_counter() - t
        print(f"  trivial answers, quick path             {len(trivial) / dt:8.0f} answers/s")
    # Slowest single case: serial, in a fresh process (cold caches, as a new worker), after
    # the import warm-up a worker does at start.
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(1, mp_context=mp.get_context("spawn")) as ex:
        timings = ex.submit(_serial_timings).result()
    total = sum(t for t, _ in timings)
    print(f"  serial in one process (one core): {len(timings) / total:.1f} answers/s; slowest single case "
          f"{timings[0][0] * 1000:.0f} ms ({timings[0][1]}), then "
          + ", ".join(f"{t * 1000:.0f} ms ({r})" for t, r in timings[1:4]))
    print(f"  peak RSS of this process: {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")


def _serial_timings() -> list[tuple[float, str]]:
    from thinklens.grading._worker import _warm_up

    _warm_up(grade, GradeRequest)
    timings = []
    for c in math500_real_cases():
        t = time.perf_counter()
        grade(c.request)
        timings.append((time.perf_counter() - t, c.ref))
    return sorted(timings, reverse=True)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--skip-accuracy", action="store_true")
    ap.add_argument("--skip-throughput", action="store_true")
    args = ap.parse_args()
    if not args.skip_accuracy:
        accuracy()
        suite_accuracy()
    if not args.skip_throughput:
        throughput(args.workers)


if __name__ == "__main__":
    main()
