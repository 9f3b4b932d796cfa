"""`thinklens compare A B [C ...]` (the parser: commands/compare_args.py)."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from .runs import compare_runs, load_run
from .table import print_comparison


def run(args: argparse.Namespace) -> int:
    runs = [load_run(p) for p in args.runs]
    rows = compare_runs(runs, level=args.level, cluster_overall=args.cluster_overall, seed=args.seed)
    print_comparison(rows)
    if args.json:
        path = Path(args.json)
        tmp = path.with_suffix(path.suffix + ".tmp")
        tmp.write_text(json.dumps({"runs": [r.path for r in runs], "rows": [r.to_dict() for r in rows]}, indent=2))
        tmp.replace(path)
    return 0
