"""Per-trace efficiency results as rows of the run store's `efficiency_samples`
(schema in store/schema.py, queries in store/efficiency.py), and back.

Each row keeps the columns the viewer reads (steps as [start, end] character offsets
into the reasoning, the first correct step and the end of it, token counts, thought
switches as [offset, phrase]) plus `record`, the whole SampleEfficiency as JSON, so a
rerun on unchanged inputs gets back exactly what was computed.
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Any

from ..store import RunStore
from ..store.efficiency import write_analysis
from .metrics import FirstCorrect, SampleEfficiency


def _step(fc: FirstCorrect | None) -> int | None:
    return fc.step if fc is not None and fc.status == "found" else None


def sample_row(settings_hash: str, s: SampleEfficiency, now: float) -> tuple[Any, ...]:
    fc = s.first_correct
    ratio = s.ratio if s.reached else None
    return (
        settings_hash, s.key, s.dataset, s.subset, s.group, s.sample_id, s.repeat, s.method, int(s.no_reasoning),
        int(s.truncated), None if s.correct is None else int(s.correct), int(s.tokens_exact), s.reasoning_tokens,
        fc.tokens if s.reached else None, s.reflection_tokens, ratio,
        json.dumps([list(p) for p in s.steps]), fc.status, fc.step if s.reached else None,
        fc.offset if s.reached else None, _step(s.verify), _step(s.judge),
        s.judge.status if s.judge is not None else None, len(s.thought_switches),
        json.dumps([list(p) for p in s.thought_switches], ensure_ascii=False), len(s.solution_steps),
        json.dumps(s.solution_steps), json.dumps(s.detail, ensure_ascii=False), now,
        json.dumps(dataclasses.asdict(s), ensure_ascii=False),
    )


def sample_from_record(record: dict[str, Any]) -> SampleEfficiency:
    """The inverse of the `record` column (JSON made tuples lists: restore them)."""
    data = dict(record)
    for name in ("first_correct", "verify", "judge"):
        if data.get(name) is not None:
            data[name] = FirstCorrect(**data[name])
    data["steps"] = [tuple(p) for p in data["steps"]]
    data["thought_switches"] = [tuple(p) for p in data["thought_switches"]]
    return SampleEfficiency(**data)


def write_results(store: RunStore, settings_hash: str, settings: dict[str, Any], summary: dict[str, Any],
                  samples: list[SampleEfficiency], inputs_hash: str) -> None:
    now = time.time()
    write_analysis(store, settings_hash, settings, summary, inputs_hash,
                   [sample_row(settings_hash, s, now) for s in samples])
