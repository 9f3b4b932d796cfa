"""GPQA-diamond: 198 graduate-level multiple-choice science questions.

The four options are shuffled deterministically per question and repeat: the order is
a function of a sha256 of (question, repeat), never of Python's per-process hash() or
of a global RNG, so every run and machine asks the same thing and each repeat sees a
different order (a position bias averages out over repeats).  The gold is the letter
under which the correct option is shown.

The GPQA authors ask that the questions never appear in plain text online: the
official zip is read in memory (`password`), nothing is extracted to disk, and error
messages name fields and files, never their content.
"""

from __future__ import annotations

import dataclasses
import hashlib
from typing import Any, ClassVar

from ..records import Sample
from .base import Benchmark
from .prompts import render
from .rows import RawRow

LETTERS = "ABCD"

# EvalScope's (after openai/simple-evals) zero-shot multiple-choice prompt.
TEMPLATE = (
    "Answer the following multiple choice question. The last line of your response should be of the "
    "following format: 'ANSWER: [LETTER]' (without quotes) where [LETTER] is one of {letters}. "
    "Think step by step before answering.\n\n{question}\n\n{choices}"
)


def option_order(question: str, repeat: int, n: int = len(LETTERS)) -> list[int]:
    """A permutation of range(n) fixed by (question, repeat): sorting by independent sha256 keys."""
    seed = hashlib.sha256(question.encode("utf-8")).hexdigest()
    return sorted(range(n), key=lambda i: hashlib.sha256(f"{seed}:{repeat}:{i}".encode()).digest())


class GpqaBenchmark(Benchmark):
    required_placeholders: ClassVar[tuple[str, ...]] = ("question", "choices")
    allowed_placeholders: ClassVar[tuple[str, ...]] = ("question", "choices", "letters")

    def gold_of(self, row: RawRow) -> str:
        # The gold letter depends on the shuffle: it is set by `arrange`.
        raise NotImplementedError("GPQA golds are letters assigned in arrange()")

    def meta_of(self, row: RawRow, question: str) -> dict[str, Any]:
        meta = super().meta_of(row, question)
        meta["correct_answer"] = str(row.require("Correct Answer", what="option field")).strip()
        meta["incorrect_answers"] = tuple(
            str(row.require(f"Incorrect Answer {i}", what="option field")).strip() for i in (1, 2, 3)
        )
        for key, names in (("domain", ("High-level domain", "domain")), ("subdomain", ("Subdomain",)),
                           ("record_id", ("Record ID",))):
            value = row.get(*names)
            if value is not None:
                meta[key] = str(value).strip()
        return meta

    def to_sample(self, row: RawRow, template: str) -> Sample:
        question = self.question_of(row)
        meta = self.meta_of(row, question)
        if template != self.prompt_template:
            meta["prompt_template"] = template  # for_repeat re-renders with the same template
        base = Sample(self.id_of(row, question), self.name, self.subset_of(row), [], "", meta)
        return self.arrange(base, 0)

    def for_repeat(self, sample: Sample, repeat: int) -> Sample:
        return self.arrange(sample, repeat)

    def arrange(self, sample: Sample, repeat: int) -> Sample:
        """The sample with its options in repeat `repeat`'s order, prompt and gold letter to match."""
        meta = sample.meta
        options = (meta["correct_answer"], *meta["incorrect_answers"])  # index 0 is the correct one
        order = option_order(meta["problem"], repeat)
        shown = tuple(options[i] for i in order)
        choices = "\n".join(f"{letter}) {text}" for letter, text in zip(LETTERS, shown))
        content = render(
            meta.get("prompt_template", self.prompt_template),
            {"question": meta["problem"], "choices": choices, "letters": ",".join(LETTERS)},
        )
        return dataclasses.replace(
            sample,
            messages=[{"role": "user", "content": content}],
            gold=LETTERS[order.index(0)],
            meta={**meta, "choices": shown, "repeat": repeat},
        )


BENCHMARK = GpqaBenchmark(
    name="gpqa",
    description="GPQA diamond: graduate-level biology, chemistry and physics questions, four options",
    grader="choice",
    subsets=("gpqa_diamond",),
    hub_id="Idavidrein/gpqa",
    modelscope_id="AI-ModelScope/gpqa_diamond",
    split="train",  # GPQA ships a single split
    prompt_template=TEMPLATE,
    question_fields=("Question",),
    answer_fields=("Correct Answer",),
    id_fields=("Record ID",),
    hub_config="gpqa_diamond",
    hub_files=("gpqa_diamond.csv",),
    file_hints=("gpqa_diamond", "gpqa"),
    sizes={"gpqa_diamond": 198},
    aliases=("gpqa_diamond",),
)
