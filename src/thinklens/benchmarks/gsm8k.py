"""GSM8K: 1,319 grade-school word problems; the gold is the number after `####`."""

from __future__ import annotations

import re
from typing import Any

from ..errors import DatasetError
from .base import Benchmark
from .prompts import BOXED_TEMPLATE
from .rows import RawRow


def final_number(answer: str) -> str | None:
    """`... #### 1,234` -> "1234"; a bare number is taken as it is."""
    if "####" in answer:
        answer = answer.rsplit("####", 1)[1]
    elif not re.fullmatch(r"\s*[-+$]?[\d,]*\.?\d+\s*", answer):
        return None
    number = answer.strip().replace(",", "").replace("$", "").rstrip(".")
    return number or None


class Gsm8kBenchmark(Benchmark):
    def gold_of(self, row: RawRow) -> str:
        number = final_number(str(row.require(*self.answer_fields, what="answer field")))
        if number is None:
            raise DatasetError(f"{row.where}: the answer has no final '#### N' line")
        return number

    def meta_of(self, row: RawRow, question: str) -> dict[str, Any]:
        meta = super().meta_of(row, question)
        answer = str(row.get(*self.answer_fields, default=""))
        if "####" in answer:
            meta["solution"] = answer.rsplit("####", 1)[0].strip()  # the worked rationale
        return meta


BENCHMARK = Gsm8kBenchmark(
    name="gsm8k",
    description="Grade School Math 8K test set: multi-step arithmetic word problems",
    grader="gsm8k",
    subsets=("main",),
    hub_id="openai/gsm8k",
    modelscope_id="AI-ModelScope/gsm8k",
    split="test",
    prompt_template=BOXED_TEMPLATE,
    answer_fields=("answer",),
    id_fields=(),  # none in the data: a digest of the question
    hub_config="main",
    hub_files=("main/test-*.parquet",),
    modelscope_configs=("main",),
    file_hints=("gsm8k",),
    sizes={"main": 1319},
)
