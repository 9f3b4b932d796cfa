"""What AIME 2024 and 2025 share: integer golds, and the exam part (I / II) as the subset."""

from __future__ import annotations

import re
from dataclasses import dataclass

from ..errors import DatasetError
from .base import Benchmark
from .rows import RawRow


def exam_part(text: str) -> str | None:
    """`I` or `II` when `text` (an id such as "II-4", a file or config name) names an exam part."""
    tokens = re.split(r"[^A-Za-z0-9]+", text)
    if "II" in tokens:
        return "II"
    if "I" in tokens:
        return "I"
    return None


@dataclass(frozen=True)
class AimeBenchmark(Benchmark):
    # "AIME2025-" gives subsets AIME2025-I / AIME2025-II, read from the record id, else the
    # file (or ModelScope config) name; None keeps a single subset.
    part_prefix: str | None = None

    def gold_of(self, row: RawRow) -> str:
        gold = super().gold_of(row)
        # Kept as given: "023" stays "023" (the integer grader equates it with 23).
        if not re.fullmatch(r"[+-]?\d+", gold):
            raise DatasetError(f"{row.where}: answer {gold!r} is not an integer (AIME answers are 0-999)")
        return gold

    def subset_of(self, row: RawRow) -> str:
        if self.part_prefix is None:
            return super().subset_of(row)
        record_id = row.get(*self.id_fields)
        name = row.source.rsplit("/", 1)[-1].rsplit("!", 1)[-1]
        for text in (str(record_id) if record_id is not None else "", name, row.source):
            part = exam_part(text)
            if part:
                return f"{self.part_prefix}{part}"
        return self.fallback_subset
