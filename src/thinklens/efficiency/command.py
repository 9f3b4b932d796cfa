"""`thinklens efficiency RUN` and `thinklens efficiency compare RUN... -o comparison.png`.

Its parser lives in thinklens/commands/efficiency_args.py (light: built by every `thinklens` call)."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from ..errors import ConfigError

def _phrases(args: argparse.Namespace) -> list[str] | None:
    phrases = list(args.switch_phrases or [])
    if args.switch_phrases_file:
        path = Path(args.switch_phrases_file)
        if not path.is_file():
            raise ConfigError(f"switch phrase file not found: {path}")
        phrases += [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return phrases or None


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    if args.paths[0] == "compare":
        return _compare(args)
    if len(args.paths) > 1:
        raise ConfigError(
            f"give one run folder to analyse (got {len(args.paths)}); to draw several runs together use "
            "`thinklens efficiency compare RUN RUN ...`"
        )
    from .analysis import analyse_run
    from .report import print_summary
    from .settings import make_settings, resolve_run_dir

    judge = None
    if args.judge_url or args.judge_model:
        judge = {"api_url": args.judge_url, "model": args.judge_model,
                 "api_key": args.judge_api_key or os.environ.get("THINKLENS_JUDGE_API_KEY"),
                 "max_tokens": args.judge_max_tokens}
    settings = make_settings(
        split=args.split, method=args.method, tokenizer=args.tokenizer, judge=judge,
        switch_phrases=_phrases(args), max_tokens=args.max_tokens or None, count=args.count or None,
        seed=args.seed, dataset=args.dataset, subsets=tuple(args.subsets) if args.subsets else None,
        group_by=args.group_by, model_name=args.model_name, grading_workers=args.grading_workers,
        grading_timeout=args.grading_timeout, judge_concurrency=args.judge_concurrency,
    )
    run_dir = resolve_run_dir(args.paths[0])
    result = analyse_run(run_dir, settings, figures=args.figures, progress=args.progress)
    print_summary(result.summary, Console())
    err = Console(stderr=True)
    err.print(f"wrote {result.json_path}" + "".join(f", {p}" for p in result.figures)
              + f" ({result.elapsed:.1f}s)")
    for note in result.notes:
        err.print(note, style="yellow", markup=False)
    if result.judge_stats is not None:
        st = result.judge_stats
        err.print(f"judge: {st.requests} requests, {st.cache_hits} answers from the cache, {st.errors} failed, "
                  f"{st.unparsed} unparsed")
    if args.output_dir:
        from . import _copy_out

        _copy_out(result, Path(args.output_dir))
    return 0


def _compare(args: argparse.Namespace) -> int:
    from rich.console import Console

    from .compare import compare_runs

    runs = args.paths[1:]
    if not runs:
        raise ConfigError("compare needs run folders: thinklens efficiency compare RUN [RUN ...] -o comparison.png")
    result = compare_runs(runs, args.output, args.labels)
    err = Console(stderr=True)
    err.print(
        f"compared {len(result.models)} runs over {len(result.subsets)} subsets: "
        + ", ".join(str(p) for p in [*result.figures, result.csv_path])
    )
    for note in result.notes:
        err.print(note, style="yellow", markup=False)
    return 0
