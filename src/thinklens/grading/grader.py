"""`Grader`: what one grader declares, in the spirit of Inspect AI's registered scorers.

A grader is one module in `grading/kinds/` defining ``GRADER``; its module name is its
name.  It says

* how it finds the answer (`find_text`: tiers of extract.py, and its own fallback),
* how it compares (`quick`: string-level decisions, no sympy, run in the caller;
  `compare`: the full comparison, run in a grading worker with a time limit),
* what it needs from the gold besides the gold text (`gold_fields`: Sample.meta keys
  copied into `GradeRequest.gold_info`: units, tolerance, answer type...),
* how candidate answers look inside a reasoning step (`candidate_style`,
  `candidate_response`, `numeric_gold`: used by `thinklens efficiency`),
* how it votes for maj@k (`vote_label`, and `merge_votes`: whether wrong answers the
  grader finds equal are one vote class),
* what an LLM judge is shown as the gold (`judge_gold`).

Nothing outside a grader branches on grader names: the report, efficiency, the judge
fallback and `thinklens grade` ask the registry (registry.py).
"""

from __future__ import annotations

from typing import ClassVar

from .extract import Extraction, answer_phrase, closing_math, last_boxed
from .math_equiv import Comparison, compare_math, compare_quick
from .normalize import has_free_letters
from .request import GradeRequest


class Grader:
    name: ClassVar[str] = ""
    description: ClassVar[str] = ""
    gold_fields: ClassVar[tuple[str, ...]] = ()
    candidate_style: ClassVar[str] = "answer"  # "answer" (boxes, phrases, results) | "choice" (option letters)
    merge_votes: ClassVar[bool] = True

    # -- extraction ----------------------------------------------------------------------
    def find(self, req: GradeRequest) -> Extraction | None:
        return self.find_text(req.response, allow_fallback=not req.truncated, n_choices=len(req.choices) or 4)

    def find_text(self, text: str, *, allow_fallback: bool = True, n_choices: int = 4) -> Extraction | None:
        text = text.replace("\x00", "")
        found = last_boxed(text) or answer_phrase(text)
        if found or not allow_fallback:
            return found
        return self.fallback(text)

    def fallback(self, text: str) -> Extraction | None:
        """The answer of a response that states none explicitly (never for a truncated one)."""
        return closing_math(text)

    # -- comparison ----------------------------------------------------------------------
    def quick(self, req: GradeRequest, found: Extraction) -> Comparison | None:
        """Every decision that needs no symbolic algebra; None means "needs `compare`"."""
        return compare_quick(found.answer, req.gold, req.problem)

    def compare(self, req: GradeRequest, found: Extraction) -> Comparison:
        """The full comparison (may raise math_equiv.TooRisky: no verdict)."""
        return compare_math(found.answer, req.gold, req.problem)

    # -- efficiency, votes, judge ----------------------------------------------------------
    def candidate_response(self, text: str) -> str:
        """A candidate answer as a response this grader reads unambiguously."""
        return f"\\boxed{{{text}}}"

    def numeric_gold(self, gold: str) -> bool:
        """True when the gold has no unknowns (a formula in unknowns is then work in progress)."""
        return not has_free_letters(gold)

    def vote_label(self, extracted: str, normalized: str | None) -> str:
        """The maj@k class of a wrong answer before merging."""
        return (normalized or extracted).strip()

    def judge_gold(self, gold: str, choices: tuple[str, ...] = ()) -> str:
        return gold
