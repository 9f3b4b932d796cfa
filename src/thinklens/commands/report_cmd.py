"""`thinklens report RUN` (or `show`): print a finished run's tables again, without
evaluating; `--write-predictions` adds predictions.jsonl next to report.json."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "report", aliases=["show"],
        help="print a finished run's tables again (no requests); --write-predictions for per-sample JSONL",
        description="Print the score and outcome tables of a finished run from its report.json (and its "
                    "efficiency table when `thinklens efficiency` has run), sending no request.",
    )
    p.add_argument("run", metavar="RUN", help="run folder (holding report.json and run.sqlite)")
    p.add_argument("--write-predictions", action="store_true",
                   help="also write RUN/predictions.jsonl: one line per sample x repeat with the prompt, reasoning, "
                   "answer and verdict (EvalScope's predictions and reviews in one file)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import json

    from rich.console import Console

    from ..report import Report, print_report
    from ..store import REPORT_FILENAME, RunStore, is_run_folder

    run_dir = Path(args.run)
    if not is_run_folder(run_dir):
        raise ConfigError(f"{run_dir} is not a thinklens run folder (no run.sqlite)")
    path = run_dir / REPORT_FILENAME
    if not path.is_file():
        raise ConfigError(f"{run_dir} has no {REPORT_FILENAME} yet (its eval did not finish): run the same "
                          "eval command again to finish it")
    try:
        report = Report.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (ValueError, TypeError, AttributeError) as exc:
        raise ConfigError(f"{path} is not a readable thinklens report ({exc})") from None
    print_report(report, Console())
    _print_efficiency(run_dir, Console())
    if args.write_predictions:
        from ..report.predictions import write_predictions

        store = RunStore(run_dir, readonly=True)
        try:
            out, n = write_predictions(store, run_dir)
        finally:
            store.close()
        print(f"wrote {n} predictions to {out}", file=sys.stderr)
    return 0


def _print_efficiency(run_dir: Path, console: object) -> None:
    """The efficiency table, when `thinklens efficiency` has run on this folder."""
    from ..efficiency.report import SUMMARY_FILENAME, print_summary, read_summary

    if (run_dir / SUMMARY_FILENAME).is_file():
        print_summary(read_summary(run_dir), console)  # type: ignore[arg-type]
