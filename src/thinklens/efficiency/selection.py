"""Which traces an analysis reads: the guide's `max_tokens` and `count`, done fairly.

`max_tokens` drops traces whose output (reasoning + answer) is longer; `count` then
draws a seeded random sample per subset from what is left.  Never the first N
finished: those favour short answers, which is the very thing being measured.
How many traces the length filter dropped is reported next to the results.
"""

from __future__ import annotations

import random
import re
from collections import Counter
from dataclasses import dataclass, field

from .traces import Trace


@dataclass
class GroupSelection:
    group: str
    available: int = 0  # generations with an output (status ok)
    errors: int = 0  # generations stored as failed requests: nothing to analyse
    dropped_by_length: int = 0
    unknown_length: int = 0  # no tokenizer and no usage count: kept
    selected: list[Trace] = field(default_factory=list)

    def to_dict(self) -> dict[str, int]:
        return {
            "available": self.available, "errors": self.errors, "dropped_by_length": self.dropped_by_length,
            "unknown_length": self.unknown_length, "selected": len(self.selected),
        }


def natural_key(text: str) -> list[object]:
    """"Level 2" before "Level 10"."""
    return [int(p) if p.isdigit() else p.lower() for p in re.split(r"(\d+)", text)]


def select(
    traces: list[Trace],
    output_tokens: dict[str, int | None],
    *,
    max_tokens: int | None,
    count: int | None,
    seed: int,
    errors: Counter | None = None,
    order: tuple[str, ...] | None = None,
) -> dict[str, GroupSelection]:
    """Per group, in display order: the length filter, then a seeded sample of `count`."""
    groups: dict[str, list[Trace]] = {}
    for t in traces:
        groups.setdefault(t.group, []).append(t)
    names = set(groups) | set(errors or ())
    if order:
        ordered = [g for g in order if g in names] + sorted((g for g in names if g not in order), key=natural_key)
    else:
        ordered = sorted(names, key=natural_key)
    out: dict[str, GroupSelection] = {}
    for name in ordered:
        sel = GroupSelection(name, errors=(errors or Counter()).get(name, 0))
        members = sorted(groups.get(name, []), key=lambda t: (natural_key(t.sample_id), t.repeat, t.key))
        sel.available = len(members)
        eligible = []
        for t in members:
            n = output_tokens.get(t.key)
            if n is None:
                sel.unknown_length += 1
            elif max_tokens is not None and n > max_tokens:
                sel.dropped_by_length += 1
                continue
            eligible.append(t)
        if count is not None and len(eligible) > count:
            # A string seed is hashed with SHA-512 by `random`: the same draw on every machine.
            rng = random.Random(f"thinklens-efficiency:{seed}:{name}")
            picked = set(rng.sample(range(len(eligible)), count))
            eligible = [t for i, t in enumerate(eligible) if i in picked]
        sel.selected = eligible
        out[name] = sel
    return out
