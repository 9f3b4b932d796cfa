"""`thinklens budget RUN` (its parser: thinklens/commands/budget_args.py)."""

from __future__ import annotations

import argparse
import sys

from ..cost import Prices
from .console import print_curve
from .estimator import BudgetSettings, estimate_budget


def run(args: argparse.Namespace) -> int:
    settings = BudgetSettings(
        budgets=args.budgets, tokenizer=args.tokenizer, dataset=args.dataset, candidates=args.candidates,
        prices=Prices(args.price_in, args.price_out), grading_workers=args.grading_workers,
        grading_timeout=args.grading_timeout,
    )
    result = estimate_budget(args.run, settings, figures=args.figures, wait_lock=args.wait_lock)
    print_curve(result.summary, result.rows, sys.stdout)
    st = result.stats
    print(f"wrote {result.json_path}" + "".join(f", {p}" for p in result.figures)
          + f" (forced answers: {st.graded} graded, {st.prescreened} prescreened, {st.cached} from the cache, "
          f"{st.ungraded} ungraded)", file=sys.stderr)
    for note in result.notes:
        print(note, file=sys.stderr)
    return 0
