"""`minerva`: Minerva Math (MIT OCW physics, chemistry, astronomy, economics): answers are
physical quantities, compared to the precision the problem asks for or, where it asks
none, to the gold's own significant figures; a unit written with the number must agree
with the gold's.  Golds that are formulas go to the math grader's comparison.

Policy, with examples: docs/grading.md ("Minerva Math").
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation

from ..extract import Extraction
from ..grader import Grader
from ..math_equiv import Comparison, check_risky, compare_math, parse_latex_answer
from ..normalize import normalize_answer
from ..quantity import Precision, Quantity, agree, asked_precision, canonical_unit, parse_quantity
from ..request import GradeRequest


_PY_FLOAT_RE = re.compile(r"(\d)\.(?!\d)")


class MinervaGrader(Grader):
    name = "minerva"
    description = "physical quantities: precision asked by the problem, else the gold's significant figures; units must agree"
    gold_fields = ("gold_unit",)  # the unit the solution writes after the gold's box

    def quick(self, req: GradeRequest, found: Extraction) -> Comparison | None:
        gold = parse_quantity(req.gold)
        if gold is None:
            return super().quick(req, found)
        pred = parse_quantity(found.answer)
        if pred is None:
            return None  # a formula ("\frac{45 \pi}{648000} \cdot 72"): evaluated in `compare`
        return self._numbers(req, pred, gold)

    def compare(self, req: GradeRequest, found: Extraction) -> Comparison:
        gold = parse_quantity(req.gold)
        if gold is None:
            # Some golds are written in Python ("-1./3"): "1." is the number 1.
            return compare_math(found.answer, _PY_FLOAT_RE.sub(r"\1", req.gold), req.problem)
        quick = self.quick(req, found)
        if quick is not None:
            return quick
        value = _evaluate(found.answer)
        if value is None:
            return Comparison(False, "quantity", normalize_answer(found.answer), normalize_answer(req.gold),
                              ["the answer is not a number and the gold is"])
        cmp = self._numbers(req, Quantity(value, 30, None, ""), gold)
        cmp.notes.append("the answer's formula was evaluated")
        return cmp

    def _numbers(self, req: GradeRequest, pred: Quantity, gold: Quantity) -> Comparison:
        gold_unit = gold.unit or canonical_unit(str(req.info.get("gold_unit") or ""))
        precision = _precision(req.problem, gold)
        norm_pred, norm_gold = f"{pred.value:g}" + (f" {pred.unit}" if pred.unit else ""), f"{gold.value:g}" + (f" {gold_unit}" if gold_unit else "")
        notes = [f"compared to {precision.describe()}"]
        if pred.unit and gold_unit and pred.unit != gold_unit:
            return Comparison(False, "unit", norm_pred, norm_gold, notes + [f"unit {pred.unit!r} is not the gold's {gold_unit!r}"])
        return Comparison(agree(pred.value, gold.value, precision), "quantity", norm_pred, norm_gold, notes)

    def vote_label(self, extracted: str, normalized: str | None) -> str:
        q = parse_quantity(extracted)
        return f"{q.value:g}" if q is not None else super().vote_label(extracted, normalized)


def _precision(problem: str, gold: Quantity) -> Precision:
    asked = asked_precision(problem)
    if asked is None:
        # A gold written as an integer ("1", "700": trailing zeros may or may not be
        # significant) is compared to at least two figures: 0.5 is not 1, 710 is not 700.
        figs = max(gold.sig_figs, 2) if gold.decimals == 0 else gold.sig_figs
        return Precision(sig_figs=figs, source="gold")
    # A gold written with fewer digits than asked can only be checked to its own digits.
    if asked.sig_figs is not None:
        return Precision(sig_figs=min(asked.sig_figs, gold.sig_figs), source="problem")
    if gold.decimals is not None:
        return Precision(decimals=min(asked.decimals or 0, gold.decimals), source="problem")
    return Precision(sig_figs=gold.sig_figs, source="gold")


def _evaluate(answer: str) -> Decimal | None:
    """A formula without unknowns as a number (sympy, in the grading worker)."""
    check_risky(answer)
    parsed = parse_latex_answer(answer)
    if not parsed or isinstance(parsed[0], str):
        return None
    expr = parsed[0]
    if getattr(expr, "is_number", False) is not True or getattr(expr, "is_real", None) is False:
        return None
    try:
        return Decimal(str(expr.evalf(30)))
    except (InvalidOperation, TypeError, ValueError):
        return None


GRADER = MinervaGrader()
