"""`--split llm`: the judge marks where reasoning steps begin; we map its breaks back.

The judge is asked to copy the reasoning and insert blank lines between steps.  Its
copy is only used to *locate* the breaks: each paragraph of the copy is found in
the original by its opening characters, compared with all whitespace removed (the
judge may re-wrap lines), searching forward from the previous break.  A break that
cannot be found is dropped (and counted), never guessed; the steps are always
spans of the original text, so token counts never see the judge's rewrite.  If
the judge's copy was cut off (max_tokens), the rest is split on blank lines.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .steps import Span, spans_between, split_separator

PURPOSE = "efficiency.split"

SPLIT_PROMPT = """Below is a problem and the reasoning a model wrote to solve it. Split the reasoning into steps: a step is one idea carried through (a case, a computation, a check, or an attempt with a new approach).

Copy the reasoning exactly, character for character, and only insert a blank line wherever a new step begins. You may remove blank lines that fall inside one step. Do not fix, summarise, translate or comment on anything, and write nothing before or after the copy.

[Problem]
{problem}

[Reasoning]
{reasoning}"""

_PARAGRAPH_BREAK = re.compile(r"\n[ \t]*\n\s*")
_HEADS = (48, 24, 12)  # characters (whitespace removed) used to locate a paragraph, longest first


@dataclass
class MappedSplit:
    spans: list[Span]
    proposed: int  # breaks in the judge's copy
    mapped: int  # breaks found in the original
    truncated: bool  # the judge's copy stopped early; the rest was split on blank lines

    def detail(self) -> dict[str, object]:
        return {"proposed": self.proposed, "mapped": self.mapped, "truncated": self.truncated}


def split_prompt(problem: str, reasoning: str) -> str:
    return SPLIT_PROMPT.format(problem=problem.strip() or "(not given)", reasoning=reasoning)


class _Compact:
    """The original without whitespace, with each kept character's offset."""

    def __init__(self, text: str):
        chars, offsets = [], []
        for i, ch in enumerate(text):
            if not ch.isspace():
                chars.append(ch)
                offsets.append(i)
        self.text = "".join(chars)
        self.offsets = offsets


def _compact(s: str) -> str:
    return "".join(s.split())


def map_breaks(original: str, judged: str, *, truncated: bool = False) -> MappedSplit:
    """Steps of `original` at the paragraph starts of the judge's copy `judged`."""
    paragraphs = [p for p in _PARAGRAPH_BREAK.split(judged.strip()) if p.strip()]
    comp = _Compact(original)
    cuts: list[int] = []
    cursor = 0  # compact index where the previous paragraph was found
    expected = 0  # where the next paragraph should start if the copy is faithful
    proposed = max(0, len(paragraphs) - 1)
    for i, para in enumerate(paragraphs):
        head_full = _compact(para)
        found = -1
        for k in _HEADS:
            head = head_full[:k]
            if not head:
                break
            hit = comp.text.find(head, cursor)
            if hit < 0:
                continue
            # Short heads ("Therefore,") recur: accept them only near where they should be.
            if len(head) < _HEADS[1] and abs(hit - expected) > 200 + expected // 5:
                continue
            found = hit
            break
        if found < 0:
            continue
        if i > 0 and found > 0:
            cuts.append(comp.offsets[found])
        # The next paragraph starts after this one; half its length leaves room for edits.
        cursor = found + max(1, len(head_full) // 2)
        expected = found + len(head_full)
    mapped = len(cuts)
    if truncated:
        # The copy ended early: keep the judge's breaks where it got to, blank lines after.
        covered = comp.offsets[min(expected, len(comp.offsets) - 1)] if comp.offsets else 0
        cuts.extend(s for s, _ in split_separator(original) if s > covered)
    return MappedSplit(spans_between(original, cuts), proposed, mapped, truncated)
