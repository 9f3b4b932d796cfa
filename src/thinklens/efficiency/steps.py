"""Splitting a reasoning trace into steps: character spans over the original text.

A step is a `(start, end)` pair of offsets into the reasoning, trimmed of
surrounding whitespace; steps are in order and never overlap.  Every strategy
returns spans of the original, so token counts up to a step are counted on the
text the model wrote.  (`llm` is in `llm_split.py`: the judge proposes breaks and
they are mapped back here.)
"""

from __future__ import annotations

import re

from .switches import switch_pattern

Span = tuple[int, int]

_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n\s*")


def trimmed(text: str, start: int, end: int) -> Span | None:
    while start < end and text[start].isspace():
        start += 1
    while end > start and text[end - 1].isspace():
        end -= 1
    return (start, end) if end > start else None


def spans_between(text: str, cuts: list[int]) -> list[Span]:
    """Steps delimited by cut offsets (sorted, deduplicated, empty pieces dropped)."""
    bounds = [0, *sorted({c for c in cuts if 0 < c < len(text)}), len(text)]
    out = []
    for a, b in zip(bounds, bounds[1:]):
        span = trimmed(text, a, b)
        if span:
            out.append(span)
    return out


def split_separator(text: str) -> list[Span]:
    """Paragraphs: pieces between blank lines."""
    cuts = []
    for m in _BLANK_LINE.finditer(text):
        cuts.extend((m.start(), m.end()))
    return spans_between(text, cuts)


def split_keywords(text: str, phrases: tuple[str, ...]) -> list[Span]:
    """A new step before each thought-switch phrase (case-insensitive, word boundaries)."""
    return spans_between(text, [m.start() for m in switch_pattern(phrases).finditer(text)])


def whole(text: str) -> list[Span]:
    span = trimmed(text, 0, len(text))
    return [span] if span else []
