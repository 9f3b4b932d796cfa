"""The parser of `thinklens compare` (the command itself: thinklens/comparison/command.py)."""

from __future__ import annotations

import argparse

from . import lazy_command


def _level(text: str) -> float:
    value = float(text)
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "compare",
        help="is B really better than A? paired differences per benchmark and subset, with intervals and p-values",
        description="Compare runs that answered the same problems: per dataset and subset, the paired difference "
        "of per-problem accuracy (B - A) with its interval, a p-value (McNemar's exact test with one sample per "
        "problem, else a paired permutation test), the problems only one model solves and the minimum difference "
        "detectable at 80 %% power.  Every run after the first is compared with the first.  Runs that share no "
        "problems, or asked them with another prompt or benchmark version, are refused.  (For efficiency "
        "figures across runs: `thinklens efficiency compare`.)",
    )
    p.add_argument("runs", nargs="+", metavar="RUN", help="run folders (the first is the baseline A)")
    p.add_argument("--level", type=_level, default=0.95, help="confidence level of the intervals (default 0.95)")
    p.add_argument("--cluster-overall", action="store_true",
                   help="OVERALL rows: clustered standard errors with the subsets as clusters (default: problems "
                   "are independent; use it when a subset is a group of related problems, e.g. one passage)")
    p.add_argument("--seed", type=int, default=0, help="seed of the permutation test (default 0)")
    p.add_argument("--json", metavar="PATH", help="also write the rows as JSON")
    p.set_defaults(func=lazy_command("thinklens.comparison.command"))
