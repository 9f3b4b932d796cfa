"""`gsm8k`: a number, also when stated in words; the last number of a response that boxes none."""

from __future__ import annotations

from ..extract import Extraction, last_number
from .integer import IntegerGrader


class Gsm8kGrader(IntegerGrader):
    name = "gsm8k"
    description = "a number, also stated in words (\"She makes $18 every day.\"); else the last number"
    method = "number"
    numbers_in_words = True

    def fallback(self, text: str) -> Extraction | None:
        return last_number(text)


GRADER = Gsm8kGrader()
