"""Minerva Math: 272 MIT OpenCourseWare problems (the "OCWCourses" set of the Minerva
paper); the gold is the last \\boxed{} of the solution, the course ("Astronomy 8.282J") the subset."""

from __future__ import annotations

import re
from typing import Any

from .base import Benchmark
from .prompts import BOXED_TEMPLATE
from .rows import RawRow, last_boxed_span

# What may follow the gold's box as its unit: math-mode unit tokens, or one word of text.
_UNIT_AFTER_BOX_RE = re.compile(
    r"^(?:\s|~|\\[,;!]|\\(?:mathrm|text|rm|mbox)\s*\{[^{}]*\}|\{[^{}]*\}|\^\s*\{[^{}]*\}|\^\s*\\?\w+|[A-Za-z]+|/|\\cdot|\\circ|\\AA|\\mu|\\%|%)*"
)


def gold_unit(solution: str) -> str:
    """The unit the solution writes right after its gold box ("\\boxed{1.6} \\mathrm{~cm}")."""
    span = last_boxed_span(solution)
    if span is None:
        return ""
    after = solution[span[1]: span[1] + 120]
    if after.startswith("$"):  # "$ years." : the unit is the first word after the formula
        word = re.match(r"^\$\s*([A-Za-z]+)", after)
        return word.group(1) if word and word.group(1).lower() not in _NOT_UNITS else ""
    m = _UNIT_AFTER_BOX_RE.match(after)
    unit = m.group(0).strip().rstrip("/").strip() if m else ""
    words = {w.lower() for w in re.findall(r"(?<!\\)\b[A-Za-z]+", unit)}
    return "" if words & _NOT_UNITS else unit  # prose after the box, not a unit


_NOT_UNITS = {"and", "or", "since", "so", "which", "is", "the", "for", "thus", "where", "with", "as", "end", "quad",
              "on", "in", "of", "times", "to", "at", "a", "an", "per", "if", "then", "when", "we", "it", "this"}


def course(type_field: str) -> str:
    """"Introduction to Astronomy (8.282J Spring 2006)" -> "Astronomy 8.282J" (the subset)."""
    return re.sub(r"^(?:Introduction to |Principles of )?(.*?) \((\S+) .*\)$", r"\1 \2", type_field.strip())


class MinervaBenchmark(Benchmark):
    def subset_of(self, row: RawRow) -> str:
        value = row.get("type")
        return course(str(value)) if value else self.fallback_subset

    def meta_of(self, row: RawRow, question: str) -> dict[str, Any]:
        meta = super().meta_of(row, question)
        solution = str(row.get(*self.answer_fields, default="") or "")
        meta["gold_unit"] = gold_unit(solution)
        return meta


BENCHMARK = MinervaBenchmark(
    name="minerva_math",
    description="Minerva Math (OCWCourses): 272 MIT OCW science and engineering problems, physical quantities",
    grader="minerva",
    subsets=(
        "Solid State Chemistry 3.091",
        "Astronomy 8.282J",
        "Differential Equations 18.03",
        "Dynamics and Control 2.003",
        "Microeconomics 14.01",
        "Relativity 8.033",
        "Physical Chemistry 5.61",
        "Ecology I 1.018J",
        "Information and Entropy 6.050J",
    ),
    hub_id="math-ai/minervamath",
    modelscope_id=None,
    hub_verified=False,  # no network to the Hub where it was written: tested on local copies
    split="test",
    prompt_template=BOXED_TEMPLATE,
    question_fields=("problem", "question"),
    answer_fields=("solution", "answer"),
    id_fields=("idx", "id"),
    meta_fields=("solution", "type"),
    file_hints=("minerva", "minervamath", "minerva_math"),
    sizes={
        "Solid State Chemistry 3.091": 97,
        "Astronomy 8.282J": 53,
        "Differential Equations 18.03": 48,
        "Dynamics and Control 2.003": 26,
        "Microeconomics 14.01": 18,
        "Relativity 8.033": 11,
        "Physical Chemistry 5.61": 11,
        "Ecology I 1.018J": 5,
        "Information and Entropy 6.050J": 3,
    },
    aliases=("minervamath",),
)
