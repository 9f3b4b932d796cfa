"""predictions.jsonl: one flat line per planned (sample, repeat), for users of EvalScope's
`predictions/` and `reviews/` files (the prompt, the model's reasoning and answer, and the
verdict in one place).  `thinklens export` writes the full records instead."""

from __future__ import annotations

import json
from pathlib import Path

from ..atomic import atomic_write_text
from ..store import RunStore

PREDICTIONS_FILENAME = "predictions.jsonl"


def write_predictions(store: RunStore, run_dir: str | Path) -> tuple[Path, int]:
    """Write RUN/predictions.jsonl (atomically) from the latest eval's plan; returns its path
    and the number of lines."""
    lines = []
    for r in store.iter_results(planned_only=True):
        gen, score = r.generation, r.score
        lines.append(json.dumps({
            "id": r.sample.id, "dataset": r.sample.dataset, "subset": r.sample.subset, "repeat": r.repeat,
            "messages": r.sample.messages, "gold": r.sample.gold,
            "reasoning": gen.reasoning, "answer": gen.content, "finish_reason": gen.finish_reason,
            "completion_tokens": gen.usage.completion_tokens, "reasoning_tokens": gen.usage.reasoning_tokens,
            "error": gen.error,
            # the review: None while a stored answer has no verdict yet (or the request failed)
            "extracted": score.extracted if score else None,
            "correct": score.correct if score else None,
            "reason": score.reason if score else None,
            "grading_method": score.method if score else None,
            "key": r.key,
        }, ensure_ascii=False))
    path = Path(run_dir) / PREDICTIONS_FILENAME
    atomic_write_text(path, "".join(line + "\n" for line in lines))
    return path, len(lines)
