"""`choice`: multiple choice (GPQA): only explicit choices count; a letter or an option's text."""

from __future__ import annotations

import re

from ..extract import Extraction, choice_answer, letter_of, strip_text_wrappers
from ..grader import Grader
from ..math_equiv import Comparison
from ..normalize import normalize_answer
from ..numbers import plain_number
from ..request import GradeRequest


class ChoiceGrader(Grader):
    name = "choice"
    description = "multiple choice: the last explicit choice (ANSWER: X, the answer is (X), \\boxed{X})"
    candidate_style = "choice"
    merge_votes = False

    def find_text(self, text: str, *, allow_fallback: bool = True, n_choices: int = 4) -> Extraction | None:
        return choice_answer(text.replace("\x00", ""), n_choices=n_choices)

    def quick(self, req: GradeRequest, found: Extraction) -> Comparison | None:
        n = len(req.choices) or 4
        gold_letter = letter_of(req.gold, n) or _option_by_text(req.gold, req.choices)
        pred_letter = letter_of(found.answer, n)
        method = "option_letter"
        if pred_letter is None:
            pred_letter = _option_by_text(found.answer, req.choices)
            method = "option_text"
        if gold_letter is None:
            return Comparison(False, method, pred_letter or normalize_answer(found.answer), req.gold,
                              ["the gold names no option; give a letter or one of the choices"])
        if pred_letter is None:
            return Comparison(False, method, normalize_answer(found.answer), gold_letter, ["the answer names no option"])
        return Comparison(pred_letter == gold_letter, method, pred_letter, gold_letter)

    def compare(self, req: GradeRequest, found: Extraction) -> Comparison:
        cmp = self.quick(req, found)
        assert cmp is not None  # the quick path always decides
        return cmp

    def candidate_response(self, text: str) -> str:
        return f"ANSWER: {text}"

    def numeric_gold(self, gold: str) -> bool:
        return True

    def judge_gold(self, gold: str, choices: tuple[str, ...] = ()) -> str:
        """The letter *and* its option text (a bare letter tells a judge little)."""
        if choices and len(gold) == 1 and gold.isalpha():
            index = ord(gold.upper()) - ord("A")
            if 0 <= index < len(choices):
                return f"({gold}) {choices[index]}"
        return gold


def _option_by_text(answer: str, choices: tuple[str, ...]) -> str | None:
    """The letter of the option whose text the answer repeats ("42" or "(B) 42")."""
    if not choices:
        return None
    norm = normalize_answer(re.sub(r"^\s*\(?[A-Z]\)\s*|^\s*[A-Z][.:]\s+", "", strip_text_wrappers(answer)))
    hits = [chr(ord("A") + i) for i, c in enumerate(choices) if normalize_answer(c) == norm]
    if len(hits) == 1:
        return hits[0]
    number = plain_number(answer)
    if number is not None:
        hits = [chr(ord("A") + i) for i, c in enumerate(choices) if plain_number(c) == number]
        if len(hits) == 1:
            return hits[0]
    return None


GRADER = ChoiceGrader()
