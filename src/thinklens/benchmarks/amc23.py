"""AMC23: the 40 problems of the 2023 AMC 12 A and B as reasoning papers use them (answers
are numbers; the exam, from the record's AoPS url, is the subset)."""

from __future__ import annotations

from .base import Benchmark
from .prompts import BOXED_TEMPLATE
from .rows import RawRow


class Amc23Benchmark(Benchmark):
    def gold_of(self, row: RawRow) -> str:
        value = row.require(*self.answer_fields, what="answer field")
        # Golds are stored as floats (27.0): an integer is compared as the integer it is.
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return super().gold_of(row)

    def subset_of(self, row: RawRow) -> str:
        url = str(row.get("url", default="") or "")
        for exam in ("12A", "12B"):
            if f"AMC_{exam}" in url:
                return f"AMC{exam}"
        return self.fallback_subset


BENCHMARK = Amc23Benchmark(
    name="amc23",
    description="AMC 12 2023 (A and B): 40 problems with numeric answers, as in Qwen2.5-Math's evaluation",
    grader="math",
    subsets=("AMC12A", "AMC12B"),
    hub_id="math-ai/amc23",
    modelscope_id=None,
    hub_verified=False,  # no network to the Hub where it was written: tested on local copies
    split="test",
    prompt_template=BOXED_TEMPLATE,
    meta_fields=("url",),
    file_hints=("amc23", "amc_23", "amc2023"),
    sizes={"AMC12A": 22, "AMC12B": 18},
    aliases=("amc2023", "amc_23"),
)
