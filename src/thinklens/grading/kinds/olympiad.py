"""`olympiad`: OlympiadBench's open-ended answers, judged with the official semantics
(OpenBMB/OlympiadBench, inference/code/math_judger.py) where they are sound.

As the official judger:
* the answer and the gold are split at top-level commas (brackets protect tuples and
  intervals) and ``\\pm`` stands for two answers; the parts must pair up one to one, in
  any order, and their counts must agree (`is_multiple_answer`: every part must match);
* the `error` field is an absolute tolerance on a numerical part (one value, or one per
  part separated by commas); without it numbers must be equal;
* expressions, equations, intervals and tuples are compared mathematically (here by the
  math grader's comparison: math-verify, with tuples ordered and interval ends typed).

Deliberate differences (docs/grading.md, "OlympiadBench"): only the final answer is read
(the last box, with boxes that state it together), never every box of the response joined
(the official extraction turns any box written on the way into an extra "answer"); a
number is never accepted as 100 times or a hundredth of the gold unless the gold's unit
is a percentage (the official judger always accepts both); the declared unit is not
required in the answer, and a unit written after a number is ignored.
"""

from __future__ import annotations

import re
from decimal import Decimal

from ..extract import Extraction
from ..grader import Grader
from ..math_equiv import Comparison, TooRisky, compare_math, compare_quick
from ..normalize import normalize_answer, strip_delimiters
from ..quantity import canonical_unit, parse_quantity
from ..request import GradeRequest


_AND_RE = re.compile(r"\s*(?:\\text\s*\{\s*(?:and|or)\s*\}|\\quad|\band\b|;)\s*")


def split_parts(answer: str) -> list[str]:
    """Top-level comma-separated parts, `\\pm` expanded (the official judger's reading);
    "1 and 5" / "1; 5" are two parts as well."""
    s = strip_delimiters(answer).replace("\\left", "").replace("\\right", "")
    s = _AND_RE.sub(",", s)
    parts, depth, start = [], 0, 0
    for i, ch in enumerate(s):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif ch == "," and depth == 0 and not (i > 0 and s[i - 1] == "{" and s[i + 1 : i + 2] == "}"):
            parts.append(s[start:i].strip())
            start = i + 1
    parts.append(s[start:].strip())
    out: list[str] = []
    for p in parts:
        if not p:
            continue
        if "\\pm" in p:
            out += [p.replace("\\pm", "+"), p.replace("\\pm", "-")]
        else:
            out.append(p)
    return out


def _tolerances(error: object, n: int) -> list[Decimal | None]:
    if error in (None, ""):
        return [None] * n
    values = [Decimal(e) if e.strip() else None for e in str(error).split(",")]
    return values * n if len(values) == 1 else (values + [None] * n)[:n]


class OlympiadGrader(Grader):
    name = "olympiad"
    description = "OlympiadBench: every part of a multi-part answer (any order), the error field as tolerance"
    gold_fields = ("answer_type", "is_multiple_answer", "error", "unit")

    def quick(self, req: GradeRequest, found: Extraction) -> Comparison | None:
        return self._judge(req, found, full=False)

    def compare(self, req: GradeRequest, found: Extraction) -> Comparison:
        cmp = self._judge(req, found, full=True)
        assert cmp is not None
        return cmp

    def _judge(self, req: GradeRequest, found: Extraction, *, full: bool) -> Comparison | None:
        info = req.info
        golds, preds = split_parts(req.gold), split_parts(found.answer)
        norm_pred, norm_gold = normalize_answer(found.answer), normalize_answer(req.gold)
        ordered = False
        items = _tuple_items(preds[0], len(golds)) if len(golds) != len(preds) and len(preds) == 1 else None
        if items:
            # "(1/3, -2, 5)" for "a, b, c": the values in the order asked (official: wrong)
            preds, ordered = items, True
        if len(golds) != len(preds):
            return Comparison(False, "parts", norm_pred, norm_gold,
                              [f"{len(preds)} part(s) in the answer, {len(golds)} in the gold"])
        tolerances = _tolerances(info.get("error"), len(golds))
        percent = "%" in str(info.get("unit") or "")
        unit = canonical_unit(strip_delimiters(str(info.get("unit") or "")))
        left = list(range(len(preds)))
        undecided = False
        for i, (gold, tol) in enumerate(zip(golds, tolerances)):
            match = None
            for j in ([i] if ordered else left):
                verdict = self._part(preds[j], gold, tol, percent, unit, full)
                if verdict is None:
                    undecided = True
                elif verdict:
                    match = j
                    break
            if match is None:
                if undecided and not full:
                    return None  # a part needs the symbolic comparison
                return Comparison(False, "parts", norm_pred, norm_gold,
                                  [f"no part of the answer equals {gold!r}"] if len(golds) > 1 else [])
            left.remove(match)
        notes = [f"{len(golds)} parts matched " + ("in order (a tuple for a list of values)" if ordered else "in any order")] \
            if len(golds) > 1 else []
        if tolerances[0] is not None:
            notes.append(f"absolute tolerance {', '.join(str(t) for t in tolerances)}")
        return Comparison(True, "parts", norm_pred, norm_gold, notes)

    @staticmethod
    def _part(pred: str, gold: str, tol: Decimal | None, percent: bool, unit: str, full: bool) -> bool | None:
        p, g = parse_quantity(pred), parse_quantity(gold)
        # Letters after a number are a unit only when they are the declared one ("2n" is a formula).
        if p is not None and g is not None and not g.unit and p.unit in ("", unit):
            targets = [g.value] + ([g.value / 100, g.value * 100] if percent else [])
            slack = tol * Decimal("1.01") if tol is not None else Decimal(0)
            return any(abs(p.value - t) <= slack for t in targets)
        cmp = compare_quick(pred, gold, "")
        if cmp is not None:
            return cmp.equal
        if not full:
            return None
        try:
            return compare_math(pred, gold, "").equal
        except TooRisky:
            return False


def _tuple_items(part: str, n: int) -> list[str] | None:
    """The items of one parenthesised tuple of `n` items, else None."""
    p = part.strip()
    if not (p.startswith("(") and p.endswith(")")):
        return None
    items = split_parts(p[1:-1])
    return items if len(items) == n and n > 1 else None


GRADER = OlympiadGrader()
