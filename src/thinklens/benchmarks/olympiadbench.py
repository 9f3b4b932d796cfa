"""OlympiadBench: the 675 text-only, open-ended, English competition math problems
(OE_TO_maths_en_COMP); `final_answer` is a list, the subfield is the subset."""

from __future__ import annotations

import re
from typing import Any

from .base import Benchmark
from .prompts import BOXED_TEMPLATE
from .rows import RawRow


def _strip_math(text: str) -> str:
    r"""`$69$,$84$` -> `69,84` (math delimiters; an escaped `\$` stays)."""
    return re.sub(r"(?<!\\)\$", "", text).strip()


class OlympiadBenchmark(Benchmark):
    def question_of(self, row: RawRow) -> str:
        question = super().question_of(row)
        context = row.get("context")
        return f"{str(context).strip()}\n\n{question}" if context else question

    def gold_of(self, row: RawRow) -> str:
        answers = row.require(*self.answer_fields, what="answer field")
        if isinstance(answers, (list, tuple)):
            return ", ".join(_strip_math(str(a)) for a in answers)
        return _strip_math(str(answers))

    def meta_of(self, row: RawRow, question: str) -> dict[str, Any]:
        meta = super().meta_of(row, question)
        if isinstance(meta.get("final_answer"), list):
            meta["final_answer"] = [str(a) for a in meta["final_answer"]]
        return meta


BENCHMARK = OlympiadBenchmark(
    name="olympiadbench",
    description="OlympiadBench OE_TO_maths_en_COMP: 675 open-ended competition problems (text only, English)",
    grader="olympiad",
    subsets=("Algebra", "Combinatorics", "Geometry", "Number Theory"),
    hub_id="Hothan/OlympiadBench",
    modelscope_id=None,
    hub_verified=False,  # no network to the Hub where it was written: tested on local copies
    split="train",
    prompt_template=BOXED_TEMPLATE,
    question_fields=("question", "problem"),
    answer_fields=("final_answer", "answer"),
    subset_field="subfield",
    meta_fields=("final_answer", "is_multiple_answer", "answer_type", "error", "unit", "subfield"),
    hub_config="OE_TO_maths_en_COMP",
    file_hints=("olympiadbench", "olympiad", "oe_to_maths_en_comp"),
    sizes={"Algebra": 264, "Combinatorics": 154, "Geometry": 129, "Number Theory": 128},
    aliases=("olympiad_bench", "olympiadbench_en"),
)
