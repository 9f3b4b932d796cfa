"""`integer`: a whole-number answer (AIME: "023" is 23), decided by exact arithmetic."""

from __future__ import annotations

import re
from typing import ClassVar

from ..extract import Extraction
from ..grader import Grader
from ..magnitude import differ_by_size
from ..math_equiv import Comparison, compare_math
from ..normalize import normalize_answer, strip_delimiters
from ..numbers import canon, number_in_text, plain_number
from ..request import GradeRequest


class IntegerGrader(Grader):
    name = "integer"
    description = "a number (AIME 0-999): exact comparison; formulas (\\frac{46}{2}) evaluated symbolically"
    merge_votes = False
    method: ClassVar[str] = "integer"
    numbers_in_words: ClassVar[bool] = False  # "She makes $18 every day." (GSM8K)

    def quick(self, req: GradeRequest, found: Extraction) -> Comparison | None:
        gold = plain_number(req.gold)
        if gold is None:
            gold = number_in_text(req.gold)
        pred = plain_number(found.answer)
        norm_gold = str(gold) if gold is not None else normalize_answer(req.gold)
        if pred is not None and gold is not None:
            return Comparison(pred == gold, self.method, canon(pred), canon(gold))
        if self.numbers_in_words and found.how in ("answer_phrase", "last_number"):
            pred = number_in_text(found.answer)
            if pred is not None and gold is not None:
                return Comparison(pred == gold, "number_in_text", canon(pred), canon(gold))
        if gold is None:
            return None
        if differ_by_size(strip_delimiters(found.answer), str(gold)):
            return Comparison(False, "magnitude", normalize_answer(found.answer)[:200], norm_gold,
                              ["the sizes of the two numbers differ"])
        # A formula (\frac{46}{2}, 2^{5}): leave it to the symbolic comparison.
        if re.search(r"\d", found.answer):
            return None
        return Comparison(False, self.method, normalize_answer(found.answer), norm_gold)

    def compare(self, req: GradeRequest, found: Extraction) -> Comparison:
        gold = plain_number(req.gold) or number_in_text(req.gold)
        return compare_math(found.answer, str(gold) if gold is not None else req.gold, req.problem)

    def numeric_gold(self, gold: str) -> bool:
        return True


GRADER = IntegerGrader()
