"""Thought switches: phrases with which a model drops one line of thought for another.

Matched case-insensitively on word boundaries ("wait" is not found in "await"), with
any run of whitespace between the words of a phrase, longest phrase first and
without overlaps ("but wait" counts once, not also as "wait").
"""

from __future__ import annotations

import re
from functools import lru_cache

# The list is stored with every result (efficiency.json `settings.switch_phrases`).
DEFAULT_SWITCH_PHRASES: tuple[str, ...] = (
    "alternatively",
    "but wait",
    "wait",
    "let me reconsider",
    "let me re-examine",
    "on second thought",
    "another approach",
    "another way",
    "another method",
    "another angle",
    "hmm",
)


def normalize_phrases(phrases: list[str] | tuple[str, ...]) -> tuple[str, ...]:
    out: list[str] = []
    for p in phrases:
        norm = " ".join(str(p).lower().split())
        if norm and norm not in out:
            out.append(norm)
    if not out:
        raise ValueError("the list of thought-switch phrases is empty")
    return tuple(out)


@lru_cache(maxsize=32)
def switch_pattern(phrases: tuple[str, ...]) -> re.Pattern[str]:
    ordered = sorted(phrases, key=len, reverse=True)
    body = "|".join(r"\s+".join(re.escape(w) for w in p.split()) for p in ordered)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)", re.IGNORECASE)


def find_switches(text: str, phrases: tuple[str, ...]) -> list[tuple[int, str]]:
    """(character offset, phrase as listed) of every switch in `text`."""
    out = []
    for m in switch_pattern(phrases).finditer(text):
        out.append((m.start(), " ".join(m.group(0).lower().split())))
    return out
