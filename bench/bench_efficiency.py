"""Efficiency analysis of the 500 real DeepSeek-R1-Distill-Qwen-32B MATH-500 traces.

Prints the six metrics per level (verify method, blank-line steps, the real Qwen2
tokenizer, every trace: no length filter, no sampling), the wall time of the analysis
on this machine (`--workers` grading processes) and of a rerun on the unchanged run
(which reuses the stored per-trace results), the rank correlation (Spearman)
between our first-correct position and the `min_valid_length` labels, and the
agreement with the four solution-level labels of the overthinking paper.

    python bench/bench_efficiency.py                 # all 500 traces, 2 grading workers
    python bench/bench_efficiency.py --workers 1 --levels 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT))  # the repository root: tests.helpers (never shipped in the wheel)

from tests.helpers.efficiency_helpers import (  # noqa: E402
    MEITANN_PARTS, MINVALID_LABELS, QWEN2_TOKENIZER, R1_MODEL, data_path, have, labelled_rows, labelled_traces,
    meitann_rows, minvalid_labels, write_run,
)
from thinklens.efficiency.analysis import analyse_run  # noqa: E402
from thinklens.efficiency.settings import make_settings  # noqa: E402
from tests.helpers.stats import spearman  # noqa: E402

COLUMNS = (
    ("n", "n", "{}"), ("reached", "n_reached_correct", "{}"), ("T", "reasoning_tokens", "{:.0f}"),
    ("T^", "first_correct_tokens", "{:.0f}"), ("T-T^", "reflection_tokens", "{:.0f}"),
    ("T^/T", "token_efficiency", "{:.3f}"), ("switches", "thought_num", "{:.2f}"), ("acc", "accuracy", "{:.3f}"),
    ("xi_O", "xi_o", "{:.3f}"), ("xi_UT", "xi_ut", "{:.3f}"), ("rounds", "solutions", "{:.2f}"),
)


def table(summary: dict) -> str:
    head = f"{'subset':<9}" + "".join(f"{c[0]:>10}" for c in COLUMNS)
    lines = [head, "-" * len(head)]
    for name in [*summary["subset_order"], "overall"]:
        m = summary["subsets"][name]
        cells = "".join(f"{('-' if m[k] is None else fmt.format(m[k])):>10}" for _, k, fmt in COLUMNS)
        lines.append(f"{name:<9}{cells}")
    return "\n".join(lines)


def correlations(run: Path, samples: list) -> dict:
    labels = minvalid_labels()
    conn = sqlite3.connect(run / "run.sqlite")
    problems = {k: json.loads(m)["problem"] for k, m in conn.execute("SELECT key, sample_meta FROM results")}
    conn.close()
    reached_abs, reached_rel, all_abs = ([], []), ([], []), ([], [])
    for s in samples:
        label = labels.get(problems[s.key])
        if not label:
            continue
        that = s.first_correct.tokens if s.reached else s.reasoning_tokens
        all_abs[0].append(that)
        all_abs[1].append(label["min_valid_length"])
        if s.reached:
            reached_abs[0].append(s.first_correct.tokens)
            reached_abs[1].append(label["min_valid_length"])
            reached_rel[0].append(s.first_correct.tokens / max(1, s.reasoning_tokens))
            reached_rel[1].append(label["min_valid_percent"])
    return {
        "labelled traces analysed": len(all_abs[0]),
        "T^ vs min_valid_length (traces reaching a correct step)": (spearman(*reached_abs), len(reached_abs[0])),
        "T^/T vs min_valid_percent (same traces)": (spearman(*reached_rel), len(reached_rel[0])),
        "T^ (T when none) vs min_valid_length (all labelled)": (spearman(*all_abs), len(all_abs[0])),
    }


def labelled_agreement(workdir: Path, tokenizer: str, workers: int) -> str:
    run = write_run(workdir / "labelled", labelled_rows(), model="QwQ-32B-Preview", workers=workers)
    settings = make_settings(tokenizer=tokenizer, max_tokens=None, count=None, grading_workers=workers, dataset="mixed")
    result = analyse_run(run, settings, progress=False, figures=False)
    by_id = {s.sample_id: s for s in result.samples}
    lines, agree = [], 0
    for i, t in enumerate(labelled_traces()):
        s = by_id[f"overthinking-{i}"]
        spans = t.solution_spans()
        off = s.first_correct.offset
        ours = None if off is None else next(j for j, (_, end) in enumerate(spans) if off <= end)
        agree += ours == t.first_correct_solution
        lines.append(f"  trace {i}: paper's first correct round {t.first_correct_solution}, ours {ours} "
                     f"(step {s.first_correct.step} of {len(s.steps)}); rounds: paper {len(t.solutions)}, "
                     f"ours {len(s.solution_steps)}")
    return f"first correct solution round: {agree}/4 agree\n" + "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--workers", type=int, default=2, help="grading processes (default 2)")
    ap.add_argument("--levels", type=int, nargs="+", help="only these MATH levels")
    ap.add_argument("--keep", help="write the run here instead of a temporary folder")
    args = ap.parse_args()
    if not have(*MEITANN_PARTS, MINVALID_LABELS, QWEN2_TOKENIZER):
        print("shared data folder absent: set THINKLENS_SHARED_DATA", file=sys.stderr)
        return 2
    tokenizer = str(data_path(QWEN2_TOKENIZER))
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(args.keep) if args.keep else Path(tmp)
        run = work / "r1-math500"
        if not (run / "run.sqlite").exists():
            write_run(run, meitann_rows(tuple(args.levels) if args.levels else None), model=R1_MODEL,
                      workers=args.workers)
        settings = make_settings(tokenizer=tokenizer, max_tokens=None, count=None, grading_workers=args.workers)
        t0 = time.perf_counter()
        cpu0 = os.times()
        result = analyse_run(run, settings, progress=False, figures=False)
        wall = time.perf_counter() - t0
        cpu1 = os.times()
        print(f"\n{R1_MODEL}, MATH-500: verify method, separator steps, Qwen2 tokenizer, all traces\n")
        print(table(result.summary))
        n = len(result.samples)
        print(f"\ntime: {wall:.1f} s wall for {n} traces ({1000 * wall / max(1, n):.0f} ms per trace) on "
              f"{os.cpu_count()} cores, {args.workers} grading workers; {result.grader_calls} grader calls "
              f"(after prescreening); CPU {cpu1.user - cpu0.user:.1f} s here + "
              f"{cpu1.children_user - cpu0.children_user:.1f} s in grading workers")
        t0 = time.perf_counter()
        again = analyse_run(run, settings, progress=False, figures=False)
        print(f"rerun, nothing changed: {time.perf_counter() - t0:.1f} s wall, {again.reused} per-trace results "
              f"reused, {again.analysed} analysed, {again.grader_calls} grader calls")
        print("\nrank correlation with min_valid_length (Spearman):")
        for k, v in correlations(run, result.samples).items():
            print(f"  {k}: " + (f"rho = {v[0]:.3f} over {v[1]}" if isinstance(v, tuple) else str(v)))
        print("\nsolution-level labels (overthinking paper, 4 traces):")
        print(labelled_agreement(work, tokenizer, args.workers))
    return 0


if __name__ == "__main__":
    sys.exit(main())
