"""`thinklens export RUN`: the stored results as JSONL (one line per sample x repeat)."""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import asdict
from pathlib import Path

from ..errors import ConfigError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="write a run's stored results as JSONL",
                       description="Write every stored (sample, repeat) of a run as one JSON line: prompt, gold, "
                                   "reasoning, answer, usage, timings, error and score with its audit trail.")
    p.add_argument("run", help="run folder (holding run.sqlite)")
    p.add_argument("--output", "-o", help="file to write (default: standard output)")
    p.add_argument("--all", action="store_true", help="also rows outside the latest eval's plan")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from ..store import RunStore, is_run_folder

    run_dir = Path(args.run)
    if not is_run_folder(run_dir):
        raise ConfigError(f"{run_dir} is not a thinklens run folder (no run.sqlite)")
    store = RunStore(run_dir, readonly=True)
    out = open(args.output, "w", encoding="utf-8") if args.output else sys.stdout
    try:
        n = 0
        for result in store.iter_results(planned_only=not args.all):
            line = {
                "key": result.key,
                "repeat": result.repeat,
                "sample": asdict(result.sample),
                "generation": result.generation.to_dict(),
                "score": result.score.to_dict() if result.score else None,
            }
            out.write(json.dumps(line, ensure_ascii=False) + "\n")
            n += 1
    finally:
        store.close()
        if out is not sys.stdout:
            out.close()
    if args.output:
        print(f"wrote {n} rows to {args.output}", file=sys.stderr)
    return 0
