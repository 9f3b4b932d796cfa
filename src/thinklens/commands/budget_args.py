"""The parser of `thinklens budget` (the command itself: thinklens/budget/command.py)."""

from __future__ import annotations

import argparse

from . import lazy_command


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a token count: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {text}")
    return value


def _price(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a price: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {text}")
    return value


def add_price_args(p: argparse.ArgumentParser) -> None:
    p.add_argument("--price-in", type=_price, metavar="USD", help="price of prompt tokens, USD per million (default: none, tokens only)")
    p.add_argument("--price-out", type=_price, metavar="USD",
                   help="price of generated (reasoning + answer) tokens, USD per million (default: none)")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "budget",
        help="accuracy vs thinking budget, estimated from a finished run's traces (answers forced at B tokens)",
        description="Estimate from the stored traces the accuracy the model would have if its reasoning were cut "
        "at B tokens and an answer forced: the last candidate answer stated before B (none: wrong); a trace "
        "that finished within B keeps its own grade.  Per subset and OVERALL, with 95%% intervals and the tokens "
        "spent per budget.  Writes RUN/budget.json and RUN/budget.png|svg.  To measure it instead: "
        "`thinklens eval --thinking-budget ...`.",
    )
    p.add_argument("run", metavar="RUN", help="run folder")
    p.add_argument("--budgets", nargs="+", type=_positive_int, metavar="B",
                   help="budgets in reasoning tokens (default: 256, 512, ... up to the longest trace)")
    p.add_argument("--tokenizer", help="the model's tokenizer (folder, tokenizer.json or hub id) for exact token "
                   "positions; default: the server's counts, prefixes by character share")
    p.add_argument("--dataset", help="the dataset when the run holds several")
    p.add_argument("--candidates", choices=["all", "conclusive"], default="all",
                   help="answers a cut trace can give: every candidate (boxed, 'the answer is', the last '= value' "
                   "of a step; default) or conclusive ones only (boxed, 'the answer is')")
    add_price_args(p)
    p.add_argument("--grading-workers", type=int, help="processes that grade forced answers (default: CPUs)")
    p.add_argument("--grading-timeout", type=float, default=10.0, help="hard limit per forced answer (s)")
    p.add_argument("--no-figures", dest="figures", action="store_false", help="write budget.json only")
    p.add_argument("--wait-lock", action="store_true", help="wait for another command using the run folder")
    p.set_defaults(func=lazy_command("thinklens.budget.command"))
